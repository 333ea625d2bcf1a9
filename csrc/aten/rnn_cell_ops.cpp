// The fused LSTM and GRU cells. ATen's RNN code (nn.LSTM, nn.GRU and their
// Cell modules) hands every non-CPU device's cell to these ops once the gate
// matmuls are done, and CPU has no kernel for them, so the CPU fallback cannot
// run them. Each is a short chain of accel element-wise programs (add,
// sigmoid, tanh, addcmul, their backward kernels, cat, sum), in the order of
// CPU ATen's unfused cells so results and reduced-precision rounding follow
// the CPU reference.
//
// The workspace that forward saves for backward is private to this file (both
// ends are here); its layout follows CUDA's: LSTM keeps the activated gates
// [i, f, g, o] ([B, 4H]); GRU keeps [r, z, n, hn + b_hn, hx] ([B, 5H]).
#include <ATen/core/Tensor.h>
#include <ATen/ops/add.h>
#include <ATen/ops/addcmul.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/mul.h>
#include <ATen/ops/sigmoid.h>
#include <ATen/ops/sigmoid_backward.h>
#include <ATen/ops/sub.h>
#include <ATen/ops/sum.h>
#include <ATen/ops/tanh.h>
#include <ATen/ops/tanh_backward.h>
#include <ATen/ops/zeros_like.h>
#include <torch/library.h>

#include <optional>
#include <tuple>

namespace accel::aten {
namespace {

using at::Tensor;

Tensor defined_or_none(const std::optional<Tensor>& t) {
  return t.has_value() && t->defined() ? *t : Tensor();
}

// ATen's RNN.cu checks: 2-D gates of one shape, a [B, H] state and [G] biases.
void check_cell_args(const char* op, const Tensor& input_gates, const Tensor& hidden_gates,
                     const Tensor& state, const Tensor& input_bias, const Tensor& hidden_bias,
                     int64_t gate_count) {
  TORCH_CHECK_VALUE(input_gates.dim() == 2, op, ": input_gates must be 2-D [batch, ",
                    gate_count, " * hidden], got ", input_gates.sizes());
  TORCH_CHECK_VALUE(hidden_gates.sizes() == input_gates.sizes(), op,
                    ": hidden_gates must have the shape of input_gates ", input_gates.sizes(),
                    ", got ", hidden_gates.sizes());
  const int64_t gates = input_gates.size(1);
  TORCH_CHECK_VALUE(gates % gate_count == 0, op, ": the gate dimension (", gates,
                    ") must be a multiple of ", gate_count);
  TORCH_CHECK_VALUE(state.dim() == 2 && state.size(0) == input_gates.size(0) &&
                        state.size(1) == gates / gate_count,
                    op, ": the state must be [", input_gates.size(0), ", ", gates / gate_count,
                    "], got ", state.sizes());
  TORCH_CHECK_VALUE(input_bias.defined() == hidden_bias.defined(), op,
                    ": give both biases or neither");
  for (const Tensor* bias : {&input_bias, &hidden_bias})
    TORCH_CHECK_VALUE(!bias->defined() || (bias->dim() == 1 && bias->size(0) == gates), op,
                      ": a bias must be [", gates, "], got ", bias->sizes());
}

Tensor gate(const Tensor& gates, int64_t index, int64_t hidden) {
  return gates.narrow(1, index * hidden, hidden);
}

// ---- LSTM ----

std::tuple<Tensor, Tensor, Tensor> lstm_cell(const Tensor& input_gates, const Tensor& hidden_gates,
                                             const Tensor& cx,
                                             const std::optional<Tensor>& input_bias_opt,
                                             const std::optional<Tensor>& hidden_bias_opt) {
  const Tensor input_bias = defined_or_none(input_bias_opt);
  const Tensor hidden_bias = defined_or_none(hidden_bias_opt);
  check_cell_args("_thnn_fused_lstm_cell", input_gates, hidden_gates, cx, input_bias, hidden_bias, 4);
  const int64_t hidden = cx.size(1);
  Tensor gates = at::add(input_gates, hidden_gates);
  if (input_bias.defined()) gates.add_(input_bias).add_(hidden_bias);
  // The workspace is `gates`, activated in place: i, f, o by sigmoid, g by tanh.
  gate(gates, 0, hidden).sigmoid_();
  gate(gates, 1, hidden).sigmoid_();
  gate(gates, 2, hidden).tanh_();
  gate(gates, 3, hidden).sigmoid_();
  const Tensor ingate = gate(gates, 0, hidden), forgetgate = gate(gates, 1, hidden);
  const Tensor cellgate = gate(gates, 2, hidden), outgate = gate(gates, 3, hidden);
  Tensor cy = at::mul(forgetgate, cx).addcmul_(ingate, cellgate);
  Tensor hy = at::tanh(cy).mul_(outgate);
  return {hy, cy, gates};
}

std::tuple<Tensor, Tensor, Tensor> lstm_cell_backward(const std::optional<Tensor>& grad_hy_opt,
                                                      const std::optional<Tensor>& grad_cy_opt,
                                                      const Tensor& cx, const Tensor& cy,
                                                      const Tensor& workspace, bool has_bias) {
  const Tensor grad_hy = defined_or_none(grad_hy_opt), grad_cy = defined_or_none(grad_cy_opt);
  if (!grad_hy.defined() && !grad_cy.defined()) return {};
  TORCH_CHECK_VALUE(workspace.dim() == 2 && cx.dim() == 2 && workspace.size(1) == 4 * cx.size(1),
                    "_thnn_fused_lstm_cell_backward_impl: workspace ", workspace.sizes(),
                    " does not match cx ", cx.sizes());
  const int64_t hidden = cx.size(1);
  const Tensor ingate = gate(workspace, 0, hidden), forgetgate = gate(workspace, 1, hidden);
  const Tensor cellgate = gate(workspace, 2, hidden), outgate = gate(workspace, 3, hidden);

  // d cy, through hy = o * tanh(cy) and from the caller.
  Tensor grad_c, grad_outgate;
  if (grad_hy.defined()) {
    const Tensor tanh_cy = at::tanh(cy);
    grad_outgate = at::sigmoid_backward(at::mul(grad_hy, tanh_cy), outgate);
    grad_c = at::tanh_backward(at::mul(grad_hy, outgate), tanh_cy);
    if (grad_cy.defined()) grad_c.add_(grad_cy);
  } else {
    grad_outgate = at::zeros_like(outgate);
    grad_c = grad_cy;
  }
  const Tensor grad_gates = at::cat({at::sigmoid_backward(at::mul(grad_c, cellgate), ingate),
                                     at::sigmoid_backward(at::mul(grad_c, cx), forgetgate),
                                     at::tanh_backward(at::mul(grad_c, ingate), cellgate),
                                     grad_outgate},
                                    1);
  Tensor grad_cx = at::mul(grad_c, forgetgate);
  Tensor grad_bias = has_bias ? at::sum(grad_gates, {0}) : Tensor();
  return {grad_gates, grad_cx, grad_bias};
}

// ---- GRU ----

std::tuple<Tensor, Tensor> gru_cell(const Tensor& input_gates, const Tensor& hidden_gates,
                                    const Tensor& hx, const std::optional<Tensor>& input_bias_opt,
                                    const std::optional<Tensor>& hidden_bias_opt) {
  const Tensor input_bias = defined_or_none(input_bias_opt);
  const Tensor hidden_bias = defined_or_none(hidden_bias_opt);
  check_cell_args("_thnn_fused_gru_cell", input_gates, hidden_gates, hx, input_bias, hidden_bias, 3);
  const int64_t hidden = hx.size(1);
  const Tensor igates = input_bias.defined() ? at::add(input_gates, input_bias) : input_gates;
  const Tensor hgates = hidden_bias.defined() ? at::add(hidden_gates, hidden_bias) : hidden_gates;
  // r and z together: [B, 2H].
  const Tensor reset_update =
      at::add(hgates.narrow(1, 0, 2 * hidden), igates.narrow(1, 0, 2 * hidden)).sigmoid_();
  const Tensor resetgate = gate(reset_update, 0, hidden), updategate = gate(reset_update, 1, hidden);
  const Tensor hidden_new = gate(hgates, 2, hidden);
  const Tensor newgate = at::addcmul(gate(igates, 2, hidden), hidden_new, resetgate).tanh_();
  Tensor hy = at::sub(hx, newgate).mul_(updategate).add_(newgate);
  Tensor workspace = at::cat({reset_update, newgate, hidden_new, hx}, 1);
  return {hy, workspace};
}

std::tuple<Tensor, Tensor, Tensor, Tensor, Tensor> gru_cell_backward(const Tensor& grad_hy,
                                                                     const Tensor& workspace,
                                                                     bool has_bias) {
  TORCH_CHECK_VALUE(workspace.dim() == 2 && grad_hy.dim() == 2 &&
                        workspace.size(1) == 5 * grad_hy.size(1) &&
                        workspace.size(0) == grad_hy.size(0),
                    "_thnn_fused_gru_cell_backward: workspace ", workspace.sizes(),
                    " does not match grad_hy ", grad_hy.sizes());
  const int64_t hidden = grad_hy.size(1);
  const Tensor resetgate = gate(workspace, 0, hidden), updategate = gate(workspace, 1, hidden);
  const Tensor newgate = gate(workspace, 2, hidden), hidden_new = gate(workspace, 3, hidden);
  const Tensor hx = gate(workspace, 4, hidden);

  Tensor grad_hx = at::mul(grad_hy, updategate);
  const Tensor grad_updategate =
      at::sigmoid_backward(at::mul(grad_hy, at::sub(hx, newgate)), updategate);
  // d newgate's pre-activation: grad_hy * (1 - z), through tanh.
  const Tensor grad_new =
      at::tanh_backward(at::addcmul(grad_hy, grad_hy, updategate, -1), newgate);
  const Tensor grad_resetgate = at::sigmoid_backward(at::mul(grad_new, hidden_new), resetgate);
  Tensor grad_input_gates = at::cat({grad_resetgate, grad_updategate, grad_new}, 1);
  Tensor grad_hidden_gates =
      at::cat({grad_resetgate, grad_updategate, at::mul(grad_new, resetgate)}, 1);
  Tensor grad_input_bias, grad_hidden_bias;
  if (has_bias) {
    grad_input_bias = at::sum(grad_input_gates, {0});
    grad_hidden_bias = at::sum(grad_hidden_gates, {0});
  }
  return {grad_input_gates, grad_hidden_gates, grad_hx, grad_input_bias, grad_hidden_bias};
}

}  // namespace

TORCH_LIBRARY_IMPL(aten, PrivateUse1, m) {
  m.impl("_thnn_fused_lstm_cell", lstm_cell);
  m.impl("_thnn_fused_lstm_cell_backward_impl", lstm_cell_backward);
  m.impl("_thnn_fused_gru_cell", gru_cell);
  m.impl("_thnn_fused_gru_cell_backward", gru_cell_backward);
}

}  // namespace accel::aten
