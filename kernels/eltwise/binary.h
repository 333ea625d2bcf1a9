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
};
constexpr int kBinaryCount = static_cast<int>(Binary::Xlog1py) + 1;
enum class Ternary { Where, Lerp, Addcmul, Addcdiv, Clamp };

// add/sub use params.alpha; addcmul/addcdiv use params.alpha as `value`.
const engine::TileKernel& binary_kernel(Binary op);
const engine::TileKernel& ternary_kernel(Ternary op);

}  // namespace accel::kernels
