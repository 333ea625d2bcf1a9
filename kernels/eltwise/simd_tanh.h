// tanh and the activations' exps for the per-capability SIMD kernels
// (simd_impl.cpp, simd_backward_impl.cpp include this inside their
// CPU_CAPABILITY namespace). Sleef's tanhf costs about four times its expm1f
// here, and GELU-tanh spent most of its time in it, so tanh goes through expm1
// and exp, in forms without cancellation; the activations' own exps are inline.
#pragma once

#include <ATen/cpu/vec/vec.h>

#include <cmath>

namespace accel::kernels::CPU_CAPABILITY {

// e^y for y in [-87.3, 89], results normal or inf: 2^n p(r) with r = y - n ln2
// in [-ln2/2, ln2/2] and p the Taylor polynomial to r^7 (truncation below
// 0.05 ulp; to r^6 it reached 1.7 ulp at the interval's ends); 2^n goes on
// as two normal factors, so that n = 128 still gives a finite e^y below
// FLT_MAX. The callers hold y in that range (a NaN y gives NaN). Sleef's
// expf, out of line, spilled the caller's registers on every vector and took
// most of these activations' time.
inline at::vec::Vectorized<float> exp_in_normal_range(at::vec::Vectorized<float> y) {
  using V = at::vec::Vectorized<float>;
  using I = at::vec::Vectorized<int32_t>;
  const V n = (y * V(float(M_LOG2E))).round();
  const V r = at::vec::fmadd(n, V(-1.428606765330187e-06f), at::vec::fmadd(n, V(-0.693145751953125f), y));
  V p = V(1.f / 5040.f);
  p = at::vec::fmadd(p, r, V(1.f / 720.f));
  p = at::vec::fmadd(p, r, V(1.f / 120.f));
  p = at::vec::fmadd(p, r, V(1.f / 24.f));
  p = at::vec::fmadd(p, r, V(1.f / 6.f));
  p = at::vec::fmadd(p, r, V(0.5f));
  p = at::vec::fmadd(p, r, V(1.f));
  p = at::vec::fmadd(p, r, V(1.f));
  const I whole = at::vec::convert_to_int_of_same_size(n), half = whole >> I(1);
  const auto power = [](I e) { return at::vec::cast<float>((e + I(127)) << I(23)); };
  return p * power(half) * power(whole - half);
}

// e^x for an activation that adds it to 1 (GELU-tanh, SiLU, sigmoid), x held
// in [-87, 89]: below, 1 + e^x is 1 either way; above, e^x is inf either way.
// Outside, a subnormal e^x would cost a microcode assist per lane (it made
// these activations of large inputs twice as slow). at::vec's clamp returns a
// NaN operand.
inline at::vec::Vectorized<float> exp_beside_one(at::vec::Vectorized<float> x) {
  using V = at::vec::Vectorized<float>;
  return exp_in_normal_range(at::vec::clamp(x, V(-87.f), V(89.f)));
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

// erf(z) for z in [-9, 9] as at::vec's (Abramowitz and Stegun 7.1.26, the
// constants ATen's CPU erf uses) with its exp inline (exp_in_normal_range), and
// that exp, e^-z^2, which GELU's gradient needs too.
struct ErfWithGauss {
  at::vec::Vectorized<float> erf, gauss;
};

inline ErfWithGauss erf_with_gauss(at::vec::Vectorized<float> z) {
  using V = at::vec::Vectorized<float>;
  const V t = V(1.f) / at::vec::fmadd(V(0.3275911f), z.abs(), V(1.f));
  V poly = at::vec::fmadd(V(1.061405429f), t, V(-1.453152027f));
  poly = at::vec::fmadd(poly, t, V(1.421413741f));
  poly = at::vec::fmadd(poly, t, V(-0.284496736f));
  poly = at::vec::fmadd(poly, t, V(0.254829592f));
  const V gauss = exp_in_normal_range((z * z).neg());
  const V erf_abs = at::vec::fmadd((gauss * t).neg(), poly, V(1.f));
  return {erf_abs ^ (z & V(-0.f)), gauss};
}

// GELU's erf argument x / sqrt 2, held at +-9 where erf is +-1 already.
inline at::vec::Vectorized<float> gelu_erf_argument(at::vec::Vectorized<float> x) {
  using V = at::vec::Vectorized<float>;
  return at::vec::clamp(x * V(float(M_SQRT1_2)), V(-9.f), V(9.f));
}

inline at::vec::Vectorized<float> gelu_erf(at::vec::Vectorized<float> x) {
  using V = at::vec::Vectorized<float>;
  return x * V(0.5f) * (V(1.f) + erf_with_gauss(gelu_erf_argument(x)).erf);
}

// g (Phi(x) + x phi(x)), phi(x) = e^(-x^2/2) / sqrt(2 pi) = e^-z^2 / sqrt(2 pi)
// for the erf's own z; zero past the +-9 hold (where e^-x^2/2 is below
// 1e-35), so an infinite x gives NaN as x * 0 does in ATen's formula.
inline at::vec::Vectorized<float> gelu_erf_backward(at::vec::Vectorized<float> g, at::vec::Vectorized<float> x) {
  using V = at::vec::Vectorized<float>;
  const V z = gelu_erf_argument(x);
  const auto [erf, gauss] = erf_with_gauss(z);
  const V inside = (x * V(float(M_SQRT1_2))).abs() <= V(9.f);
  const V pdf = V(float(M_2_SQRTPI * M_SQRT1_2 * 0.5)) * (gauss & inside);
  return g * (V(0.5f) * (V(1.f) + erf) + x * pdf);
}

}  // namespace accel::kernels::CPU_CAPABILITY
