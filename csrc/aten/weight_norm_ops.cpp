// Weight normalization, w = v * (g / ||v||) with the norm over every dim but
// `dim` (torch.nn.utils.weight_norm; wav2vec2's positional convolution), and
// its gradient, as ATen's CPU kernels compute them, from accel's reductions
// and element-wise programs. torch._weight_norm calls this interface only for
// dim 0 or the last dim, in float32, float64 or bfloat16; the norm of a
// bfloat16 or half weight is kept in float32, as on CPU and CUDA. Any other
// dim takes ATen's composite norm_except_dim, which calls the legacy
// Tensor.norm: its out= forms are linalg_vector_norm's, as in ATen.
#include <ATen/WrapDimUtils.h>
#include <ATen/TensorOperators.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/linalg_vector_norm.h>
#include <torch/library.h>

namespace accel::aten {
namespace {

at::ScalarType norm_dtype(const at::Tensor& g) {
  const auto t = g.scalar_type();
  return t == at::kBFloat16 || t == at::kHalf ? at::kFloat : t;
}

// Every dim of v but `dim`: the norm reduces over them, keeping them as 1s.
std::vector<int64_t> reduced_dims(const at::Tensor& v, int64_t dim) {
  TORCH_CHECK(v.dim() > 0, "_weight_norm_interface: v must have at least one dimension");
  dim = at::maybe_wrap_dim(dim, v.dim());
  TORCH_CHECK(dim == 0 || dim == v.dim() - 1,
              "_weight_norm_interface: dim must be 0 or the last dimension, got ", dim);
  std::vector<int64_t> dims;
  for (int64_t d = 0; d < v.dim(); ++d)
    if (d != dim) dims.push_back(d);
  return dims;
}

std::tuple<at::Tensor, at::Tensor> weight_norm(const at::Tensor& v, const at::Tensor& g,
                                               int64_t dim) {
  const auto dims = reduced_dims(v, dim);
  const auto compute = norm_dtype(g);
  const at::Tensor v_c = v.to(compute);
  // A 1-d v has nothing to reduce: each element is its own norm.
  at::Tensor norm = dims.empty() ? v_c.abs()
                                 : at::linalg_vector_norm(v_c, 2, dims, /*keepdim=*/true);
  norm = norm.reshape(g.sizes());
  const at::Tensor w = (v_c * (g.to(compute) / norm)).to(v.scalar_type()).contiguous();
  return {w, norm};
}

std::tuple<at::Tensor, at::Tensor> weight_norm_backward(const at::Tensor& grad_w,
                                                        const at::Tensor& saved_v,
                                                        const at::Tensor& saved_g,
                                                        const at::Tensor& saved_norm,
                                                        int64_t dim) {
  TORCH_CHECK(saved_v.is_contiguous(), "saved_v must be contiguous");
  TORCH_CHECK(saved_g.is_contiguous(), "saved_g must be contiguous");
  TORCH_CHECK(saved_norm.is_contiguous(), "saved_norm must be contiguous");
  const auto dims = reduced_dims(saved_v, dim);
  const auto compute = norm_dtype(saved_g);
  const at::Tensor v = saved_v.to(compute), grad = grad_w.to(compute);
  const at::Tensor norm = saved_norm.to(compute);
  at::Tensor grad_dot_v = grad * v;
  if (!dims.empty()) grad_dot_v = grad_dot_v.sum(dims, /*keepdim=*/true);
  grad_dot_v = grad_dot_v.reshape(saved_g.sizes());
  // ATen's formulas: a = g / norm, grad_v = a * grad_w - (a * sum / norm^2) * v,
  // grad_g = sum / norm, with sum the per-slice dot product of grad_w and v.
  const at::Tensor a = saved_g.to(compute) / norm;
  const at::Tensor b = a * grad_dot_v / (norm * norm);
  const at::Tensor grad_v = (a * grad - b * v).to(saved_v.scalar_type()).contiguous();
  const at::Tensor grad_g = (grad_dot_v / norm).to(saved_g.scalar_type()).contiguous();
  return {grad_v, grad_g};
}

at::Tensor& legacy_norm_out(const at::Tensor& self, const std::optional<at::Scalar>& p,
                            at::IntArrayRef dim, bool keepdim, std::optional<at::ScalarType> dtype,
                            at::Tensor& out) {
  TORCH_CHECK(at::isFloatingType(self.scalar_type()) || at::isComplexType(self.scalar_type()),
              "norm(): input dtype should be either floating point or complex. Got ",
              self.scalar_type(), " instead.");
  return at::linalg_vector_norm_out(out, self, p.value_or(2.0), dim, keepdim, dtype);
}

}  // namespace

TORCH_LIBRARY_IMPL(aten, PrivateUse1, m) {
  m.impl("_weight_norm_interface", weight_norm);
  m.impl("_weight_norm_interface_backward", weight_norm_backward);
  m.impl("norm.out", [](const at::Tensor& self, const std::optional<at::Scalar>& p, at::IntArrayRef dim,
                        bool keepdim, at::Tensor& out) -> at::Tensor& {
    return legacy_norm_out(self, p, dim, keepdim, std::nullopt, out);
  });
  m.impl("norm.dtype_out", [](const at::Tensor& self, const std::optional<at::Scalar>& p, at::IntArrayRef dim,
                              bool keepdim, at::ScalarType dtype, at::Tensor& out) -> at::Tensor& {
    return legacy_norm_out(self, p, dim, keepdim, dtype, out);
  });
}

}  // namespace accel::aten
