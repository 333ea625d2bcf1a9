#include "kernels/eltwise/unary.h"

#include <cmath>
#include <limits>
#include <type_traits>

#include <ATen/native/Math.h>  // ATen's special functions (calc_digamma, calc_i0, ...), no Tensor
#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include "kernels/eltwise/simd.h"
#include "kernels/eltwise/tile_kernel.h"

namespace accel::kernels {
namespace {

template <class C>
using Real = std::conditional_t<std::is_integral_v<C>, double, C>;

// Inverse error function, Giles' single-precision approximation refined by
// two Newton steps on erf, so it is accurate to float and double rounding.
template <class C>
C erfinv_value(C y) {
  if (y <= -1) return y == -1 ? -std::numeric_limits<C>::infinity() : std::numeric_limits<C>::quiet_NaN();
  if (y >= 1) return y == 1 ? std::numeric_limits<C>::infinity() : std::numeric_limits<C>::quiet_NaN();
  double w = -std::log((1.0 - y) * (1.0 + y)), x;
  if (w < 5.0) {
    w -= 2.5;
    x = 2.81022636e-08;
    for (double c : {3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503,
                     -0.00417768164, 0.246640727, 1.50140941})
      x = c + x * w;
  } else {
    w = std::sqrt(w) - 3.0;
    x = -0.000200214257;
    for (double c : {0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613,
                     0.00943887047, 1.00167406, 2.83297682})
      x = c + x * w;
  }
  x *= y;
  for (int i = 0; i < 2; ++i)
    x -= (std::erf(x) - y) / (2.0 / std::sqrt(M_PI) * std::exp(-x * x));
  return static_cast<C>(x);
}

#define ACCEL_UNARY_OP(Name, expr)                        \
  struct Name {                                           \
    KernelParams p;                                       \
    template <class C>                                    \
    C operator()(C x) const {                             \
      using R = Real<C>;                                  \
      const R v = static_cast<R>(x);                      \
      (void)v;                                            \
      return static_cast<C>(expr);                        \
    }                                                     \
  };

ACCEL_UNARY_OP(ReluOp, v > 0 || v != v ? v : R(0))  // NaN passes, as in ATen
ACCEL_UNARY_OP(GeluOp, v * R(0.5) * (R(1) + std::erf(v * R(M_SQRT1_2))))
ACCEL_UNARY_OP(GeluTanhOp, R(0.5) * v * (R(1) + std::tanh(R(M_2_SQRTPI * M_SQRT1_2) * (v + R(0.044715) * v * v * v))))
ACCEL_UNARY_OP(SiluOp, v / (R(1) + std::exp(-v)))
ACCEL_UNARY_OP(SigmoidOp, R(1) / (R(1) + std::exp(-v)))
ACCEL_UNARY_OP(TanhOp, std::tanh(v))
ACCEL_UNARY_OP(ExpOp, std::exp(v))
ACCEL_UNARY_OP(Expm1Op, std::expm1(v))
ACCEL_UNARY_OP(LogOp, std::log(v))
ACCEL_UNARY_OP(Log1pOp, std::log1p(v))
ACCEL_UNARY_OP(Log2Op, std::log2(v))
ACCEL_UNARY_OP(SqrtOp, std::sqrt(v))
ACCEL_UNARY_OP(RsqrtOp, R(1) / std::sqrt(v))
ACCEL_UNARY_OP(ReciprocalOp, R(1) / v)
ACCEL_UNARY_OP(AbsOp, v < 0 ? -v : v)
ACCEL_UNARY_OP(NegOp, -v)
ACCEL_UNARY_OP(SignOp, R((v > 0) - (v < 0)))  // 0 for NaN, as ATen's sign kernels
ACCEL_UNARY_OP(SinOp, std::sin(v))
ACCEL_UNARY_OP(CosOp, std::cos(v))
ACCEL_UNARY_OP(ErfOp, std::erf(v))
ACCEL_UNARY_OP(ErfinvOp, erfinv_value(v))
ACCEL_UNARY_OP(FloorOp, std::floor(v))
ACCEL_UNARY_OP(CeilOp, std::ceil(v))
ACCEL_UNARY_OP(RoundOp, std::nearbyint(v))
ACCEL_UNARY_OP(TruncOp, std::trunc(v))
ACCEL_UNARY_OP(LeakyReluOp, v > 0 ? v : v * R(p.alpha))
ACCEL_UNARY_OP(EluOp, v > 0 ? v * R(p.beta) : R(p.alpha) * R(p.beta) * std::expm1(v * R(p.gamma)))
ACCEL_UNARY_OP(HardswishOp, v * std::min(std::max(v + R(3), R(0)), R(6)) / R(6))
ACCEL_UNARY_OP(HardsigmoidOp, std::min(std::max(v + R(3), R(0)), R(6)) / R(6))
ACCEL_UNARY_OP(SoftplusOp, v * R(p.alpha) > R(p.beta) ? v : std::log1p(std::exp(v * R(p.alpha))) / R(p.alpha))
ACCEL_UNARY_OP(MishOp, v * std::tanh(std::log1p(std::exp(v))))
ACCEL_UNARY_OP(AcosOp, std::acos(v))
ACCEL_UNARY_OP(AsinOp, std::asin(v))
ACCEL_UNARY_OP(AtanOp, std::atan(v))
ACCEL_UNARY_OP(AcoshOp, std::acosh(v))
ACCEL_UNARY_OP(AsinhOp, std::asinh(v))
ACCEL_UNARY_OP(AtanhOp, std::atanh(v))
ACCEL_UNARY_OP(SinhOp, std::sinh(v))
ACCEL_UNARY_OP(CoshOp, std::cosh(v))
ACCEL_UNARY_OP(TanOp, std::tan(v))
ACCEL_UNARY_OP(ErfcOp, std::erfc(v))
ACCEL_UNARY_OP(Exp2Op, std::exp2(v))
ACCEL_UNARY_OP(Log10Op, std::log10(v))
ACCEL_UNARY_OP(FracOp, v - std::trunc(v))
// ATen's sinc: exactly 1 at 0, sin(pi x) / (pi x) elsewhere.
ACCEL_UNARY_OP(SincOp, v == R(0) ? R(1) : std::sin(R(M_PI) * v) / (R(M_PI) * v))
ACCEL_UNARY_OP(LgammaOp, std::lgamma(v))
ACCEL_UNARY_OP(DigammaOp, ::calc_digamma(v))
ACCEL_UNARY_OP(I0Op, ::calc_i0(v))
ACCEL_UNARY_OP(I1Op, ::calc_i1(v))
ACCEL_UNARY_OP(I0eOp, ::calc_i0e(v))
ACCEL_UNARY_OP(I1eOp, ::calc_i1e(v))
ACCEL_UNARY_OP(NdtriOp, ::calc_ndtri(v))
ACCEL_UNARY_OP(ErfcxOp, ::calc_erfcx(v))
ACCEL_UNARY_OP(LogNdtrOp, ::calc_log_ndtr(v))
// ATen's entr: -x log x, 0 at 0, -inf below.
ACCEL_UNARY_OP(EntrOp, v != v ? v : (v > R(0) ? -v * std::log(v) : (v == R(0) ? R(0) : -std::numeric_limits<R>::infinity())))
ACCEL_UNARY_OP(AiryAiOp, ::airy_ai_forward(v))
ACCEL_UNARY_OP(BesselJ0Op, ::bessel_j0_forward(v))
ACCEL_UNARY_OP(BesselJ1Op, ::bessel_j1_forward(v))
ACCEL_UNARY_OP(BesselY0Op, ::bessel_y0_forward(v))
ACCEL_UNARY_OP(BesselY1Op, ::bessel_y1_forward(v))
ACCEL_UNARY_OP(ModifiedBesselI0Op, ::modified_bessel_i0_forward(v))
ACCEL_UNARY_OP(ModifiedBesselI1Op, ::modified_bessel_i1_forward(v))
ACCEL_UNARY_OP(ModifiedBesselK0Op, ::modified_bessel_k0_forward(v))
ACCEL_UNARY_OP(ModifiedBesselK1Op, ::modified_bessel_k1_forward(v))
ACCEL_UNARY_OP(ScaledModifiedBesselK0Op, ::scaled_modified_bessel_k0_forward(v))
ACCEL_UNARY_OP(ScaledModifiedBesselK1Op, ::scaled_modified_bessel_k1_forward(v))
ACCEL_UNARY_OP(SphericalBesselJ0Op, ::spherical_bessel_j0_forward(v))
ACCEL_UNARY_OP(HardshrinkOp, v >= -R(p.alpha) && v <= R(p.alpha) ? R(0) : v)
// a * 0 inside the band keeps ATen's NaN for a NaN input.
ACCEL_UNARY_OP(SoftshrinkOp, v > R(p.alpha) ? v - R(p.alpha) : (v < -R(p.alpha) ? v + R(p.alpha) : v * R(0)))
ACCEL_UNARY_OP(AngleOp, v != v ? v : (v < R(0) ? R(M_PI) : R(0)))
#undef ACCEL_UNARY_OP

// ATen's polygamma: digamma and trigamma for n = 0 and 1, the Hurwitz zeta form above.
struct PolygammaOp {
  KernelParams p;
  template <class C> C operator()(C x) const {
    using R = Real<C>;
    const R v = static_cast<R>(x);
    if (p.mode == 0) return static_cast<C>(::calc_digamma(v));
    if (p.mode == 1) return static_cast<C>(::trigamma(v));
    return static_cast<C>(::calc_polygamma(v, static_cast<int>(p.mode)));
  }
};
// A value rounded to a reduced data format (mode bit 2: bfloat16, bit 4: half), for
// ops whose ATen kernel computes step by step in that format.
template <class R>
R in_format(R v, int64_t mode) {
  if (mode & 2) return static_cast<R>(static_cast<float>(c10::BFloat16(static_cast<float>(v))));
  if (mode & 4) return static_cast<R>(static_cast<float>(c10::Half(static_cast<float>(v))));
  return v;
}
// ATen's logit: with eps (mode bit 1), x is clamped to [eps, 1 - eps]; without,
// outside [0, 1] is NaN.
struct LogitOp {
  KernelParams p;
  template <class C> C operator()(C x) const {
    using R = Real<C>;
    R v = static_cast<R>(x);
    constexpr R inf = std::numeric_limits<R>::infinity();
    if (p.mode & 1) {
      v = v < static_cast<R>(p.alpha) ? static_cast<R>(p.alpha) : (v > static_cast<R>(p.beta) ? static_cast<R>(p.beta) : v);
    } else {
      if (v < R(0) || v > R(1)) return static_cast<C>(std::numeric_limits<R>::quiet_NaN());
      if (v == R(0)) return static_cast<C>(-inf);
    }
    if (v == R(1)) return static_cast<C>(inf);
    return static_cast<C>(std::log(in_format(v / in_format(R(1) - v, p.mode), p.mode)));
  }
};
// ATen's round(decimals): scale by 10^|decimals| on the side that keeps the
// rounding at integers, round half to even, scale back.
struct RoundDecimalsOp {
  KernelParams p;
  template <class C> C operator()(C x) const {
    using R = Real<C>;
    const R v = static_cast<R>(x);
    const R ten_pow = static_cast<R>(std::pow(10, p.mode < 0 ? -p.mode : p.mode));
    return static_cast<C>(p.mode < 0 ? std::nearbyint(v / ten_pow) * ten_pow
                                     : std::nearbyint(v * ten_pow) / ten_pow);
  }
};
// As ATen, the threshold and value are cast to the compute type first (integers truncate).
struct ThresholdOp {
  KernelParams p;
  template <class C> C operator()(C x) const {
    return x <= static_cast<C>(p.alpha) ? static_cast<C>(p.beta) : x;
  }
};
struct SignbitOp {
  KernelParams p;
  template <class C> C operator()(C x) const {
    if constexpr (std::is_integral_v<C>) return x < 0;
    else return std::signbit(x);
  }
};

struct ClampOp {
  KernelParams p;
  template <class C> C operator()(C x) const {
    if constexpr (!std::is_integral_v<C>) if (std::isnan(x)) return x;
    if ((p.mode & 1) && x < static_cast<C>(p.alpha)) x = static_cast<C>(p.alpha);
    if ((p.mode & 2) && x > static_cast<C>(p.beta)) x = static_cast<C>(p.beta);
    return x;
  }
};
struct NanToNumOp {
  KernelParams p;
  template <class C> C operator()(C x) const {
    if constexpr (std::is_integral_v<C>) return x;
    else {
      if (std::isnan(x)) return static_cast<C>(p.alpha);
      if (std::isinf(x)) return static_cast<C>(x > 0 ? p.beta : p.gamma);
      return x;
    }
  }
};

}  // namespace

const engine::TileKernel& unary_kernel(Unary op) {
  static const engine::TileKernel portable[] = {
      tile_kernel<ReluOp, 1>("sfpu_relu"),
      tile_kernel<GeluOp, 1>("sfpu_gelu"),
      tile_kernel<GeluTanhOp, 1>("sfpu_gelu_tanh"),
      tile_kernel<SiluOp, 1>("sfpu_silu"),
      tile_kernel<SigmoidOp, 1>("sfpu_sigmoid"),
      tile_kernel<TanhOp, 1>("sfpu_tanh"),
      tile_kernel<ExpOp, 1>("sfpu_exp"),
      tile_kernel<Expm1Op, 1>("sfpu_expm1"),
      tile_kernel<LogOp, 1>("sfpu_log"),
      tile_kernel<Log1pOp, 1>("sfpu_log1p"),
      tile_kernel<Log2Op, 1>("sfpu_log2"),
      tile_kernel<SqrtOp, 1>("sfpu_sqrt"),
      tile_kernel<RsqrtOp, 1>("sfpu_rsqrt"),
      tile_kernel<ReciprocalOp, 1>("sfpu_reciprocal"),
      tile_kernel<AbsOp, 1>("sfpu_abs"),
      tile_kernel<NegOp, 1>("sfpu_neg"),
      tile_kernel<SignOp, 1>("sfpu_sign"),
      tile_kernel<SinOp, 1>("sfpu_sin"),
      tile_kernel<CosOp, 1>("sfpu_cos"),
      tile_kernel<ErfOp, 1>("sfpu_erf"),
      tile_kernel<ErfinvOp, 1>("sfpu_erfinv"),
      tile_kernel<FloorOp, 1>("sfpu_floor"),
      tile_kernel<CeilOp, 1>("sfpu_ceil"),
      tile_kernel<RoundOp, 1>("sfpu_round"),
      tile_kernel<TruncOp, 1>("sfpu_trunc"),
      tile_kernel<ClampOp, 1>("sfpu_clamp"),
      tile_kernel<LeakyReluOp, 1>("sfpu_leaky_relu"),
      tile_kernel<EluOp, 1>("sfpu_elu"),
      tile_kernel<HardswishOp, 1>("sfpu_hardswish"),
      tile_kernel<HardsigmoidOp, 1>("sfpu_hardsigmoid"),
      tile_kernel<SoftplusOp, 1>("sfpu_softplus"),
      tile_kernel<MishOp, 1>("sfpu_mish"),
      tile_kernel<NanToNumOp, 1>("sfpu_nan_to_num"),
      tile_kernel<AcosOp, 1>("sfpu_acos"),
      tile_kernel<AsinOp, 1>("sfpu_asin"),
      tile_kernel<AtanOp, 1>("sfpu_atan"),
      tile_kernel<AcoshOp, 1>("sfpu_acosh"),
      tile_kernel<AsinhOp, 1>("sfpu_asinh"),
      tile_kernel<AtanhOp, 1>("sfpu_atanh"),
      tile_kernel<SinhOp, 1>("sfpu_sinh"),
      tile_kernel<CoshOp, 1>("sfpu_cosh"),
      tile_kernel<TanOp, 1>("sfpu_tan"),
      tile_kernel<ErfcOp, 1>("sfpu_erfc"),
      tile_kernel<Exp2Op, 1>("sfpu_exp2"),
      tile_kernel<Log10Op, 1>("sfpu_log10"),
      tile_kernel<FracOp, 1>("sfpu_frac"),
      tile_kernel<SincOp, 1>("sfpu_sinc"),
      tile_kernel<LgammaOp, 1>("sfpu_lgamma"),
      tile_kernel<DigammaOp, 1>("sfpu_digamma"),
      tile_kernel<PolygammaOp, 1>("sfpu_polygamma"),
      tile_kernel<I0Op, 1>("sfpu_i0"),
      tile_kernel<LogitOp, 1>("sfpu_logit"),
      tile_kernel<RoundDecimalsOp, 1>("sfpu_round_decimals"),
      tile_kernel<AngleOp, 1>("sfpu_angle"),
      tile_kernel<SignbitOp, 1>("sfpu_signbit"),
      tile_kernel<ThresholdOp, 1>("sfpu_threshold"),
      tile_kernel<I1Op, 1>("sfpu_i1"),
      tile_kernel<I0eOp, 1>("sfpu_i0e"),
      tile_kernel<I1eOp, 1>("sfpu_i1e"),
      tile_kernel<NdtriOp, 1>("sfpu_ndtri"),
      tile_kernel<ErfcxOp, 1>("sfpu_erfcx"),
      tile_kernel<LogNdtrOp, 1>("sfpu_log_ndtr"),
      tile_kernel<EntrOp, 1>("sfpu_entr"),
      tile_kernel<AiryAiOp, 1>("sfpu_airy_ai"),
      tile_kernel<BesselJ0Op, 1>("sfpu_bessel_j0"),
      tile_kernel<BesselJ1Op, 1>("sfpu_bessel_j1"),
      tile_kernel<BesselY0Op, 1>("sfpu_bessel_y0"),
      tile_kernel<BesselY1Op, 1>("sfpu_bessel_y1"),
      tile_kernel<ModifiedBesselI0Op, 1>("sfpu_modified_bessel_i0"),
      tile_kernel<ModifiedBesselI1Op, 1>("sfpu_modified_bessel_i1"),
      tile_kernel<ModifiedBesselK0Op, 1>("sfpu_modified_bessel_k0"),
      tile_kernel<ModifiedBesselK1Op, 1>("sfpu_modified_bessel_k1"),
      tile_kernel<ScaledModifiedBesselK0Op, 1>("sfpu_scaled_modified_bessel_k0"),
      tile_kernel<ScaledModifiedBesselK1Op, 1>("sfpu_scaled_modified_bessel_k1"),
      tile_kernel<SphericalBesselJ0Op, 1>("sfpu_spherical_bessel_j0"),
      tile_kernel<HardshrinkOp, 1>("sfpu_hardshrink"),
      tile_kernel<SoftshrinkOp, 1>("sfpu_softshrink"),
  };
  static_assert(std::size(portable) == kUnaryCount);
  static const auto table = with_simd(portable, simd_tile_math().unary);
  return table[static_cast<int>(op)];
}

}  // namespace accel::kernels
