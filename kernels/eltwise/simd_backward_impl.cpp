// The activations' gradients on the host's SIMD units, compiled once per CPU
// capability as simd_impl.cpp is. Each form is ATen's vectorized CPU formula
// (aten/src/ATen/native/cpu/Activation.cpp, BinaryOpsKernel.cpp), so grad_input
// agrees with CPU autograd; the selects are written so that a NaN input takes
// the branch the scalar form (backward.cpp) takes.
#include <ATen/cpu/vec/functional.h>
#include <ATen/cpu/vec/vec.h>

#include <cmath>

#include "kernels/eltwise/simd.h"
#include "kernels/eltwise/simd_tanh.h"

namespace accel::kernels::CPU_CAPABILITY {
namespace {

using engine::KernelParams;
using V = at::vec::Vectorized<float>;

// in[0] is grad_output, in[1] the saved tensor (input or result).
template <class F>
void backward_loop(const float* const* in, float* out, int64_t n, const KernelParams& p) {
  const F f{p};
  const float *grad = in[0], *saved = in[1];
  int64_t i = 0;
  for (; i + V::size() <= n; i += V::size()) f(V::loadu(grad + i), V::loadu(saved + i)).store(out + i);
  if (i < n) f(V::loadu(grad + i, n - i), V::loadu(saved + i, n - i)).store(out + i, n - i);
}

#define ACCEL_VEC_BACKWARD(Name, expr)            \
  struct Name {                                   \
    KernelParams p;                               \
    V operator()(V g, V x) const { return expr; } \
  };

// ATen's threshold kernel with value 0: a NaN input passes its gradient.
ACCEL_VEC_BACKWARD(Threshold, V::blendv(g, V(0.f), x <= V(float(p.alpha))))
// x is the forward's result here.
ACCEL_VEC_BACKWARD(Sigmoid, g * (V(1.f) - x) * x)
ACCEL_VEC_BACKWARD(Tanh, g * (V(1.f) - x * x))
// g * 1 is g exactly, so this is the scalar select, NaN input included.
ACCEL_VEC_BACKWARD(LeakyRelu, g * V::blendv(V(float(p.alpha)), V(1.f), x > V(0.f)))
ACCEL_VEC_BACKWARD(Hardsigmoid, V::blendv(V(0.f), g * V(1.f / 6.f), (x > V(-3.f)) & (x < V(3.f))))
// ATen's vector form selects on x >= 3, which turns a NaN input's gradient
// into NaN; its scalar form (and ours) selects on x < 3 and passes g.
ACCEL_VEC_BACKWARD(Hardswish, V::blendv(V::blendv(g, g * (x / V(3.f) + V(0.5f)), x < V(3.f)), V(0.f),
                                        x <= V(-3.f)))
// Masking keeps NaN out of the zero band as ATen's vectorized shrink_backward does.
ACCEL_VEC_BACKWARD(Shrink, ((x < V(float(-p.alpha))) | (x > V(float(p.alpha)))) & g)
#undef ACCEL_VEC_BACKWARD

struct Gelu {
  KernelParams p;
  V operator()(V g, V x) const { return gelu_erf_backward(g, x); }
};

struct GeluTanh {
  KernelParams p;
  V operator()(V g, V x) const {
    const V beta(float(M_SQRT2 * M_2_SQRTPI * 0.5)), kappa(0.044715f), one(1.f), half(0.5f);
    const V x_sq = x * x;
    const V u = beta * (x + kappa * (x * x * x));
    // 0.5 (1 + tanh u) = sigmoid(2u) and 1 - tanh^2 u from exp(-2|u|), without
    // the cancellation of 1 + t and 1 - t * t where tanh u nears -1 or 1.
    const V q = (V(-2.f) * u.abs()).exp();
    const V inv = one / (one + q);
    const V left_derivative = V::blendv(inv, q * inv, u < V(0.f));
    const V inner_derivative = beta * (one + V(3.f) * kappa * x_sq);
    const V right_derivative = half * x * (V(4.f) * q * inv * inv) * inner_derivative;
    return g * (left_derivative + right_derivative);
  }
};

struct Silu {
  KernelParams p;
  V operator()(V g, V x) const {
    const V one(1.f);
    const V sigmoid = one / (one + x.neg().exp());
    return g * sigmoid * (one + x * (one - sigmoid));
  }
};

struct Mish {
  KernelParams p;
  V operator()(V g, V x) const {
    const V one(1.f);
    const V sigmoid = one / (one + x.neg().exp());
    const V softplus = x.exp().log1p();
    return g * (tanh_via_expm1(softplus) + x * sigmoid * sech_squared(softplus));
  }
};

// ATen's vector form selects on x > 0, which sends a NaN input down the
// exponential branch; the scalar form (and ours) selects on x <= 0.
struct Elu {
  KernelParams p;
  V operator()(V g, V x) const {
    const V negcoef(float(p.alpha * p.beta)), poscoef(float(p.beta)), negiptcoef(float(p.gamma));
    const V negative = p.mode == 1 ? g * negiptcoef * (x + negcoef)
                                   : g * negiptcoef * negcoef * (x * negiptcoef).exp();
    return V::blendv(g * poscoef, negative, x <= V(0.f));
  }
};

struct Softplus {
  KernelParams p;
  V operator()(V g, V x) const {
    const V beta(float(p.alpha));
    const V z = (x * beta).exp();
    return V::blendv(g * z / (z + V(1.f)), g, x * beta > V(float(p.beta)));
  }
};

}  // namespace

// Logit stays scalar: its branches (NaN outside [0, 1], infinite slope at the
// ends) are ATen's scalar kernel, which has no vector form to follow.
void fill_simd_backward_math(SimdTileMath& t) {
  auto set = [&](Backward op, engine::TileFn<float> fn) { t.backward[static_cast<int>(op)] = fn; };
  set(Backward::Threshold, backward_loop<Threshold>);
  set(Backward::Gelu, backward_loop<Gelu>);
  set(Backward::GeluTanh, backward_loop<GeluTanh>);
  set(Backward::Silu, backward_loop<Silu>);
  set(Backward::Sigmoid, backward_loop<Sigmoid>);
  set(Backward::Tanh, backward_loop<Tanh>);
  set(Backward::LeakyRelu, backward_loop<LeakyRelu>);
  set(Backward::Hardswish, backward_loop<Hardswish>);
  set(Backward::Hardsigmoid, backward_loop<Hardsigmoid>);
  set(Backward::Elu, backward_loop<Elu>);
  set(Backward::Softplus, backward_loop<Softplus>);
  set(Backward::Mish, backward_loop<Mish>);
  set(Backward::Shrink, backward_loop<Shrink>);
}

}  // namespace accel::kernels::CPU_CAPABILITY
