// The gradient of hardtanh (ReLU6 is hardtanh with bounds 0 and 6).
#pragma once

#include "engine/eltwise.h"

namespace accel::kernels {

// Inputs (grad_output, self), alpha = min, beta = max: grad_output where
// min < self < max, else 0.
const engine::TileKernel& hardtanh_backward_kernel();

}  // namespace accel::kernels
