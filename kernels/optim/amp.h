// Gradient-scaler programs (torch.amp.GradScaler): unscale a list of gradients
// while checking them for inf/nan, and update the scale from the result.
#pragma once

#include <vector>

#include "engine/program.h"
#include "engine/tensor_ref.h"

namespace accel::kernels {

// grads[i] *= inv_scale in place; *found_inf is set when any value is not finite.
engine::ProgramRecord run_unscale(const chip::Arch& arch, const std::vector<engine::TensorRef>& grads,
                                  engine::DType format, float inv_scale, bool* found_inf);

struct ScaleState {
  float scale;
  int32_t growth_tracker;
};

// One step of the scale's schedule: back off on inf, grow after
// growth_interval clean steps (only to a finite scale).
ScaleState update_scale(ScaleState s, bool found_inf, double growth_factor, double backoff_factor,
                        int64_t growth_interval);

}  // namespace accel::kernels
