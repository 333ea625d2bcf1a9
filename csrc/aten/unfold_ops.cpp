// nn.Unfold and nn.Fold (aten::im2col and aten::col2im, each the other's
// gradient; ConvBERT's dynamic convolution). im2col is one strided view of the
// zero-padded input, gathered by one copy program. col2im, its adjoint, adds
// each of the kernel's kh*kw column planes into a strided view of a zeroed,
// padded output: for each output element the sums come in ATen's CPU order.
// unfold_backward, the gradient of Tensor.unfold's windows, is the 1-d form
// of col2im.
#include <ATen/ScalarOps.h>
#include <ATen/WrapDimUtils.h>
#include <ATen/native/Resize.h>
#include <ATen/ops/constant_pad_nd.h>
#include <ATen/ops/zeros.h>
#include <torch/library.h>

#include "aten/engine_bridge.h"
#include "aten/fallback.h"
#include "aten/out_arg.h"

namespace accel::aten {
namespace {

struct Window {
  int64_t kernel_h, kernel_w, dilation_h, dilation_w, pad_h, pad_w, stride_h, stride_w;
};

Window window_of(at::IntArrayRef kernel_size, at::IntArrayRef dilation, at::IntArrayRef padding,
                 at::IntArrayRef stride) {
  TORCH_CHECK(kernel_size.size() == 2, "It is expected kernel_size equals to 2, but got size ",
              kernel_size.size());
  TORCH_CHECK(dilation.size() == 2, "It is expected dilation equals to 2, but got size ",
              dilation.size());
  TORCH_CHECK(padding.size() == 2, "It is expected padding equals to 2, but got size ",
              padding.size());
  TORCH_CHECK(stride.size() == 2, "It is expected stride equals to 2, but got size ", stride.size());
  const Window w{kernel_size[0], kernel_size[1], dilation[0], dilation[1],
                 padding[0],     padding[1],     stride[0],   stride[1]};
  TORCH_CHECK(w.kernel_h > 0 && w.kernel_w > 0,
              "kernel size should be greater than zero, but got kernel_height: ", w.kernel_h,
              " kernel_width: ", w.kernel_w);
  TORCH_CHECK(w.dilation_h > 0 && w.dilation_w > 0,
              "dilation should be greater than zero, but got dilation_height: ", w.dilation_h,
              " dilation_width: ", w.dilation_w);
  TORCH_CHECK(w.pad_h >= 0 && w.pad_w >= 0,
              "padding should be non-negative, but got pad_height: ", w.pad_h,
              " pad_width: ", w.pad_w);
  TORCH_CHECK(w.stride_h > 0 && w.stride_w > 0,
              "stride should be greater than zero, but got stride_height: ", w.stride_h,
              " stride_width: ", w.stride_w);
  return w;
}

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// The number of sliding blocks along each spatial dim, which must be positive.
std::pair<int64_t, int64_t> block_counts(const Window& w, int64_t height, int64_t width) {
  const int64_t blocks_h =
      floor_div(height + 2 * w.pad_h - (w.dilation_h * (w.kernel_h - 1) + 1), w.stride_h) + 1;
  const int64_t blocks_w =
      floor_div(width + 2 * w.pad_w - (w.dilation_w * (w.kernel_w - 1) + 1), w.stride_w) + 1;
  TORCH_CHECK(blocks_h >= 1 && blocks_w >= 1, "Given input with spatial size (", height, ", ",
              width, "), kernel_size=(", w.kernel_h, ", ", w.kernel_w, "), dilation=(",
              w.dilation_h, ", ", w.dilation_w, "), padding=(", w.pad_h, ", ", w.pad_w,
              "), calculated shape of the array of sliding blocks as (", blocks_h, ", ", blocks_w,
              "), but its components must be at least one.");
  return {blocks_h, blocks_w};
}

at::Tensor unfold_blocks(const at::Tensor& self, at::IntArrayRef kernel_size,
                         at::IntArrayRef dilation, at::IntArrayRef padding,
                         at::IntArrayRef stride) {
  if (!tile_dtype_of(self.scalar_type()))
    return fallback_call("aten::im2col", "", {self, kernel_size, dilation, padding, stride});
  const Window w = window_of(kernel_size, dilation, padding, stride);
  const int64_t ndim = self.dim();
  TORCH_CHECK((ndim == 3 && self.size(0) != 0 && self.size(1) != 0 && self.size(2) != 0) ||
                  (ndim == 4 && self.size(1) != 0 && self.size(2) != 0 && self.size(3) != 0),
              "Expected 3D or 4D (batch mode) tensor input with possible 0 batch size and "
              "non-zero dimensions, but got: ", self.sizes());
  const at::Tensor input = ndim == 4 ? self : self.unsqueeze(0);
  const int64_t batch = input.size(0), channels = input.size(1);
  const auto [blocks_h, blocks_w] = block_counts(w, input.size(2), input.size(3));
  const at::Tensor padded =
      (w.pad_h || w.pad_w ? at::constant_pad_nd(input, {w.pad_w, w.pad_w, w.pad_h, w.pad_h}, 0)
                          : input).contiguous();
  const auto s = padded.strides();
  // (batch, channel, kernel row, kernel col, block row, block col) over the padded image.
  const at::Tensor patches = padded.as_strided(
      {batch, channels, w.kernel_h, w.kernel_w, blocks_h, blocks_w},
      {s[0], s[1], w.dilation_h * s[2], w.dilation_w * s[3], w.stride_h * s[2], w.stride_w * s[3]});
  at::Tensor columns = patches.contiguous().view(
      {batch, channels * w.kernel_h * w.kernel_w, blocks_h * blocks_w});
  return ndim == 4 ? columns : columns.squeeze(0);
}

at::Tensor fold_blocks(const at::Tensor& self, at::IntArrayRef output_size,
                       at::IntArrayRef kernel_size, at::IntArrayRef dilation,
                       at::IntArrayRef padding, at::IntArrayRef stride) {
  if (!tile_dtype_of(self.scalar_type()) || self.scalar_type() == at::kBool)
    return fallback_call("aten::col2im", "",
                         {self, output_size, kernel_size, dilation, padding, stride});
  TORCH_CHECK(output_size.size() == 2, "It is expected output_size equals to 2, but got size ",
              output_size.size());
  const Window w = window_of(kernel_size, dilation, padding, stride);
  const int64_t ndim = self.dim();
  TORCH_CHECK((ndim == 2 && self.size(0) != 0 && self.size(1) != 0) ||
                  (ndim == 3 && self.size(1) != 0 && self.size(2) != 0),
              "Expected 2D or 3D (batch mode) tensor for input with possibly 0 batch size and "
              "non-zero dimensions for input, but got: ", self.sizes());
  const at::Tensor input = ndim == 3 ? self : self.unsqueeze(0);
  const int64_t kernel_area = w.kernel_h * w.kernel_w;
  TORCH_CHECK(input.size(1) % kernel_area == 0,
              "Expected size of input's dimension 1 to be divisible by the product of "
              "kernel_size, but got input.size(1)=", input.size(1), " and kernel_size=(",
              w.kernel_h, ", ", w.kernel_w, ").");
  const int64_t height = output_size[0], width = output_size[1];
  const auto [blocks_h, blocks_w] = block_counts(w, height, width);
  TORCH_CHECK(input.size(2) == blocks_h * blocks_w, "Given output_size=(", height, ", ", width,
              "), kernel_size=(", w.kernel_h, ", ", w.kernel_w, "), dilation=(", w.dilation_h,
              ", ", w.dilation_w, "), padding=(", w.pad_h, ", ", w.pad_w, "), stride=(",
              w.stride_h, ", ", w.stride_w, "), expected size of input's dimension 2 to match "
              "the calculated number of sliding blocks ", blocks_h, " * ", blocks_w, " = ",
              blocks_h * blocks_w, ", but got input.size(2)=", input.size(2), ".");
  const int64_t batch = input.size(0), channels = input.size(1) / kernel_area;
  at::Tensor padded = at::zeros({batch, channels, height + 2 * w.pad_h, width + 2 * w.pad_w},
                                input.options());
  const at::Tensor planes =
      input.reshape({batch, channels, w.kernel_h, w.kernel_w, blocks_h, blocks_w});
  for (int64_t i = 0; i < w.kernel_h; ++i) {
    for (int64_t j = 0; j < w.kernel_w; ++j) {
      const int64_t top = i * w.dilation_h, left = j * w.dilation_w;
      padded.slice(2, top, top + w.stride_h * (blocks_h - 1) + 1, w.stride_h)
          .slice(3, left, left + w.stride_w * (blocks_w - 1) + 1, w.stride_w)
          .add_(planes.select(2, i).select(2, j));
    }
  }
  at::Tensor image =
      padded.slice(2, w.pad_h, w.pad_h + height).slice(3, w.pad_w, w.pad_w + width).contiguous();
  return ndim == 3 ? image : image.squeeze(0);
}

// Tensor.unfold(dim, size, step) views windows; its gradient adds each
// window's gradient back. Offset k of every window is one strided slice along
// dim; descending k adds each element's windows in ascending order, as ATen's
// CPU kernel does.
at::Tensor unfold_backward(const at::Tensor& grad_in, at::IntArrayRef input_sizes, int64_t dim,
                           int64_t size, int64_t step) {
  if (!tile_dtype_of(grad_in.scalar_type()) || grad_in.scalar_type() == at::kBool)
    return fallback_call("aten::unfold_backward", "", {grad_in, input_sizes, dim, size, step});
  if (input_sizes.empty()) return grad_in.reshape({}).clone();  // a 0-d input's one window
  dim = at::maybe_wrap_dim(dim, static_cast<int64_t>(input_sizes.size()));
  const int64_t windows = grad_in.size(dim);
  at::Tensor grad_input = at::zeros(input_sizes, grad_in.options());
  if (windows == 0) return grad_input;
  for (int64_t k = size - 1; k >= 0; --k)
    grad_input.slice(dim, k, k + step * (windows - 1) + 1, step).add_(grad_in.select(-1, k));
  return grad_input;
}

}  // namespace

TORCH_LIBRARY_IMPL(aten, PrivateUse1, m) {
  m.impl("im2col", unfold_blocks);
  m.impl("im2col.out", [](const at::Tensor& self, at::IntArrayRef kernel_size, at::IntArrayRef dilation,
                          at::IntArrayRef padding, at::IntArrayRef stride, at::Tensor& out) -> at::Tensor& {
    return assign_out(out, unfold_blocks(self, kernel_size, dilation, padding, stride));
  });
  m.impl("unfold_backward", unfold_backward);
  m.impl("col2im", fold_blocks);
  m.impl("col2im.out", [](const at::Tensor& self, at::IntArrayRef output_size, at::IntArrayRef kernel_size,
                          at::IntArrayRef dilation, at::IntArrayRef padding, at::IntArrayRef stride,
                          at::Tensor& out) -> at::Tensor& {
    return assign_out(out, fold_blocks(self, output_size, kernel_size, dilation, padding, stride));
  });
}

}  // namespace accel::aten
