// torch.amp.GradScaler's two ops as native programs: the multi-tensor
// unscale with its inf/nan check, and the scale update (one core, one tile).
#include <ATen/ATen.h>
#include <torch/library.h>

#include "aten/engine_bridge.h"
#include "engine/plan_mode.h"
#include "glue/glue.h"
#include "kernels/optim/amp.h"

namespace accel::aten {
namespace {

const chip::Arch& arch() {
  auto& runtime = chip::Runtime::get();
  return glue::chip_call([&]() -> const chip::Arch& { return runtime.arch(); });
}

engine::TensorRef flat_ref(const at::Tensor& t) {
  engine::TensorRef r;
  r.data = t.data_ptr();
  r.dtype = engine_dtype(t.scalar_type());
  r.sizes = {t.numel()};
  r.strides = {1};
  return r;
}

void check_scalar(const at::Tensor& t, const char* name, const at::Tensor& like) {
  TORCH_CHECK(t.numel() == 1, name, " must be a 1-element tensor.");
  TORCH_CHECK(t.scalar_type() == at::kFloat, name, " must be a float tensor.");
  TORCH_CHECK(t.device() == like.device(), name, " must be on the same device as the scaled tensors.");
}

void unscale(at::TensorList grads, at::Tensor& found_inf, const at::Tensor& inv_scale) {
  if (grads.empty()) return;
  check_scalar(inv_scale, "inv_scale", grads[0]);
  check_scalar(found_inf, "found_inf", grads[0]);
  const float inv = inv_scale.item<float>();
  // One program per dtype; strided gradients run on contiguous copies.
  std::map<at::ScalarType, std::vector<size_t>> by_dtype;
  for (size_t i = 0; i < grads.size(); ++i) {
    TORCH_CHECK(grads[i].device() == found_inf.device(),
                "scaled_grads must be on the same device as found_inf");
    TORCH_CHECK(at::isFloatingType(grads[i].scalar_type()),
                "_amp_foreach_non_finite_check_and_unscale_ takes floating tensors, got ",
                grads[i].scalar_type());
    by_dtype[grads[i].scalar_type()].push_back(i);
  }
  bool any_inf = false;
  for (auto& [dt, idx] : by_dtype) {
    std::vector<at::Tensor> work;
    std::vector<engine::TensorRef> refs;
    for (size_t i : idx) {
      work.push_back(grads[i].is_contiguous() ? grads[i] : grads[i].contiguous());
      refs.push_back(flat_ref(work.back()));
    }
    bool found = false;
    auto rec = kernels::run_unscale(arch(), refs, engine_dtype(dt), inv, &found);
    rec.device = grads[0].device().index();
    engine::record(std::move(rec));
    any_inf |= found;
    for (size_t k = 0; k < idx.size(); ++k)
      if (!work[k].is_same(grads[idx[k]])) const_cast<at::Tensor&>(grads[idx[k]]).copy_(work[k]);
  }
  if (any_inf) found_inf.fill_(1.0);
}

at::Tensor& update_scale(at::Tensor& scale, at::Tensor& growth_tracker, const at::Tensor& found_inf,
                         double growth_factor, double backoff_factor, int64_t growth_interval) {
  check_scalar(scale, "current_scale", scale);
  check_scalar(found_inf, "found_inf", scale);
  TORCH_CHECK(growth_tracker.numel() == 1, "growth_tracker must be a 1-element tensor.");
  TORCH_CHECK(growth_tracker.scalar_type() == at::kInt, "growth_tracker must be an int tensor.");
  // One core reads the three scalars (one tile each) and writes two back.
  if (engine::executing()) {
    kernels::ScaleState s{scale.item<float>(), growth_tracker.item<int32_t>()};
    s = kernels::update_scale(s, found_inf.item<float>() != 0, growth_factor, backoff_factor,
                              growth_interval);
    *static_cast<float*>(scale.data_ptr()) = s.scale;
    *static_cast<int32_t*>(growth_tracker.data_ptr()) = s.growth_tracker;
  }
  engine::ProgramRecord rec;
  rec.op = "aten::_amp_update_scale_";
  rec.reader = "reader_scalars";
  rec.compute = "sfpu_update_scale";
  rec.writer = "writer_scalars";
  rec.input_format = rec.output_format = engine::dtype_name(engine::DType::F32);
  rec.flops = 4;
  rec.dram_read_bytes = 3 * 32;
  rec.dram_write_bytes = 2 * 32;
  rec.noc_bytes = rec.dram_read_bytes + rec.dram_write_bytes;
  rec.tiles = 1;
  rec.cores_used = 1;
  rec.max_tiles_per_core = 1;
  rec.l1_bytes_per_core = 3 * 32 * 32 * 4;
  rec.device = scale.device().index();
  engine::record(std::move(rec));
  return scale;
}

}  // namespace

TORCH_LIBRARY_IMPL(aten, PrivateUse1, m) {
  m.impl("_amp_foreach_non_finite_check_and_unscale_", unscale);
  m.impl("_amp_update_scale_", update_scale);
}

}  // namespace accel::aten
