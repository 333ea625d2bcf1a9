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
  Acos, Asin, Atan, Acosh, Asinh, Atanh, Sinh, Cosh, Tan, Erfc, Exp2, Log10, Frac, Sinc,
  Lgamma, Digamma,
  Polygamma,   // mode = n
  I0,
  Logit,       // mode bit 1: clamp to [alpha, beta]; bits 2/4: steps rounded to bfloat16/half
  RoundDecimals,  // mode = decimals
  Angle,       // of real numbers: pi below zero
  Signbit,     // 1 where the sign bit is set (bool output)
  Threshold,   // alpha = threshold, beta = value
  I1, I0e, I1e, Ndtri, Erfcx, LogNdtr, Entr,  // torch.special
  AiryAi, BesselJ0, BesselJ1, BesselY0, BesselY1, ModifiedBesselI0, ModifiedBesselI1,
  ModifiedBesselK0, ModifiedBesselK1, ScaledModifiedBesselK0, ScaledModifiedBesselK1,
  SphericalBesselJ0,
  Hardshrink, Softshrink,  // alpha = lambda
};
constexpr int kUnaryCount = static_cast<int>(Unary::Softshrink) + 1;

const engine::TileKernel& unary_kernel(Unary op);

}  // namespace accel::kernels
