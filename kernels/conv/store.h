// The conv writer (fp32 accumulator block -> output format in DRAM, bias and
// the fused epilogue applied on the way) and the weight reader that lays filter taps out as the
// GEMM's B operand.
#pragma once

#include <cstdint>

#include "engine/matmul.h"
#include "engine/tensor_ref.h"
#include "kernels/conv/im2col.h"

namespace accel::kernels {

// An output feature map [n, c, d, h, w] with any strides (2-D: OD = 1), rows =
// pixels of its grid.
struct FeatureOut {
  void* data = nullptr;
  engine::DType dtype = engine::DType::F32;
  int64_t sn = 0, sc = 0, sd = 0, sh = 0, sw = 0;
  int64_t OD = 1, OH = 1, OW = 1;
  int64_t c0 = 0;              // the group's first channel
  const float* bias = nullptr;  // per channel, indexed from c0; may be null
  // accel::conv_act's epilogue after the bias, in fp32 before rounding to the
  // output format: y = act(y * scale[c] + shift[c] + residual[pixel, c]).
  // Each part is optional; scale and shift are indexed like bias.
  const float* scale = nullptr;
  const float* shift = nullptr;
  const void* residual = nullptr;  // a map of the output's sizes, its own strides
  engine::DType residual_dtype = engine::DType::F32;
  int64_t rn = 0, rc = 0, rd = 0, rh = 0, rw = 0;
  engine::Activation act = engine::Activation::None;

  bool has_epilogue() const {
    return scale || shift || residual || act != engine::Activation::None;
  }
};

// acc holds pixels [m0, m0+mb) x channels [n0, n0+nb): channel-major
// ([nb][mb], for maps whose pixels are contiguous) or pixel-major ([mb][nb]).
void store_block(const FeatureOut& o, const float* acc, bool channel_major, int64_t m0, int64_t mb,
                 int64_t n0, int64_t nb);

// Filter [D0, D1, T, R, S] (any strides) as float B operands, one per group:
// packed[g][j][k] with j the GEMM column and k the im2col column of `cols`
// (its order and channel count). dim0_is_col: the columns are dim 0 (the
// convolution's output channels); else dim 1 (its input gradient).
void pack_filter(const engine::TensorRef& w, int64_t groups, bool dim0_is_col, const Im2col& cols,
                 float* packed);

// Weight-gradient block: rows a in [a0, a0+ma) of dim 0, columns the im2col
// columns [k0, k0+kb) of `cols` (dim 1 channels and taps), row-major acc.
void store_filter_block(const engine::TensorRef& dw, int64_t a_base, const Im2col& cols,
                        const float* acc, int64_t a0, int64_t ma, int64_t k0, int64_t kb);

}  // namespace accel::kernels
