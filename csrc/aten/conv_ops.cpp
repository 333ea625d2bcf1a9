// Registrations of the convolutions. A PrivateUse1 tensor's convolution
// reaches aten::convolution_overrideable (conv1d already viewed as 2-D by
// aten::_convolution) and its gradient convolution_backward_overrideable;
// both run as implicit-GEMM programs on the cores, for 1-D, 2-D and 3-D
// windows alike.
#include <ATen/core/Tensor.h>
#include <ATen/ops/convolution.h>
#include <ATen/ops/convolution_backward.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/empty_like.h>
#include <torch/library.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string_view>
#include <tuple>

#include "aten/conv_launch.h"
#include "aten/fallback.h"
#include "aten/host_view.h"
#include "engine/compute_config.h"
#include "engine/conv.h"
#include "engine/executor.h"
#include "engine/plan_mode.h"
#include "kernels/matmul/bf16_gemm.h"

namespace accel::aten {
namespace {

// 1-D maps and filters as 2-D with a unit height.
at::Tensor as4d(const at::Tensor& t) { return t.defined() && t.dim() == 3 ? t.unsqueeze(2) : t; }

// The window arguments of `spatial` (1, 2 or 3) dimensions, as the engine's
// (depth,) h, w; a 1-D window is the w of a unit-height 2-D one.
engine::Conv2dArgs args_of(at::IntArrayRef stride, at::IntArrayRef padding, at::IntArrayRef dilation,
                           int64_t groups, int64_t spatial) {
  engine::Conv2dArgs a;
  a.groups = groups;
  auto at_ = [](at::IntArrayRef v, int64_t i) { return v.size() == 1 ? v[0] : v[i]; };
  const int64_t first_hw = spatial == 3 ? 1 : 0;
  if (spatial == 3) a.depth = {at_(stride, 0), at_(padding, 0), at_(dilation, 0)};
  for (int d = spatial == 1 ? 1 : 0; d < 2; ++d) {
    const int64_t i = spatial == 1 ? 0 : first_hw + d;
    a.stride[d] = at_(stride, i);
    a.padding[d] = at_(padding, i);
    a.dilation[d] = at_(dilation, i);
  }
  return a;
}

// Where the chip's arithmetic is what the host's own convolution computes,
// the host may compute it that way: fp32 operands at HiFi4 with fp32
// accumulation are exact products summed in fp32, which oneDNN's fp32
// convolution also gives (the order of the sums aside, as with BLAS for the
// matmul programs). The chip's program is still planned, checked against L1
// and recorded: only the host's arithmetic differs. It does so where the
// library is the faster of the two on the host (measured, docs/PERFORMANCE.md):
// fp32 forward on maps narrower than a tile row (the im2col reader walks those
// in short runs), fp32 gradients unless the filter is 1x1 (a plain GEMM for
// the im2col programs), every bf16 convolution without a fused epilogue.
// TORCH_ACCEL_LIBRARY_CONV=0 keeps the im2col programs on every convolution,
// =1 sends every eligible one to the library.
enum class ConvPass { Forward, Backward };

bool library_conv(std::initializer_list<at::Tensor> operands, ConvPass pass, const at::Tensor& weight,
                  int64_t out_width, bool epilogue = false) {
  const engine::ComputeConfig cfg = engine::current_compute_config();
  if (cfg.fidelity != engine::MathFidelity::HiFi4 || !cfg.fp32_dest_acc) return false;
  if (!engine::executing() || engine::cuda_executor_on()) return false;
  const at::ScalarType dtype = weight.scalar_type();
  for (const auto& t : operands)
    if (t.defined() && t.scalar_type() != dtype) return false;
  // bf16: the library sums the exact bf16 products in fp32 and rounds once, as
  // the program does. Only where the host has bf16 dot products (elsewhere
  // ATen's bf16 convolution is slower than the programs), and not under a
  // fused epilogue, which must see the sums before they are rounded.
  const bool bf16 = dtype == at::kBFloat16 && !epilogue && kernels::bf16_dot_gemm_available();
  if (dtype != at::kFloat && !bf16) return false;
  const char* env = std::getenv("TORCH_ACCEL_LIBRARY_CONV");
  if (env != nullptr) return std::strcmp(env, "0") != 0;
  if (bf16) return true;  // the im2col programs ran bf16 2.1-2.8x slower than the library
  if (pass == ConvPass::Forward) return out_width < 32;
  for (int64_t d = 2; d < weight.dim(); ++d)
    if (weight.size(d) != 1) return true;
  return false;
}

// The chip's program for `program`, planned and priced but not executed.
template <class F>
engine::ProgramRecord planned(F&& program) {
  engine::PlanOnlyScope plan_only;
  return program();
}

void check_same_type(const at::Tensor& input, const at::Tensor& weight, const at::Tensor& bias) {
  TORCH_CHECK(input.scalar_type() == weight.scalar_type(), "Input type (", input.scalar_type(),
              ") and weight type (", weight.scalar_type(), ") should be the same");
  TORCH_CHECK(!bias.defined() || bias.scalar_type() == input.scalar_type(), "Input type (",
              input.scalar_type(), ") and bias type (", bias.scalar_type(), ") should be the same");
}

// The output sizes of a convolution of `input` (2-D or 3-D maps, 1-D ones
// already as 2-D) by `weight`.
std::vector<int64_t> output_size(const at::Tensor& input, const at::Tensor& weight,
                                 const engine::Conv2dArgs& a, bool transposed, bool is1d,
                                 at::IntArrayRef output_padding) {
  std::vector<int64_t> size{input.size(0), transposed ? weight.size(1) * a.groups : weight.size(0)};
  for (int64_t d = 2; d < input.dim(); ++d) {
    // Dimension d's window in the engine's terms, and its output_padding.
    const int64_t i = d - 2, hw = input.dim() == 5 ? i - 1 : i;
    const int64_t st = hw < 0 ? a.depth.stride : a.stride[hw];
    const int64_t pad = hw < 0 ? a.depth.padding : a.padding[hw];
    const int64_t dil = hw < 0 ? a.depth.dilation : a.dilation[hw];
    const int64_t op = transposed ? (is1d && d == 2 ? 0 : output_padding.size() == 1 ? output_padding[0]
                                                       : output_padding[is1d ? 0 : i]) : 0;
    const int64_t in = input.size(d), k = weight.size(d);
    size.push_back(transposed ? (in - 1) * st - 2 * pad + dil * (k - 1) + op + 1
                              : (in + 2 * pad - dil * (k - 1) - 1) / st + 1);
  }
  return size;
}

// accel::conv_act's epilogue operands (undefined when absent).
struct EpilogueOperands {
  at::Tensor scale, shift, residual;
  engine::Activation act = engine::Activation::None;
};

// The library's result written into out through the program's writer, with the epilogue.
// The writer walks the result in the output's own layout: a channels-last
// result for a channel-major output is transposed by ATen's copy first (the
// per-element strided stores of a pixel-major walk cost twice that copy).
void write_library_result(const at::Tensor& out, at::Tensor result, const engine::ConvEpilogue& ep) {
  const at::MemoryFormat layout = out.suggest_memory_format();
  result = result.contiguous(layout);
  engine::conv_epilogue_write(ref_of(out), result.data_ptr<float>(), layout != at::MemoryFormat::Contiguous, ep);
}

at::Tensor conv_forward(const at::Tensor& input_, const at::Tensor& weight_, const at::Tensor& bias,
                        at::IntArrayRef stride, at::IntArrayRef padding, at::IntArrayRef dilation,
                        bool transposed, at::IntArrayRef output_padding, int64_t groups,
                        const EpilogueOperands& epi) {
  check_same_type(input_, weight_, bias);
  const bool is1d = input_.dim() == 3;
  const at::Tensor input = as4d(input_), weight = as4d(weight_);
  const auto a = args_of(stride, padding, dilation, groups, input_.dim() - 2);
  const auto size = output_size(input, weight, a, transposed, is1d, output_padding);
  at::Tensor out = at::empty(size, input.options().memory_format(input.suggest_memory_format()));
  if (out.numel() > 0) {
    const auto x = ref_of(input), w = ref_of(weight), o = ref_of(out);
    std::optional<engine::TensorRef> b, scale, shift, residual;
    if (bias.defined()) b = ref_of(bias);
    engine::ConvEpilogue ep;
    ep.act = epi.act;
    if (epi.scale.defined()) ep.scale = &scale.emplace(ref_of(epi.scale));
    if (epi.shift.defined()) ep.shift = &shift.emplace(ref_of(epi.shift));
    if (epi.residual.defined()) ep.residual = &residual.emplace(ref_of(as4d(epi.residual)));
    const bool on_library =
        library_conv({input_, weight_, bias}, ConvPass::Forward, weight_, out.size(-1), ep.any());
    launch_program(out, [&](const chip::Arch& arch) {
      auto program = [&] {
        return transposed ? engine::conv2d_input_grad(arch, x, w, b ? &*b : nullptr, o, a)
                          : engine::conv2d_forward(arch, x, w, b ? &*b : nullptr, o, a, ep);
      };
      if (!on_library) return program();
      engine::ProgramRecord rec = planned(program);
      at::Tensor result = at::convolution(host_view(input_), host_view(weight_),
                                          bias.defined() ? host_view(bias) : at::Tensor(), stride,
                                          padding, dilation, transposed, output_padding, groups);
      if (ep.any()) write_library_result(out, std::move(result), ep);
      else host_view(is1d ? out.squeeze(2) : out).copy_(result);
      return rec;
    });
  }
  return is1d ? out.squeeze(2) : out;
}

at::Tensor convolution(const at::Tensor& input_, const at::Tensor& weight_,
                       const std::optional<at::Tensor>& bias_opt, at::IntArrayRef stride,
                       at::IntArrayRef padding, at::IntArrayRef dilation, bool transposed,
                       at::IntArrayRef output_padding, int64_t groups) {
  const at::Tensor bias = bias_opt.value_or(at::Tensor());
  if (!float_tile_dtype(input_) || !float_tile_dtype(weight_))
    return fallback_call("aten::convolution", "",
                         {input_, weight_, bias_opt, stride, padding, dilation, transposed,
                          output_padding, groups});
  return conv_forward(input_, weight_, bias, stride, padding, dilation, transposed, output_padding,
                      groups, {});
}

// accel::conv_act(x, w, bias, stride, padding, dilation, groups, scale, shift,
// residual, act) = act((conv(x, w) + bias) * scale[c] + shift[c] + residual):
// one convolution program whose writer applies the rest to each output block
// before write-back. A fusion target of the torch.compile backend
// (torch_accel/compile/conv_fusion.py); no autograd.
EpilogueOperands epilogue_operands(const at::Tensor& x, const at::Tensor& w,
                                   const std::optional<at::Tensor>& bias, at::IntArrayRef stride,
                                   at::IntArrayRef padding, at::IntArrayRef dilation, int64_t groups,
                                   const std::optional<at::Tensor>& scale,
                                   const std::optional<at::Tensor>& shift,
                                   const std::optional<at::Tensor>& residual, std::string_view act) {
  TORCH_CHECK(x.dim() >= 3 && x.dim() <= 5 && w.dim() == x.dim(),
              "conv_act: expected 3-D to 5-D input and weight of one rank, got ", x.dim(), "-D and ",
              w.dim(), "-D");
  TORCH_CHECK(float_tile_dtype(x), "conv_act: expected float32, bfloat16 or float16 operands, got ",
              x.scalar_type());
  TORCH_CHECK(!bias || !bias->defined() || (bias->dim() == 1 && bias->size(0) == w.size(0)),
              "conv_act: bias must have shape [", w.size(0), "], got ", bias->sizes());
  const int64_t spatial = x.dim() - 2;
  for (auto [name, v, least] : {std::tuple{"stride", stride, 1}, std::tuple{"padding", padding, 0},
                                std::tuple{"dilation", dilation, 1}}) {
    TORCH_CHECK(v.size() == 1 || static_cast<int64_t>(v.size()) == spatial, "conv_act: ", name,
                " must have 1 or ", spatial, " values, got ", v);
    for (int64_t e : v) TORCH_CHECK(e >= least, "conv_act: ", name, " must be at least ", least, ", got ", v);
  }
  TORCH_CHECK(groups >= 1 && w.size(0) % groups == 0 && x.size(1) == w.size(1) * groups,
              "conv_act: input ", x.sizes(), " and weight ", w.sizes(), " do not match groups=", groups);
  const auto size = output_size(as4d(x), as4d(w), args_of(stride, padding, dilation, groups, spatial),
                                false, x.dim() == 3, {});
  for (int64_t d : size)
    TORCH_CHECK(d > 0, "conv_act: the output size ", at::IntArrayRef(size), " is too small for input ",
                x.sizes(), " and weight ", w.sizes());
  EpilogueOperands e;
  const auto a = engine::activation_from_name(std::string(act));
  TORCH_CHECK_VALUE(a.has_value(), "conv_act: act must be one of none, relu, gelu, gelu_tanh, silu, got '",
                    act, "'");
  e.act = *a;
  for (auto [name, v, dst] : {std::tuple{"scale", &scale, &e.scale}, std::tuple{"shift", &shift, &e.shift}}) {
    if (!*v || !(*v)->defined()) continue;
    TORCH_CHECK((*v)->dim() == 1 && (*v)->size(0) == w.size(0) && float_tile_dtype(**v),
                "conv_act: ", name, " must be a float vector of the ", w.size(0),
                " output channels, got ", (*v)->scalar_type(), " ", (*v)->sizes());
    *dst = **v;
  }
  if (residual && residual->defined()) {
    TORCH_CHECK(float_tile_dtype(*residual), "conv_act: residual must be a float tensor, got ",
                residual->scalar_type());
    std::vector<int64_t> expect = size;
    if (x.dim() == 3) expect.erase(expect.begin() + 2);  // a 1-D output has no unit height
    TORCH_CHECK(residual->sizes() == at::IntArrayRef(expect), "conv_act: residual must have the output's shape ",
                at::IntArrayRef(expect), ", got ", residual->sizes());
    e.residual = *residual;
  }
  return e;
}

at::Tensor conv_act(const at::Tensor& x, const at::Tensor& w, const std::optional<at::Tensor>& bias,
                    at::IntArrayRef stride, at::IntArrayRef padding, at::IntArrayRef dilation,
                    int64_t groups, const std::optional<at::Tensor>& scale,
                    const std::optional<at::Tensor>& shift, const std::optional<at::Tensor>& residual,
                    std::string_view act) {
  const EpilogueOperands e =
      epilogue_operands(x, w, bias, stride, padding, dilation, groups, scale, shift, residual, act);
  return conv_forward(x, w, bias.value_or(at::Tensor()), stride, padding, dilation, false, {0}, groups, e);
}

at::Tensor conv_act_meta(const at::Tensor& x, const at::Tensor& w, const std::optional<at::Tensor>& bias,
                         at::IntArrayRef stride, at::IntArrayRef padding, at::IntArrayRef dilation,
                         int64_t groups, const std::optional<at::Tensor>& scale,
                         const std::optional<at::Tensor>& shift,
                         const std::optional<at::Tensor>& residual, std::string_view act) {
  epilogue_operands(x, w, bias, stride, padding, dilation, groups, scale, shift, residual, act);
  const at::Tensor input = as4d(x);
  const auto a = args_of(stride, padding, dilation, groups, x.dim() - 2);
  auto size = output_size(input, as4d(w), a, false, x.dim() == 3, {});
  at::Tensor out = at::empty(size, input.options().memory_format(input.suggest_memory_format()));
  return x.dim() == 3 ? out.squeeze(2) : out;
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> convolution_backward(
    const at::Tensor& grad_out_, const at::Tensor& input_, const at::Tensor& weight_,
    at::IntArrayRef stride, at::IntArrayRef padding, at::IntArrayRef dilation, bool transposed,
    at::IntArrayRef output_padding, int64_t groups, std::array<bool, 3> mask) {
  if (!float_tile_dtype(input_) || !float_tile_dtype(weight_) || !float_tile_dtype(grad_out_)) {
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
  const auto a = args_of(stride, padding, dilation, groups, input_.dim() - 2);
  at::Tensor gi, gw, gb;
  const auto go = ref_of(grad_out);
  // The library computes both gradients in one call; each keeps its program.
  at::Tensor library_gi, library_gw;
  if ((mask[0] || mask[1]) && library_conv({grad_out_, input_, weight_}, ConvPass::Backward, weight_, 0) &&
      grad_out_.numel() > 0) {
    std::tie(library_gi, library_gw, std::ignore) = at::convolution_backward(
        host_view(grad_out_), host_view(input_), host_view(weight_), std::nullopt, stride, padding,
        dilation, transposed, output_padding, groups, {mask[0], mask[1], false});
  }
  // The program of `run`, and the library's result copied out when it ran.
  auto run_or_copy = [&](const at::Tensor& dst, const at::Tensor& library_result, auto&& run) {
    launch_program(dst, [&](const chip::Arch& arch) {
      if (!library_result.defined()) return run(arch);
      engine::ProgramRecord rec = planned([&] { return run(arch); });
      host_view(is1d ? dst.squeeze(2) : dst).copy_(library_result);
      return rec;
    });
  };
  if (mask[0]) {
    gi = at::empty_like(input, input.suggest_memory_format());
    if (gi.numel() > 0) {
      const auto w = ref_of(weight), g = ref_of(gi);
      run_or_copy(gi, library_gi, [&](const chip::Arch& arch) {
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
      run_or_copy(gw, library_gw, [&](const chip::Arch& arch) {
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

TORCH_LIBRARY_FRAGMENT(accel, m) {
  m.def("conv_act(Tensor x, Tensor w, Tensor? bias, int[] stride, int[] padding, int[] dilation, "
        "int groups, Tensor? scale, Tensor? shift, Tensor? residual, str act) -> Tensor");
}
TORCH_LIBRARY_IMPL(accel, PrivateUse1, m) { m.impl("conv_act", conv_act); }
TORCH_LIBRARY_IMPL(accel, Meta, m) { m.impl("conv_act", conv_act_meta); }

}  // namespace accel::aten
