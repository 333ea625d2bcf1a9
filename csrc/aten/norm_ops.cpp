// Registrations of softmax, log-softmax, layer norm and RMS norm: ATen's
// checks and output shapes/dtypes, then one program on the device's cores.
#include <ATen/WrapDimUtils.h>
#include <ATen/ops/empty.h>
#include <torch/library.h>

#include <limits>

#include "aten/fallback.h"
#include "aten/norm_bridge.h"

namespace accel::aten {
namespace {

using namespace norm;

struct Split3 {
  int64_t outer = 1, dim = 1, inner = 1;
};

Split3 split_at(const at::Tensor& t, int64_t d) {
  Split3 s;
  if (t.dim() == 0) return s;
  for (int64_t i = 0; i < d; ++i) s.outer *= t.size(i);
  s.dim = t.size(d);
  for (int64_t i = d + 1; i < t.dim(); ++i) s.inner *= t.size(i);
  return s;
}

at::Tensor softmax(const at::Tensor& self, int64_t dim, bool half_to_float, bool log) {
  TORCH_CHECK(!half_to_float, "softmax with half to float conversion is not supported on CPU");
  const int64_t d = at::maybe_wrap_dim(dim, self.dim());
  const at::Tensor x = dense(self);
  at::Tensor out = at::empty(x.sizes(), x.options());
  const Split3 s = split_at(x, d);
  launch(x, [&](const chip::Arch& arch) {
    return engine::run_softmax(arch, {ref_of(x), ref_of(out), s.outer, s.dim, s.inner, log});
  });
  return out;
}

at::Tensor softmax_backward(const at::Tensor& grad, const at::Tensor& output, int64_t dim,
                            at::ScalarType input_dtype, bool log) {
  TORCH_CHECK(grad.sizes() == output.sizes(), "softmax_backward: expected grad and output of the same size, got ",
              grad.sizes(), " and ", output.sizes());
  const int64_t d = at::maybe_wrap_dim(dim, grad.dim());
  // As ATen: only float grads of a Half softmax come back as Half.
  const auto dtype = grad.scalar_type() == at::kFloat && input_dtype == at::kHalf ? at::kHalf : grad.scalar_type();
  const at::Tensor g = dense(grad), y = dense(output);
  at::Tensor gi = at::empty(g.sizes(), g.options().dtype(dtype));
  const Split3 s = split_at(g, d);
  launch(g, [&](const chip::Arch& arch) {
    return engine::run_softmax_backward(arch, {ref_of(g), ref_of(y), ref_of(gi), s.outer, s.dim, s.inner, log});
  });
  return gi;
}

// ---- layer norm and RMS norm ----

bool reduced(at::ScalarType t) { return t == at::kBFloat16 || t == at::kHalf; }

// ATen's checks; returns (rows, cols).
std::pair<int64_t, int64_t> check_norm_shape(const at::Tensor& input, at::IntArrayRef shape,
                                             const at::Tensor& weight, const at::Tensor& bias) {
  TORCH_CHECK(!shape.empty(), "Expected normalized_shape to be at least 1-dimensional, i.e., containing at "
              "least one element, but got normalized_shape = ", shape);
  TORCH_CHECK(!weight.defined() || weight.sizes().equals(shape), "Expected weight to be of same shape as "
              "normalized_shape, but got weight of shape ", weight.sizes(), " and normalized_shape = ", shape);
  TORCH_CHECK(!bias.defined() || bias.sizes().equals(shape), "Expected bias to be of same shape as "
              "normalized_shape, but got bias of shape ", bias.sizes(), " and normalized_shape = ", shape);
  const int64_t nd = static_cast<int64_t>(shape.size());
  const auto sizes = input.sizes();
  if (input.dim() < nd || !sizes.slice(input.dim() - nd).equals(shape)) {
    std::stringstream ss;
    ss << "Given normalized_shape=" << shape << ", expected input with shape [*";
    for (auto v : shape) ss << ", " << v;
    ss << "], but got input of size" << sizes;
    TORCH_CHECK(false, ss.str());
  }
  const int64_t axis = input.dim() - nd;
  int64_t rows = 1, cols = 1;
  for (int64_t i = 0; i < axis; ++i) rows *= sizes[i];
  for (int64_t i = axis; i < input.dim(); ++i) cols *= sizes[i];
  return {rows, cols};
}

// The statistics' dtype: fp32 when a reduced-precision input has fp32
// parameters (ATen's "mixed type"), else the input's.
at::ScalarType param_dtype(const at::Tensor& input, std::initializer_list<const at::Tensor*> params) {
  bool mixed = false;
  for (const at::Tensor* p : params) {
    if (!p->defined() || p->scalar_type() == input.scalar_type()) continue;
    TORCH_CHECK(p->scalar_type() == at::kFloat && reduced(input.scalar_type()),
                "mixed dtype (CPU): expect parameter to have scalar type of Float");
    mixed = true;
  }
  return mixed ? at::kFloat : input.scalar_type();
}

std::vector<int64_t> stat_shape(const at::Tensor& input, int64_t normalized_dims) {
  std::vector<int64_t> s(input.sizes().begin(), input.sizes().end() - normalized_dims);
  s.resize(input.dim(), 1);
  return s;
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> layer_norm(const at::Tensor& input, at::IntArrayRef shape,
                                                          const std::optional<at::Tensor>& weight_opt,
                                                          const std::optional<at::Tensor>& bias_opt, double eps) {
  const at::Tensor w = dense(weight_opt), b = dense(bias_opt);
  const auto [rows, cols] = check_norm_shape(input, shape, w, b);
  const at::Tensor x = dense(input);
  const auto stat_dtype = param_dtype(x, {&w, &b});
  at::Tensor y = at::empty(x.sizes(), x.options());
  const auto ss = stat_shape(x, shape.size());
  at::Tensor mean = at::empty(ss, x.options().dtype(stat_dtype));
  at::Tensor rstd = at::empty(ss, x.options().dtype(stat_dtype));
  launch(x, [&](const chip::Arch& arch) {
    engine::RowNormArgs a{ref_of(x), ref_of(y), ref_of(w), ref_of(b), ref_of(mean), ref_of(rstd), rows, cols, eps};
    return engine::run_row_norm(arch, a);
  });
  return {y, mean, rstd};
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> layer_norm_backward(
    const at::Tensor& grad_out, const at::Tensor& input, at::IntArrayRef shape, const at::Tensor& mean,
    const at::Tensor& rstd, const std::optional<at::Tensor>& weight_opt, const std::optional<at::Tensor>& bias_opt,
    std::array<bool, 3> mask) {
  const at::Tensor w = dense(weight_opt), b = dense(bias_opt);
  const auto [rows, cols] = check_norm_shape(input, shape, w, b);
  const at::Tensor x = dense(input), g = dense(grad_out), mu = dense(mean), rs = dense(rstd);
  at::Tensor dx, dw, db;
  if (mask[0]) dx = at::empty(x.sizes(), x.options());
  if (mask[1] && w.defined()) dw = at::empty(w.sizes(), w.options());
  if (mask[2] && b.defined()) db = at::empty(b.sizes(), b.options());
  launch(x, [&](const chip::Arch& arch) {
    engine::RowNormGradArgs a{ref_of(g), ref_of(x), ref_of(mu), ref_of(rs), ref_of(w),
                              ref_of(dx), ref_of(dw), ref_of(db), rows, cols, false};
    return engine::run_row_norm_backward(arch, a);
  });
  return {dx, dw, db};
}

std::tuple<at::Tensor, at::Tensor> rms_norm(const at::Tensor& input, at::IntArrayRef shape,
                                            const std::optional<at::Tensor>& weight_opt, std::optional<double> eps) {
  const at::Tensor w = dense(weight_opt);
  const auto [rows, cols] = check_norm_shape(input, shape, w, at::Tensor());
  const at::Tensor x = dense(input);
  at::Tensor y = at::empty(x.sizes(), x.options());
  // The inverse RMS stays in the fp32 compute type, as ATen's upcast does.
  at::Tensor rstd = at::empty(stat_shape(x, shape.size()), x.options().dtype(at::kFloat));
  const double e = eps.value_or(std::numeric_limits<float>::epsilon());
  launch(x, [&](const chip::Arch& arch) {
    engine::RowNormArgs a{ref_of(x), ref_of(y), ref_of(w), {}, {}, ref_of(rstd), rows, cols, e, true};
    return engine::run_row_norm(arch, a);
  });
  return {y, rstd};
}

std::tuple<at::Tensor, at::Tensor> rms_norm_backward(const at::Tensor& grad_out, const at::Tensor& input,
                                                     at::IntArrayRef shape, const at::Tensor& rstd,
                                                     const std::optional<at::Tensor>& weight_opt,
                                                     std::array<bool, 2> mask) {
  const at::Tensor w = dense(weight_opt);
  const auto [rows, cols] = check_norm_shape(input, shape, w, at::Tensor());
  const at::Tensor x = dense(input), g = dense(grad_out), rs = dense(rstd);
  at::Tensor dx, dw;
  if (mask[0]) dx = at::empty(x.sizes(), x.options());
  if (mask[1] && w.defined()) dw = at::empty(w.sizes(), w.options());
  launch(x, [&](const chip::Arch& arch) {
    engine::RowNormGradArgs a{ref_of(g), ref_of(x), {}, ref_of(rs), ref_of(w), ref_of(dx), ref_of(dw), {},
                              rows, cols, true};
    return engine::run_row_norm_backward(arch, a);
  });
  return {dx, dw};
}

template <class... T>
torch::jit::Stack stack_of(T&&... args) {
  return {c10::IValue(std::forward<T>(args))...};
}

TORCH_LIBRARY_IMPL(aten, PrivateUse1, m) {
  m.impl("_softmax", [](const at::Tensor& self, int64_t dim, bool h2f) {
    if (!tile_float(self)) return fallback_call("aten::_softmax", "", stack_of(self, dim, h2f));
    return softmax(self, dim, h2f, false);
  });
  m.impl("_softmax.out", [](const at::Tensor& self, int64_t dim, bool h2f, at::Tensor& out) -> at::Tensor& {
    if (!tile_float(self)) { fallback_call("aten::_softmax", "out", stack_of(self, dim, h2f, out)); return out; }
    return write_out(out, softmax(self, dim, h2f, false));
  });
  m.impl("_log_softmax", [](const at::Tensor& self, int64_t dim, bool h2f) {
    if (!tile_float(self)) return fallback_call("aten::_log_softmax", "", stack_of(self, dim, h2f));
    return softmax(self, dim, h2f, true);
  });
  m.impl("_log_softmax.out", [](const at::Tensor& self, int64_t dim, bool h2f, at::Tensor& out) -> at::Tensor& {
    if (!tile_float(self)) { fallback_call("aten::_log_softmax", "out", stack_of(self, dim, h2f, out)); return out; }
    return write_out(out, softmax(self, dim, h2f, true));
  });
  m.impl("_softmax_backward_data", [](const at::Tensor& g, const at::Tensor& y, int64_t dim, at::ScalarType dt) {
    if (!tile_float(g) || !tile_float(y)) return fallback_call("aten::_softmax_backward_data", "", stack_of(g, y, dim, dt));
    return softmax_backward(g, y, dim, dt, false);
  });
  m.impl("_softmax_backward_data.out", [](const at::Tensor& g, const at::Tensor& y, int64_t dim, at::ScalarType dt,
                                          at::Tensor& out) -> at::Tensor& {
    if (!tile_float(g) || !tile_float(y)) { fallback_call("aten::_softmax_backward_data", "out", stack_of(g, y, dim, dt, out)); return out; }
    return write_out(out, softmax_backward(g, y, dim, dt, false));
  });
  m.impl("_log_softmax_backward_data", [](const at::Tensor& g, const at::Tensor& y, int64_t dim, at::ScalarType dt) {
    if (!tile_float(g) || !tile_float(y)) return fallback_call("aten::_log_softmax_backward_data", "", stack_of(g, y, dim, dt));
    return softmax_backward(g, y, dim, dt, true);
  });
  m.impl("_log_softmax_backward_data.out", [](const at::Tensor& g, const at::Tensor& y, int64_t dim,
                                              at::ScalarType dt, at::Tensor& out) -> at::Tensor& {
    if (!tile_float(g) || !tile_float(y)) { fallback_call("aten::_log_softmax_backward_data", "out", stack_of(g, y, dim, dt, out)); return out; }
    return write_out(out, softmax_backward(g, y, dim, dt, true));
  });

  m.impl("native_layer_norm", [](const at::Tensor& x, c10::SymIntArrayRef shape, const std::optional<at::Tensor>& w,
                                 const std::optional<at::Tensor>& b, double eps) {
    const auto s = C10_AS_INTARRAYREF_SLOW(shape);
    if (!tile_float(x) || !tile_float(w) || !tile_float(b)) {
      auto r = fallback_call_stack("aten::native_layer_norm", "", stack_of(x, s, w, b, eps));
      return std::make_tuple(r[0].toTensor(), r[1].toTensor(), r[2].toTensor());
    }
    return layer_norm(x, s, w, b, eps);
  });
  m.impl("native_layer_norm_backward",
         [](const at::Tensor& g, const at::Tensor& x, c10::SymIntArrayRef shape, const at::Tensor& mean,
            const at::Tensor& rstd, const std::optional<at::Tensor>& w, const std::optional<at::Tensor>& b,
            std::array<bool, 3> mask) {
           const auto s = C10_AS_INTARRAYREF_SLOW(shape);
           if (!tile_float(x) || !tile_float(g) || !tile_float(w) || !tile_float(b)) {
             auto r = fallback_call_stack("aten::native_layer_norm_backward", "",
                                          stack_of(g, x, s, mean, rstd, w, b, std::vector<bool>(mask.begin(), mask.end())));
             return std::make_tuple(r[0].toTensor(), r[1].toTensor(), r[2].toTensor());
           }
           return layer_norm_backward(g, x, s, mean, rstd, w, b, mask);
         });
  m.impl("_fused_rms_norm", [](const at::Tensor& x, at::IntArrayRef shape, const std::optional<at::Tensor>& w,
                               std::optional<double> eps) {
    if (!tile_float(x) || !tile_float(w)) {
      auto r = fallback_call_stack("aten::_fused_rms_norm", "", stack_of(x, shape, w, eps));
      return std::make_tuple(r[0].toTensor(), r[1].toTensor());
    }
    return rms_norm(x, shape, w, eps);
  });
  m.impl("_fused_rms_norm_backward", [](const at::Tensor& g, const at::Tensor& x, at::IntArrayRef shape,
                                        const at::Tensor& rstd, const std::optional<at::Tensor>& w,
                                        std::array<bool, 2> mask) {
    if (!tile_float(x) || !tile_float(g) || !tile_float(w)) {
      auto r = fallback_call_stack("aten::_fused_rms_norm_backward", "",
                                   stack_of(g, x, shape, rstd, w, std::vector<bool>(mask.begin(), mask.end())));
      return std::make_tuple(r[0].toTensor(), r[1].toTensor());
    }
    return rms_norm_backward(g, x, shape, rstd, w, mask);
  });
}

}  // namespace
}  // namespace accel::aten
