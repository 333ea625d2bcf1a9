// Registrations of the convolutions. A PrivateUse1 tensor's convolution
// reaches aten::convolution_overrideable (conv1d already viewed as 2-D by
// aten::_convolution) and its gradient convolution_backward_overrideable;
// both run as implicit-GEMM programs on the cores. The programs have 1-D and
// 2-D windows; 3-D convolutions (5-D maps) run on the CPU through the counted
// fallback.
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/empty_like.h>
#include <torch/library.h>

#include <array>

#include "aten/conv_launch.h"
#include "aten/fallback.h"
#include "engine/conv.h"

namespace accel::aten {
namespace {

// 1-D maps and filters as 2-D with a unit height.
at::Tensor as4d(const at::Tensor& t) { return t.defined() && t.dim() == 3 ? t.unsqueeze(2) : t; }

// Dtypes and ranks the conv programs take: float tile data, 1-D or 2-D windows.
bool runs_on_cores(const at::Tensor& input, const at::Tensor& weight) {
  return float_tile_dtype(input) && float_tile_dtype(weight) && input.dim() <= 4 && weight.dim() <= 4;
}

engine::Conv2dArgs args_of(at::IntArrayRef stride, at::IntArrayRef padding, at::IntArrayRef dilation,
                           int64_t groups, bool is1d) {
  engine::Conv2dArgs a;
  a.groups = groups;
  auto at_ = [](at::IntArrayRef v, size_t i) { return v.size() == 1 ? v[0] : v[i]; };
  for (int d = 0; d < 2; ++d) {
    if (is1d && d == 0) continue;
    const size_t i = is1d ? 0 : d;
    a.stride[d] = at_(stride, i);
    a.padding[d] = at_(padding, i);
    a.dilation[d] = at_(dilation, i);
  }
  return a;
}

void check_same_type(const at::Tensor& input, const at::Tensor& weight, const at::Tensor& bias) {
  TORCH_CHECK(input.scalar_type() == weight.scalar_type(), "Input type (", input.scalar_type(),
              ") and weight type (", weight.scalar_type(), ") should be the same");
  TORCH_CHECK(!bias.defined() || bias.scalar_type() == input.scalar_type(), "Input type (",
              input.scalar_type(), ") and bias type (", bias.scalar_type(), ") should be the same");
}

at::Tensor convolution(const at::Tensor& input_, const at::Tensor& weight_,
                       const std::optional<at::Tensor>& bias_opt, at::IntArrayRef stride,
                       at::IntArrayRef padding, at::IntArrayRef dilation, bool transposed,
                       at::IntArrayRef output_padding, int64_t groups) {
  const at::Tensor bias = bias_opt.value_or(at::Tensor());
  if (!runs_on_cores(input_, weight_))
    return fallback_call("aten::convolution", "",
                         {input_, weight_, bias_opt, stride, padding, dilation, transposed,
                          output_padding, groups});
  check_same_type(input_, weight_, bias);
  const bool is1d = input_.dim() == 3;
  const at::Tensor input = as4d(input_), weight = as4d(weight_);
  const auto a = args_of(stride, padding, dilation, groups, is1d);
  std::array<int64_t, 2> op{0, 0};
  for (int d = 0; d < 2; ++d)
    if (!(is1d && d == 0)) op[d] = output_padding.size() == 1 ? output_padding[0] : output_padding[is1d ? 0 : d];
  std::vector<int64_t> size{input.size(0), transposed ? weight.size(1) * groups : weight.size(0), 0, 0};
  for (int d = 0; d < 2; ++d) {
    const int64_t in = input.size(2 + d), k = weight.size(2 + d);
    size[2 + d] = transposed
        ? (in - 1) * a.stride[d] - 2 * a.padding[d] + a.dilation[d] * (k - 1) + op[d] + 1
        : (in + 2 * a.padding[d] - a.dilation[d] * (k - 1) - 1) / a.stride[d] + 1;
  }
  at::Tensor out = at::empty(size, input.options().memory_format(input.suggest_memory_format()));
  if (out.numel() > 0) {
    const auto x = ref_of(input), w = ref_of(weight), o = ref_of(out);
    std::optional<engine::TensorRef> b;
    if (bias.defined()) b = ref_of(bias);
    launch_program(out, [&](const chip::Arch& arch) {
      return transposed ? engine::conv2d_input_grad(arch, x, w, b ? &*b : nullptr, o, a)
                        : engine::conv2d_forward(arch, x, w, b ? &*b : nullptr, o, a);
    });
  }
  return is1d ? out.squeeze(2) : out;
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> convolution_backward(
    const at::Tensor& grad_out_, const at::Tensor& input_, const at::Tensor& weight_,
    at::IntArrayRef stride, at::IntArrayRef padding, at::IntArrayRef dilation, bool transposed,
    at::IntArrayRef output_padding, int64_t groups, std::array<bool, 3> mask) {
  if (!runs_on_cores(input_, weight_) || !float_tile_dtype(grad_out_)) {
    std::optional<std::vector<int64_t>> bias_sizes;
    if (mask[2]) bias_sizes = std::vector<int64_t>{grad_out_.size(1)};
    torch::jit::Stack stack{grad_out_, input_, weight_, bias_sizes, stride, padding, dilation,
                            transposed, output_padding, groups, std::vector<bool>(mask.begin(), mask.end())};
    stack = fallback_call_stack("aten::convolution_backward", "", std::move(stack));
    return {stack.at(0).toTensor(), stack.at(1).toTensor(), stack.at(2).toTensor()};
  }
  check_same_type(input_, weight_, at::Tensor());
  const bool is1d = input_.dim() == 3;
  const at::Tensor grad_out = as4d(grad_out_), input = as4d(input_), weight = as4d(weight_);
  const auto a = args_of(stride, padding, dilation, groups, is1d);
  at::Tensor gi, gw, gb;
  const auto go = ref_of(grad_out);
  if (mask[0]) {
    gi = at::empty_like(input, input.suggest_memory_format());
    if (gi.numel() > 0) {
      const auto w = ref_of(weight), g = ref_of(gi);
      launch_program(gi, [&](const chip::Arch& arch) {
        return transposed ? engine::conv2d_forward(arch, go, w, nullptr, g, a)
                          : engine::conv2d_input_grad(arch, go, w, nullptr, g, a);
      });
    }
    if (is1d) gi = gi.squeeze(2);
  }
  if (mask[1]) {
    gw = at::empty_like(weight, weight.suggest_memory_format());
    if (gw.numel() > 0) {
      const auto x = ref_of(input), g = ref_of(gw);
      launch_program(gw, [&](const chip::Arch& arch) {
        return transposed ? engine::conv2d_weight_grad(arch, x, go, g, a)
                          : engine::conv2d_weight_grad(arch, go, x, g, a);
      });
    }
    if (is1d) gw = gw.squeeze(2);
  }
  if (mask[2]) {
    gb = at::empty({grad_out.size(1)}, grad_out.options());
    if (gb.numel() > 0) {
      const auto g = ref_of(gb);
      launch_program(gb, [&](const chip::Arch& arch) { return engine::conv_bias_grad(arch, go, g); });
    }
  }
  return {gi, gw, gb};
}

}  // namespace

TORCH_LIBRARY_IMPL(aten, PrivateUse1, m) {
  m.impl("convolution_overrideable", convolution);
  m.impl("convolution_backward_overrideable", convolution_backward);
}

}  // namespace accel::aten
