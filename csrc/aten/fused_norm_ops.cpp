// accel::add_layer_norm, accel::add_rms_norm and accel::scale_mask_softmax:
// a norm or softmax with its element-wise neighbours as one row program
// (engine/norm_fused.h). Fusion targets of the torch.compile backend
// (torch_accel/compile/norm_fusion.py); like fused_eltwise they have no
// autograd, since the compiler lowers forward and backward graphs separately.
#include <ATen/ExpandUtils.h>
#include <ATen/ops/empty.h>
#include <torch/library.h>

#include <limits>

#include "aten/device_check.h"
#include "aten/engine_bridge.h"
#include "aten/norm_bridge.h"
#include "engine/norm_fused.h"

namespace accel::aten {
namespace {

using norm::dense;
using norm::ref_of;

bool tile_float_type(at::ScalarType t) { return t == at::kFloat || t == at::kBFloat16 || t == at::kHalf; }

// (rows, cols) of x + residual normalised over `shape`, after ATen's checks.
std::pair<int64_t, int64_t> check_add_norm(const char* op, const at::Tensor& x, const at::Tensor& residual,
                                           at::IntArrayRef shape, const at::Tensor& weight,
                                           const at::Tensor& bias) {
  TORCH_CHECK(x.sizes().equals(residual.sizes()), op, ": x and residual must have the same shape, got ",
              x.sizes(), " and ", residual.sizes());
  TORCH_CHECK(x.device() == residual.device(), op, ": x and residual must be on one device, got ", x.device(),
              " and ", residual.device());
  TORCH_CHECK_TYPE(x.scalar_type() == residual.scalar_type() && tile_float_type(x.scalar_type()), op,
                   ": expected float32, bfloat16 or float16 x and residual of one dtype, got ", x.scalar_type(),
                   " and ", residual.scalar_type());
  TORCH_CHECK(!shape.empty(), op, ": normalized_shape must have at least one dim");
  for (const at::Tensor* p : {&weight, &bias})
    TORCH_CHECK(!p->defined() || p->sizes().equals(shape), op, ": expected weight and bias of shape ", shape,
                ", got ", p->sizes());
  const int64_t nd = static_cast<int64_t>(shape.size());
  TORCH_CHECK(x.dim() >= nd && x.sizes().slice(x.dim() - nd).equals(shape), op, ": normalized_shape ", shape,
              " does not end input of size ", x.sizes());
  int64_t cols = 1;
  for (int64_t s : shape) cols *= s;
  return {cols == 0 ? 0 : x.numel() / cols, cols};
}

// fp32 statistics for reduced-precision x with fp32 parameters (ATen's mixed type).
at::ScalarType stat_dtype(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  for (const at::Tensor* p : {&weight, &bias}) {
    if (!p->defined() || p->scalar_type() == x.scalar_type()) continue;
    TORCH_CHECK_TYPE(p->scalar_type() == at::kFloat, "add_layer_norm: parameters must be float32 or x's dtype, got ",
                     p->scalar_type());
    return at::kFloat;
  }
  return x.scalar_type();
}

std::vector<int64_t> stat_shape(const at::Tensor& x, size_t normalized_dims) {
  std::vector<int64_t> s(x.sizes().begin(), x.sizes().end() - normalized_dims);
  s.resize(x.dim(), 1);
  return s;
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> add_norm_outputs(const at::Tensor& x, size_t nd,
                                                                            at::ScalarType stats, bool rms) {
  at::Tensor sum = at::empty(x.sizes(), x.options());
  at::Tensor y = at::empty(x.sizes(), x.options());
  at::Tensor mean = rms ? at::Tensor() : at::empty(stat_shape(x, nd), x.options().dtype(stats));
  at::Tensor rstd = at::empty(stat_shape(x, nd), x.options().dtype(stats));
  return {sum, y, mean, rstd};
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> add_row_norm(
    const at::Tensor& x_in, const at::Tensor& res_in, at::IntArrayRef shape, const std::optional<at::Tensor>& w_opt,
    const std::optional<at::Tensor>& b_opt, double eps, bool rms, bool meta) {
  const char* op = rms ? "add_rms_norm" : "add_layer_norm";
  const at::Tensor w = dense(w_opt), b = dense(b_opt);
  const auto [rows, cols] = check_add_norm(op, x_in, res_in, shape, w, b);
  for (const at::Tensor* p : {&w, &b})
    TORCH_CHECK_TYPE(!p->defined() || tile_float_type(p->scalar_type()), op,
                     ": parameters must be float32, bfloat16 or float16, got ", p->scalar_type());
  // The RMS statistic stays fp32, as aten::_fused_rms_norm keeps it.
  const at::ScalarType stats = rms ? at::kFloat : stat_dtype(x_in, w, b);
  if (meta) return add_norm_outputs(x_in, shape.size(), stats, rms);
  const at::Tensor x = dense(x_in), res = dense(res_in);
  auto outs = add_norm_outputs(x, shape.size(), stats, rms);
  norm::launch(x, [&](const chip::Arch& arch) {
    const auto& [sum, y, mean, rstd] = outs;
    engine::AddRowNormArgs a{ref_of(x),    ref_of(res),  ref_of(sum), ref_of(y), ref_of(w), ref_of(b),
                             ref_of(mean), ref_of(rstd), rows,        cols,      eps,       rms};
    return engine::run_add_row_norm(arch, a);
  });
  return outs;
}

engine::SoftmaxMask mask_kind_of(std::string_view kind) {
  if (kind == "none") return engine::SoftmaxMask::None;
  if (kind == "add") return engine::SoftmaxMask::Add;
  if (kind == "fill_where_true") return engine::SoftmaxMask::FillWhereTrue;
  if (kind == "fill_where_false") return engine::SoftmaxMask::FillWhereFalse;
  TORCH_CHECK_VALUE(false, "scale_mask_softmax: mask_kind must be one of none, add, fill_where_true, "
                    "fill_where_false, got '", kind, "'");
}

at::Tensor softmax_output(const at::Tensor& x, const std::optional<at::Tensor>& mask, engine::SoftmaxMask kind,
                          std::optional<at::ScalarType> dtype) {
  TORCH_CHECK(x.dim() >= 1, "scale_mask_softmax: expected at least a 1-D input");
  TORCH_CHECK_TYPE(tile_float_type(x.scalar_type()), "scale_mask_softmax: expected a float32, bfloat16 or "
                   "float16 input, got ", x.scalar_type());
  const auto out_dtype = dtype.value_or(x.scalar_type());
  TORCH_CHECK_TYPE(tile_float_type(out_dtype), "scale_mask_softmax: dtype must be a float type, got ", out_dtype);
  const bool has_mask = mask && mask->defined();
  TORCH_CHECK_VALUE(has_mask == (kind != engine::SoftmaxMask::None),
                    "scale_mask_softmax: a mask needs a mask_kind other than none, and that kind a mask");
  if (has_mask) {
    if (kind == engine::SoftmaxMask::Add) {
      TORCH_CHECK_TYPE(tile_float_type(mask->scalar_type()), "scale_mask_softmax: an added mask must be float, got ",
                       mask->scalar_type());
    } else {
      TORCH_CHECK_TYPE(mask->scalar_type() == at::kBool, "scale_mask_softmax: a fill mask must be bool, got ",
                       mask->scalar_type());
    }
    TORCH_CHECK(at::is_expandable_to(mask->sizes(), x.sizes()), "scale_mask_softmax: mask of shape ",
                mask->sizes(), " does not broadcast to the scores' shape ", x.sizes());
    TORCH_CHECK(mask->device() == x.device(), "scale_mask_softmax: mask on ", mask->device(), ", scores on ",
                x.device());
  }
  return at::empty(x.sizes(), x.options().dtype(out_dtype));
}

at::Tensor scale_mask_softmax(const at::Tensor& x_in, double scale, const std::optional<at::Tensor>& mask_opt,
                              c10::string_view kind_name, double fill, std::optional<at::ScalarType> dtype) {
  const auto kind = mask_kind_of(kind_name);
  at::Tensor out = softmax_output(x_in, mask_opt, kind, dtype);
  const at::Tensor x = dense(x_in);
  engine::ScaleMaskSoftmaxArgs a;
  a.in = ref_of(x);
  a.out = ref_of(out);
  a.mask_kind = kind;
  a.cols = x.size(-1);
  a.rows = a.cols == 0 ? 0 : x.numel() / a.cols;
  a.scale = static_cast<float>(scale);
  a.fill = static_cast<float>(fill);
  at::Tensor mask;
  if (kind != engine::SoftmaxMask::None) {
    mask = mask_opt->expand(x.sizes());
    // The kernel walks a mask row contiguously or broadcasts one value.
    if (mask.stride(-1) > 1) mask = mask.contiguous();
    check_accel_operand(mask);
    a.mask.data = mask.data_ptr();
    a.mask.dtype = engine_dtype(mask.scalar_type());
    a.mask.sizes = engine::InlineDims(mask.sizes().begin(), mask.sizes().end());
    a.mask.strides = engine::InlineDims(mask.strides().begin(), mask.strides().end());
    a.mask_col_stride = mask.stride(-1);
    a.mask_row_offsets.resize(a.rows);
    std::vector<int64_t> index(x.dim() - 1, 0);
    for (int64_t r = 0, off = 0; r < a.rows; ++r) {
      a.mask_row_offsets[r] = off;
      // Odometer over the leading dims, keeping the mask offset in step.
      for (int64_t d = x.dim() - 2; d >= 0; --d) {
        off += mask.stride(d);
        if (++index[d] < x.size(d)) break;
        off -= mask.stride(d) * x.size(d);
        index[d] = 0;
      }
    }
  }
  norm::launch(x, [&](const chip::Arch& arch) { return engine::run_scale_mask_softmax(arch, a); });
  return out;
}

at::Tensor scale_mask_softmax_meta(const at::Tensor& x, double, const std::optional<at::Tensor>& mask,
                                   c10::string_view kind, double, std::optional<at::ScalarType> dtype) {
  return softmax_output(x, mask, mask_kind_of(kind), dtype);
}

template <bool Meta>
std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> add_layer_norm(
    const at::Tensor& x, const at::Tensor& residual, at::IntArrayRef shape, const std::optional<at::Tensor>& w,
    const std::optional<at::Tensor>& b, double eps) {
  return add_row_norm(x, residual, shape, w, b, eps, false, Meta);
}

template <bool Meta>
std::tuple<at::Tensor, at::Tensor, at::Tensor> add_rms_norm(const at::Tensor& x, const at::Tensor& residual,
                                                            at::IntArrayRef shape,
                                                            const std::optional<at::Tensor>& w,
                                                            std::optional<double> eps) {
  auto [sum, y, mean, rstd] = add_row_norm(x, residual, shape, w, std::nullopt,
                                           eps.value_or(std::numeric_limits<float>::epsilon()), true, Meta);
  return {sum, y, rstd};
}

// grad_input = the norm's input gradient + grad_sum: the gradient of both
// operands of the forward's residual add, in the norm backward's program.
std::vector<at::Tensor> add_row_norm_backward(const at::Tensor& grad_out, const at::Tensor& grad_sum,
                                              const at::Tensor& sum_in, at::IntArrayRef shape,
                                              const std::optional<at::Tensor>& mean_opt, const at::Tensor& rstd_in,
                                              const std::optional<at::Tensor>& w_opt,
                                              const std::optional<at::Tensor>& b_opt, at::IntArrayRef mask,
                                              bool rms, bool meta) {
  const char* op = rms ? "add_rms_norm_backward" : "add_layer_norm_backward";
  const at::Tensor w = dense(w_opt), b = dense(b_opt);
  check_add_norm(op, grad_out, grad_sum, shape, w, b);
  TORCH_CHECK(sum_in.sizes().equals(grad_out.sizes()) && tile_float_type(sum_in.scalar_type()), op,
              ": expected the forward's sum of shape ", grad_out.sizes(), ", got ", sum_in.sizes(), " ",
              sum_in.scalar_type());
  TORCH_CHECK_VALUE(mask.size() == (rms ? 2u : 3u), op, ": output_mask must have ", rms ? 2 : 3, " entries");
  const auto [rows, cols] = check_add_norm(op, sum_in, sum_in, shape, w, b);
  at::Tensor dx = at::empty(sum_in.sizes(), sum_in.options());
  at::Tensor dw = mask[1] && w.defined() ? at::empty(w.sizes(), w.options()) : at::Tensor();
  at::Tensor db = !rms && mask[2] && b.defined() ? at::empty(b.sizes(), b.options()) : at::Tensor();
  if (!meta) {
    const at::Tensor x = dense(sum_in), g = dense(grad_out), gs = dense(grad_sum), rs = dense(rstd_in);
    const at::Tensor mu = rms ? at::Tensor() : dense(mean_opt);
    norm::launch(x, [&](const chip::Arch& arch) {
      engine::RowNormGradArgs a{ref_of(g), ref_of(x), ref_of(mu), ref_of(rs), ref_of(w), ref_of(dx), ref_of(dw),
                                ref_of(db), rows,      cols,      rms,        ref_of(gs)};
      return engine::run_row_norm_backward(arch, a);
    });
  }
  if (rms) return {dx, dw};
  return {dx, dw, db};
}

template <bool Meta>
std::tuple<at::Tensor, at::Tensor, at::Tensor> add_layer_norm_backward(
    const at::Tensor& grad_out, const at::Tensor& grad_sum, const at::Tensor& sum, at::IntArrayRef shape,
    const at::Tensor& mean, const at::Tensor& rstd, const std::optional<at::Tensor>& w,
    const std::optional<at::Tensor>& b, at::IntArrayRef mask) {
  auto r = add_row_norm_backward(grad_out, grad_sum, sum, shape, mean, rstd, w, b, mask, false, Meta);
  return {r[0], r[1], r[2]};
}

template <bool Meta>
std::tuple<at::Tensor, at::Tensor> add_rms_norm_backward(const at::Tensor& grad_out, const at::Tensor& grad_sum,
                                                         const at::Tensor& sum, at::IntArrayRef shape,
                                                         const at::Tensor& rstd, const std::optional<at::Tensor>& w,
                                                         at::IntArrayRef mask) {
  auto r = add_row_norm_backward(grad_out, grad_sum, sum, shape, std::nullopt, rstd, w, std::nullopt, mask, true,
                                 Meta);
  return {r[0], r[1]};
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(accel, m) {
  // The backward of a residual add + norm: the norm's input gradient plus
  // grad_sum (the sum's gradient from its other readers), and the parameters'
  // gradients where output_mask asks.
  m.def("add_layer_norm_backward(Tensor grad_out, Tensor grad_sum, Tensor sum, int[] normalized_shape, "
        "Tensor mean, Tensor rstd, Tensor? weight, Tensor? bias, int[] output_mask) -> (Tensor, Tensor, Tensor)");
  m.def("add_rms_norm_backward(Tensor grad_out, Tensor grad_sum, Tensor sum, int[] normalized_shape, "
        "Tensor rstd, Tensor? weight, int[] output_mask) -> (Tensor, Tensor)");
  m.def("add_layer_norm(Tensor x, Tensor residual, int[] normalized_shape, Tensor? weight, Tensor? bias, "
        "float eps) -> (Tensor sum, Tensor out, Tensor mean, Tensor rstd)");
  m.def("add_rms_norm(Tensor x, Tensor residual, int[] normalized_shape, Tensor? weight, float? eps) -> "
        "(Tensor sum, Tensor out, Tensor rstd)");
  // mask_kind: none, add (a float mask added), fill_where_true (masked_fill),
  // fill_where_false (where(mask, scores, fill)); dtype: the output's.
  m.def("scale_mask_softmax(Tensor x, float scale, Tensor? mask, str mask_kind, float fill, "
        "ScalarType? dtype=None) -> Tensor");
}

TORCH_LIBRARY_IMPL(accel, PrivateUse1, m) {
  m.impl("add_layer_norm", add_layer_norm<false>);
  m.impl("add_rms_norm", add_rms_norm<false>);
  m.impl("scale_mask_softmax", scale_mask_softmax);
  m.impl("add_layer_norm_backward", add_layer_norm_backward<false>);
  m.impl("add_rms_norm_backward", add_rms_norm_backward<false>);
}

TORCH_LIBRARY_IMPL(accel, Meta, m) {
  m.impl("add_layer_norm", add_layer_norm<true>);
  m.impl("add_rms_norm", add_rms_norm<true>);
  m.impl("scale_mask_softmax", scale_mask_softmax_meta);
  m.impl("add_layer_norm_backward", add_layer_norm_backward<true>);
  m.impl("add_rms_norm_backward", add_rms_norm_backward<true>);
}

}  // namespace accel::aten
