// Registrations of the activations' gradient kernels, which autograd calls in
// the backward pass. Each is one element-wise program over (grad, saved).
#include <ATen/TensorIterator.h>
#include <torch/library.h>

#include "aten/engine_bridge.h"
#include "kernels/eltwise/backward.h"

namespace accel::aten {
namespace {

using kernels::Backward;

at::Tensor grad_program(const char* name, Backward k, at::Tensor grad_input,
                        const at::Tensor& grad, const at::Tensor& saved,
                        engine::KernelParams p = {}) {
  auto iter = at::TensorIterator::borrowing_binary_op(grad_input, grad, saved);
  launch_eltwise(name, kernels::backward_kernel(k), iter, p);
  return iter.output();
}

engine::KernelParams params(double alpha, double beta = 0, double gamma = 0, int64_t mode = 0) {
  return {alpha, beta, gamma, mode};
}

Backward gelu_kind(std::string_view approximate) {
  TORCH_CHECK(approximate == "none" || approximate == "tanh",
              "approximate argument must be either none or tanh.");
  return approximate == "tanh" ? Backward::GeluTanh : Backward::Gelu;
}

// Functional and grad_input= forms of a gradient with no extra arguments.
#define ACCEL_GRAD(op, K)                                                                          \
  m.impl(#op, [](const at::Tensor& grad, const at::Tensor& saved) {                                \
    return grad_program("aten::" #op, K, {}, grad, saved);                                         \
  });

#define ACCEL_GRAD_OUT(op, K)                                                                      \
  ACCEL_GRAD(op, K)                                                                                \
  m.impl(#op ".grad_input", [](const at::Tensor& grad, const at::Tensor& saved, at::Tensor& out) -> at::Tensor& { \
    grad_program("aten::" #op ".grad_input", K, out, grad, saved);                                 \
    return out;                                                                                    \
  });

}  // namespace

TORCH_LIBRARY_IMPL(aten, PrivateUse1, m) {
  ACCEL_GRAD_OUT(silu_backward, Backward::Silu)
  ACCEL_GRAD_OUT(sigmoid_backward, Backward::Sigmoid)
  ACCEL_GRAD_OUT(tanh_backward, Backward::Tanh)
  ACCEL_GRAD_OUT(hardsigmoid_backward, Backward::Hardsigmoid)
  ACCEL_GRAD(hardswish_backward, Backward::Hardswish)
  ACCEL_GRAD(mish_backward, Backward::Mish)

  m.impl("threshold_backward", [](const at::Tensor& grad, const at::Tensor& self, const at::Scalar& threshold) {
    return grad_program("aten::threshold_backward", Backward::Threshold, {}, grad, self, params(threshold.toDouble()));
  });
  m.impl("threshold_backward.grad_input", [](const at::Tensor& grad, const at::Tensor& self, const at::Scalar& threshold, at::Tensor& out) -> at::Tensor& {
    grad_program("aten::threshold_backward.grad_input", Backward::Threshold, out, grad, self, params(threshold.toDouble()));
    return out;
  });
  m.impl("hardshrink_backward", [](const at::Tensor& grad, const at::Tensor& self, const at::Scalar& lambd) {
    return grad_program("aten::hardshrink_backward", Backward::Shrink, {}, grad, self, params(lambd.toDouble()));
  });
  m.impl("hardshrink_backward.grad_input", [](const at::Tensor& grad, const at::Tensor& self, const at::Scalar& lambd, at::Tensor& out) -> at::Tensor& {
    grad_program("aten::hardshrink_backward.grad_input", Backward::Shrink, out, grad, self, params(lambd.toDouble()));
    return out;
  });
  m.impl("softshrink_backward", [](const at::Tensor& grad, const at::Tensor& self, const at::Scalar& lambd) {
    return grad_program("aten::softshrink_backward", Backward::Shrink, {}, grad, self, params(lambd.toDouble()));
  });
  m.impl("softshrink_backward.grad_input", [](const at::Tensor& grad, const at::Tensor& self, const at::Scalar& lambd, at::Tensor& out) -> at::Tensor& {
    grad_program("aten::softshrink_backward.grad_input", Backward::Shrink, out, grad, self, params(lambd.toDouble()));
    return out;
  });
  m.impl("gelu_backward", [](const at::Tensor& grad, const at::Tensor& self, std::string_view approximate) {
    return grad_program("aten::gelu_backward", gelu_kind(approximate), {}, grad, self);
  });
  m.impl("gelu_backward.grad_input", [](const at::Tensor& grad, const at::Tensor& self, std::string_view approximate, at::Tensor& out) -> at::Tensor& {
    grad_program("aten::gelu_backward.grad_input", gelu_kind(approximate), out, grad, self);
    return out;
  });
  m.impl("leaky_relu_backward", [](const at::Tensor& grad, const at::Tensor& self, const at::Scalar& slope, bool self_is_result) {
    TORCH_CHECK(!self_is_result || slope.to<double>() >= 0.0,
                "In-place leakyReLu backward calculation is triggered with a negative slope which is not supported. "
                "This is caused by calling in-place forward function with a negative slope, "
                "please call out-of-place version instead. File an issue at https://github.com/pytorch/pytorch if you do "
                "require supporting in-place leakRelu backward calculation with negative slope");
    return grad_program("aten::leaky_relu_backward", Backward::LeakyRelu, {}, grad, self, params(slope.toDouble()));
  });
  m.impl("elu_backward", [](const at::Tensor& grad, const at::Scalar& alpha, const at::Scalar& scale, const at::Scalar& input_scale, bool is_result, const at::Tensor& self_or_result) {
    TORCH_CHECK(!is_result || alpha.to<double>() >= 0.0,
                "In-place elu backward calculation is triggered with a negative slope which is not supported. "
                "This is caused by calling in-place forward function with a negative slope, "
                "please call out-of-place version instead.");
    return grad_program("aten::elu_backward", Backward::Elu, {}, grad, self_or_result,
                        params(alpha.toDouble(), scale.toDouble(), input_scale.toDouble(), is_result ? 1 : 0));
  });
  m.impl("softplus_backward", [](const at::Tensor& grad, const at::Tensor& self, const at::Scalar& beta, const at::Scalar& threshold) {
    return grad_program("aten::softplus_backward", Backward::Softplus, {}, grad, self, params(beta.toDouble(), threshold.toDouble()));
  });
}

}  // namespace accel::aten
