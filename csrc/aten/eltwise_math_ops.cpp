// Registrations of the element-wise math ops beyond arithmetic: classification
// (signbit), the clamp family, trigonometric, hyperbolic and special
// functions. Each builds the TensorIterator CPU ATen builds for it (so type
// promotion, out= and in-place checks agree) and launches one tile kernel.
#include <ATen/native/Resize.h>
#include <ATen/native/TypeProperties.h>
#include <c10/core/DefaultDtype.h>
#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <cmath>
#include <limits>

#include "aten/eltwise_registration.h"
#include "kernels/eltwise/backward.h"

namespace accel::aten {
namespace {

using namespace eltwise;
using kernels::Backward;
using kernels::Binary;
using kernels::Ternary;
using kernels::Unary;

// The dtype a unary float op computes in: the input's when floating, else the default.
at::ScalarType float_result_type(const at::Tensor& a) {
  return at::isFloatingType(a.scalar_type()) ? a.scalar_type()
                                             : c10::typeMetaToScalarType(c10::get_default_dtype());
}

// v as the data type holds it: ATen casts scalar parameters to scalar_t first.
double in_dtype(double v, at::ScalarType t) {
  switch (t) {
    case at::kBFloat16: return static_cast<float>(c10::BFloat16(static_cast<float>(v)));
    case at::kHalf: return static_cast<float>(c10::Half(static_cast<float>(v)));
    case at::kFloat: return static_cast<float>(v);
    default: return v;
  }
}

// --- classification: bool results ---------------------------------------------

// ATen's unary_force_boolean_op: a bool output, the kernel computing in the input's type.
at::Tensor bool_result(const char* name, Unary k, at::Tensor out, const at::Tensor& a) {
  at::TensorIterator iter = at::TensorIteratorConfig()
                                .set_check_mem_overlap(true)
                                .check_all_same_dtype(false)
                                .declare_static_dtype(at::kBool)
                                .declare_static_device(a.device())
                                .add_owned_output(out)
                                .add_owned_const_input(a)
                                .build();
  launch_eltwise(name, kernels::unary_kernel(k), iter, {}, a.scalar_type());
  return iter.output();
}

// --- the clamp family -----------------------------------------------------------

// ATen's clamp(Scalar) meta: integer tensors promote with the bounds, except in place.
at::Tensor clamp_scalar(const char* name, at::Tensor out, const at::Tensor& a,
                        const std::optional<at::Scalar>& min, const std::optional<at::Scalar>& max) {
  TORCH_CHECK(min || max, "torch.clamp: At least one of 'min' or 'max' must not be None");
  TORCH_CHECK(!a.is_complex() && !(min && min->isComplex()) && !(max && max->isComplex()),
              "clamp is not supported for complex types");
  at::ScalarType type = a.scalar_type();
  if (!at::isFloatingType(type)) {
    at::native::ResultTypeState state{};
    state = at::native::update_result_type_state(a, state);
    if (min) state = at::native::update_result_type_state(*min, state);
    if (max) state = at::native::update_result_type_state(*max, state);
    type = at::native::result_type(state);
    TORCH_CHECK(type == a.scalar_type() || !out.defined() || !out.is_same(a), "result type ",
                type, " can't be cast to the desired output type ", a.dtype());
  }
  const at::Tensor input = type == a.scalar_type() ? a : a.to(type);
  const int64_t mode = (min ? 1 : 0) | (max ? 2 : 0);
  return unary(name, same_op, Unary::Clamp, out, input,
               params(min ? min->toDouble() : 0, max ? max->toDouble() : 0, 0, mode));
}

// ATen's clamp(Tensor, Tensor): both bounds one ternary kernel, one bound is maximum or minimum.
at::Tensor clamp_tensor(const char* name, at::Tensor out, const at::Tensor& a,
                        const std::optional<at::Tensor>& min, const std::optional<at::Tensor>& max) {
  const bool has_min = min && min->defined(), has_max = max && max->defined();
  TORCH_CHECK(has_min || has_max, "torch.clamp: At least one of 'min' or 'max' must not be None");
  TORCH_CHECK(!a.is_complex(), "clamp is not supported for complex types");
  at::TensorIteratorConfig config;
  config.set_check_mem_overlap(true)
      .add_output(out)
      .add_const_input(a)
      .promote_inputs_to_common_dtype(true)
      .cast_common_dtype_to_outputs(true)
      .enforce_safe_casting_to_output(true);
  if (has_min) config.add_const_input(*min);
  if (has_max) config.add_const_input(*max);
  at::TensorIterator iter = config.build();
  if (has_min && has_max) launch_eltwise(name, kernels::ternary_kernel(Ternary::Clamp), iter);
  else launch_eltwise(name, kernels::binary_kernel(has_min ? Binary::Maximum : Binary::Minimum), iter);
  return iter.output();
}

at::Tensor nan_to_num(const char* name, at::Tensor out, const at::Tensor& a, std::optional<double> nan,
                      std::optional<double> posinf, std::optional<double> neginf) {
  TORCH_CHECK(!out.defined() || out.scalar_type() == a.scalar_type(), "nan_to_num: dtype of out: ",
              out.defined() ? out.scalar_type() : a.scalar_type(), " should be same as input: ",
              a.scalar_type());
  const double big = a.scalar_type() == at::kDouble ? std::numeric_limits<double>::max()
                   : a.scalar_type() == at::kHalf ? 65504.0
                   : a.scalar_type() == at::kBFloat16 ? 3.3895313892515355e38
                                                       : std::numeric_limits<float>::max();
  return unary(name, same_op, Unary::NanToNum, out, a,
               params(nan.value_or(0.0), posinf.value_or(big), neginf.value_or(-big)));
}

// --- unary math with parameters -------------------------------------------------

at::Tensor polygamma(const char* name, at::Tensor out, int64_t n, const at::Tensor& a) {
  TORCH_CHECK(n >= 0, "polygamma(n, x) does not support negative n.");
  return unary(name, float_op, Unary::Polygamma, out, a, params(0, 0, 0, n));
}

// eps given (and not negative or NaN): x clamps to [eps, 1 - eps], both as the
// data type holds them. Reduced formats compute step by step in that format, as ATen does.
engine::KernelParams logit_params(const at::Tensor& a, std::optional<double> eps) {
  const at::ScalarType t = float_result_type(a);
  const int64_t format = t == at::kBFloat16 ? 2 : t == at::kHalf ? 4 : 0;
  if (!eps || !(*eps >= 0)) return params(0, 0, 0, format);
  const double lo = in_dtype(*eps, t);
  return params(lo, in_dtype(1 - lo, t), 0, 1 | format);
}
at::Tensor logit(const char* name, at::Tensor out, const at::Tensor& a, std::optional<double> eps) {
  return unary(name, float_op, Unary::Logit, out, a, logit_params(a, eps));
}

at::Tensor round_decimals(const char* name, at::Tensor out, const at::Tensor& a, int64_t decimals) {
  if (decimals == 0) return unary(name, same_op, Unary::Round, out, a);
  check_floating("round", a.scalar_type());
  return unary(name, same_op, Unary::RoundDecimals, out, a, params(0, 0, 0, decimals));
}

// frac has ATen's unary_op (no promotion) but floating kernels only.
at::TensorIterator floating_same_op(at::TensorBase& out, const at::TensorBase& a) {
  at::TensorIterator iter = at::TensorIterator::unary_op(out, a);
  check_floating("frac", iter.common_dtype());
  return iter;
}

// --- binary math ----------------------------------------------------------------

constexpr char kLogaddexp[] = "logaddexp", kLogaddexp2[] = "logaddexp2", kHypot[] = "hypot",
               kNextafter[] = "nextafter";

at::TensorIterator heaviside_op(at::TensorBase& out, const at::TensorBase& a, const at::TensorBase& b) {
  TORCH_CHECK(!a.is_complex() && !b.is_complex() && (!out.defined() || !out.is_complex()),
              "heaviside is not yet implemented for complex tensors.");
  TORCH_CHECK(a.dtype() == b.dtype() && (!out.defined() || out.dtype() == a.dtype()),
              "heaviside is not yet implemented for tensors with different dtypes.");
  return at::TensorIterator::binary_op(out, a, b);
}

at::TensorIterator fmax_fmin_op(at::TensorBase& out, const at::TensorBase& a, const at::TensorBase& b) {
  TORCH_CHECK(!a.is_complex() && !b.is_complex(), "fmax/fmin not implemented for complex tensors.");
  return at::TensorIterator::binary_op(out, a, b);
}

// nextafter steps in the data's own format: a bfloat16 by a bfloat16 ulp.
at::Tensor nextafter(const char* name, at::Tensor out, const at::Tensor& a, const at::Tensor& b) {
  at::TensorIterator iter = floating_binary_op<kNextafter>(out, a, b);
  const at::ScalarType t = iter.common_dtype();
  launch_eltwise(name, kernels::binary_kernel(Binary::Nextafter), iter,
                 params(0, 0, 0, t == at::kBFloat16 ? 1 : t == at::kHalf ? 2 : 0));
  return iter.output();
}

at::Tensor grad_program(const char* name, Backward k, at::Tensor grad_input, const at::Tensor& grad,
                        const at::Tensor& self, engine::KernelParams p) {
  auto iter = at::TensorIterator::borrowing_binary_op(grad_input, grad, self);
  launch_eltwise(name, kernels::backward_kernel(k), iter, p);
  return iter.output();
}

}  // namespace

TORCH_LIBRARY_IMPL(aten, PrivateUse1, m) {
  // Classification (isnan, isposinf and isneginf: model_ops.cpp; isinf and isfinite
  // are ATen composites of native ops).
  m.impl("signbit", [](const at::Tensor& a) {
    if (!tile_dtype(a)) return fallback_call("aten::signbit", "", {a});
    return bool_result("aten::signbit", Unary::Signbit, {}, a);
  });
  m.impl("signbit.out", [](const at::Tensor& a, at::Tensor& out) -> at::Tensor& {
    if (!tile_dtype(a) || !tile_dtype(out)) { fallback_call("aten::signbit", "out", {a, out}); return out; }
    bool_result("aten::signbit.out", Unary::Signbit, out, a);
    return out;
  });

  // The clamp family.
  using OptScalar = std::optional<at::Scalar>;
  using OptTensor = std::optional<at::Tensor>;
  m.impl("clamp", [](const at::Tensor& a, const OptScalar& min, const OptScalar& max) {
    return clamp_scalar("aten::clamp", {}, a, min, max);
  });
  m.impl("clamp_", [](at::Tensor& a, const OptScalar& min, const OptScalar& max) -> at::Tensor& {
    clamp_scalar("aten::clamp_", a, a, min, max);
    return a;
  });
  m.impl("clamp.out", [](const at::Tensor& a, const OptScalar& min, const OptScalar& max, at::Tensor& out) -> at::Tensor& {
    clamp_scalar("aten::clamp.out", out, a, min, max);
    return out;
  });
  m.impl("clamp.Tensor", [](const at::Tensor& a, const OptTensor& min, const OptTensor& max) {
    return clamp_tensor("aten::clamp", {}, a, min, max);
  });
  m.impl("clamp_.Tensor", [](at::Tensor& a, const OptTensor& min, const OptTensor& max) -> at::Tensor& {
    clamp_tensor("aten::clamp_", a, a, min, max);
    return a;
  });
  m.impl("clamp.Tensor_out", [](const at::Tensor& a, const OptTensor& min, const OptTensor& max, at::Tensor& out) -> at::Tensor& {
    clamp_tensor("aten::clamp.out", out, a, min, max);
    return out;
  });
  m.impl("clamp_min", [](const at::Tensor& a, const at::Scalar& min) { return clamp_scalar("aten::clamp_min", {}, a, min, {}); });
  m.impl("clamp_min_", [](at::Tensor& a, const at::Scalar& min) -> at::Tensor& {
    clamp_scalar("aten::clamp_min_", a, a, min, {});
    return a;
  });
  m.impl("clamp_min.out", [](const at::Tensor& a, const at::Scalar& min, at::Tensor& out) -> at::Tensor& {
    clamp_scalar("aten::clamp_min.out", out, a, min, {});
    return out;
  });
  m.impl("clamp_max", [](const at::Tensor& a, const at::Scalar& max) { return clamp_scalar("aten::clamp_max", {}, a, {}, max); });
  m.impl("clamp_max_", [](at::Tensor& a, const at::Scalar& max) -> at::Tensor& {
    clamp_scalar("aten::clamp_max_", a, a, {}, max);
    return a;
  });
  m.impl("clamp_max.out", [](const at::Tensor& a, const at::Scalar& max, at::Tensor& out) -> at::Tensor& {
    clamp_scalar("aten::clamp_max.out", out, a, {}, max);
    return out;
  });
  // With a tensor bound, clamp_min is maximum and clamp_max minimum (NaN propagating).
  ACCEL_BINARY(clamp_min, Tensor, Tensor_out, at::TensorIterator::binary_op, Binary::Maximum)
  ACCEL_BINARY(clamp_max, Tensor, Tensor_out, at::TensorIterator::binary_op, Binary::Minimum)
  m.impl("threshold", [](const at::Tensor& a, const at::Scalar& threshold, const at::Scalar& value) {
    return unary("aten::threshold", same_op, Unary::Threshold, {}, a, params(threshold.toDouble(), value.toDouble()));
  });
  m.impl("threshold_", [](at::Tensor& a, const at::Scalar& threshold, const at::Scalar& value) -> at::Tensor& {
    unary("aten::threshold_", same_op, Unary::Threshold, a, a, params(threshold.toDouble(), value.toDouble()));
    return a;
  });
  m.impl("threshold.out", [](const at::Tensor& a, const at::Scalar& threshold, const at::Scalar& value, at::Tensor& out) -> at::Tensor& {
    unary("aten::threshold.out", same_op, Unary::Threshold, out, a, params(threshold.toDouble(), value.toDouble()));
    return out;
  });
  m.impl("nan_to_num", [](const at::Tensor& a, std::optional<double> nan, std::optional<double> posinf, std::optional<double> neginf) {
    return nan_to_num("aten::nan_to_num", {}, a, nan, posinf, neginf);
  });
  m.impl("nan_to_num.out", [](const at::Tensor& a, std::optional<double> nan, std::optional<double> posinf, std::optional<double> neginf, at::Tensor& out) -> at::Tensor& {
    nan_to_num("aten::nan_to_num.out", out, a, nan, posinf, neginf);
    return out;
  });

  // Trigonometric, hyperbolic, exponential and special functions.
  ACCEL_UNARY(acos, float_op, Unary::Acos)
  ACCEL_UNARY(asin, float_op, Unary::Asin)
  ACCEL_UNARY(atan, float_op, Unary::Atan)
  ACCEL_UNARY(acosh, float_op, Unary::Acosh)
  ACCEL_UNARY(asinh, float_op, Unary::Asinh)
  ACCEL_UNARY(atanh, float_op, Unary::Atanh)
  ACCEL_UNARY(sinh, float_op, Unary::Sinh)
  ACCEL_UNARY(cosh, float_op, Unary::Cosh)
  ACCEL_UNARY(tan, float_op, Unary::Tan)
  ACCEL_UNARY(erfc, float_op, Unary::Erfc)
  ACCEL_UNARY(exp2, float_op, Unary::Exp2)
  ACCEL_UNARY(log10, float_op, Unary::Log10)
  ACCEL_UNARY(sinc, float_op, Unary::Sinc)
  ACCEL_UNARY(lgamma, float_op, Unary::Lgamma)
  ACCEL_UNARY(digamma, float_op, Unary::Digamma)
  ACCEL_UNARY(i0, float_op, Unary::I0)
  ACCEL_UNARY(frac, floating_same_op, Unary::Frac)
  ACCEL_UNARY_FUNCTIONAL_OUT(angle, float_op, Unary::Angle)
  m.impl("polygamma", [](int64_t n, const at::Tensor& a) { return polygamma("aten::polygamma", {}, n, a); });
  m.impl("polygamma.out", [](int64_t n, const at::Tensor& a, at::Tensor& out) -> at::Tensor& {
    polygamma("aten::polygamma.out", out, n, a);
    return out;
  });
  m.impl("logit", [](const at::Tensor& a, std::optional<double> eps) { return logit("aten::logit", {}, a, eps); });
  m.impl("logit_", [](at::Tensor& a, std::optional<double> eps) -> at::Tensor& {
    logit("aten::logit_", a, a, eps);
    return a;
  });
  m.impl("logit.out", [](const at::Tensor& a, std::optional<double> eps, at::Tensor& out) -> at::Tensor& {
    logit("aten::logit.out", out, a, eps);
    return out;
  });
  m.impl("logit_backward", [](const at::Tensor& grad, const at::Tensor& self, std::optional<double> eps) {
    return grad_program("aten::logit_backward", Backward::Logit, {}, grad, self, logit_params(self, eps));
  });
  m.impl("logit_backward.grad_input", [](const at::Tensor& grad, const at::Tensor& self, std::optional<double> eps, at::Tensor& out) -> at::Tensor& {
    grad_program("aten::logit_backward.grad_input", Backward::Logit, out, grad, self, logit_params(self, eps));
    return out;
  });
  m.impl("round.decimals", [](const at::Tensor& a, int64_t decimals) {
    return round_decimals("aten::round", {}, a, decimals);
  });
  m.impl("round_.decimals", [](at::Tensor& a, int64_t decimals) -> at::Tensor& {
    round_decimals("aten::round_", a, a, decimals);
    return a;
  });
  m.impl("round.decimals_out", [](const at::Tensor& a, int64_t decimals, at::Tensor& out) -> at::Tensor& {
    round_decimals("aten::round.out", out, a, decimals);
    return out;
  });

  // Binary math.
  ACCEL_BINARY(xlogy, Tensor, OutTensor, at::TensorIterator::binary_float_op, Binary::Xlogy)
  ACCEL_BINARY_PLAIN(logaddexp, floating_binary_op<kLogaddexp>, Binary::Logaddexp)
  ACCEL_BINARY_PLAIN(logaddexp2, floating_binary_op<kLogaddexp2>, Binary::Logaddexp2)
  ACCEL_BINARY_PLAIN_INPLACE(hypot, floating_binary_op<kHypot>, Binary::Hypot)
  ACCEL_BINARY(copysign, Tensor, out, at::TensorIterator::binary_float_op, Binary::Copysign)
  ACCEL_BINARY_PLAIN_INPLACE(heaviside, heaviside_op, Binary::Heaviside)
  ACCEL_BINARY_PLAIN(fmax, fmax_fmin_op, Binary::Fmax)
  ACCEL_BINARY_PLAIN(fmin, fmax_fmin_op, Binary::Fmin)
  m.impl("nextafter", [](const at::Tensor& a, const at::Tensor& b) { return nextafter("aten::nextafter", {}, a, b); });
  m.impl("nextafter_", [](at::Tensor& a, const at::Tensor& b) -> at::Tensor& {
    nextafter("aten::nextafter_", a, a, b);
    return a;
  });
  m.impl("nextafter.out", [](const at::Tensor& a, const at::Tensor& b, at::Tensor& out) -> at::Tensor& {
    nextafter("aten::nextafter.out", out, a, b);
    return out;
  });
  m.impl("remainder.Scalar_Tensor", [](const at::Scalar& a, const at::Tensor& b) {
    return binary("aten::remainder", at::TensorIterator::binary_op, Binary::Remainder, {}, wrap(a), b);
  });
}

}  // namespace accel::aten
