// Vector-engine tile kernels for the gradients of activations: each takes
// (grad_output, saved tensor) and yields grad_input.
#pragma once

#include "engine/eltwise.h"

namespace accel::kernels {

enum class Backward {
  Threshold,    // saved: self or result; alpha = threshold
  Gelu,         // saved: self
  GeluTanh,     // saved: self
  Silu,         // saved: self
  Sigmoid,      // saved: result
  Tanh,         // saved: result
  LeakyRelu,    // saved: self; alpha = negative slope
  Hardswish,    // saved: self
  Hardsigmoid,  // saved: self
  Elu,          // saved: self or result (mode 1); alpha, beta = scale, gamma = input scale
  Softplus,     // saved: self; alpha = beta, beta = threshold
  Mish,         // saved: self
  Logit,        // saved: self; alpha = low, beta = high bounds when mode is 1 (eps given)
  Shrink,       // saved: self; alpha = lambda (hardshrink and softshrink)
};
constexpr int kBackwardCount = static_cast<int>(Backward::Shrink) + 1;

const engine::TileKernel& backward_kernel(Backward op);

}  // namespace accel::kernels
