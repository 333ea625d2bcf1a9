#include "kernels/loss/pointwise.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <type_traits>

#include "kernels/eltwise/tile_kernel.h"

namespace accel::kernels {
namespace {

// Losses have no integer form; the integer compute type still needs a body.
template <class C>
using Real = std::conditional_t<std::is_integral_v<C>, double, C>;

// The formulas are ATen's, so values and gradients agree with CPU autograd.
struct MseOp {
  KernelParams p;
  template <class C> C operator()(C x, C y) const { return (x - y) * (x - y); }
};

struct SmoothL1Op {
  KernelParams p;
  template <class C> C operator()(C x, C y) const {
    using R = Real<C>;
    const R z = std::abs(R(x) - R(y)), beta = R(p.alpha);
    return static_cast<C>(z < beta ? R(0.5) * z * z / beta : z - R(0.5) * beta);
  }
};

struct HuberOp {
  KernelParams p;
  template <class C> C operator()(C x, C y) const {
    using R = Real<C>;
    const R z = std::abs(R(x) - R(y)), delta = R(p.alpha);
    return static_cast<C>(z < delta ? R(0.5) * z * z : delta * (z - R(0.5) * delta));
  }
};

struct BceOp {
  KernelParams p;
  template <class C> C operator()(C x, C y, C w) const {
    using R = Real<C>;
    const R in = x, t = y;
    if (!(in >= R(0) && in <= R(1)))
      throw std::domain_error("all elements of input should be between 0 and 1");
    // log is clamped at -100 as in ATen, so x = 0 or 1 gives a finite loss.
    const R log_in = std::max(std::log(in), R(-100));
    const R log_1m = std::max(std::log1p(-in), R(-100));
    return static_cast<C>((t - R(1)) * log_1m - t * log_in) * w;
  }
};

struct LogSigmoidOp {
  KernelParams p;
  template <class C> C operator()(C x) const {
    using R = Real<C>;
    const R a = x;
    return static_cast<C>(std::min(a, R(0)) - std::log1p(std::exp(-std::abs(a))));
  }
};

struct MseBackwardOp {
  KernelParams p;
  template <class C> C operator()(C g, C x, C y) const {
    return static_cast<C>(Real<C>(2 * p.alpha) * (x - y) * g);
  }
};

struct SmoothL1BackwardOp {
  KernelParams p;
  template <class C> C operator()(C g, C x, C y) const {
    using R = Real<C>;
    const R d = R(x) - R(y), n = R(p.alpha), beta = R(p.beta), gg = g;
    return static_cast<C>(d <= -beta ? -n * gg : d >= beta ? n * gg : n * d * gg / beta);
  }
};

struct HuberBackwardOp {
  KernelParams p;
  template <class C> C operator()(C g, C x, C y) const {
    using R = Real<C>;
    const R d = R(x) - R(y), n = R(p.alpha), delta = R(p.beta), gg = g;
    return static_cast<C>(d <= -delta ? -n * gg * delta : d >= delta ? n * gg * delta : n * d * gg);
  }
};

struct LogSigmoidBackwardOp {
  KernelParams p;
  template <class C> C operator()(C g, C x) const {
    using R = Real<C>;
    const R a = x;
    const bool neg = a < R(0);
    const R z = std::exp(-std::abs(a));
    return static_cast<C>((R(neg ? 1 : 0) - R(neg ? 1 : -1) * (z / (R(1) + z))) * R(g));
  }
};

struct BitwiseNotOp {
  KernelParams p;
  template <class C> C operator()(C a) const {
    if constexpr (std::is_integral_v<C>) return p.mode == 1 ? C(a == 0) : C(~a);
    else return a;  // never selected: bitwise_not takes integer and bool data only
  }
};

// Smooth L1's fp32 loops on explicit vectors: both sides of the select are
// computed for every lane, then blended. Written as scalar code, the compiler
// keeps the division under a branch (it may trap), which does not vectorize
// and mispredicts on real data. Same operations in the same order as the
// scalar functors, so results are bit-identical to them.
using F4 = float __attribute__((vector_size(16), aligned(4)));
constexpr int64_t kLanes = 4;

inline F4 load4(const float* p) {
  F4 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store4(float* p, F4 v) { std::memcpy(p, &v, sizeof v); }
inline F4 splat4(float v) { return F4{} + v; }
inline F4 abs4(F4 v) {
  using I4 = int32_t __attribute__((vector_size(16), aligned(4)));
  I4 bits;
  std::memcpy(&bits, &v, sizeof v);
  bits &= 0x7fffffff;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}

template <class Op, int Arity>
struct SmoothL1Loop {
  template <class C>
  static void run(const C* const* in, C* out, int64_t n, const KernelParams& p) {
    TileLoop<Op, Arity>::template run<C>(in, out, n, p);
  }
};

template <>
template <>
void SmoothL1Loop<SmoothL1Op, 2>::run<float>(const float* const* in, float* out, int64_t n,
                                             const KernelParams& p) {
  const float *x = in[0], *y = in[1];
  const float beta = static_cast<float>(p.alpha);
  const F4 vb = splat4(beta), half = splat4(0.5f), lin_off = splat4(0.5f * beta);
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    const F4 z = abs4(load4(x + i) - load4(y + i));
    const F4 quad = half * z * z / vb, lin = z - lin_off;
    store4(out + i, z < vb ? quad : lin);
  }
  const SmoothL1Op op{p};
  for (; i < n; ++i) out[i] = op(x[i], y[i]);
}

template <>
template <>
void SmoothL1Loop<SmoothL1BackwardOp, 3>::run<float>(const float* const* in, float* out,
                                                     int64_t n, const KernelParams& p) {
  const float *g = in[0], *x = in[1], *y = in[2];
  const float nrm = static_cast<float>(p.alpha), beta = static_cast<float>(p.beta);
  const F4 vn = splat4(nrm), vb = splat4(beta), nb = splat4(-beta), neg_n = splat4(-nrm);
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    const F4 gg = load4(g + i), d = load4(x + i) - load4(y + i);
    // -n * gg is (-n) * gg exactly, as the scalar form evaluates it.
    const F4 lo = neg_n * gg, hi = vn * gg, mid = vn * d * gg / vb;
    store4(out + i, d <= nb ? lo : (d >= vb ? hi : mid));
  }
  const SmoothL1BackwardOp op{p};
  for (; i < n; ++i) out[i] = op(g[i], x[i], y[i]);
}

template <class Op, int Arity>
engine::TileKernel smooth_l1_kernel(const char* name) {
  return {&perf::kernel_desc(name), &SmoothL1Loop<Op, Arity>::template run<float>,
          &SmoothL1Loop<Op, Arity>::template run<double>,
          &SmoothL1Loop<Op, Arity>::template run<int64_t>};
}

// BCE's gradient has four operands, one more than the shared tile loop takes.
struct BceBackwardLoop {
  template <class C>
  static void run(const C* const* in, C* out, int64_t n, const KernelParams& p) {
    using R = Real<C>;
    constexpr R kEps = R(1e-12);
    const C *g = in[0], *x = in[1], *y = in[2], *w = in[3];
    const R norm = R(p.alpha);
    for (int64_t i = 0; i < n; ++i) {
      const R a = x[i];
      out[i] = static_cast<C>(norm * R(g[i]) * R(w[i]) * (a - R(y[i])) /
                              std::max((R(1) - a) * a, kEps));
    }
  }
};

engine::TileKernel bce_backward_kernel() {
  return {&perf::kernel_desc("sfpu_bce_backward"), &BceBackwardLoop::run<float>,
          &BceBackwardLoop::run<double>, &BceBackwardLoop::run<int64_t>};
}

}  // namespace

const engine::TileKernel& loss_kernel(Loss op) {
  static const engine::TileKernel kernels[] = {
      tile_kernel<MseOp, 2>("sfpu_mse"),
      smooth_l1_kernel<SmoothL1Op, 2>("sfpu_smooth_l1"),
      tile_kernel<HuberOp, 2>("sfpu_huber"),
      tile_kernel<BceOp, 3>("sfpu_bce"),
      tile_kernel<LogSigmoidOp, 1>("sfpu_log_sigmoid"),
      tile_kernel<MseBackwardOp, 3>("sfpu_mse_backward"),
      smooth_l1_kernel<SmoothL1BackwardOp, 3>("sfpu_smooth_l1_backward"),
      tile_kernel<HuberBackwardOp, 3>("sfpu_huber_backward"),
      bce_backward_kernel(),
      tile_kernel<LogSigmoidBackwardOp, 2>("sfpu_log_sigmoid_backward"),
      tile_kernel<BitwiseNotOp, 1>("sfpu_bitwise_not"),
  };
  return kernels[static_cast<int>(op)];
}

}  // namespace accel::kernels
