// The conv reader: gathers a block of the im2col matrix of a feature map
// straight from DRAM into L1, so the matrix engine sees a dense GEMM operand
// (implicit GEMM: the full im2col matrix never exists).
#pragma once

#include <cstdint>

#include "engine/tensor_ref.h"

namespace accel::kernels {

// Maps an output coordinate o and a kernel tap r to a source coordinate
// (o * stride + offset + r * dilation) / up, a hit only when the division is
// exact and the result in range. Convolution: up = 1, offset = -pad. Its
// input gradient (and the transposed convolution): stride 1, offset = pad,
// dilation = -dilation, up = the convolution's stride.
struct Window {
  int64_t stride = 1, offset = 0, dilation = 1, up = 1;
};

// A feature map indexed [n, c, h, w] with any strides, viewed as the im2col
// matrix: rows are the pixels (n, oh, ow) of an OH x OW grid, columns the
// taps (c, r, s), or (r, s, c) when channels_inner.
struct Im2col {
  const void* data = nullptr;
  engine::DType dtype = engine::DType::F32;
  int64_t sn = 0, sc = 0, sh = 0, sw = 0;  // element strides
  int64_t H = 1, W = 1;                    // source extent
  int64_t OH = 1, OW = 1;                  // grid the rows walk
  int64_t R = 1, S = 1;                    // kernel taps
  int64_t c0 = 0, C = 1;                   // first channel and channel count (one group)
  Window wh, ww;
  bool channels_inner = false;
  int64_t cols() const { return C * R * S; }
};

// Rows [m0, m0+mb) x columns [k0, k0+kb) as float. With channels_inner the
// block is row-major [mb][kb], else column-major ([kb][mb]), whichever keeps
// the source reads contiguous.
void gather_im2col(const Im2col& g, int64_t m0, int64_t mb, int64_t k0, int64_t kb, float* dst);

// Decodes a column index into (c, r, s) in the matrix's column order.
inline void decode_col(const Im2col& g, int64_t k, int64_t& c, int64_t& r, int64_t& s) {
  if (g.channels_inner) {
    c = k % g.C;
    s = (k / g.C) % g.S;
    r = k / (g.C * g.S);
  } else {
    s = k % g.S;
    r = (k / g.S) % g.R;
    c = k / (g.R * g.S);
  }
}

}  // namespace accel::kernels
