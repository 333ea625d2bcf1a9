// Ops whose ATen kernels exist only for the CPU and CUDA, built from accel ops
// (each of which is a device program): the work stays on the device instead of
// taking the CPU fallback's round trip. Checks and messages follow ATen's.
#include <ATen/TensorOperators.h>
#include <ATen/WrapDimUtils.h>
#include <ATen/native/Resize.h>
#include <torch/library.h>

#include "aten/out_arg.h"

namespace accel::aten {
namespace {

void check_index(const at::Tensor& index, const char* op) {
  TORCH_CHECK_INDEX(index.scalar_type() == at::kLong || index.scalar_type() == at::kInt,
                    op, "(): Expected a long tensor for index, but got ", index.scalar_type());
}

bool equal_values(const at::Tensor& a, const at::Tensor& b) {
  TORCH_CHECK(a.device() == b.device(), "Cannot compare two tensors on different devices. Got: ",
              a.device(), " and ", b.device());
  if (a.sizes() != b.sizes()) return false;
  return a.numel() == 0 || at::eq(a, b).all().item<bool>();
}

at::Tensor dropout_backward(const at::Tensor& grad, const at::Tensor& mask, double scale) {
  TORCH_CHECK(mask.scalar_type() == at::kBool,
              "Mask should be Bool Scalar Type", mask.scalar_type());
  return grad * mask.to(grad.scalar_type()) * scale;
}

// index_fill_: a mask along `dim` marks the indexed slices; masked_fill_ writes them.
at::Tensor& index_fill_tensor_(at::Tensor& self, int64_t dim, const at::Tensor& index,
                               const at::Tensor& value) {
  check_index(index, "index_fill_");
  TORCH_CHECK(value.dim() == 0, "index_fill_ only supports a 0-dimensional value tensor, but got "
              "tensor with ", value.dim(), " dimension(s).");
  TORCH_CHECK(index.dim() <= 1, "Index has to be a vector/scalar");
  dim = at::maybe_wrap_dim(dim, self.dim());
  const int64_t size = self.dim() == 0 ? 1 : self.size(dim);
  // index_put_ wraps negative indices and raises IndexError past the end.
  at::Tensor mask = at::zeros({size}, self.options().dtype(at::kBool));
  mask.index_put_({index.reshape({-1})}, at::ones({}, mask.options()));
  at::Tensor target = self.dim() == 0 ? self.view({1}) : self;
  std::vector<int64_t> shape(target.dim(), 1);
  shape[dim] = size;
  target.masked_fill_(mask.view(shape), value.to(self.device()));
  return self;
}

at::Tensor& index_fill_scalar_(at::Tensor& self, int64_t dim, const at::Tensor& index,
                               const at::Scalar& value) {
  return index_fill_tensor_(self, dim, index, at::scalar_tensor(value, self.options()));
}

// index_copy: the indexed slices along `dim` take the source's, one index_put_.
at::Tensor& index_copy_out(const at::Tensor& self, int64_t dim, const at::Tensor& index,
                           const at::Tensor& source, at::Tensor& out) {
  TORCH_CHECK_INDEX(index.dim() < 2, "index_copy_(): Index should have dimension 1 or 0 (got ",
                    index.dim(), ")");
  TORCH_CHECK_INDEX(index.scalar_type() == at::kLong, "index_copy_(): Expected a long tensor for "
                    "index, but got ", index.scalar_type());
  TORCH_CHECK(self.scalar_type() == source.scalar_type(), "index_copy_(): self and source "
              "expected to have the same dtype, but got (self) ", self.scalar_type(),
              " and (source) ", source.scalar_type());
  dim = at::maybe_wrap_dim(dim, self.dim());
  const at::Tensor moved_source = source.dim() == 0 ? source.view({1}) : source.movedim(dim, 0);
  TORCH_CHECK_INDEX(moved_source.size(0) == index.numel(), "index_copy_(): Number of indices (",
                    index.numel(), ") should be equal to source.size(dim) (", moved_source.size(0), ")");
  if (!out.is_same(self)) {
    at::native::resize_output(out, self.sizes());
    out.copy_(self);
  }
  at::Tensor target = out.dim() == 0 ? out.view({1}) : out.movedim(dim, 0);
  target.index_put_({index.reshape({-1})}, moved_source);
  return out;
}

at::Tensor take_flat(const at::Tensor& self, const at::Tensor& index) {
  check_index(index, "take");
  return at::index(self.reshape({-1}), {index});  // wraps negatives, checks bounds
}

at::Tensor& take_flat_out(const at::Tensor& self, const at::Tensor& index, at::Tensor& out) {
  return assign_out(out, take_flat(self, index));
}

at::Tensor& put_flat_(at::Tensor& self, const at::Tensor& index, const at::Tensor& source, bool accumulate) {
  check_index(index, "put_");
  TORCH_CHECK(source.scalar_type() == self.scalar_type(), "put_(): self and source expected to "
              "have the same dtype, but got self.dtype = ", self.scalar_type(),
              " and source.dtype = ", source.scalar_type());
  TORCH_CHECK(index.numel() == source.numel(), "put_(): Expected source and index to have the "
              "same number of elements, but got source.numel() = ", source.numel(),
              ", index.numel() = ", index.numel());
  at::Tensor flat = self.reshape({-1});
  flat.index_put_({index.reshape({-1})}, source.reshape({-1}), accumulate);
  if (!flat.is_alias_of(self)) self.copy_(flat.view(self.sizes()));
  return self;
}

at::Tensor count_nonzero_dims(const at::Tensor& self, at::IntArrayRef dims) {
  return (self != 0).sum(dims);
}

// max_unpool: scatter each value to the flat position its index names, per plane.
at::Tensor max_unpool(const at::Tensor& self, const at::Tensor& indices, at::IntArrayRef output_size,
                      int64_t spatial_dims) {
  TORCH_CHECK(indices.scalar_type() == at::kLong, "elements in indices should be type int64 but got: ",
              indices.scalar_type());
  TORCH_CHECK(static_cast<int64_t>(output_size.size()) == spatial_dims, "There should be exactly ",
              spatial_dims, " elements (height, width) in output_size, but got ",
              output_size.size(), " elements.");
  TORCH_CHECK(self.dim() == spatial_dims + 1 || self.dim() == spatial_dims + 2,
              "Input to max_unpooling", spatial_dims, "d should be a ", spatial_dims + 1, "d or ",
              spatial_dims + 2, "d Tensor, but got a tensor with ", self.dim(), " dimensions.");
  TORCH_CHECK(self.sizes() == indices.sizes(), "Expected shape of indices to be same as that of the "
              "input tensor (", self.sizes(), ") but got indices tensor with shape: ", indices.sizes());
  for (int64_t i = 1; i < self.dim(); ++i)
    TORCH_CHECK(self.size(i) > 0, "max_unpooling", spatial_dims, "d(): Expected input to have "
                "non-zero size for non-batch dimensions, but got ", self.sizes(), " with dimension ",
                i, " being empty.");
  int64_t plane = 1;
  for (int64_t s : output_size) plane *= s;
  const int64_t leading = self.dim() - spatial_dims;
  std::vector<int64_t> out_shape(self.sizes().begin(), self.sizes().begin() + leading);
  out_shape.insert(out_shape.end(), output_size.begin(), output_size.end());
  int64_t planes = 1;
  for (int64_t i = 0; i < leading; ++i) planes *= self.size(i);
  const at::Tensor idx = indices.reshape({planes, -1});
  if (idx.numel() > 0) {
    const int64_t lo = idx.min().item<int64_t>(), hi = idx.max().item<int64_t>();
    TORCH_CHECK(lo >= 0 && hi < plane, "Found an invalid max index: ", lo < 0 ? lo : hi,
                " (output volumes are of size ", plane, ")");
  }
  at::Tensor out = at::zeros({planes, plane}, self.options());
  out.scatter_(1, idx, self.reshape({planes, -1}));
  return out.view(out_shape);
}

// 1-D nearest upsampling is the 2-D program on a unit-height map.
at::Tensor upsample_nearest1d(const at::Tensor& self, c10::SymIntArrayRef output_size,
                              std::optional<double> scale) {
  TORCH_CHECK(output_size.size() == 1, "It is expected output_size equals to 1, but got size ",
              output_size.size());
  TORCH_CHECK(self.dim() == 3, "Non-empty 3D data tensor expected but got a tensor with sizes ",
              self.sizes());
  const int64_t width = output_size[0].expect_int();
  return at::upsample_nearest2d(self.unsqueeze(2), {1, width}, std::nullopt, scale).squeeze(2);
}

at::Tensor upsample_nearest1d_backward(const at::Tensor& grad, c10::SymIntArrayRef output_size,
                                       c10::SymIntArrayRef input_size, std::optional<double> scale) {
  TORCH_CHECK(output_size.size() == 1 && input_size.size() == 3,
              "upsample_nearest1d_backward expects a 1-element output_size and a 3-element "
              "input_size");
  const int64_t width = output_size[0].expect_int();
  const std::vector<int64_t> input{input_size[0].expect_int(), input_size[1].expect_int(), 1,
                                   input_size[2].expect_int()};
  return at::upsample_nearest2d_backward(grad.unsqueeze(2), {1, width}, input, std::nullopt, scale)
      .squeeze(2);
}

// 3-D nearest upsampling as two passes of the 2-D program: (H, W) on a map whose
// channels are C*D, then D on a map whose width is the upsampled H*W.
at::Tensor upsample_nearest3d(const at::Tensor& self, c10::SymIntArrayRef output_size,
                              std::optional<double> scale_d, std::optional<double> scale_h,
                              std::optional<double> scale_w) {
  TORCH_CHECK(output_size.size() == 3, "It is expected output_size equals to 3, but got size ",
              output_size.size());
  TORCH_CHECK(self.dim() == 5, "Non-empty 5D data tensor expected but got a tensor with sizes ",
              self.sizes());
  const auto out = C10_AS_INTARRAYREF_SLOW(output_size);
  const int64_t n = self.size(0), c = self.size(1), d = self.size(2);
  at::Tensor planes = at::upsample_nearest2d(self.reshape({n, c * d, self.size(3), self.size(4)}),
                                             {out[1], out[2]}, scale_h, scale_w);
  at::Tensor depth = at::upsample_nearest2d(planes.reshape({n, c, d, out[1] * out[2]}),
                                            {out[0], out[1] * out[2]}, scale_d, std::nullopt);
  return depth.reshape({n, c, out[0], out[1], out[2]});
}

at::Tensor upsample_nearest3d_backward(const at::Tensor& grad, c10::SymIntArrayRef output_size,
                                       c10::SymIntArrayRef input_size, std::optional<double> scale_d,
                                       std::optional<double> scale_h, std::optional<double> scale_w) {
  TORCH_CHECK(output_size.size() == 3 && input_size.size() == 5,
              "upsample_nearest3d_backward expects a 3-element output_size and a 5-element "
              "input_size");
  const auto out = C10_AS_INTARRAYREF_SLOW(output_size);
  const auto in = C10_AS_INTARRAYREF_SLOW(input_size);
  const int64_t n = in[0], c = in[1], d = in[2];
  at::Tensor depth = at::upsample_nearest2d_backward(
      grad.reshape({n, c, out[0], out[1] * out[2]}), {out[0], out[1] * out[2]},
      {n, c, d, out[1] * out[2]}, scale_d, std::nullopt);
  at::Tensor planes = at::upsample_nearest2d_backward(
      depth.reshape({n, c * d, out[1], out[2]}), {out[1], out[2]}, {n, c * d, in[3], in[4]},
      scale_h, scale_w);
  return planes.reshape(in);
}

}  // namespace

TORCH_LIBRARY_IMPL(aten, PrivateUse1, m) {
  m.impl("upsample_nearest3d", upsample_nearest3d);
  m.impl("upsample_nearest3d.out", [](const at::Tensor& self, c10::SymIntArrayRef output_size,
                                      std::optional<double> sd, std::optional<double> sh,
                                      std::optional<double> sw, at::Tensor& out) -> at::Tensor& {
    return assign_out(out, upsample_nearest3d(self, output_size, sd, sh, sw));
  });
  m.impl("upsample_nearest3d_backward", upsample_nearest3d_backward);
  m.impl("upsample_nearest3d_backward.grad_input",
         [](const at::Tensor& grad, c10::SymIntArrayRef output_size, c10::SymIntArrayRef input_size,
            std::optional<double> sd, std::optional<double> sh, std::optional<double> sw,
            at::Tensor& grad_input) -> at::Tensor& {
           return assign_out(grad_input,
                             upsample_nearest3d_backward(grad, output_size, input_size, sd, sh, sw));
         });
  m.impl("upsample_nearest1d", upsample_nearest1d);
  m.impl("upsample_nearest1d_backward", upsample_nearest1d_backward);
  m.impl("equal", equal_values);
  m.impl("native_dropout_backward", dropout_backward);
  m.impl("index_fill_.int_Scalar", index_fill_scalar_);
  m.impl("index_fill_.int_Tensor", index_fill_tensor_);
  m.impl("index_copy.out", index_copy_out);
  m.impl("take", take_flat);
  m.impl("take.out", take_flat_out);
  m.impl("put_", put_flat_);
  m.impl("count_nonzero.dim_IntList", count_nonzero_dims);
  m.impl("max_unpool2d", [](const at::Tensor& self, const at::Tensor& indices,
                            c10::SymIntArrayRef output_size) {
    return max_unpool(self, indices, C10_AS_INTARRAYREF_SLOW(output_size), 2);
  });
  m.impl("max_unpool3d", [](const at::Tensor& self, const at::Tensor& indices,
                            c10::SymIntArrayRef output_size, at::IntArrayRef stride,
                            at::IntArrayRef padding) {
    return max_unpool(self, indices, C10_AS_INTARRAYREF_SLOW(output_size), 3);
  });
}

}  // namespace accel::aten
