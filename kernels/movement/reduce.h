// Scatter reductions on one element, in the compute type of the data format:
// fp32 for bf16/fp16 (rounded on store), the type itself otherwise.
#pragma once

#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "engine/movement.h"

namespace accel::kernels {

template <class T>
using compute_t = std::conditional_t<std::is_same_v<T, c10::BFloat16> || std::is_same_v<T, c10::Half>,
                                     float, T>;

template <class T, engine::Reduce R>
inline void reduce_into(T* d, T v, compute_t<T> alpha) {
  using C = compute_t<T>;
  using engine::Reduce;
  if constexpr (std::is_same_v<T, bool>) {
    if constexpr (R == Reduce::Add || R == Reduce::Max) *d = *d || v;
    else if constexpr (R == Reduce::Mul || R == Reduce::Min) *d = *d && v;
    else *d = v;
  } else {
    const C a = static_cast<C>(*d), b = static_cast<C>(v);
    if constexpr (R == Reduce::Assign) *d = v;
    else if constexpr (R == Reduce::Add) *d = static_cast<T>(a + alpha * b);
    else if constexpr (R == Reduce::Mul) *d = static_cast<T>(a * b);
    else if constexpr (std::is_floating_point_v<C>) {
      if (std::isnan(b)) *d = v;
      else if (!std::isnan(a)) *d = static_cast<T>(R == Reduce::Max ? std::max(a, b) : std::min(a, b));
    } else {
      *d = R == Reduce::Max ? std::max(a, b) : std::min(a, b);
    }
  }
}

}  // namespace accel::kernels
