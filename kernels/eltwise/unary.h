// Vector-engine (SFPU) tile kernels of one operand.
#pragma once

#include "engine/eltwise.h"

namespace accel::kernels {

enum class Unary {
  Relu, Gelu, GeluTanh, Silu, Sigmoid, Tanh, Exp, Expm1, Log, Log1p, Log2, Sqrt, Rsqrt,
  Reciprocal, Abs, Neg, Sign, Sin, Cos, Erf, Erfinv, Floor, Ceil, Round, Trunc,
  Clamp,       // alpha = min, beta = max, mode bit 1: has min, bit 2: has max
  LeakyRelu,   // alpha = negative slope
  Elu,         // alpha, beta = scale, gamma = input scale
  Hardswish, Hardsigmoid,
  Softplus,    // alpha = beta, beta = threshold
  Mish,
  NanToNum,    // alpha = nan, beta = posinf, gamma = neginf
};
constexpr int kUnaryCount = static_cast<int>(Unary::NanToNum) + 1;

const engine::TileKernel& unary_kernel(Unary op);

}  // namespace accel::kernels
