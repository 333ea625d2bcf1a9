// Compiled once per CPU capability (CMake defines CPU_CAPABILITY and the ISA
// flags), so at::vec maps to AVX2 + Sleef where the host has it. The vector
// forms follow ATen's CPU kernels' formulas, so results agree with CPU eager,
// except tanh and GELU-tanh (simd_tanh.h: the same functions, through exp) and
// the exps inside GELU, GELU-tanh, SiLU and sigmoid (simd_tanh.h: inline, within
// 1.5 ulp of float64 where Sleef's are within 1).
#include <ATen/cpu/vec/functional.h>
#include <ATen/cpu/vec/vec.h>
#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <cmath>

#include "kernels/eltwise/simd.h"
#include "kernels/eltwise/simd_tanh.h"

namespace accel::kernels::CPU_CAPABILITY {
namespace {

using engine::KernelParams;
using V = at::vec::Vectorized<float>;

template <class F>
void unary_loop(const float* const* in, float* out, int64_t n, const KernelParams& p) {
  const F f{p};
  const float* a = in[0];
  int64_t i = 0;
  for (; i + V::size() <= n; i += V::size()) f(V::loadu(a + i)).store(out + i);
  if (i < n) f(V::loadu(a + i, n - i)).store(out + i, n - i);
}

template <class F>
void binary_loop(const float* const* in, float* out, int64_t n, const KernelParams& p) {
  const F f{p};
  const float *a = in[0], *b = in[1];
  int64_t i = 0;
  for (; i + V::size() <= n; i += V::size()) f(V::loadu(a + i), V::loadu(b + i)).store(out + i);
  if (i < n) f(V::loadu(a + i, n - i), V::loadu(b + i, n - i)).store(out + i, n - i);
}

#define ACCEL_VEC_UNARY(Name, expr) \
  struct Name {                     \
    KernelParams p;                 \
    V operator()(V x) const { return expr; } \
  };
#define ACCEL_VEC_BINARY(Name, expr) \
  struct Name {                      \
    KernelParams p;                  \
    V operator()(V a, V b) const { return expr; } \
  };

ACCEL_VEC_UNARY(Relu, at::vec::clamp_min(x, V(0.f)))
ACCEL_VEC_UNARY(Gelu, gelu_erf(x))
ACCEL_VEC_UNARY(GeluTanh, gelu_tanh_via_exp(x))
ACCEL_VEC_UNARY(Silu, x / (V(1.f) + exp_beside_one(x.neg())))
ACCEL_VEC_UNARY(Sigmoid, (V(1.f) + exp_beside_one(x.neg())).reciprocal())
ACCEL_VEC_UNARY(Tanh, tanh_via_expm1(x))
ACCEL_VEC_UNARY(Exp, x.exp())
ACCEL_VEC_UNARY(Expm1, x.expm1())
ACCEL_VEC_UNARY(Log, x.log())
ACCEL_VEC_UNARY(Log1p, x.log1p())
ACCEL_VEC_UNARY(Log2, x.log2())
ACCEL_VEC_UNARY(Sqrt, x.sqrt())
ACCEL_VEC_UNARY(Rsqrt, x.rsqrt())
ACCEL_VEC_UNARY(Reciprocal, x.reciprocal())
ACCEL_VEC_UNARY(Abs, x.abs())
ACCEL_VEC_UNARY(Neg, x.neg())
ACCEL_VEC_UNARY(Sin, x.sin())
ACCEL_VEC_UNARY(Cos, x.cos())
ACCEL_VEC_UNARY(Erf, x.erf())
ACCEL_VEC_UNARY(Floor, x.floor())
ACCEL_VEC_UNARY(Ceil, x.ceil())
ACCEL_VEC_UNARY(Round, x.round())
ACCEL_VEC_UNARY(Trunc, x.trunc())
ACCEL_VEC_UNARY(LeakyRelu, V::blendv(x * V(float(p.alpha)), x, x > V(0.f)))
ACCEL_VEC_UNARY(Hardsigmoid, at::vec::minimum(at::vec::maximum(x + V(3.f), V(0.f)), V(6.f)) / V(6.f))
// acosh, asinh and atanh stay scalar: at::vec's forms overflow for large |x|
// where ATen's CPU kernels (std::) do not.
ACCEL_VEC_UNARY(Acos, x.acos())
ACCEL_VEC_UNARY(Asin, x.asin())
ACCEL_VEC_UNARY(Atan, x.atan())
ACCEL_VEC_UNARY(Sinh, x.sinh())
ACCEL_VEC_UNARY(Cosh, x.cosh())
ACCEL_VEC_UNARY(Tan, x.tan())
ACCEL_VEC_UNARY(Erfc, x.erfc())
ACCEL_VEC_UNARY(Exp2, x.exp2())
ACCEL_VEC_UNARY(Log10, x.log10())
ACCEL_VEC_UNARY(Frac, x.frac())
ACCEL_VEC_UNARY(Lgamma, x.lgamma())
ACCEL_VEC_UNARY(Digamma, x.digamma())
ACCEL_VEC_UNARY(I0, x.i0())
ACCEL_VEC_UNARY(I0e, x.i0e())
ACCEL_VEC_UNARY(Hardswish, x * at::vec::minimum(at::vec::maximum(x + V(3.f), V(0.f)), V(6.f)) / V(6.f))

// ATen's add is fmadd(b, alpha, a); sub is add with -alpha.
ACCEL_VEC_BINARY(Add, at::vec::fmadd(b, V(float(p.alpha)), a))
ACCEL_VEC_BINARY(Sub, at::vec::fmadd(b, V(float(-p.alpha)), a))
ACCEL_VEC_BINARY(Mul, a * b)
ACCEL_VEC_BINARY(Div, a / b)
ACCEL_VEC_BINARY(Maximum, at::vec::maximum(a, b))
ACCEL_VEC_BINARY(Minimum, at::vec::minimum(a, b))
ACCEL_VEC_BINARY(Eq, a.eq(b))
ACCEL_VEC_BINARY(Ne, a.ne(b))
ACCEL_VEC_BINARY(Lt, a.lt(b))
ACCEL_VEC_BINARY(Le, a.le(b))
ACCEL_VEC_BINARY(Gt, a.gt(b))
ACCEL_VEC_BINARY(Ge, a.ge(b))
ACCEL_VEC_BINARY(Hypot, a.hypot(b))
ACCEL_VEC_BINARY(Copysign, a.copysign(b))
#undef ACCEL_VEC_UNARY
#undef ACCEL_VEC_BINARY

template <class F>
void ternary_loop(const float* const* in, float* out, int64_t n, const KernelParams& p) {
  const F f{p};
  const float *a = in[0], *b = in[1], *c = in[2];
  int64_t i = 0;
  for (; i + V::size() <= n; i += V::size())
    f(V::loadu(a + i), V::loadu(b + i), V::loadu(c + i)).store(out + i);
  if (i < n) f(V::loadu(a + i, n - i), V::loadu(b + i, n - i), V::loadu(c + i, n - i)).store(out + i, n - i);
}

// ATen's vectorized lerp (native/Lerp.h): from whichever end the weight is
// nearer, one fused multiply-add.
struct Lerp {
  KernelParams p;
  V operator()(V start, V end, V weight) const {
    const V small = weight.abs() < V(0.5f);
    const V coeff = V::blendv(weight - V(1.f), weight, small);
    const V base = V::blendv(end, start, small);
    return at::vec::fmadd(coeff, end - start, base);
  }
};
struct Addcmul {
  KernelParams p;
  V operator()(V a, V b, V c) const { return a + V(float(p.alpha)) * b * c; }
};
struct Addcdiv {
  KernelParams p;
  V operator()(V a, V b, V c) const { return a + V(float(p.alpha)) * (b / c); }
};

template <class T>
void reduced_to_float(const void* src, float* dst, int64_t n) {
  using R = at::vec::Vectorized<T>;
  const T* s = static_cast<const T*>(src);
  int64_t i = 0;
  for (; i + R::size() <= n; i += R::size()) {
    auto [lo, hi] = at::vec::convert_to_float<T>(R::loadu(s + i));
    lo.store(dst + i);
    hi.store(dst + i + V::size());
  }
  for (; i < n; ++i) dst[i] = static_cast<float>(s[i]);
}

template <class T>
void float_to_reduced(const float* src, void* dst, int64_t n) {
  at::vec::convert(src, static_cast<T*>(dst), n);
}

}  // namespace

void fill_simd_tile_math(SimdTileMath& t) {
  t.capability = C10_STRINGIZE(CPU_CAPABILITY);
  auto set_unary = [&](Unary op, engine::TileFn<float> fn) { t.unary[static_cast<int>(op)] = fn; };
  set_unary(Unary::Relu, unary_loop<Relu>);
  set_unary(Unary::Gelu, unary_loop<Gelu>);
  set_unary(Unary::GeluTanh, unary_loop<GeluTanh>);
  set_unary(Unary::Silu, unary_loop<Silu>);
  set_unary(Unary::Sigmoid, unary_loop<Sigmoid>);
  set_unary(Unary::Tanh, unary_loop<Tanh>);
  set_unary(Unary::Exp, unary_loop<Exp>);
  set_unary(Unary::Expm1, unary_loop<Expm1>);
  set_unary(Unary::Log, unary_loop<Log>);
  set_unary(Unary::Log1p, unary_loop<Log1p>);
  set_unary(Unary::Log2, unary_loop<Log2>);
  set_unary(Unary::Sqrt, unary_loop<Sqrt>);
  set_unary(Unary::Rsqrt, unary_loop<Rsqrt>);
  set_unary(Unary::Reciprocal, unary_loop<Reciprocal>);
  set_unary(Unary::Abs, unary_loop<Abs>);
  set_unary(Unary::Neg, unary_loop<Neg>);
  set_unary(Unary::Sin, unary_loop<Sin>);
  set_unary(Unary::Cos, unary_loop<Cos>);
  set_unary(Unary::Erf, unary_loop<Erf>);
  set_unary(Unary::Floor, unary_loop<Floor>);
  set_unary(Unary::Ceil, unary_loop<Ceil>);
  set_unary(Unary::Round, unary_loop<Round>);
  set_unary(Unary::Trunc, unary_loop<Trunc>);
  set_unary(Unary::LeakyRelu, unary_loop<LeakyRelu>);
  set_unary(Unary::Hardsigmoid, unary_loop<Hardsigmoid>);
  set_unary(Unary::Hardswish, unary_loop<Hardswish>);
  set_unary(Unary::Acos, unary_loop<Acos>);
  set_unary(Unary::Asin, unary_loop<Asin>);
  set_unary(Unary::Atan, unary_loop<Atan>);
  set_unary(Unary::Sinh, unary_loop<Sinh>);
  set_unary(Unary::Cosh, unary_loop<Cosh>);
  set_unary(Unary::Tan, unary_loop<Tan>);
  set_unary(Unary::Erfc, unary_loop<Erfc>);
  set_unary(Unary::Exp2, unary_loop<Exp2>);
  set_unary(Unary::Log10, unary_loop<Log10>);
  set_unary(Unary::Frac, unary_loop<Frac>);
  set_unary(Unary::Lgamma, unary_loop<Lgamma>);
  set_unary(Unary::Digamma, unary_loop<Digamma>);
  set_unary(Unary::I0, unary_loop<I0>);
  set_unary(Unary::I0e, unary_loop<I0e>);

  auto set_binary = [&](Binary op, engine::TileFn<float> fn) { t.binary[static_cast<int>(op)] = fn; };
  set_binary(Binary::Add, binary_loop<Add>);
  set_binary(Binary::Sub, binary_loop<Sub>);
  set_binary(Binary::Mul, binary_loop<Mul>);
  set_binary(Binary::Div, binary_loop<Div>);
  set_binary(Binary::Maximum, binary_loop<Maximum>);
  set_binary(Binary::Minimum, binary_loop<Minimum>);
  set_binary(Binary::Eq, binary_loop<Eq>);
  set_binary(Binary::Ne, binary_loop<Ne>);
  set_binary(Binary::Lt, binary_loop<Lt>);
  set_binary(Binary::Le, binary_loop<Le>);
  set_binary(Binary::Gt, binary_loop<Gt>);
  set_binary(Binary::Ge, binary_loop<Ge>);
  set_binary(Binary::Hypot, binary_loop<Hypot>);
  set_binary(Binary::Copysign, binary_loop<Copysign>);

  t.bf16_to_float = reduced_to_float<c10::BFloat16>;
  t.half_to_float = reduced_to_float<c10::Half>;
  t.float_to_bf16 = float_to_reduced<c10::BFloat16>;
  t.float_to_half = float_to_reduced<c10::Half>;
  t.ternary[static_cast<int>(Ternary::Lerp)] = ternary_loop<Lerp>;
  t.ternary[static_cast<int>(Ternary::Addcmul)] = ternary_loop<Addcmul>;
  t.ternary[static_cast<int>(Ternary::Addcdiv)] = ternary_loop<Addcdiv>;
  fill_simd_backward_math(t);
}

}  // namespace accel::kernels::CPU_CAPABILITY
