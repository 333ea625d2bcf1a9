// tanh and the activations' exps for the per-capability SIMD kernels
// (simd_impl.cpp, simd_backward_impl.cpp include this inside their
// CPU_CAPABILITY namespace). Sleef's tanhf costs about four times its expm1f
// here, and GELU-tanh spent most of its time in it, so tanh goes through expm1
// and exp, in forms without cancellation.
#pragma once

#include <ATen/cpu/vec/vec.h>

#include <cmath>

namespace accel::kernels::CPU_CAPABILITY {

// e^x for an activation that adds it to 1 (GELU-tanh, SiLU, sigmoid), x held
// in [-87, 89]: below, 1 + e^x is 1 either way; above, e^x is inf either way.
// Outside, a subnormal e^x (or Sleef's overflowing scale) costs a microcode
// assist per lane, which made these activations of large inputs twice as
// slow. at::vec's clamp returns a NaN operand.
inline at::vec::Vectorized<float> exp_beside_one(at::vec::Vectorized<float> x) {
  using V = at::vec::Vectorized<float>;
  return at::vec::clamp(x, V(-87.f), V(89.f)).exp();
}

// tanh(x) = sign(x) * -e / (2 + e), e = expm1(-2|x|) in (-1, 0]: exact for
// small |x| (no 1 - 2/(exp + 1)), no overflow; within 3 ulp of std::tanh.
inline at::vec::Vectorized<float> tanh_via_expm1(at::vec::Vectorized<float> x) {
  using V = at::vec::Vectorized<float>;
  const V e = (V(-2.f) * x.abs()).expm1();
  return (e.neg() / (V(2.f) + e)) | (x & V(-0.f));
}

// 1 - tanh(x)^2 = 4q / (1 + q)^2, q = exp(-2|x|): no cancellation where tanh
// nears +-1, where 1 - t * t loses the digits a gradient needs.
inline at::vec::Vectorized<float> sech_squared(at::vec::Vectorized<float> x) {
  using V = at::vec::Vectorized<float>;
  const V q = (V(-2.f) * x.abs()).exp();
  const V inv = V(1.f) / (V(1.f) + q);
  return V(4.f) * q * inv * inv;
}

// 0.5 x (1 + tanh(u)) written as x * sigmoid(2u) = x / (1 + exp(-2u)): the same
// function with one exp and no cancellation where tanh(u) nears -1.
inline at::vec::Vectorized<float> gelu_tanh_via_exp(at::vec::Vectorized<float> x) {
  using V = at::vec::Vectorized<float>;
  const V u = V(float(M_SQRT2 * M_2_SQRTPI * 0.5)) * (x + V(0.044715f) * x * x * x);
  return x / (V(1.f) + exp_beside_one(V(-2.f) * u));
}

}  // namespace accel::kernels::CPU_CAPABILITY
