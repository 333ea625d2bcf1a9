#include "aten/engine_bridge.h"

#include <stdexcept>

#include "glue/glue.h"

namespace accel::aten {

std::optional<engine::DType> tile_dtype_of(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return engine::DType::F32;
    case at::kDouble: return engine::DType::F64;
    case at::kBFloat16: return engine::DType::BF16;
    case at::kHalf: return engine::DType::F16;
    case at::kChar: return engine::DType::I8;
    case at::kByte: return engine::DType::U8;
    case at::kShort: return engine::DType::I16;
    case at::kInt: return engine::DType::I32;
    case at::kLong: return engine::DType::I64;
    case at::kBool: return engine::DType::Bool;
    default: return std::nullopt;
  }
}

engine::DType engine_dtype(at::ScalarType t) {
  const auto dt = tile_dtype_of(t);
  TORCH_CHECK_TYPE(dt.has_value(), "accel tile kernels do not support dtype ", t);
  return *dt;
}

namespace {

engine::TensorRef operand(const at::TensorIteratorBase& iter, int arg) {
  engine::TensorRef ref;
  ref.data = iter.data_ptr(arg);
  ref.dtype = engine_dtype(iter.dtype(arg));
  const int64_t nd = iter.ndim();
  const int64_t elem = at::elementSize(iter.dtype(arg));
  // TensorIterator orders dims fastest first; the engine wants slowest first.
  for (int64_t d = nd - 1; d >= 0; --d) {
    ref.sizes.push_back(iter.shape()[d]);
    ref.strides.push_back(iter.strides(arg)[d] / elem);
  }
  return ref;
}

}  // namespace

engine::EltwiseJob eltwise_job(const at::TensorIteratorBase& iter, const engine::KernelParams& params) {
  TORCH_INTERNAL_ASSERT(iter.noutputs() == 1);
  engine::EltwiseJob job{operand(iter, 0), {}, params};
  for (int i = 1; i < iter.ntensors(); ++i) job.inputs.push_back(operand(iter, i));
  return job;
}

void launch_eltwise_multi(const char* op, const engine::TileKernel& kernel,
                          const std::vector<engine::EltwiseJob>& jobs, engine::DType compute,
                          int device) {
  auto& runtime = chip::Runtime::get();
  const chip::Arch& arch = glue::chip_call([&]() -> const chip::Arch& { return runtime.arch(); });
  engine::ProgramRecord rec;
  try {
    rec = engine::run_eltwise_multi(arch, op, kernel, jobs, compute);
  } catch (const engine::L1OverflowError& e) {
    TORCH_CHECK(false, e.what());
  } catch (const std::domain_error& e) {
    TORCH_CHECK(false, e.what());
  }
  rec.device = device;
  engine::record(std::move(rec));
}

void launch_eltwise(const char* op, const engine::TileKernel& kernel,
                    const at::TensorIteratorBase& iter, const engine::KernelParams& params,
                    std::optional<at::ScalarType> compute) {
  std::vector<engine::EltwiseJob> jobs;
  jobs.push_back(eltwise_job(iter, params));  // moved: an initializer list would copy it
  launch_eltwise_multi(op, kernel, jobs,
                       engine_dtype(compute.value_or(iter.common_dtype())), iter.device(0).index());
}

}  // namespace accel::aten
