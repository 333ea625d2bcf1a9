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

// A feature map indexed [n, c, d, h, w] with any strides (a 2-D map has
// D = 1), viewed as the im2col matrix: rows are the pixels (n, od, oh, ow) of
// an OD x OH x OW grid, columns the taps (c, t, r, s), or (t, r, s, c) when
// channels_inner.
struct Im2col {
  const void* data = nullptr;
  engine::DType dtype = engine::DType::F32;
  int64_t sn = 0, sc = 0, sd = 0, sh = 0, sw = 0;  // element strides
  int64_t D = 1, H = 1, W = 1;                     // source extent
  int64_t OD = 1, OH = 1, OW = 1;                  // grid the rows walk
  int64_t T = 1, R = 1, S = 1;                     // kernel taps
  int64_t c0 = 0, C = 1;  // first channel and channel count (one group)
  Window wd, wh, ww;
  bool channels_inner = false;
  int64_t cols() const { return C * T * R * S; }
  int64_t taps() const { return T * R * S; }
};

// Splits a row index into (n, od, oh, ow) of the OD x OH x OW grid.
struct Pixel {
  int64_t n, od, oh, ow;
};
inline Pixel decode_pixel(int64_t m, int64_t OD, int64_t OH, int64_t OW) {
  const int64_t plane = OH * OW, volume = OD * plane;
  return {m / volume, (m % volume) / plane, (m % plane) / OW, m % OW};
}

// Rows [m0, m0+mb) x columns [k0, k0+kb) as float. With channels_inner the
// block is row-major [mb][kb], else column-major ([kb][mb]), whichever keeps
// the source reads contiguous.
void gather_im2col(const Im2col& g, int64_t m0, int64_t mb, int64_t k0, int64_t kb, float* dst);

// Decodes a column index into (c, t, r, s) in the matrix's column order.
inline void decode_col(const Im2col& g, int64_t k, int64_t& c, int64_t& t, int64_t& r, int64_t& s) {
  const int64_t tap = g.channels_inner ? k / g.C : k % g.taps();
  c = g.channels_inner ? k % g.C : k / g.taps();
  s = tap % g.S;
  r = (tap / g.S) % g.R;
  t = tap / (g.S * g.R);
}

}  // namespace accel::kernels
