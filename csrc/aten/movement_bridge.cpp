#include "aten/movement_bridge.h"

#include "aten/device_check.h"

#include <ATen/MemoryOverlap.h>
#include <ATen/ops/empty.h>

#include "aten/engine_bridge.h"
#include "glue/glue.h"
#include "engine/plan_mode.h"
#include "perf/collective_copy.h"

namespace accel::aten {

engine::TensorRef typed_ref(const at::Tensor& t) {
  check_accel_operand(t);
  engine::TensorRef r;
  r.data = t.numel() ? t.data_ptr() : nullptr;
  r.dtype = engine_dtype(t.scalar_type());
  r.sizes.assign(t.sizes().begin(), t.sizes().end());
  r.strides.assign(t.strides().begin(), t.strides().end());
  return r;
}

bool movable_as_bytes(const at::Tensor& t) {
  const auto e = t.element_size();
  return e == 1 || e == 2 || e == 4 || e == 8 || e == 16;
}

engine::TensorRef byte_ref(const at::Tensor& t) {
  check_accel_operand(t);
  engine::TensorRef r;
  r.data = t.numel() ? t.data_ptr() : nullptr;
  r.sizes.assign(t.sizes().begin(), t.sizes().end());
  r.strides.assign(t.strides().begin(), t.strides().end());
  switch (t.element_size()) {
    case 1: r.dtype = engine::DType::U8; break;
    case 2: r.dtype = engine::DType::I16; break;
    case 4: r.dtype = engine::DType::I32; break;
    default: r.dtype = engine::DType::I64; break;
  }
  if (t.element_size() == 16) {  // two int64 halves in a trailing dim
    for (auto& s : r.strides) s *= 2;
    r.sizes.push_back(2);
    r.strides.push_back(1);
  }
  return r;
}

engine::TensorRef restrided(engine::TensorRef base, c10::IntArrayRef sizes,
                            std::vector<int64_t> strides) {
  base.sizes.assign(sizes.begin(), sizes.end());
  base.strides = std::move(strides);
  return base;
}

const chip::Arch& current_arch() {
  return glue::chip_call([]() -> const chip::Arch& { return chip::Runtime::get().arch(); });
}

void record_for(const at::Tensor& t, engine::ProgramRecord rec) {
  if (!engine::recording()) return;
  rec.device = t.device().index();
  engine::record(std::move(rec));
}

void rethrow_engine_error() {
  try {
    throw;
  } catch (const engine::L1OverflowError& e) {
    TORCH_CHECK(false, e.what());
  } catch (const std::invalid_argument& e) {
    TORCH_CHECK(false, e.what());
  }
}

bool device_copy(const at::Tensor& dst, const at::Tensor& src_in) {
  if (src_in.is_conj() || dst.is_conj() || src_in.is_neg() || dst.is_neg()) return false;
  const bool same = src_in.scalar_type() == dst.scalar_type();
  if (same ? !movable_as_bytes(dst)
           : !tile_dtype_of(src_in.scalar_type()) || !tile_dtype_of(dst.scalar_type()))
    return false;
  if (dst.numel() == 0) return true;
  at::Tensor src = src_in.expand(dst.sizes());
  // A source that partly overlaps the destination is staged first, as the
  // chip would through a scratch buffer.
  const bool shared = dst.storage().is_alias_of(src.storage());
  const auto overlap = shared ? at::get_overlap_status(dst, src) : at::MemOverlapStatus::No;
  if (overlap == at::MemOverlapStatus::Partial || overlap == at::MemOverlapStatus::TooHard) {
    at::Tensor staged = at::empty(src.sizes(), src.options());
    device_copy(staged, src);
    src = staged;
  }
  const engine::TensorRef out = same ? byte_ref(dst) : typed_ref(dst);
  const engine::TensorRef in = same ? byte_ref(src) : typed_ref(src);
  record_for(dst, run_program([&] { return engine::run_copies(current_arch(), "copy", {{out, in}}); }));
  // Between the chips of a configured system the bytes also cross Ethernet.
  if (src.device() != dst.device() && engine::executing())
    perf::chip_to_chip_copy(src.device().index(), dst.device().index(),
                            static_cast<double>(dst.numel() * dst.element_size()), current_arch());
  return true;
}

}  // namespace accel::aten
