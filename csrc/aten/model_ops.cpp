// Ops that real models reach and no other op family registered: isneginf and
// isposinf (ATen's math attention, which grouped-query heads as in Llama,
// Mistral and Qwen2 take, calls isneginf), isnan (the gradient of an inf-norm
// and non-finite checks), and hardtanh with its gradient (ReLU6, as in
// MobileNet). Each is one element-wise tile program.
#include <ATen/ScalarOps.h>
#include <ATen/TensorIterator.h>
#include <ATen/native/Resize.h>
#include <ATen/ops/empty.h>
#include <torch/library.h>

#include <limits>

#include "aten/engine_bridge.h"
#include "aten/fallback.h"
#include "kernels/eltwise/binary.h"
#include "kernels/eltwise/hardtanh_backward.h"
#include "kernels/eltwise/unary.h"

namespace accel::aten {
namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();

// self == infinity (signed) into a bool tensor. Integer and bool inputs hold
// no infinity, so, as in ATen, the result is all false without a comparison.
at::Tensor is_infinity(const char* op, const char* program, at::Tensor out, const at::Tensor& self,
                       double infinity) {
  TORCH_CHECK(!self.is_complex(), op, " does not support complex inputs.");
  TORCH_CHECK(!out.defined() || out.scalar_type() == at::kBool, op,
              " does not support non-boolean outputs.");
  if (!at::isFloatingType(self.scalar_type())) {
    if (out.defined()) at::native::resize_output(out, self.sizes());
    else out = at::empty(self.sizes(), self.options().dtype(at::kBool));
    return out.fill_(false);
  }
  auto iter = at::TensorIterator::comparison_op(out, self, at::native::wrapped_scalar_tensor(infinity));
  launch_eltwise(program, kernels::binary_kernel(kernels::Binary::Eq), iter);
  return iter.output();
}

#define ACCEL_IS_INFINITY(op, infinity)                                                            \
  m.impl(#op, [](const at::Tensor& self) {                                                         \
    if (!tile_dtype_of(self.scalar_type()) && !self.is_complex())                                  \
      return fallback_call("aten::" #op, "", {self});                                              \
    return is_infinity(#op, "aten::" #op, {}, self, infinity);                                     \
  });                                                                                              \
  m.impl(#op ".out", [](const at::Tensor& self, at::Tensor& out) -> at::Tensor& {                  \
    if (!tile_dtype_of(self.scalar_type()) && !self.is_complex()) {                                \
      fallback_call("aten::" #op, "out", {self, out});                                             \
      return out;                                                                                  \
    }                                                                                              \
    is_infinity(#op, "aten::" #op ".out", out, self, infinity);                                    \
    return out;                                                                                    \
  });

// isnan(self) is self != self, one comparison; integer and bool data compare
// equal to themselves, so their result is all false, as in ATen.
at::Tensor is_nan(const char* program, at::Tensor out, const at::Tensor& self) {
  TORCH_CHECK(!out.defined() || out.scalar_type() == at::kBool,
              "isnan: expected out to have dtype Bool, but got ",
              out.defined() ? out.scalar_type() : at::kBool);
  auto iter = at::TensorIterator::comparison_op(out, self, self);
  launch_eltwise(program, kernels::binary_kernel(kernels::Binary::Ne), iter);
  return iter.output();
}

// hardtanh is clamp(self, min, max), ATen's checks first; for integer data
// the bounds are truncated to integers, so they do not promote the result.
engine::KernelParams hardtanh_bounds(const at::Tensor& self, const at::Scalar& min,
                                     const at::Scalar& max) {
  TORCH_CHECK(self.scalar_type() != at::kBool, "Bool inputs not supported for hardtanh");
  constexpr int64_t kBothBounds = 3;  // the clamp kernel's "has min" and "has max" bits
  if (at::isIntegralType(self.scalar_type(), /*includeBool=*/false)) {
    const int64_t lo = min.toLong(), hi = max.toLong();
    TORCH_CHECK(self.scalar_type() != at::kByte || (lo >= 0 && hi >= 0),
                "cannot do hardtanh on an unsigned type with negative limits");
    return {static_cast<double>(lo), static_cast<double>(hi), 0, kBothBounds};
  }
  return {min.toDouble(), max.toDouble(), 0, kBothBounds};
}

at::Tensor hardtanh_into(const char* name, at::Tensor out, const at::Tensor& self,
                         const at::Scalar& min, const at::Scalar& max) {
  const engine::KernelParams bounds = hardtanh_bounds(self, min, max);
  auto iter = at::TensorIterator::unary_op(out, self);
  launch_eltwise(name, kernels::unary_kernel(kernels::Unary::Clamp), iter, bounds);
  return iter.output();
}

at::Tensor hardtanh_backward_into(const char* name, at::Tensor grad_input, const at::Tensor& grad,
                                  const at::Tensor& self, const at::Scalar& min,
                                  const at::Scalar& max) {
  auto iter = at::TensorIterator::borrowing_binary_op(grad_input, grad, self);
  launch_eltwise(name, kernels::hardtanh_backward_kernel(), iter,
                 {min.toDouble(), max.toDouble(), 0, 0});
  return iter.output();
}

}  // namespace

TORCH_LIBRARY_IMPL(aten, PrivateUse1, m) {
  ACCEL_IS_INFINITY(isneginf, -kInfinity)
  ACCEL_IS_INFINITY(isposinf, kInfinity)
  m.impl("isnan", [](const at::Tensor& self) {
    if (!tile_dtype_of(self.scalar_type())) return fallback_call("aten::isnan", "", {self});
    return is_nan("aten::isnan", {}, self);
  });
  m.impl("isnan.out", [](const at::Tensor& self, at::Tensor& out) -> at::Tensor& {
    if (!tile_dtype_of(self.scalar_type())) {
      fallback_call("aten::isnan", "out", {self, out});
      return out;
    }
    is_nan("aten::isnan.out", out, self);
    return out;
  });

  m.impl("hardtanh", [](const at::Tensor& self, const at::Scalar& min, const at::Scalar& max) {
    return hardtanh_into("aten::hardtanh", {}, self, min, max);
  });
  m.impl("hardtanh_", [](at::Tensor& self, const at::Scalar& min, const at::Scalar& max) -> at::Tensor& {
    hardtanh_into("aten::hardtanh_", self, self, min, max);
    return self;
  });
  m.impl("hardtanh.out", [](const at::Tensor& self, const at::Scalar& min, const at::Scalar& max, at::Tensor& out) -> at::Tensor& {
    hardtanh_into("aten::hardtanh.out", out, self, min, max);
    return out;
  });
  m.impl("hardtanh_backward", [](const at::Tensor& grad, const at::Tensor& self, const at::Scalar& min, const at::Scalar& max) {
    return hardtanh_backward_into("aten::hardtanh_backward", {}, grad, self, min, max);
  });
  m.impl("hardtanh_backward.grad_input", [](const at::Tensor& grad, const at::Tensor& self, const at::Scalar& min, const at::Scalar& max, at::Tensor& grad_input) -> at::Tensor& {
    hardtanh_backward_into("aten::hardtanh_backward.grad_input", grad_input, grad, self, min, max);
    return grad_input;
  });
}

}  // namespace accel::aten
