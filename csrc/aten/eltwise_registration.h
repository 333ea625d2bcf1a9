// The pieces the element-wise registrations share (eltwise_ops.cpp,
// eltwise_math_ops.cpp): one TensorIterator, built as CPU ATen builds it for
// the op, and one tile kernel launched over it.
#pragma once

#include <ATen/ScalarOps.h>
#include <ATen/TensorIterator.h>
#include <torch/library.h>

#include "aten/eltwise_dtype_checks.h"
#include "aten/engine_bridge.h"
#include "aten/fallback.h"
#include "kernels/eltwise/binary.h"
#include "kernels/eltwise/unary.h"

namespace accel::aten::eltwise {

using Build = at::TensorIterator (*)(at::TensorBase&, const at::TensorBase&, const at::TensorBase&);
using UnaryBuild = at::TensorIterator (*)(at::TensorBase&, const at::TensorBase&);

inline bool tile_dtype(const at::Tensor& t) {
  return !t.defined() || tile_dtype_of(t.scalar_type()).has_value();
}

inline at::Tensor wrap(const at::Scalar& s) { return at::native::wrapped_scalar_tensor(s); }

// out = op(a, b); `out` may be undefined (allocated), self (in place) or given.
inline at::Tensor binary(const char* name, Build build, kernels::Binary k, at::Tensor out, const at::Tensor& a,
                  const at::Tensor& b, engine::KernelParams p = {}) {
  at::TensorIterator iter = build(out, a, b);  // shape errors first, as on the CPU
  dtype_checks::check_binary(name, k, at::result_type(a, b));
  launch_eltwise(name, kernels::binary_kernel(k), iter, p);
  return iter.output();
}

inline at::Tensor unary(const char* name, UnaryBuild build, kernels::Unary k, at::Tensor out, const at::Tensor& a,
                 engine::KernelParams p = {}) {
  at::TensorIterator iter = build(out, a);
  dtype_checks::check_unary(name, k, a.scalar_type());
  launch_eltwise(name, kernels::unary_kernel(k), iter, p);
  return iter.output();
}

inline at::TensorIterator comparison(at::TensorBase& out, const at::TensorBase& a, const at::TensorBase& b) {
  return at::TensorIterator::comparison_op(out, a, b);
}

// Functional, in-place and out= forms of op.<overload> from one builder and kernel.
#define ACCEL_BINARY(op, ov, out_ov, BUILD, K)                                                     \
  m.impl(#op "." #ov, [](const at::Tensor& a, const at::Tensor& b) {                              \
    if (!tile_dtype(a) || !tile_dtype(b)) return fallback_call("aten::" #op, #ov, {a, b});        \
    return binary("aten::" #op, BUILD, K, {}, a, b);                                               \
  });                                                                                              \
  m.impl(#op "_." #ov, [](at::Tensor& a, const at::Tensor& b) -> at::Tensor& {                    \
    if (!tile_dtype(a) || !tile_dtype(b)) { fallback_call("aten::" #op "_", #ov, {a, b}); return a; } \
    binary("aten::" #op "_", BUILD, K, a, a, b);                                                   \
    return a;                                                                                      \
  });                                                                                              \
  m.impl(#op "." #out_ov, [](const at::Tensor& a, const at::Tensor& b, at::Tensor& out) -> at::Tensor& { \
    if (!tile_dtype(a) || !tile_dtype(b) || !tile_dtype(out)) { fallback_call("aten::" #op, #out_ov, {a, b, out}); return out; } \
    binary("aten::" #op ".out", BUILD, K, out, a, b);                                              \
    return out;                                                                                    \
  });

#define ACCEL_UNARY(op, BUILD, K)                                                                  \
  m.impl(#op, [](const at::Tensor& a) {                                                           \
    if (!tile_dtype(a)) return fallback_call("aten::" #op, "", {a});                              \
    return unary("aten::" #op, BUILD, K, {}, a);                                                   \
  });                                                                                              \
  m.impl(#op "_", [](at::Tensor& a) -> at::Tensor& {                                              \
    if (!tile_dtype(a)) { fallback_call("aten::" #op "_", "", {a}); return a; }                   \
    unary("aten::" #op "_", BUILD, K, a, a);                                                       \
    return a;                                                                                      \
  });                                                                                              \
  m.impl(#op ".out", [](const at::Tensor& a, at::Tensor& out) -> at::Tensor& {                    \
    if (!tile_dtype(a) || !tile_dtype(out)) { fallback_call("aten::" #op, "out", {a, out}); return out; } \
    unary("aten::" #op ".out", BUILD, K, out, a);                                                  \
    return out;                                                                                    \
  });

inline at::TensorIterator float_op(at::TensorBase& out, const at::TensorBase& a) {
  return at::TensorIterator::unary_float_op(out, a);
}
inline at::TensorIterator same_op(at::TensorBase& out, const at::TensorBase& a) {
  return at::TensorIterator::unary_op(out, a);
}

// Activations with parameters.
inline engine::KernelParams params(double alpha, double beta = 0, double gamma = 0, int64_t mode = 0) {
  return {alpha, beta, gamma, mode};
}

// Ops ATen dispatches on floating types only: the same NotImplementedError for
// integer and bool tensors, raised before any kernel runs.
inline void check_floating(const char* op, at::ScalarType t) {
  TORCH_CHECK_NOT_IMPLEMENTED(at::isFloatingType(t), "\"", op, "\" not implemented for '",
                              c10::toString(t), "'");
}

template <const char* op>
at::TensorIterator floating_binary_op(at::TensorBase& out, const at::TensorBase& a, const at::TensorBase& b) {
  at::TensorIterator iter = at::TensorIterator::binary_op(out, a, b);
  check_floating(op, iter.common_dtype());
  return iter;
}

// Functional and out= forms of a binary op without overload names or in-place form.
#define ACCEL_BINARY_PLAIN(op, BUILD, K)                                                           \
  m.impl(#op, [](const at::Tensor& a, const at::Tensor& b) {                                      \
    if (!tile_dtype(a) || !tile_dtype(b)) return fallback_call("aten::" #op, "", {a, b});         \
    return binary("aten::" #op, BUILD, K, {}, a, b);                                               \
  });                                                                                              \
  m.impl(#op ".out", [](const at::Tensor& a, const at::Tensor& b, at::Tensor& out) -> at::Tensor& { \
    if (!tile_dtype(a) || !tile_dtype(b) || !tile_dtype(out)) { fallback_call("aten::" #op, "out", {a, b, out}); return out; } \
    binary("aten::" #op ".out", BUILD, K, out, a, b);                                              \
    return out;                                                                                    \
  });

#define ACCEL_BINARY_PLAIN_INPLACE(op, BUILD, K)                                                   \
  ACCEL_BINARY_PLAIN(op, BUILD, K)                                                                 \
  m.impl(#op "_", [](at::Tensor& a, const at::Tensor& b) -> at::Tensor& {                         \
    if (!tile_dtype(a) || !tile_dtype(b)) { fallback_call("aten::" #op "_", "", {a, b}); return a; } \
    binary("aten::" #op "_", BUILD, K, a, a, b);                                                   \
    return a;                                                                                      \
  });

// Functional and out= forms of a unary op (the in-place form is ATen's composite).
#define ACCEL_UNARY_FUNCTIONAL_OUT(op, BUILD, K)                                                   \
  m.impl(#op, [](const at::Tensor& a) {                                                           \
    if (!tile_dtype(a)) return fallback_call("aten::" #op, "", {a});                              \
    return unary("aten::" #op, BUILD, K, {}, a);                                                   \
  });                                                                                              \
  m.impl(#op ".out", [](const at::Tensor& a, at::Tensor& out) -> at::Tensor& {                    \
    if (!tile_dtype(a) || !tile_dtype(out)) { fallback_call("aten::" #op, "out", {a, out}); return out; } \
    unary("aten::" #op ".out", BUILD, K, out, a);                                                  \
    return out;                                                                                    \
  });

}  // namespace accel::aten::eltwise
