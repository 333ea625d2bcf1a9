// Element-wise tile kernels of two and three operands.
#pragma once

#include "engine/eltwise.h"

namespace accel::kernels {

enum class Binary {
  Add, Sub, Mul, Div, DivTrunc, DivFloor, Maximum, Minimum, Pow, Remainder, Fmod, Atan2,
  Eq, Ne, Lt, Le, Gt, Ge, LogicalAnd, LogicalOr, LogicalXor, BitwiseAnd, BitwiseOr,
  BitwiseXor, Xlogy, Logaddexp, Logaddexp2, Hypot, Copysign, Heaviside,
  Nextafter,  // mode: the data's float format (0 as computed, 1 bfloat16, 2 half)
  Fmax, Fmin, Xlog1py,
  // torch.special's orthogonal polynomials of (x, n) and the Hurwitz zeta of (x, q).
  ChebyshevT, ChebyshevU, ChebyshevV, ChebyshevW, ShiftedChebyshevT, ShiftedChebyshevU,
  ShiftedChebyshevV, ShiftedChebyshevW, HermiteH, HermiteHe, LaguerreL, LegendreP, Zeta,
  Prelu,  // (input, weight)
};
constexpr int kBinaryCount = static_cast<int>(Binary::Prelu) + 1;
// PreluGrad*: (input, weight, grad_output).
enum class Ternary { Where, Lerp, Addcmul, Addcdiv, Clamp, PreluGradInput, PreluGradWeight };
constexpr int kTernaryCount = static_cast<int>(Ternary::PreluGradWeight) + 1;

// add/sub use params.alpha; addcmul/addcdiv use params.alpha as `value`.
const engine::TileKernel& binary_kernel(Binary op);
const engine::TileKernel& ternary_kernel(Ternary op);

}  // namespace accel::kernels
