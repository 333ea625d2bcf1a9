// The iteration space of an element-wise program, as [batch, rows, cols] in
// 32x32 tiles. The element-wise and fused programs plan and split it alike.
#pragma once

#include <cstdint>

#include "engine/tensor_ref.h"

namespace accel::engine {

struct TileGrid {
  static constexpr int64_t kTile = 32;
  int64_t batch = 1, rows = 0, cols = 0, row_tiles = 0, col_tiles = 0;
  bool flat = false;  // rows of 32 consecutive elements, as a coalesced program tiles
  int64_t tiles() const { return batch * row_tiles * col_tiles; }
};

// Flat tiles out's elements in rows of 32 consecutive ones; otherwise the
// grid is out's own last two dims, so a transposed output still moves by tiles.
inline TileGrid tile_grid(const TensorRef& out, bool flat) {
  constexpr int64_t kTile = TileGrid::kTile;
  TileGrid g;
  const int64_t n = out.numel();
  g.flat = flat;
  if (flat) {
    g.cols = kTile;
    g.rows = (n + kTile - 1) / kTile;
  } else {
    g.cols = out.sizes.back();
    g.rows = out.sizes[out.dim() - 2];
    g.batch = g.rows * g.cols == 0 ? 0 : n / (g.rows * g.cols);
  }
  g.row_tiles = (g.rows + kTile - 1) / kTile;
  g.col_tiles = (g.cols + kTile - 1) / kTile;
  return g;
}

// Element offset of (batch b, row r, col 0) of t in a grid that is not flat.
inline int64_t batch_row_offset(const TensorRef& t, int64_t b, int64_t r) {
  int64_t offset = r * t.strides[t.dim() - 2];
  for (int64_t d = t.dim() - 3; d >= 0 && b > 0; --d) {
    offset += (b % t.sizes[d]) * t.strides[d];
    b /= t.sizes[d];
  }
  return offset;
}

inline int64_t col_stride(const TensorRef& t) { return t.dim() == 0 ? 0 : t.strides.back(); }

}  // namespace accel::engine
