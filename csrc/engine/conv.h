// Convolution programs as implicit GEMM: the output pixels (N*OH*OW) by the
// output channels form the tile grid, split over the cores; each core's
// reader gathers im2col blocks of K = C/groups*R*S into L1 and its matrix
// engine accumulates them in fp32. The input and weight gradients (and the
// transposed convolution) are the same machinery with other windows.
#pragma once

#include <cstdint>

#include "engine/matmul.h"
#include "engine/program.h"
#include "engine/tensor_ref.h"

namespace accel::engine {

// Window arguments of (h, w); a 3-D convolution's depth has its own.
struct Conv2dArgs {
  int64_t groups = 1;
  int64_t stride[2] = {1, 1};
  int64_t padding[2] = {0, 0};
  int64_t dilation[2] = {1, 1};
  struct {
    int64_t stride = 1, padding = 0, dilation = 1;
  } depth;
};

// What the forward convolution's writer does to each output block after the
// bias and before write-back (accel::conv_act): out = act(out * scale[c] +
// shift[c] + residual), every part optional; an inference batch norm folds to
// scale and shift. scale and shift are [Cout] vectors, residual a map of the
// output's sizes with any strides; all of a float dtype.
struct ConvEpilogue {
  const TensorRef* scale = nullptr;
  const TensorRef* shift = nullptr;
  const TensorRef* residual = nullptr;
  Activation act = Activation::None;

  bool any() const { return scale || shift || residual || act != Activation::None; }
};

// Maps are [n, c, h, w] (conv1d: h = 1) or [n, c, d, h, w] with any strides;
// filters [Cout, Cin/groups, R, S] or [Cout, Cin/groups, T, R, S], of the
// maps' rank; sizes are validated by the caller. bias may be null.
ProgramRecord conv2d_forward(const chip::Arch& arch, const TensorRef& x, const TensorRef& w,
                             const TensorRef* bias, const TensorRef& out, const Conv2dArgs& args,
                             const ConvEpilogue& epilogue = {});

// The forward program's writer on a result the host computed (bias included):
// `result` is fp32, [n][c][pixels] or, pixel_major, [n][pixels][c]; out
// receives it with the epilogue applied, as the program's blocks would be.
void conv_epilogue_write(const TensorRef& out, const float* result, bool pixel_major,
                         const ConvEpilogue& epilogue);

// grad_in from grad_out. With bias it is also conv_transpose2d's forward
// (x in the role of grad_out, w [Cin, Cout/groups, R, S]).
ProgramRecord conv2d_input_grad(const chip::Arch& arch, const TensorRef& grad_out,
                                const TensorRef& w, const TensorRef* bias,
                                const TensorRef& grad_in, const Conv2dArgs& args);

// grad_w[a, b, (t,) r, s] = sum over n and the small grid q of
// small[n, a, q] * big[n, b, q*stride - pad + r*dilation]: the convolution's
// (small = grad_out, big = x) and the transposed one's (small = x, big = grad_out).
ProgramRecord conv2d_weight_grad(const chip::Arch& arch, const TensorRef& small,
                                 const TensorRef& big, const TensorRef& grad_w,
                                 const Conv2dArgs& args);

// grad_bias[c] = sum of grad_out[:, c] (a [n, c, h, w] map).
ProgramRecord conv_bias_grad(const chip::Arch& arch, const TensorRef& grad_out,
                             const TensorRef& grad_bias);

}  // namespace accel::engine
