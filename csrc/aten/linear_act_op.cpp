// accel::linear_act(x, w, b, act): a linear layer whose bias and activation
// run in the matmul program's epilogue, on each output block before it is
// written back. A fusion target for the torch.compile backend; no autograd.
// accel::linear_act_saved(x, w, b, act) -> (pre, out): the same program whose
// writer also stores pre = x @ w.T + b, for a training graph whose backward
// reads it; out = act(pre as stored), as the separate ops compute it.
// accel::mm_act_backward(a, b, saved, act): the backward's counterpart,
// act's gradient at saved times a @ b (as stored), in the matmul's epilogue.
// accel::mm_bias_grad(grad, x) -> (grad.T @ x, grad.sum(0)): a linear's weight
// and bias gradients from one read of the output gradient.
#include <ATen/ops/empty.h>
#include <torch/library.h>

#include "aten/engine_bridge.h"
#include "aten/matmul_launch.h"

namespace accel::aten {
namespace {

engine::Activation activation(std::string_view act) {
  const auto a = engine::activation_from_name(std::string(act));
  TORCH_CHECK_VALUE(a.has_value(), "linear_act: act must be one of none, relu, gelu, gelu_tanh, silu, got '",
                    act, "'");
  return *a;
}

std::vector<int64_t> out_shape(const at::Tensor& x, const at::Tensor& w) {
  TORCH_CHECK(x.dim() >= 1 && w.dim() == 2, "linear_act: expected x with at least 1 dim and a 2-D weight, got ",
              x.dim(), "-D and ", w.dim(), "-D");
  TORCH_CHECK(x.size(-1) == w.size(1), "linear_act: x's last dim ", x.size(-1), " does not match weight ",
              w.sizes());
  std::vector<int64_t> shape(x.sizes().begin(), x.sizes().end() - 1);
  shape.push_back(w.size(0));
  return shape;
}

// Runs the program into out (and pre when defined), both [M, N] rows.
void run_linear_act(const char* op, const at::Tensor& x, const at::Tensor& w,
                    const std::optional<at::Tensor>& b, std::string_view act, at::Tensor& out,
                    at::Tensor* pre) {
  engine::MatmulArgs args;
  args.act = activation(act);
  TORCH_CHECK(matmul_dtype(x.scalar_type()) && w.scalar_type() == x.scalar_type() &&
                  (!b || !b->defined() || b->scalar_type() == x.scalar_type()),
              op, ": expected float32, bfloat16 or float16 operands of one dtype, got ",
              x.scalar_type(), " and ", w.scalar_type());
  const int64_t K = w.size(1), N = w.size(0);
  const at::Tensor rows = x.reshape({-1, K});
  const int64_t M = rows.size(0);
  out = at::empty({M, N}, x.options());
  if (pre) *pre = at::empty({M, N}, x.options());
  if (out.numel() == 0) return;
  args.a = matmul_operand(rows, {1, M, K}, {0, rows.stride(0), rows.stride(1)});
  args.b = matmul_operand(w, {1, K, N}, {0, w.stride(1), w.stride(0)});
  args.out = matmul_operand(out, {1, M, N}, {0, N, 1});
  if (pre) args.pre = matmul_operand(*pre, {1, M, N}, {0, N, 1});
  if (b && b->defined()) {
    TORCH_CHECK(b->dim() == 1 && b->size(0) == N, op, ": bias must have shape [", N, "], got ",
                b->sizes());
    args.bias = matmul_operand(*b, {1, M, N}, {0, 0, b->stride(0)});
    args.beta = 1;
  }
  launch_matmul(op, args, out);
}

at::Tensor linear_act(const at::Tensor& x, const at::Tensor& w, const std::optional<at::Tensor>& b,
                      std::string_view act) {
  const auto shape = out_shape(x, w);
  at::Tensor out;
  run_linear_act("accel::linear_act", x, w, b, act, out, nullptr);
  return out.view(shape);
}

std::tuple<at::Tensor, at::Tensor> linear_act_saved(const at::Tensor& x, const at::Tensor& w,
                                                    const std::optional<at::Tensor>& b,
                                                    std::string_view act) {
  const auto shape = out_shape(x, w);
  at::Tensor out, pre;
  run_linear_act("accel::linear_act_saved", x, w, b, act, out, &pre);
  return {pre.view(shape), out.view(shape)};
}

at::Tensor linear_act_meta(const at::Tensor& x, const at::Tensor& w, const std::optional<at::Tensor>& b,
                           std::string_view act) {
  activation(act);
  return at::empty(out_shape(x, w), x.options());
}

at::Tensor mm_act_backward(const at::Tensor& a, const at::Tensor& b, const at::Tensor& saved,
                           std::string_view act) {
  constexpr const char* op = "accel::mm_act_backward";
  TORCH_CHECK(a.dim() == 2 && b.dim() == 2 && a.size(1) == b.size(0), op,
              ": expected [M, K] and [K, N] operands, got ", a.sizes(), " and ", b.sizes());
  TORCH_CHECK(matmul_dtype(a.scalar_type()) && b.scalar_type() == a.scalar_type() &&
                  saved.scalar_type() == a.scalar_type(),
              op, ": expected float32, bfloat16 or float16 operands of one dtype, got ", a.scalar_type(),
              ", ", b.scalar_type(), " and ", saved.scalar_type());
  const int64_t M = a.size(0), K = a.size(1), N = b.size(1);
  TORCH_CHECK(saved.numel() == M * N, op, ": saved must hold the product's ", M, "x", N,
              " elements, got shape ", saved.sizes());
  engine::MatmulArgs args;
  args.act = activation(act);
  at::Tensor out = at::empty({M, N}, a.options());
  if (out.numel() == 0) return out;
  const at::Tensor saved_rows = saved.reshape({M, N});
  args.a = matmul_operand(a, {1, M, K}, {0, a.stride(0), a.stride(1)});
  args.b = matmul_operand(b, {1, K, N}, {0, b.stride(0), b.stride(1)});
  args.out = matmul_operand(out, {1, M, N}, {0, N, 1});
  args.act_saved = matmul_operand(saved_rows, {1, M, N}, {0, saved_rows.stride(0), saved_rows.stride(1)});
  launch_matmul(op, args, out);
  return out;
}

at::Tensor mm_act_backward_meta(const at::Tensor& a, const at::Tensor& b, const at::Tensor& saved,
                                std::string_view act) {
  activation(act);
  TORCH_CHECK(a.dim() == 2 && b.dim() == 2 && a.size(1) == b.size(0),
              "accel::mm_act_backward: expected [M, K] and [K, N] operands, got ", a.sizes(), " and ",
              b.sizes());
  TORCH_CHECK(saved.numel() == a.size(0) * b.size(1), "accel::mm_act_backward: saved must hold the product's ",
              a.size(0), "x", b.size(1), " elements, got shape ", saved.sizes());
  return at::empty({a.size(0), b.size(1)}, a.options());
}

// grad [M, N], x [M, K]: (grad.T @ x [N, K], grad.sum(0) [N]); meta: shapes and checks only.
std::tuple<at::Tensor, at::Tensor> mm_bias_grad_impl(const at::Tensor& grad, const at::Tensor& x, bool meta) {
  constexpr const char* op = "accel::mm_bias_grad";
  TORCH_CHECK(grad.dim() == 2 && x.dim() == 2 && grad.size(0) == x.size(0), op,
              ": expected grad [M, N] and x [M, K] with one M, got ", grad.sizes(), " and ", x.sizes());
  TORCH_CHECK(matmul_dtype(grad.scalar_type()) && x.scalar_type() == grad.scalar_type(), op,
              ": expected float32, bfloat16 or float16 operands of one dtype, got ", grad.scalar_type(), " and ",
              x.scalar_type());
  const int64_t M = grad.size(0), N = grad.size(1), K = x.size(1);
  at::Tensor weight_grad = at::empty({N, K}, grad.options());
  at::Tensor bias_grad = at::empty({N}, grad.options());
  if (meta) return {weight_grad, bias_grad};
  engine::MatmulArgs args;
  args.a = matmul_operand(grad, {1, N, M}, {0, grad.stride(1), grad.stride(0)});
  args.b = matmul_operand(x, {1, M, K}, {0, x.stride(0), x.stride(1)});
  args.out = matmul_operand(weight_grad, {1, N, K}, {0, K, 1});
  args.a_row_sums = matmul_operand(bias_grad, {1, 1, N}, {0, 0, 1});
  launch_matmul(op, args, weight_grad);
  return {weight_grad, bias_grad};
}

std::tuple<at::Tensor, at::Tensor> mm_bias_grad(const at::Tensor& grad, const at::Tensor& x) {
  return mm_bias_grad_impl(grad, x, false);
}
std::tuple<at::Tensor, at::Tensor> mm_bias_grad_meta(const at::Tensor& grad, const at::Tensor& x) {
  return mm_bias_grad_impl(grad, x, true);
}

std::tuple<at::Tensor, at::Tensor> linear_act_saved_meta(const at::Tensor& x, const at::Tensor& w,
                                                         const std::optional<at::Tensor>& b,
                                                         std::string_view act) {
  activation(act);
  const auto shape = out_shape(x, w);
  return {at::empty(shape, x.options()), at::empty(shape, x.options())};
}

}  // namespace

TORCH_LIBRARY(accel, m) {
  m.def("linear_act(Tensor x, Tensor w, Tensor? b, str act) -> Tensor");
  m.def("linear_act_saved(Tensor x, Tensor w, Tensor? b, str act) -> (Tensor pre, Tensor out)");
  m.def("mm_act_backward(Tensor a, Tensor b, Tensor saved, str act) -> Tensor");
  m.def("mm_bias_grad(Tensor grad, Tensor x) -> (Tensor weight_grad, Tensor bias_grad)");
}

TORCH_LIBRARY_IMPL(accel, PrivateUse1, m) {
  m.impl("linear_act", linear_act);
  m.impl("linear_act_saved", linear_act_saved);
  m.impl("mm_act_backward", mm_act_backward);
  m.impl("mm_bias_grad", mm_bias_grad);
}
TORCH_LIBRARY_IMPL(accel, Meta, m) {
  m.impl("linear_act", linear_act_meta);
  m.impl("linear_act_saved", linear_act_saved_meta);
  m.impl("mm_act_backward", mm_act_backward_meta);
  m.impl("mm_bias_grad", mm_bias_grad_meta);
}

}  // namespace accel::aten
