// Which of CPU ATen's float samplers the installed torch has, decided when
// torch_accel is built against it. torch 2.13 computes bfloat16 and half
// uniform and normal samples in float (the "op-math" type) from 24-bit
// fractions and rounds once; torch 2.11 (checked; 2.12 is taken to be the
// same) computes them in the type itself: fractions of 8 (bfloat16) or 11
// (half) bits, each Box-Muller step rounded, all uniforms of a fill drawn
// before the 16-wide blocks, and no mapping of a sample rounded up onto `to`.
// The same seed then gives CPU's values on either torch.
#pragma once

#include <torch/version.h>

namespace accel::kernels {

inline constexpr bool kCpuSamplesReducedInOwnType =
    TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR < 13;

}  // namespace accel::kernels
