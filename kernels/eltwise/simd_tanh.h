// tanh for the per-capability SIMD kernels (simd_impl.cpp, simd_backward_impl.cpp
// include this inside their CPU_CAPABILITY namespace). Sleef's tanhf costs about
// four times its expm1f here, and GELU-tanh spends most of its time in it, so
// tanh goes through expm1: tanh(x) = e / (e + 2) with e = expm1(2x). expm1 keeps
// small |x| exact (no 1 - 2/(exp + 1) cancellation); |x| is clamped at 10, past
// which float tanh is +-1 and e would overflow. Within 3 ulp of std::tanh.
#pragma once

#include <ATen/cpu/vec/vec.h>

#include <cmath>

namespace accel::kernels::CPU_CAPABILITY {

inline at::vec::Vectorized<float> tanh_via_expm1(at::vec::Vectorized<float> x) {
  using V = at::vec::Vectorized<float>;
  const V e = (V(2.f) * at::vec::clamp(x, V(-10.f), V(10.f))).expm1();
  return V::blendv(e / (e + V(2.f)), x, x.isnan());
}

// 0.5 x (1 + tanh(u)) written as x * sigmoid(2u) = x / (1 + exp(-2u)): the same
// function with one exp and no cancellation where tanh(u) nears -1.
inline at::vec::Vectorized<float> gelu_tanh_via_exp(at::vec::Vectorized<float> x) {
  using V = at::vec::Vectorized<float>;
  const V u = V(float(M_SQRT2 * M_2_SQRTPI * 0.5)) * (x + V(0.044715f) * x * x * x);
  return x / (V(1.f) + (V(-2.f) * u).exp());
}

}  // namespace accel::kernels::CPU_CAPABILITY
