// Registrations of the element-wise ops: each builds a TensorIterator (for
// broadcasting, type promotion and out= handling, exactly as CPU ATen does)
// and launches one tile kernel.
#include <ATen/ExpandUtils.h>
#include <ATen/ScalarOps.h>
#include <ATen/native/TypeProperties.h>
#include <ATen/TensorIterator.h>
#include <ATen/native/Resize.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/result_type.h>
#include <torch/library.h>

#include "aten/complex_ops.h"
#include "aten/eltwise_registration.h"

namespace accel::aten {
namespace {

using namespace eltwise;
using kernels::Binary;
using kernels::Ternary;
using kernels::Unary;

// ATen's promotion over three operands, wrapped numbers counting less.
at::ScalarType result_type3(const at::Tensor& a, const at::Tensor& b, const at::Tensor& c) {
  at::native::ResultTypeState state{};
  for (const at::Tensor* t : {&a, &b, &c}) state = at::native::update_result_type_state(*t, state);
  return at::native::result_type(state);
}

engine::KernelParams alpha_params(const at::Scalar& alpha) {
  engine::KernelParams p;
  p.alpha = alpha.toDouble();
  return p;
}

// add and sub (alpha), with ATen's checks.
void check_alpha(const at::Tensor& a, const at::Tensor& b, const at::Scalar& alpha, bool sub) {
  if (sub) {
    TORCH_CHECK(a.scalar_type() != at::kBool || b.scalar_type() != at::kBool,
                "Subtraction, the `-` operator, with two bool tensors is not supported. "
                "Use the `^` or `logical_xor()` operator instead.");
    TORCH_CHECK(a.scalar_type() != at::kBool && b.scalar_type() != at::kBool,
                "Subtraction, the `-` operator, with a bool tensor is not supported. "
                "If you are trying to invert a mask, use the `~` or `logical_not()` operator instead.");
  }
  const auto dtype = at::result_type(a, b);
  TORCH_CHECK(!alpha.isBoolean() || dtype == at::kBool,
              "Boolean alpha only supported for Boolean results.");
  TORCH_CHECK(at::isFloatingType(dtype) || at::isComplexType(dtype) || alpha.isIntegral(true),
              "For integral input tensors, argument alpha must not be a floating point number.");
}

#define ACCEL_ADD_SUB(op, K, is_sub)                                                              \
  m.impl(#op ".Tensor", [](const at::Tensor& a, const at::Tensor& b, const at::Scalar& alpha) {   \
    if (!tile_dtype(a) || !tile_dtype(b)) return fallback_call("aten::" #op, "Tensor", {a, b, alpha}); \
    check_alpha(a, b, alpha, is_sub);                                                              \
    return binary("aten::" #op, at::TensorIterator::binary_op, K, {}, a, b, alpha_params(alpha));  \
  });                                                                                              \
  m.impl(#op "_.Tensor", [](at::Tensor& a, const at::Tensor& b, const at::Scalar& alpha) -> at::Tensor& { \
    if (!tile_dtype(a) || !tile_dtype(b)) { fallback_call("aten::" #op "_", "Tensor", {a, b, alpha}); return a; } \
    check_alpha(a, b, alpha, is_sub);                                                              \
    binary("aten::" #op "_", at::TensorIterator::binary_op, K, a, a, b, alpha_params(alpha));      \
    return a;                                                                                      \
  });                                                                                              \
  m.impl(#op ".out", [](const at::Tensor& a, const at::Tensor& b, const at::Scalar& alpha, at::Tensor& out) -> at::Tensor& { \
    if (!tile_dtype(a) || !tile_dtype(b) || !tile_dtype(out)) { fallback_call("aten::" #op, "out", {a, b, alpha, out}); return out; } \
    check_alpha(a, b, alpha, is_sub);                                                              \
    binary("aten::" #op ".out", at::TensorIterator::binary_op, K, out, a, b, alpha_params(alpha)); \
    return out;                                                                                    \
  });


// Logical ops have no overload name; they produce bool unless out= says otherwise.
#define ACCEL_LOGICAL(op, K)                                                                       \
  m.impl(#op, [](const at::Tensor& a, const at::Tensor& b) {                                      \
    if (!tile_dtype(a) || !tile_dtype(b)) return fallback_call("aten::" #op, "", {a, b});         \
    return binary("aten::" #op, comparison, K, {}, a, b);                                          \
  });                                                                                              \
  m.impl(#op "_", [](at::Tensor& a, const at::Tensor& b) -> at::Tensor& {                         \
    if (!tile_dtype(a) || !tile_dtype(b)) { fallback_call("aten::" #op "_", "", {a, b}); return a; } \
    binary("aten::" #op "_", comparison, K, a, a, b);                                              \
    return a;                                                                                      \
  });                                                                                              \
  m.impl(#op ".out", [](const at::Tensor& a, const at::Tensor& b, at::Tensor& out) -> at::Tensor& { \
    if (!tile_dtype(a) || !tile_dtype(b) || !tile_dtype(out)) { fallback_call("aten::" #op, "out", {a, b, out}); return out; } \
    binary("aten::" #op ".out", comparison, K, out, a, b);                                         \
    return out;                                                                                    \
  });

// Comparison with a Scalar right-hand side.
#define ACCEL_COMPARE_SCALAR(op, K)                                                                \
  m.impl(#op ".Scalar", [](const at::Tensor& a, const at::Scalar& s) {                            \
    if (!tile_dtype(a)) return fallback_call("aten::" #op, "Scalar", {a, s});                     \
    return binary("aten::" #op, comparison, K, {}, a, wrap(s));                                    \
  });                                                                                              \
  m.impl(#op "_.Scalar", [](at::Tensor& a, const at::Scalar& s) -> at::Tensor& {                  \
    if (!tile_dtype(a)) { fallback_call("aten::" #op "_", "Scalar", {a, s}); return a; }          \
    binary("aten::" #op "_", comparison, K, a, a, wrap(s));                                        \
    return a;                                                                                      \
  });                                                                                              \
  m.impl(#op ".Scalar_out", [](const at::Tensor& a, const at::Scalar& s, at::Tensor& out) -> at::Tensor& { \
    if (!tile_dtype(a) || !tile_dtype(out)) { fallback_call("aten::" #op, "Scalar_out", {a, s, out}); return out; } \
    binary("aten::" #op ".out", comparison, K, out, a, wrap(s));                                   \
    return out;                                                                                    \
  });



Binary div_kernel(std::optional<std::string_view> mode) {
  if (!mode) return Binary::Div;
  if (*mode == "trunc") return Binary::DivTrunc;
  if (*mode == "floor") return Binary::DivFloor;
  TORCH_CHECK(false, "div expected rounding_mode to be one of None, 'trunc', or 'floor' but found '",
              *mode, "'");
}
Build div_build(std::optional<std::string_view> mode) {
  return mode ? at::TensorIterator::binary_op : at::TensorIterator::binary_float_op;
}

at::Tensor div_mode(const at::Tensor& a, const at::Tensor& b, std::optional<std::string_view> mode) {
  return binary("aten::div", div_build(mode), div_kernel(mode), {}, a, b);
}
at::Tensor& div_mode_(at::Tensor& a, const at::Tensor& b, std::optional<std::string_view> mode) {
  binary("aten::div_", div_build(mode), div_kernel(mode), a, a, b);
  return a;
}
at::Tensor& div_mode_out(const at::Tensor& a, const at::Tensor& b,
                         std::optional<std::string_view> mode, at::Tensor& out) {
  binary("aten::div.out", div_build(mode), div_kernel(mode), out, a, b);
  return out;
}


double softshrink_lambda(const at::Scalar& lambd) {
  const double v = lambd.toDouble();
  TORCH_CHECK(v >= 0, "lambda must be greater or equal to 0, but found to be ", v, ".");
  return v;
}

// ATen's pow(Tensor, Scalar) check; a tensor exponent gives 0 instead (powi).
void check_integer_power(const at::Tensor& a, const at::Scalar& e) {
  TORCH_CHECK(!(at::isIntegralType(a.scalar_type(), true) && e.isIntegral(true) && e.toLong() < 0),
              "Integers to negative integer powers are not allowed.");
}

std::string_view approximate_check(std::string_view approximate) {
  TORCH_CHECK(approximate == "none" || approximate == "tanh",
              "approximate argument must be either none or tanh.");
  return approximate;
}

at::Tensor ternary(const char* name, Ternary k, at::Tensor out, const at::Tensor& a,
                   const at::Tensor& b, const at::Tensor& c, at::ScalarType common,
                   engine::KernelParams p = {}) {
  const auto shape = at::infer_size_dimvector(at::infer_size_dimvector(a.sizes(), b.sizes()), c.sizes());
  dtype_checks::check_ternary(name, k, common);
  // An in-place update cannot grow its tensor (resize_output would, silently).
  TORCH_CHECK(!out.defined() || !out.is_same(a) || out.sizes() == at::IntArrayRef(shape),
              "output with shape ", out.sizes(), " doesn't match the broadcast shape ",
              at::IntArrayRef(shape));
  if (out.defined()) at::native::resize_output(out, shape);
  else out = at::empty(shape, a.options().dtype(common));
  auto iter = at::TensorIteratorConfig()
                  .check_all_same_dtype(false)
                  .allow_cpu_scalars(true)
                  .add_output(out)
                  .add_const_input(a)
                  .add_const_input(b)
                  .add_const_input(c)
                  .build();
  // The kernel computes in `common`; TensorIterator leaves the dtypes alone.
  launch_eltwise(name, kernels::ternary_kernel(k), iter, p, common);
  return out;
}

at::Tensor where(const at::Tensor& cond, const at::Tensor& a, const at::Tensor& b) {
  if (!tile_dtype(a) || !tile_dtype(b)) return fallback_call("aten::where", "self", {cond, a, b});
  TORCH_CHECK(cond.scalar_type() == at::kBool || cond.scalar_type() == at::kByte,
              "where expected condition to be a boolean tensor, but got a tensor with dtype ",
              cond.scalar_type());
  const auto common = at::result_type(a, b);
  if (!tile_dtype_of(common)) return fallback_call("aten::where", "self", {cond, a, b});
  return ternary("aten::where", Ternary::Where, {}, cond, a, b, common);
}

}  // namespace

TORCH_LIBRARY_IMPL(aten, PrivateUse1, m) {
  ACCEL_ADD_SUB(add, Binary::Add, false)
  ACCEL_ADD_SUB(sub, Binary::Sub, true)
  // complex64 products first (complex_ops.h), then the macro's real ones.
  m.impl("mul.Tensor", [](const at::Tensor& a, const at::Tensor& b) {
    at::Tensor out;
    if (complex_mul_takes(a, b)) return complex_mul_into(out, a, b);
    if (!tile_dtype(a) || !tile_dtype(b)) return fallback_call("aten::mul", "Tensor", {a, b});
    return binary("aten::mul", at::TensorIterator::binary_op, Binary::Mul, {}, a, b);
  });
  m.impl("mul_.Tensor", [](at::Tensor& a, const at::Tensor& b) -> at::Tensor& {
    if (complex_mul_takes(a, b, a)) return complex_mul_into(a, a, b);
    if (!tile_dtype(a) || !tile_dtype(b)) { fallback_call("aten::mul_", "Tensor", {a, b}); return a; }
    binary("aten::mul_", at::TensorIterator::binary_op, Binary::Mul, a, a, b);
    return a;
  });
  m.impl("mul.out", [](const at::Tensor& a, const at::Tensor& b, at::Tensor& out) -> at::Tensor& {
    if (complex_mul_takes(a, b, out)) return complex_mul_into(out, a, b);
    if (!tile_dtype(a) || !tile_dtype(b) || !tile_dtype(out)) { fallback_call("aten::mul", "out", {a, b, out}); return out; }
    binary("aten::mul.out", at::TensorIterator::binary_op, Binary::Mul, out, a, b);
    return out;
  });
  ACCEL_BINARY(div, Tensor, out, at::TensorIterator::binary_float_op, Binary::Div)
  m.impl("div.Tensor_mode", div_mode);
  m.impl("div_.Tensor_mode", div_mode_);
  m.impl("div.out_mode", div_mode_out);
  // floor_divide is div(rounding_mode="floor"); rsub(a, b, alpha) is b - alpha * a.
  m.impl("floor_divide", [](const at::Tensor& a, const at::Tensor& b) {
    if (!tile_dtype(a) || !tile_dtype(b)) return fallback_call("aten::floor_divide", "", {a, b});
    return binary("aten::floor_divide", at::TensorIterator::binary_op, Binary::DivFloor, {}, a, b);
  });
  m.impl("floor_divide_.Tensor", [](at::Tensor& a, const at::Tensor& b) -> at::Tensor& {
    if (!tile_dtype(a) || !tile_dtype(b)) { fallback_call("aten::floor_divide_", "Tensor", {a, b}); return a; }
    binary("aten::floor_divide_", at::TensorIterator::binary_op, Binary::DivFloor, a, a, b);
    return a;
  });
  m.impl("floor_divide.out", [](const at::Tensor& a, const at::Tensor& b, at::Tensor& out) -> at::Tensor& {
    if (!tile_dtype(a) || !tile_dtype(b) || !tile_dtype(out)) { fallback_call("aten::floor_divide", "out", {a, b, out}); return out; }
    binary("aten::floor_divide.out", at::TensorIterator::binary_op, Binary::DivFloor, out, a, b);
    return out;
  });
  m.impl("rsub.Tensor", [](const at::Tensor& a, const at::Tensor& b, const at::Scalar& alpha) {
    if (!tile_dtype(a) || !tile_dtype(b)) return fallback_call("aten::rsub", "Tensor", {a, b, alpha});
    check_alpha(b, a, alpha, true);
    return binary("aten::rsub", at::TensorIterator::binary_op, Binary::Sub, {}, b, a, alpha_params(alpha));
  });
  ACCEL_BINARY(maximum, Tensor, out, at::TensorIterator::binary_op, Binary::Maximum)
  ACCEL_BINARY(minimum, Tensor, out, at::TensorIterator::binary_op, Binary::Minimum)
  ACCEL_BINARY(pow, Tensor_Tensor, Tensor_Tensor_out, at::TensorIterator::binary_op, Binary::Pow)
  ACCEL_BINARY(remainder, Tensor, Tensor_out, at::TensorIterator::binary_op, Binary::Remainder)
  ACCEL_BINARY(fmod, Tensor, Tensor_out, at::TensorIterator::binary_op, Binary::Fmod)
  ACCEL_BINARY(atan2, Tensor, out, at::TensorIterator::binary_float_op, Binary::Atan2)
  ACCEL_BINARY(eq, Tensor, Tensor_out, comparison, Binary::Eq)
  ACCEL_BINARY(ne, Tensor, Tensor_out, comparison, Binary::Ne)
  ACCEL_BINARY(lt, Tensor, Tensor_out, comparison, Binary::Lt)
  ACCEL_BINARY(le, Tensor, Tensor_out, comparison, Binary::Le)
  ACCEL_BINARY(gt, Tensor, Tensor_out, comparison, Binary::Gt)
  ACCEL_BINARY(ge, Tensor, Tensor_out, comparison, Binary::Ge)
  ACCEL_BINARY(bitwise_and, Tensor, Tensor_out, at::TensorIterator::binary_op, Binary::BitwiseAnd)
  ACCEL_BINARY(bitwise_or, Tensor, Tensor_out, at::TensorIterator::binary_op, Binary::BitwiseOr)
  ACCEL_BINARY(bitwise_xor, Tensor, Tensor_out, at::TensorIterator::binary_op, Binary::BitwiseXor)
  ACCEL_LOGICAL(logical_and, Binary::LogicalAnd)
  ACCEL_LOGICAL(logical_or, Binary::LogicalOr)
  ACCEL_LOGICAL(logical_xor, Binary::LogicalXor)
  // logical_not(a) is a == 0, one comparison on the vector engine.
  m.impl("logical_not", [](const at::Tensor& a) {
    if (!tile_dtype(a)) return fallback_call("aten::logical_not", "", {a});
    return binary("aten::logical_not", comparison, Binary::Eq, {}, a, wrap(0));
  });
  m.impl("logical_not_", [](at::Tensor& a) -> at::Tensor& {
    if (!tile_dtype(a)) { fallback_call("aten::logical_not_", "", {a}); return a; }
    binary("aten::logical_not_", comparison, Binary::Eq, a, a, wrap(0));
    return a;
  });
  m.impl("logical_not.out", [](const at::Tensor& a, at::Tensor& out) -> at::Tensor& {
    if (!tile_dtype(a) || !tile_dtype(out)) { fallback_call("aten::logical_not", "out", {a, out}); return out; }
    binary("aten::logical_not.out", comparison, Binary::Eq, out, a, wrap(0));
    return out;
  });
  ACCEL_COMPARE_SCALAR(eq, Binary::Eq)
  ACCEL_COMPARE_SCALAR(ne, Binary::Ne)
  ACCEL_COMPARE_SCALAR(lt, Binary::Lt)
  ACCEL_COMPARE_SCALAR(le, Binary::Le)
  ACCEL_COMPARE_SCALAR(gt, Binary::Gt)
  ACCEL_COMPARE_SCALAR(ge, Binary::Ge)
  m.impl("pow.Tensor_Scalar", [](const at::Tensor& a, const at::Scalar& e) {
    check_integer_power(a, e);
    return binary("aten::pow", at::TensorIterator::binary_op, Binary::Pow, {}, a, wrap(e));
  });
  m.impl("pow.Tensor_Scalar_out", [](const at::Tensor& a, const at::Scalar& e, at::Tensor& out) -> at::Tensor& {
    check_integer_power(a, e);
    binary("aten::pow.out", at::TensorIterator::binary_op, Binary::Pow, out, a, wrap(e));
    return out;
  });
  m.impl("pow.Scalar", [](const at::Scalar& base, const at::Tensor& e) {
    return binary("aten::pow", at::TensorIterator::binary_op, Binary::Pow, {}, wrap(base), e);
  });
  m.impl("pow.Scalar_out", [](const at::Scalar& base, const at::Tensor& e, at::Tensor& out) -> at::Tensor& {
    binary("aten::pow.out", at::TensorIterator::binary_op, Binary::Pow, out, wrap(base), e);
    return out;
  });
  m.impl("pow_.Scalar", [](at::Tensor& a, const at::Scalar& e) -> at::Tensor& {
    check_integer_power(a, e);
    binary("aten::pow_", at::TensorIterator::binary_op, Binary::Pow, a, a, wrap(e));
    return a;
  });

  ACCEL_UNARY(exp, float_op, Unary::Exp)
  ACCEL_UNARY(expm1, float_op, Unary::Expm1)
  ACCEL_UNARY(log, float_op, Unary::Log)
  ACCEL_UNARY(log1p, float_op, Unary::Log1p)
  ACCEL_UNARY(log2, float_op, Unary::Log2)
  ACCEL_UNARY(sqrt, float_op, Unary::Sqrt)
  ACCEL_UNARY(rsqrt, float_op, Unary::Rsqrt)
  ACCEL_UNARY(reciprocal, float_op, Unary::Reciprocal)
  ACCEL_UNARY(sigmoid, float_op, Unary::Sigmoid)
  ACCEL_UNARY(tanh, float_op, Unary::Tanh)
  ACCEL_UNARY(sin, float_op, Unary::Sin)
  ACCEL_UNARY(cos, float_op, Unary::Cos)
  ACCEL_UNARY(erf, float_op, Unary::Erf)
  ACCEL_UNARY(erfinv, float_op, Unary::Erfinv)
  ACCEL_UNARY(abs, same_op, Unary::Abs)
  ACCEL_UNARY(neg, same_op, Unary::Neg)
  ACCEL_UNARY(sign, same_op, Unary::Sign)
  ACCEL_UNARY(floor, same_op, Unary::Floor)
  ACCEL_UNARY(ceil, same_op, Unary::Ceil)
  ACCEL_UNARY(round, same_op, Unary::Round)
  ACCEL_UNARY(trunc, same_op, Unary::Trunc)
  ACCEL_UNARY(silu, float_op, Unary::Silu)
  ACCEL_UNARY(mish, float_op, Unary::Mish)
  ACCEL_UNARY(hardswish, float_op, Unary::Hardswish)
  ACCEL_UNARY(hardsigmoid, float_op, Unary::Hardsigmoid)

  m.impl("relu", [](const at::Tensor& a) { return unary("aten::relu", same_op, Unary::Relu, {}, a); });
  m.impl("relu_", [](at::Tensor& a) -> at::Tensor& {
    unary("aten::relu_", same_op, Unary::Relu, a, a);
    return a;
  });
  m.impl("gelu", [](const at::Tensor& a, std::string_view approximate) {
    return unary("aten::gelu", float_op, approximate_check(approximate) == "tanh" ? Unary::GeluTanh : Unary::Gelu, {}, a);
  });
  m.impl("gelu_", [](at::Tensor& a, std::string_view approximate) -> at::Tensor& {
    unary("aten::gelu_", float_op, approximate_check(approximate) == "tanh" ? Unary::GeluTanh : Unary::Gelu, a, a);
    return a;
  });
  m.impl("gelu.out", [](const at::Tensor& a, std::string_view approximate, at::Tensor& out) -> at::Tensor& {
    unary("aten::gelu.out", float_op, approximate_check(approximate) == "tanh" ? Unary::GeluTanh : Unary::Gelu, out, a);
    return out;
  });
  m.impl("leaky_relu", [](const at::Tensor& a, const at::Scalar& slope) {
    return unary("aten::leaky_relu", same_op, Unary::LeakyRelu, {}, a, params(slope.toDouble()));
  });
  m.impl("leaky_relu_", [](at::Tensor& a, const at::Scalar& slope) -> at::Tensor& {
    unary("aten::leaky_relu_", same_op, Unary::LeakyRelu, a, a, params(slope.toDouble()));
    return a;
  });
  m.impl("leaky_relu.out", [](const at::Tensor& a, const at::Scalar& slope, at::Tensor& out) -> at::Tensor& {
    unary("aten::leaky_relu.out", same_op, Unary::LeakyRelu, out, a, params(slope.toDouble()));
    return out;
  });
  // conj_physical of a real tensor is a copy; complex tensors take the fallback.
  m.impl("conj_physical.out", [](const at::Tensor& a, at::Tensor& out) -> at::Tensor& {
    if (a.is_complex() || out.is_complex()) { fallback_call("aten::conj_physical", "out", {a, out}); return out; }
    at::TensorIterator::unary_op(out, a);  // ATen's dtype check and resize
    return out.copy_(a);
  });
  // prelu's weight arrives already shaped to broadcast against the input.
  m.impl("_prelu_kernel", [](const at::Tensor& a, const at::Tensor& weight) {
    at::Tensor out;
    auto iter = at::TensorIteratorConfig().add_output(out).add_const_input(a).add_const_input(weight).build();
    launch_eltwise("aten::_prelu_kernel", kernels::binary_kernel(Binary::Prelu), iter);
    return iter.output();
  });
  m.impl("_prelu_kernel_backward", [](const at::Tensor& grad, const at::Tensor& a, const at::Tensor& weight) {
    auto grad_of = [&](const char* name, Ternary k) {
      at::Tensor out;
      auto iter = at::TensorIteratorConfig().add_output(out).add_const_input(a).add_const_input(weight).add_const_input(grad).build();
      launch_eltwise(name, kernels::ternary_kernel(k), iter);
      return iter.output();
    };
    return std::make_tuple(grad_of("aten::_prelu_kernel_backward", Ternary::PreluGradInput),
                           grad_of("aten::_prelu_kernel_backward", Ternary::PreluGradWeight));
  });
  m.impl("hardshrink", [](const at::Tensor& a, const at::Scalar& lambd) {
    return unary("aten::hardshrink", same_op, Unary::Hardshrink, {}, a, params(lambd.toDouble()));
  });
  m.impl("hardshrink.out", [](const at::Tensor& a, const at::Scalar& lambd, at::Tensor& out) -> at::Tensor& {
    unary("aten::hardshrink.out", same_op, Unary::Hardshrink, out, a, params(lambd.toDouble()));
    return out;
  });
  m.impl("softshrink", [](const at::Tensor& a, const at::Scalar& lambd) {
    return unary("aten::softshrink", same_op, Unary::Softshrink, {}, a, params(softshrink_lambda(lambd)));
  });
  m.impl("softshrink.out", [](const at::Tensor& a, const at::Scalar& lambd, at::Tensor& out) -> at::Tensor& {
    unary("aten::softshrink.out", same_op, Unary::Softshrink, out, a, params(softshrink_lambda(lambd)));
    return out;
  });
  m.impl("elu", [](const at::Tensor& a, const at::Scalar& alpha, const at::Scalar& scale, const at::Scalar& input_scale) {
    return unary("aten::elu", float_op, Unary::Elu, {}, a, params(alpha.toDouble(), scale.toDouble(), input_scale.toDouble()));
  });
  m.impl("elu.out", [](const at::Tensor& a, const at::Scalar& alpha, const at::Scalar& scale, const at::Scalar& input_scale, at::Tensor& out) -> at::Tensor& {
    unary("aten::elu.out", float_op, Unary::Elu, out, a, params(alpha.toDouble(), scale.toDouble(), input_scale.toDouble()));
    return out;
  });
  m.impl("softplus", [](const at::Tensor& a, const at::Scalar& beta, const at::Scalar& threshold) {
    return unary("aten::softplus", float_op, Unary::Softplus, {}, a, params(beta.toDouble(), threshold.toDouble()));
  });
  m.impl("softplus.out", [](const at::Tensor& a, const at::Scalar& beta, const at::Scalar& threshold, at::Tensor& out) -> at::Tensor& {
    unary("aten::softplus.out", float_op, Unary::Softplus, out, a, params(beta.toDouble(), threshold.toDouble()));
    return out;
  });

  m.impl("where.self", where);
  m.impl("where.self_out", [](const at::Tensor& cond, const at::Tensor& a, const at::Tensor& b, at::Tensor& out) -> at::Tensor& {
    ternary("aten::where.out", Ternary::Where, out, cond, a, b, out.scalar_type());
    return out;
  });
  m.impl("addcmul", [](const at::Tensor& a, const at::Tensor& t1, const at::Tensor& t2, const at::Scalar& v) {
    if (!tile_dtype_of(result_type3(a, t1, t2)) || v.isComplex())
      return fallback_call("aten::addcmul", "", {a, t1, t2, v});
    return ternary("aten::addcmul", Ternary::Addcmul, {}, a, t1, t2, result_type3(a, t1, t2), alpha_params(v));
  });
  m.impl("addcmul_", [](at::Tensor& a, const at::Tensor& t1, const at::Tensor& t2, const at::Scalar& v) -> at::Tensor& {
    if (!tile_dtype_of(result_type3(a, t1, t2)) || v.isComplex()) {
      fallback_call("aten::addcmul_", "", {a, t1, t2, v});
      return a;
    }
    ternary("aten::addcmul_", Ternary::Addcmul, a, a, t1, t2, a.scalar_type(), alpha_params(v));
    return a;
  });
  m.impl("addcdiv", [](const at::Tensor& a, const at::Tensor& t1, const at::Tensor& t2, const at::Scalar& v) {
    if (!tile_dtype_of(result_type3(a, t1, t2)) || v.isComplex())
      return fallback_call("aten::addcdiv", "", {a, t1, t2, v});
    TORCH_CHECK(!(at::isIntegralType(t1.scalar_type(), true) && at::isIntegralType(t2.scalar_type(), true)),
                "Integer division with addcdiv is no longer supported, and in a future release addcdiv will perform a true division of tensor1 and tensor2.");
    return ternary("aten::addcdiv", Ternary::Addcdiv, {}, a, t1, t2, result_type3(a, t1, t2), alpha_params(v));
  });
  m.impl("addcdiv_", [](at::Tensor& a, const at::Tensor& t1, const at::Tensor& t2, const at::Scalar& v) -> at::Tensor& {
    if (!tile_dtype_of(result_type3(a, t1, t2)) || v.isComplex()) {
      fallback_call("aten::addcdiv_", "", {a, t1, t2, v});
      return a;
    }
    ternary("aten::addcdiv_", Ternary::Addcdiv, a, a, t1, t2, a.scalar_type(), alpha_params(v));
    return a;
  });
  m.impl("lerp.Scalar", [](const at::Tensor& a, const at::Tensor& b, const at::Scalar& w) {
    return ternary("aten::lerp", Ternary::Lerp, {}, a, b, wrap(w), a.scalar_type());
  });
  m.impl("lerp_.Scalar", [](at::Tensor& a, const at::Tensor& b, const at::Scalar& w) -> at::Tensor& {
    ternary("aten::lerp_", Ternary::Lerp, a, a, b, wrap(w), a.scalar_type());
    return a;
  });
  m.impl("lerp.Tensor", [](const at::Tensor& a, const at::Tensor& b, const at::Tensor& w) {
    return ternary("aten::lerp", Ternary::Lerp, {}, a, b, w, a.scalar_type());
  });
  m.impl("lerp_.Tensor", [](at::Tensor& a, const at::Tensor& b, const at::Tensor& w) -> at::Tensor& {
    ternary("aten::lerp_", Ternary::Lerp, a, a, b, w, a.scalar_type());
    return a;
  });
}

}  // namespace accel::aten
