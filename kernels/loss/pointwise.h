// Vector-engine tile kernels of the element-wise losses: the per-element loss
// (reduction "none"; mean/sum then run a reduce program over it) and the
// gradient, which scales by params.alpha (1/N for mean, 1 otherwise).
#pragma once

#include "engine/eltwise.h"

namespace accel::kernels {

enum class Loss {
  Mse,              // (x, y)
  SmoothL1,         // (x, y); alpha = beta
  Huber,            // (x, y); alpha = delta
  Bce,              // (x, y, w); throws std::domain_error when x is outside [0, 1]
  LogSigmoid,       // (x)
  MseBackward,      // (g, x, y); alpha = norm
  SmoothL1Backward, // (g, x, y); alpha = norm, beta = beta
  HuberBackward,    // (g, x, y); alpha = norm, beta = delta
  BceBackward,      // (g, x, y, w); alpha = norm
  LogSigmoidBackward,  // (g, x)
  BitwiseNot,       // (a); mode 1: bool data (logical not)
};

const engine::TileKernel& loss_kernel(Loss op);

}  // namespace accel::kernels
