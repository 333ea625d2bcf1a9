// What CPU ATen's samplers make of generator words, shared by the random
// programs' transforms (transform.cpp), normal fills (normal.cpp) and
// discrete samplers (engine/random_discrete.cpp), so the same seed gives
// CPU's values.
#pragma once

#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>
#include <torch/version.h>

#include <cstdint>
#include <limits>
#include <type_traits>

namespace accel::kernels {

// Which of CPU ATen's float samplers the installed torch has, decided when
// torch_accel is built against it. torch 2.13 computes bfloat16 and half
// uniform and normal samples in float from 24-bit fractions, rounds once, and
// maps a uniform sample rounded up onto `to` back to `from`. torch 2.11
// (checked; 2.12 is taken to be the same, unchecked) computes them in the
// type itself: fractions of its own 8 or 11 digits, each Box-Muller step
// rounded, every uniform of a fill drawn before its 16-wide blocks, a
// multiply-add fused only where the compiler contracts it; and maps nothing.
inline constexpr bool kCpuSamplersBefore2_13 = TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR < 13;

template <class T>
constexpr bool is_reduced_float() {
  return std::is_same_v<T, c10::BFloat16> || std::is_same_v<T, c10::Half>;
}

// numeric_limits<T>::digits, c10's 16-bit floats included.
template <class T>
constexpr int mantissa_digits() {
  if constexpr (std::is_same_v<T, c10::Half>) return 11;
  else if constexpr (std::is_same_v<T, c10::BFloat16>) return 8;
  else return std::numeric_limits<T>::digits;
}

// uniform_real_distribution(0, 1) of a 32-bit word: its low Digits bits over
// 2^Digits, in float (24 digits for float; a 16-bit float's own before 2.13).
template <int Digits>
inline float fraction(uint64_t w) {
  return static_cast<float>(static_cast<uint32_t>(w) & ((1u << Digits) - 1)) * (1.0f / (1u << Digits));
}
// ... and of a 64-bit word for double: 53 bits over 2^53.
inline double fraction53(uint64_t w) {
  return static_cast<double>(w & ((uint64_t{1} << 53) - 1)) * (1.0 / (uint64_t{1} << 53));
}

}  // namespace accel::kernels
