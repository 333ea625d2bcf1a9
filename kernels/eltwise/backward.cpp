#include "kernels/eltwise/backward.h"

#include <cmath>
#include <limits>
#include <type_traits>

#include "kernels/eltwise/simd.h"
#include "kernels/eltwise/tile_kernel.h"

namespace accel::kernels {
namespace {

// Integer data has no gradient; its compute type still needs a body.
template <class C>
using Real = std::conditional_t<std::is_integral_v<C>, double, C>;

#define ACCEL_BACKWARD_OP(Name, expr)              \
  struct Name {                                    \
    KernelParams p;                                \
    template <class C>                             \
    C operator()(C grad, C saved) const {          \
      using R = Real<C>;                           \
      const R g = static_cast<R>(grad);            \
      const R x = static_cast<R>(saved);           \
      (void)g;                                     \
      (void)x;                                     \
      return static_cast<C>(expr);                 \
    }                                              \
  };

// The formulas are ATen's, so gradients agree with CPU autograd.
ACCEL_BACKWARD_OP(ThresholdOp, x <= R(p.alpha) ? R(0) : g)
// As ATen's vectorized shrink_backward (which its contiguous tensors take): a NaN
// input passes no gradient.
ACCEL_BACKWARD_OP(ShrinkOp, x < -R(p.alpha) || x > R(p.alpha) ? g : R(0))
ACCEL_BACKWARD_OP(GeluOp, g * (R(0.5) * (R(1) + std::erf(x * R(M_SQRT1_2))) +
                               x * std::exp(R(-0.5) * x * x) * R(M_2_SQRTPI * M_SQRT1_2 * 0.5)))
ACCEL_BACKWARD_OP(SiluOp, g * (R(1) / (R(1) + std::exp(-x))) *
                              (R(1) + x * (R(1) - R(1) / (R(1) + std::exp(-x)))))
ACCEL_BACKWARD_OP(SigmoidOp, g * (R(1) - x) * x)
ACCEL_BACKWARD_OP(TanhOp, g * (R(1) - x * x))
ACCEL_BACKWARD_OP(LeakyReluOp, x > R(0) ? g : g * R(p.alpha))
// As ATen (torch 2.13): the gradient at -3 is 0 and at 3 the full gradient.
ACCEL_BACKWARD_OP(HardswishOp, x <= R(-3) ? R(0) : x < R(3) ? g * (x / R(3) + R(0.5)) : g)
// ATen multiplies by 1/6 rounded to float, in double too.
ACCEL_BACKWARD_OP(HardsigmoidOp, x > R(-3) && x < R(3) ? g * R(1.0f / 6.0f) : R(0))
#undef ACCEL_BACKWARD_OP

struct GeluTanhOp {
  KernelParams p;
  template <class C> C operator()(C grad, C saved) const {
    using R = Real<C>;
    const R x = saved, g = grad;
    const R beta = R(M_SQRT2 * M_2_SQRTPI * 0.5), kappa = R(0.044715);
    const R inner = beta * (x + kappa * x * x * x);
    const R t = std::tanh(inner);
    const R left_derivative = R(0.5) * (R(1) + t);
    const R right_derivative = R(0.5) * x * (R(1) - t * t) * beta * (R(1) + R(3) * kappa * x * x);
    return static_cast<C>(g * (left_derivative + right_derivative));
  }
};

struct EluOp {
  KernelParams p;
  template <class C> C operator()(C grad, C saved) const {
    using R = Real<C>;
    const R g = grad, x = saved;
    const R negcoef = R(p.alpha * p.beta), poscoef = R(p.beta), negiptcoef = R(p.gamma);
    if (p.mode == 1) return static_cast<C>(x <= 0 ? g * negiptcoef * (x + negcoef) : g * poscoef);
    return static_cast<C>(x <= 0 ? g * negiptcoef * negcoef * std::exp(x * negiptcoef) : g * poscoef);
  }
};

struct SoftplusOp {
  KernelParams p;
  template <class C> C operator()(C grad, C saved) const {
    using R = Real<C>;
    const R g = grad, x = saved, beta = R(p.alpha);
    const R z = std::exp(x * beta);
    return static_cast<C>(x * beta > R(p.beta) ? g : g * z / (z + R(1)));
  }
};

struct MishOp {
  KernelParams p;
  template <class C> C operator()(C grad, C saved) const {
    using R = Real<C>;
    const R g = grad, x = saved;
    const R sigmoid = R(1) / (R(1) + std::exp(-x));
    const R tanh_softplus = std::tanh(std::log1p(std::exp(x)));
    return static_cast<C>(g * (tanh_softplus + x * sigmoid * (R(1) - tanh_softplus * tanh_softplus)));
  }
};

// ATen's logit_backward: zero outside [eps, 1 - eps] when clamped; without eps,
// NaN outside [0, 1] and an infinite slope at its ends.
struct LogitOp {
  KernelParams p;
  template <class C> C operator()(C grad, C saved) const {
    using R = Real<C>;
    const R g = static_cast<R>(grad), x = static_cast<R>(saved);
    if (p.mode & 1)
      return static_cast<C>(x < R(p.alpha) || x > R(p.beta) ? R(0) : g / (x * (R(1) - x)));
    if (x < R(0) || x > R(1)) return static_cast<C>(std::numeric_limits<R>::quiet_NaN());
    if (x == R(0) || x == R(1)) return static_cast<C>(g * std::numeric_limits<R>::infinity());
    return static_cast<C>(g / (x * (R(1) - x)));
  }
};

}  // namespace

const engine::TileKernel& backward_kernel(Backward op) {
  static const engine::TileKernel portable[] = {
      tile_kernel<ThresholdOp, 2>("sfpu_threshold_backward"),
      tile_kernel<GeluOp, 2>("sfpu_gelu_backward"),
      tile_kernel<GeluTanhOp, 2>("sfpu_gelu_tanh_backward"),
      tile_kernel<SiluOp, 2>("sfpu_silu_backward"),
      tile_kernel<SigmoidOp, 2>("sfpu_sigmoid_backward"),
      tile_kernel<TanhOp, 2>("sfpu_tanh_backward"),
      tile_kernel<LeakyReluOp, 2>("sfpu_leaky_relu_backward"),
      tile_kernel<HardswishOp, 2>("sfpu_hardswish_backward"),
      tile_kernel<HardsigmoidOp, 2>("sfpu_hardsigmoid_backward"),
      tile_kernel<EluOp, 2>("sfpu_elu_backward"),
      tile_kernel<SoftplusOp, 2>("sfpu_softplus_backward"),
      tile_kernel<MishOp, 2>("sfpu_mish_backward"),
      tile_kernel<LogitOp, 2>("sfpu_logit_backward"),
      tile_kernel<ShrinkOp, 2>("sfpu_shrink_backward"),
  };
  static_assert(std::size(portable) == kBackwardCount);
  static const auto table = with_simd(portable, simd_tile_math().backward);
  return table[static_cast<int>(op)];
}

}  // namespace accel::kernels
