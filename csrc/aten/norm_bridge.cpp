#include "aten/norm_bridge.h"

#include "aten/device_check.h"

#include <ATen/native/Resize.h>

#include <stdexcept>

#include "chip/runtime.h"
#include "glue/glue.h"

namespace accel::aten::norm {

bool tile_float(const at::Tensor& t) {
  if (!t.defined()) return true;
  const auto s = t.scalar_type();
  return s == at::kFloat || s == at::kBFloat16 || s == at::kHalf;
}
bool tile_float(const std::optional<at::Tensor>& t) { return !t || tile_float(*t); }

engine::TensorRef ref_of(const at::Tensor& t) {
  engine::TensorRef r;
  if (!t.defined()) return r;
  check_accel_operand(t);
  TORCH_INTERNAL_ASSERT(t.is_contiguous());
  r.data = t.data_ptr();
  switch (t.scalar_type()) {
    case at::kFloat: r.dtype = engine::DType::F32; break;
    case at::kBFloat16: r.dtype = engine::DType::BF16; break;
    case at::kHalf: r.dtype = engine::DType::F16; break;
    default: TORCH_CHECK_TYPE(false, "accel normalisation kernels do not support dtype ", t.scalar_type());
  }
  r.sizes = t.sizes().vec();
  r.strides = t.strides().vec();
  return r;
}
engine::TensorRef ref_of(const std::optional<at::Tensor>& t) { return t ? ref_of(*t) : engine::TensorRef{}; }

void launch(const at::Tensor& on, const std::function<engine::ProgramRecord(const chip::Arch&)>& program) {
  auto& runtime = chip::Runtime::get();
  const chip::Arch& arch = glue::chip_call([&]() -> const chip::Arch& { return runtime.arch(); });
  engine::ProgramRecord rec;
  try {
    rec = program(arch);
  } catch (const engine::L1OverflowError& e) {
    TORCH_CHECK(false, e.what());
  } catch (const std::domain_error& e) {
    TORCH_CHECK(false, e.what());
  }
  rec.device = on.device().index();
  engine::record(std::move(rec));
}

at::Tensor dense(const at::Tensor& t) { return t.defined() ? t.contiguous() : t; }
at::Tensor dense(const std::optional<at::Tensor>& t) { return t && t->defined() ? t->contiguous() : at::Tensor(); }

at::Tensor& write_out(at::Tensor& out, const at::Tensor& result) {
  TORCH_CHECK(out.scalar_type() == result.scalar_type(), "Expected out tensor to have dtype ",
              result.scalar_type(), ", but got ", out.scalar_type(), " instead");
  at::native::resize_output(out, result.sizes());
  out.copy_(result);
  return out;
}

}  // namespace accel::aten::norm
