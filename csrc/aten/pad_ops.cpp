// Reflection and replication padding (1-D, 2-D, 3-D) and their gradients, as
// gathers on the device: each padded dim is one index_select with the source
// index of every output position (mirrored or clamped), and the gradient one
// index_add_ of the same indices. Checks and messages follow ATen's CPU kernels.
#include <ATen/TensorOperators.h>
#include <torch/library.h>

#include "aten/out_arg.h"

namespace accel::aten {
namespace {

enum class PadMode { Reflect, Replicate };

void check_input(const at::Tensor& self, at::IntArrayRef pad, PadMode mode) {
  const int64_t dims = static_cast<int64_t>(pad.size()) / 2;
  TORCH_CHECK(self.dim() == dims + 1 || self.dim() == dims + 2, "Expected ", dims + 1, "D or ",
              dims + 2, "D (batch mode) tensor with possibly 0 batch size and other non-zero "
              "dimensions for input, but got: ", self.sizes());
  for (int64_t d = self.dim() == dims + 2 ? 1 : 0; d < self.dim(); ++d)
    TORCH_CHECK(self.size(d) > 0, "Expected ", dims + 1, "D or ", dims + 2, "D (batch mode) tensor "
                "with possibly 0 batch size and other non-zero dimensions for input, but got: ",
                self.sizes());
  for (int64_t k = 0; k < dims; ++k) {
    const int64_t dim = self.dim() - 1 - k, size = self.size(dim);
    const int64_t left = pad[2 * k], right = pad[2 * k + 1];
    if (mode == PadMode::Reflect)
      TORCH_CHECK(left < size && right < size, "Argument #4: Padding size should be less than the "
                  "corresponding input dimension, but got: padding (", left, ", ", right,
                  ") at dimension ", dim, " of input ", self.sizes());
    TORCH_CHECK(size + left + right >= 1, "input (size ", size, ") is too small. Calculated output "
                "size: ", size + left + right);
  }
}

// The source position of each output position along one dim.
at::Tensor source_index(int64_t size, int64_t left, int64_t right, PadMode mode,
                        const at::TensorOptions& options) {
  at::Tensor i = at::arange(-left, size + right, options.dtype(at::kLong));
  if (mode == PadMode::Replicate) return i.clamp(0, size - 1);
  i = i.abs();  // mirror below 0
  return at::where(i >= size, 2 * (size - 1) - i, i);  // mirror past the end
}

at::Tensor pad_forward(const at::Tensor& self, c10::SymIntArrayRef padding, PadMode mode) {
  const auto pad = C10_AS_INTARRAYREF_SLOW(padding);
  check_input(self, pad, mode);
  at::Tensor out = self;
  for (size_t k = 0; k < pad.size() / 2; ++k) {
    const int64_t dim = self.dim() - 1 - static_cast<int64_t>(k);
    out = out.index_select(dim, source_index(self.size(dim), pad[2 * k], pad[2 * k + 1], mode,
                                             self.options()));
  }
  return out;
}

at::Tensor pad_backward(const at::Tensor& grad, const at::Tensor& self, c10::SymIntArrayRef padding,
                        PadMode mode) {
  const auto pad = C10_AS_INTARRAYREF_SLOW(padding);
  check_input(self, pad, mode);
  at::Tensor g = grad;
  for (size_t k = pad.size() / 2; k-- > 0;) {  // undo the gathers in reverse order
    const int64_t dim = self.dim() - 1 - static_cast<int64_t>(k);
    std::vector<int64_t> shape(g.sizes().begin(), g.sizes().end());
    shape[dim] = self.size(dim);
    g = at::zeros(shape, g.options()).index_add_(
        dim, source_index(self.size(dim), pad[2 * k], pad[2 * k + 1], mode, self.options()), g);
  }
  return g;
}

#define ACCEL_PAD(name, MODE)                                                                    \
  m.impl(#name, [](const at::Tensor& self, c10::SymIntArrayRef pad) {                           \
    return pad_forward(self, pad, MODE);                                                         \
  });                                                                                            \
  m.impl(#name ".out", [](const at::Tensor& self, c10::SymIntArrayRef pad, at::Tensor& out)     \
             -> at::Tensor& { return assign_out(out, pad_forward(self, pad, MODE)); });                \
  m.impl(#name "_backward", [](const at::Tensor& grad, const at::Tensor& self,                  \
                               c10::SymIntArrayRef pad) {                                        \
    return pad_backward(grad, self, pad, MODE);                                                  \
  });                                                                                            \
  m.impl(#name "_backward.grad_input", [](const at::Tensor& grad, const at::Tensor& self,       \
                                          c10::SymIntArrayRef pad, at::Tensor& grad_input)       \
             -> at::Tensor& { return assign_out(grad_input, pad_backward(grad, self, pad, MODE)); });

}  // namespace

TORCH_LIBRARY_IMPL(aten, PrivateUse1, m) {
  ACCEL_PAD(reflection_pad1d, PadMode::Reflect)
  ACCEL_PAD(reflection_pad2d, PadMode::Reflect)
  ACCEL_PAD(reflection_pad3d, PadMode::Reflect)
  ACCEL_PAD(replication_pad1d, PadMode::Replicate)
  ACCEL_PAD(replication_pad2d, PadMode::Replicate)
  ACCEL_PAD(replication_pad3d, PadMode::Replicate)
}

}  // namespace accel::aten
