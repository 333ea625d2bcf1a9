// Registrations of pooling and resampling: ATen's shape rules and index
// conventions (Pool.h, AdaptivePooling.h, UpSample.h) decide sizes and
// source tables; the window programs run on the cores. aten::max_pool2d is
// composite and lands on max_pool2d_with_indices.
#include <ATen/native/AdaptivePooling.h>
#include <ATen/native/Pool.h>
#include <ATen/native/Resize.h>
#include <ATen/native/UpSample.h>
#include <ATen/ops/empty.h>
#include <torch/library.h>

#include "aten/conv_launch.h"
#include "aten/fallback.h"
#include "engine/pool.h"

namespace accel::aten {
namespace {

using kernels::PoolKind;
using kernels::PoolSpec;

at::Tensor batch4(const at::Tensor& t) { return t.dim() == 3 ? t.unsqueeze(0) : t; }

at::MemoryFormat format_of(const at::Tensor& t) {
  return t.dim() == 4 ? t.suggest_memory_format() : at::MemoryFormat::Contiguous;
}

// Allocates (or resizes a given out=) a result shaped like `like` but with size.
at::Tensor output(const at::Tensor& like, at::IntArrayRef size, at::Tensor* given,
                  std::optional<at::ScalarType> dtype = std::nullopt) {
  if (given) {
    at::native::resize_output(*given, size);
    return *given;
  }
  return at::empty(size, like.options().dtype(dtype.value_or(like.scalar_type())).memory_format(format_of(like)));
}

std::vector<int64_t> with_spatial(const at::Tensor& in, int64_t oh, int64_t ow) {
  std::vector<int64_t> s = in.sizes().vec();
  s[s.size() - 2] = oh;
  s[s.size() - 1] = ow;
  return s;
}

void forward(const char* op, const PoolSpec& spec, const at::Tensor& in, const at::Tensor& out,
             const at::Tensor* idx) {
  if (out.numel() == 0) return;
  const auto i = ref_of(batch4(in)), o = ref_of(batch4(out));
  std::optional<engine::TensorRef> ix;
  if (idx) ix = ref_of(batch4(*idx));
  launch_program(out, [&](const chip::Arch& arch) {
    return engine::pool2d_forward(arch, op, spec, i, o, ix ? &*ix : nullptr);
  });
}

void backward(const char* op, const PoolSpec& spec, const at::Tensor& grad_out, const at::Tensor* idx,
              const at::Tensor& grad_in) {
  if (grad_in.numel() == 0) return;
  const auto g = ref_of(batch4(grad_out)), gi = ref_of(batch4(grad_in));
  std::optional<engine::TensorRef> ix;
  if (idx) ix = ref_of(batch4(*idx));
  launch_program(grad_in, [&](const chip::Arch& arch) {
    return engine::pool2d_backward(arch, op, spec, g, ix ? &*ix : nullptr, gi);
  });
}

// kernel/stride/padding/dilation as ATen's max_pool2d and avg_pool2d read them.
PoolSpec window_spec(const char* name, PoolKind kind, at::IntArrayRef k, at::IntArrayRef st,
                     at::IntArrayRef pad, at::IntArrayRef dil) {
  TORCH_CHECK(k.size() == 1 || k.size() == 2, name,
              ": kernel_size must either be a single int, or a tuple of two ints");
  TORCH_CHECK(st.empty() || st.size() == 1 || st.size() == 2, name,
              ": stride must either be omitted, a single int, or a tuple of two ints");
  TORCH_CHECK(pad.size() == 1 || pad.size() == 2, name,
              ": padding must either be a single int, or a tuple of two ints");
  TORCH_CHECK(dil.size() == 1 || dil.size() == 2, name,
              ": dilation must be either a single int, or a tuple of two ints");
  PoolSpec s;
  s.kind = kind;
  for (int d = 0; d < 2; ++d) {
    s.kernel[d] = k[k.size() == 1 ? 0 : d];
    s.stride[d] = st.empty() ? s.kernel[d] : st[st.size() == 1 ? 0 : d];
    s.pad[d] = pad[pad.size() == 1 ? 0 : d];
    s.dil[d] = dil[dil.size() == 1 ? 0 : d];
  }
  return s;
}

std::array<int64_t, 2> window_out(const PoolSpec& s, const at::Tensor& in, bool ceil_mode) {
  std::array<int64_t, 2> o{};
  for (int d = 0; d < 2; ++d)
    o[d] = at::native::pooling_output_shape<int64_t>(in.size(-2 + d), s.kernel[d], s.pad[d],
                                                     s.stride[d], s.dil[d], ceil_mode);
  at::native::pool2d_shape_check(in, s.kernel[0], s.kernel[1], s.stride[0], s.stride[1], s.pad[0],
                                 s.pad[1], s.dil[0], s.dil[1], in.size(-3), in.size(-2),
                                 in.size(-1), o[0], o[1], format_of(in));
  return o;
}

// ---- max_pool2d ----

std::tuple<at::Tensor, at::Tensor> max_pool(const at::Tensor& in, at::IntArrayRef k, at::IntArrayRef st,
                                            at::IntArrayRef pad, at::IntArrayRef dil, bool ceil_mode,
                                            at::Tensor* out, at::Tensor* idx) {
  const PoolSpec s = window_spec("max_pool2d", PoolKind::Max, k, st, pad, dil);
  const auto o = window_out(s, in, ceil_mode);
  const auto size = with_spatial(in, o[0], o[1]);
  at::Tensor res = output(in, size, out), ind = output(in, size, idx, at::kLong);
  forward("aten::max_pool2d_with_indices", s, in, res, &ind);
  return {res, ind};
}

at::Tensor max_pool_backward(const at::Tensor& grad_out, const at::Tensor& in, at::IntArrayRef k,
                             at::IntArrayRef st, at::IntArrayRef pad, at::IntArrayRef dil,
                             bool ceil_mode, const at::Tensor& idx, at::Tensor* gi_out) {
  PoolSpec s = window_spec("max_pool2d", PoolKind::Max, k, st, pad, dil);
  const auto o = window_out(s, in, ceil_mode);
  at::native::max_pool2d_backward_shape_check(in, grad_out, idx, s.kernel[0], s.kernel[1], s.stride[0],
                                              s.stride[1], s.pad[0], s.pad[1], s.dil[0], s.dil[1],
                                              in.size(-3), in.size(-2), in.size(-1), o[0], o[1],
                                              format_of(in));
  at::Tensor gi = output(in, in.sizes(), gi_out);
  backward("aten::max_pool2d_with_indices_backward", s, grad_out, &idx, gi);
  return gi;
}

// ---- avg_pool2d ----

PoolSpec avg_spec(at::IntArrayRef k, at::IntArrayRef st, at::IntArrayRef pad, bool count_include_pad,
                  std::optional<int64_t> divisor) {
  PoolSpec s = window_spec("avg_pool2d", PoolKind::Avg, k, st, pad, at::IntArrayRef{1});
  TORCH_CHECK(!divisor.has_value() || divisor.value() != 0, "divisor must be not zero");
  s.count_include_pad = count_include_pad;
  s.divisor = divisor.value_or(0);
  return s;
}

at::Tensor avg_pool(const at::Tensor& in, at::IntArrayRef k, at::IntArrayRef st, at::IntArrayRef pad,
                    bool ceil_mode, bool count_include_pad, std::optional<int64_t> divisor,
                    at::Tensor* out) {
  const PoolSpec s = avg_spec(k, st, pad, count_include_pad, divisor);
  const auto o = window_out(s, in, ceil_mode);
  at::Tensor res = output(in, with_spatial(in, o[0], o[1]), out);
  forward("aten::avg_pool2d", s, in, res, nullptr);
  return res;
}

at::Tensor avg_pool_backward(const at::Tensor& grad_out, const at::Tensor& in, at::IntArrayRef k,
                             at::IntArrayRef st, at::IntArrayRef pad, bool ceil_mode,
                             bool count_include_pad, std::optional<int64_t> divisor, at::Tensor* gi_out) {
  const PoolSpec s = avg_spec(k, st, pad, count_include_pad, divisor);
  const auto o = window_out(s, in, ceil_mode);
  at::native::avg_pool2d_backward_shape_check(in, grad_out, in.size(-4 + (in.dim() == 3)), s.kernel[0],
                                              s.kernel[1], s.stride[0], s.stride[1], s.pad[0], s.pad[1],
                                              in.size(-3), in.size(-2), in.size(-1), o[0], o[1],
                                              format_of(in));
  at::Tensor gi = output(in, in.sizes(), gi_out);
  backward("aten::avg_pool2d_backward", s, grad_out, nullptr, gi);
  return gi;
}

// ---- adaptive pools ----

PoolSpec adaptive_spec(PoolKind kind, const char* name, const at::Tensor& in, at::IntArrayRef size) {
  TORCH_CHECK(size.size() == 2, name, ": output_size must be 2");
  TORCH_CHECK(in.dim() == 3 || in.dim() == 4, name, "(): Expected 3D or 4D tensor, but got ", in.sizes());
  for (int64_t i = 1; i < in.dim(); ++i)
    TORCH_CHECK(in.size(i) > 0, name, "(): Expected input to have non-zero size for non-batch "
                "dimensions, but input has sizes ", in.sizes(), " with dimension ", i, " being empty");
  PoolSpec s;
  s.kind = kind;
  for (int d = 0; d < 2; ++d) {
    const int64_t I = in.size(-2 + d), O = size[d];
    for (int64_t o = 0; o < O; ++o) {
      s.axis[d].lo.push_back(at::native::start_index(o, O, I));
      s.axis[d].hi.push_back(at::native::end_index(o, O, I));
    }
  }
  return s;
}

// ---- upsample ----

PoolSpec nearest_spec(const at::Tensor& in_like, at::IntArrayRef in_size, at::IntArrayRef size,
                      std::optional<double> sh, std::optional<double> sw) {
  PoolSpec s;
  s.kind = PoolKind::Nearest;
  const std::optional<double> scales[2] = {sh, sw};
  for (int d = 0; d < 2; ++d)
    for (int64_t o = 0; o < size[d]; ++o)
      s.axis[d].lo.push_back(at::native::nearest_idx(o, in_size[2 + d], size[d], scales[d]));
  return s;
}

PoolSpec bilinear_spec(at::IntArrayRef in_size, at::IntArrayRef size, bool align_corners,
                       std::optional<double> sh, std::optional<double> sw) {
  PoolSpec s;
  s.kind = PoolKind::Bilinear;
  const std::optional<double> scales[2] = {sh, sw};
  for (int d = 0; d < 2; ++d) {
    const int64_t I = in_size[2 + d];
    const float scale = at::native::area_pixel_compute_scale<float>(I, size[d], align_corners, scales[d]);
    for (int64_t o = 0; o < size[d]; ++o) {
      const float src = at::native::area_pixel_compute_source_index<float>(scale, o, align_corners, false);
      const int64_t i0 = std::min(static_cast<int64_t>(src), I - 1);
      s.axis[d].lo.push_back(i0);
      s.axis[d].hi.push_back(i0 + (i0 < I - 1 ? 1 : 0));
      s.axis[d].w1.push_back(std::min(std::max(src - static_cast<float>(i0), 0.f), 1.f));
    }
  }
  return s;
}

at::Tensor upsample(const PoolSpec& s, const char* op, const at::Tensor& in, at::IntArrayRef size,
                    at::Tensor* out) {
  const auto full = at::native::upsample_2d_common_check(in.sizes(), size);
  at::Tensor res = output(in, full, out);
  forward(op, s, in, res, nullptr);
  return res;
}

at::Tensor upsample_backward(const PoolSpec& s, const char* op, const at::Tensor& grad_out,
                             at::IntArrayRef size, at::IntArrayRef in_size, at::Tensor* gi_out) {
  const auto full = at::native::upsample_2d_common_check(in_size, size);
  TORCH_CHECK(grad_out.dim() == 4, "Expected grad_output to be a tensor of dimension 4 but got: dimension ",
              grad_out.dim());
  for (int i = 0; i < 4; ++i)
    TORCH_CHECK(grad_out.size(i) == full[i], "Expected grad_output to have the same shape as output;",
                " output.size(", i, ") = ", full[i], " but got grad_output.size(", i, ") = ", grad_out.size(i));
  at::Tensor gi = output(grad_out, in_size, gi_out);
  backward(op, s, grad_out, nullptr, gi);
  return gi;
}

// Results of ops that ran through the counted CPU fallback (dtypes with no tile kernel).
template <class R>
R from_stack(torch::jit::Stack& st);
template <>
at::Tensor from_stack<at::Tensor>(torch::jit::Stack& st) { return st.at(0).toTensor(); }
template <>
std::tuple<at::Tensor, at::Tensor> from_stack<std::tuple<at::Tensor, at::Tensor>>(torch::jit::Stack& st) {
  return {st.at(0).toTensor(), st.at(1).toTensor()};
}

template <class R>
R fallback(const char* name, const char* overload, torch::jit::Stack stack) {
  stack = fallback_call_stack(name, overload, std::move(stack));
  return from_stack<R>(stack);
}

using Pair = std::tuple<at::Tensor, at::Tensor>;

}  // namespace

TORCH_LIBRARY_IMPL(aten, PrivateUse1, m) {
  m.impl("max_pool2d_with_indices", [](const at::Tensor& in, at::IntArrayRef k, at::IntArrayRef st,
                                       at::IntArrayRef pad, at::IntArrayRef dil, bool ceil_mode) -> Pair {
    if (!float_tile_dtype(in))
      return fallback<Pair>("aten::max_pool2d_with_indices", "", {in, k, st, pad, dil, ceil_mode});
    return max_pool(in, k, st, pad, dil, ceil_mode, nullptr, nullptr);
  });
  m.impl("max_pool2d_with_indices.out",
         [](const at::Tensor& in, at::IntArrayRef k, at::IntArrayRef st, at::IntArrayRef pad,
            at::IntArrayRef dil, bool ceil_mode, at::Tensor& out, at::Tensor& idx) -> std::tuple<at::Tensor&, at::Tensor&> {
    if (!float_tile_dtype(in)) fallback<Pair>("aten::max_pool2d_with_indices", "out", {in, k, st, pad, dil, ceil_mode, out, idx});
    else max_pool(in, k, st, pad, dil, ceil_mode, &out, &idx);
    return {out, idx};
  });
  m.impl("max_pool2d_with_indices_backward",
         [](const at::Tensor& g, const at::Tensor& in, at::IntArrayRef k, at::IntArrayRef st,
            at::IntArrayRef pad, at::IntArrayRef dil, bool ceil_mode, const at::Tensor& idx) {
    if (!float_tile_dtype(in))
      return fallback<at::Tensor>("aten::max_pool2d_with_indices_backward", "", {g, in, k, st, pad, dil, ceil_mode, idx});
    return max_pool_backward(g, in, k, st, pad, dil, ceil_mode, idx, nullptr);
  });
  m.impl("max_pool2d_with_indices_backward.grad_input",
         [](const at::Tensor& g, const at::Tensor& in, at::IntArrayRef k, at::IntArrayRef st,
            at::IntArrayRef pad, at::IntArrayRef dil, bool ceil_mode, const at::Tensor& idx,
            at::Tensor& gi) -> at::Tensor& {
    if (!float_tile_dtype(in)) fallback<at::Tensor>("aten::max_pool2d_with_indices_backward", "grad_input", {g, in, k, st, pad, dil, ceil_mode, idx, gi});
    else max_pool_backward(g, in, k, st, pad, dil, ceil_mode, idx, &gi);
    return gi;
  });

  m.impl("avg_pool2d", [](const at::Tensor& in, at::IntArrayRef k, at::IntArrayRef st, at::IntArrayRef pad,
                          bool ceil_mode, bool cip, std::optional<int64_t> div) {
    if (!float_tile_dtype(in)) return fallback<at::Tensor>("aten::avg_pool2d", "", {in, k, st, pad, ceil_mode, cip, div});
    return avg_pool(in, k, st, pad, ceil_mode, cip, div, nullptr);
  });
  m.impl("avg_pool2d.out", [](const at::Tensor& in, at::IntArrayRef k, at::IntArrayRef st, at::IntArrayRef pad,
                              bool ceil_mode, bool cip, std::optional<int64_t> div, at::Tensor& out) -> at::Tensor& {
    if (!float_tile_dtype(in)) fallback<at::Tensor>("aten::avg_pool2d", "out", {in, k, st, pad, ceil_mode, cip, div, out});
    else avg_pool(in, k, st, pad, ceil_mode, cip, div, &out);
    return out;
  });
  m.impl("avg_pool2d_backward", [](const at::Tensor& g, const at::Tensor& in, at::IntArrayRef k, at::IntArrayRef st,
                                   at::IntArrayRef pad, bool ceil_mode, bool cip, std::optional<int64_t> div) {
    if (!float_tile_dtype(in)) return fallback<at::Tensor>("aten::avg_pool2d_backward", "", {g, in, k, st, pad, ceil_mode, cip, div});
    return avg_pool_backward(g, in, k, st, pad, ceil_mode, cip, div, nullptr);
  });
  m.impl("avg_pool2d_backward.grad_input",
         [](const at::Tensor& g, const at::Tensor& in, at::IntArrayRef k, at::IntArrayRef st, at::IntArrayRef pad,
            bool ceil_mode, bool cip, std::optional<int64_t> div, at::Tensor& gi) -> at::Tensor& {
    if (!float_tile_dtype(in)) fallback<at::Tensor>("aten::avg_pool2d_backward", "grad_input", {g, in, k, st, pad, ceil_mode, cip, div, gi});
    else avg_pool_backward(g, in, k, st, pad, ceil_mode, cip, div, &gi);
    return gi;
  });

  m.impl("_adaptive_avg_pool2d", [](const at::Tensor& in, at::IntArrayRef size) {
    if (!float_tile_dtype(in)) return fallback<at::Tensor>("aten::_adaptive_avg_pool2d", "", {in, size});
    const PoolSpec s = adaptive_spec(PoolKind::AdaptiveAvg, "adaptive_avg_pool2d", in, size);
    at::Tensor out = output(in, with_spatial(in, size[0], size[1]), nullptr);
    forward("aten::_adaptive_avg_pool2d", s, in, out, nullptr);
    return out;
  });
  m.impl("_adaptive_avg_pool2d_backward", [](const at::Tensor& g, const at::Tensor& in) {
    if (!float_tile_dtype(in)) return fallback<at::Tensor>("aten::_adaptive_avg_pool2d_backward", "", {g, in});
    const PoolSpec s = adaptive_spec(PoolKind::AdaptiveAvg, "adaptive_avg_pool2d_backward", in,
                                     {g.size(-2), g.size(-1)});
    at::Tensor gi = output(in, in.sizes(), nullptr);
    backward("aten::_adaptive_avg_pool2d_backward", s, g, nullptr, gi);
    return gi;
  });

  auto adaptive_max = [](const at::Tensor& in, at::IntArrayRef size, at::Tensor* out, at::Tensor* idx) -> Pair {
    const PoolSpec s = adaptive_spec(PoolKind::AdaptiveMax, "adaptive_max_pool2d", in, size);
    const auto shape = with_spatial(in, size[0], size[1]);
    at::Tensor res = output(in, shape, out), ind = output(in, shape, idx, at::kLong);
    forward("aten::adaptive_max_pool2d", s, in, res, &ind);
    return {res, ind};
  };
  m.impl("adaptive_max_pool2d", [adaptive_max](const at::Tensor& in, at::IntArrayRef size) -> Pair {
    if (!float_tile_dtype(in)) return fallback<Pair>("aten::adaptive_max_pool2d", "", {in, size});
    return adaptive_max(in, size, nullptr, nullptr);
  });
  m.impl("adaptive_max_pool2d.out", [adaptive_max](const at::Tensor& in, at::IntArrayRef size, at::Tensor& out,
                                                   at::Tensor& idx) -> std::tuple<at::Tensor&, at::Tensor&> {
    if (!float_tile_dtype(in)) fallback<Pair>("aten::adaptive_max_pool2d", "out", {in, size, out, idx});
    else adaptive_max(in, size, &out, &idx);
    return {out, idx};
  });
  auto adaptive_max_bwd = [](const at::Tensor& g, const at::Tensor& in, const at::Tensor& idx, at::Tensor* gi_out) {
    const PoolSpec s = adaptive_spec(PoolKind::AdaptiveMax, "adaptive_max_pool2d_backward", in,
                                     {g.size(-2), g.size(-1)});
    at::Tensor gi = output(in, in.sizes(), gi_out);
    backward("aten::adaptive_max_pool2d_backward", s, g, &idx, gi);
    return gi;
  };
  m.impl("adaptive_max_pool2d_backward", [adaptive_max_bwd](const at::Tensor& g, const at::Tensor& in, const at::Tensor& idx) {
    if (!float_tile_dtype(in)) return fallback<at::Tensor>("aten::adaptive_max_pool2d_backward", "", {g, in, idx});
    return adaptive_max_bwd(g, in, idx, nullptr);
  });
  m.impl("adaptive_max_pool2d_backward.grad_input",
         [adaptive_max_bwd](const at::Tensor& g, const at::Tensor& in, const at::Tensor& idx, at::Tensor& gi) -> at::Tensor& {
    if (!float_tile_dtype(in)) fallback<at::Tensor>("aten::adaptive_max_pool2d_backward", "grad_input", {g, in, idx, gi});
    else adaptive_max_bwd(g, in, idx, &gi);
    return gi;
  });

  using OptD = std::optional<double>;
  m.impl("upsample_nearest2d", [](const at::Tensor& in, at::IntArrayRef size, OptD sh, OptD sw) {
    if (!float_tile_dtype(in)) return fallback<at::Tensor>("aten::upsample_nearest2d", "", {in, size, sh, sw});
    return upsample(nearest_spec(in, in.sizes(), size, sh, sw), "aten::upsample_nearest2d", in, size, nullptr);
  });
  m.impl("upsample_nearest2d.out", [](const at::Tensor& in, at::IntArrayRef size, OptD sh, OptD sw, at::Tensor& out) -> at::Tensor& {
    if (!float_tile_dtype(in)) fallback<at::Tensor>("aten::upsample_nearest2d", "out", {in, size, sh, sw, out});
    else upsample(nearest_spec(in, in.sizes(), size, sh, sw), "aten::upsample_nearest2d", in, size, &out);
    return out;
  });
  m.impl("upsample_nearest2d_backward", [](const at::Tensor& g, at::IntArrayRef size, at::IntArrayRef in_size, OptD sh, OptD sw) {
    if (!float_tile_dtype(g)) return fallback<at::Tensor>("aten::upsample_nearest2d_backward", "", {g, size, in_size, sh, sw});
    return upsample_backward(nearest_spec(g, in_size, size, sh, sw), "aten::upsample_nearest2d_backward", g, size, in_size, nullptr);
  });
  m.impl("upsample_nearest2d_backward.grad_input",
         [](const at::Tensor& g, at::IntArrayRef size, at::IntArrayRef in_size, OptD sh, OptD sw, at::Tensor& gi) -> at::Tensor& {
    if (!float_tile_dtype(g)) fallback<at::Tensor>("aten::upsample_nearest2d_backward", "grad_input", {g, size, in_size, sh, sw, gi});
    else upsample_backward(nearest_spec(g, in_size, size, sh, sw), "aten::upsample_nearest2d_backward", g, size, in_size, &gi);
    return gi;
  });
  m.impl("upsample_bilinear2d", [](const at::Tensor& in, at::IntArrayRef size, bool ac, OptD sh, OptD sw) {
    if (!float_tile_dtype(in)) return fallback<at::Tensor>("aten::upsample_bilinear2d", "", {in, size, ac, sh, sw});
    return upsample(bilinear_spec(in.sizes(), size, ac, sh, sw), "aten::upsample_bilinear2d", in, size, nullptr);
  });
  m.impl("upsample_bilinear2d.out", [](const at::Tensor& in, at::IntArrayRef size, bool ac, OptD sh, OptD sw, at::Tensor& out) -> at::Tensor& {
    if (!float_tile_dtype(in)) fallback<at::Tensor>("aten::upsample_bilinear2d", "out", {in, size, ac, sh, sw, out});
    else upsample(bilinear_spec(in.sizes(), size, ac, sh, sw), "aten::upsample_bilinear2d", in, size, &out);
    return out;
  });
  m.impl("upsample_bilinear2d_backward", [](const at::Tensor& g, at::IntArrayRef size, at::IntArrayRef in_size, bool ac, OptD sh, OptD sw) {
    if (!float_tile_dtype(g)) return fallback<at::Tensor>("aten::upsample_bilinear2d_backward", "", {g, size, in_size, ac, sh, sw});
    return upsample_backward(bilinear_spec(in_size, size, ac, sh, sw), "aten::upsample_bilinear2d_backward", g, size, in_size, nullptr);
  });
  m.impl("upsample_bilinear2d_backward.grad_input",
         [](const at::Tensor& g, at::IntArrayRef size, at::IntArrayRef in_size, bool ac, OptD sh, OptD sw, at::Tensor& gi) -> at::Tensor& {
    if (!float_tile_dtype(g)) fallback<at::Tensor>("aten::upsample_bilinear2d_backward", "grad_input", {g, size, in_size, ac, sh, sw, gi});
    else upsample_backward(bilinear_spec(in_size, size, ac, sh, sw), "aten::upsample_bilinear2d_backward", g, size, in_size, &gi);
    return gi;
  });
}

}  // namespace accel::aten
