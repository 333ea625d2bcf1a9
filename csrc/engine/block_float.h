// Block-float programs: a float tensor's 32x32 tiles to the chip's Bfp8_b /
// Bfp4_b / Bfp2_b tile bytes (the packer's conversion) and back (the
// unpacker's). The tensor is viewed as [batch, rows, cols]; its tiles are
// zero-padded at the right and bottom edges and stored tile after tile,
// row-major over (batch, tile row, tile column), block_float_tile_bytes each.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "engine/program.h"
#include "engine/tensor_ref.h"
#include "kernels/formats/block_float.h"

namespace accel::engine {

// Tiles of a [batch, rows, cols] view.
struct BlockFloatTiling {
  int64_t batch, rows, cols;
  int64_t row_tiles() const;
  int64_t col_tiles() const;
  int64_t tiles() const { return batch * row_tiles() * col_tiles(); }
};
BlockFloatTiling block_float_tiling(const TensorRef& t);  // t is 3-D

// The tile work of tiles [begin, end): one core's share, or a host thread's
// when the tensor is on the CPU.
void pack_block_float_tiles(const TensorRef& src, kernels::BlockFloatFormat fmt, uint8_t* out,
                            int64_t begin, int64_t end);
void unpack_block_float_tiles(const uint8_t* in, kernels::BlockFloatFormat fmt, const TensorRef& out,
                              int64_t begin, int64_t end);

// A matrix stored as block-float tiles (a [stored_rows, stored_cols] tiling
// of pack_block_float_tiles), read as its transpose when `transposed`: a
// matmul operand that stays in its chip format (engine/matmul.h).
struct BlockFloatOperand {
  const uint8_t* tiles;
  kernels::BlockFloatFormat fmt;
  int64_t stored_rows, stored_cols;
  bool transposed;

  // The unpacker: expands block [r0, r0 + rows) x [c0, c0 + cols) of the
  // matrix as read into `out`, in dt (float32 or bfloat16, which hold every
  // Bfp8_b value exactly); returns the block's (row, column) element strides there.
  std::array<int64_t, 2> expand(int64_t r0, int64_t rows, int64_t c0, int64_t cols, DType dt,
                                std::vector<char>& out) const;
};

// The programs on the device's cores; out / in hold tiling.tiles() tiles.
ProgramRecord run_pack_block_float(const chip::Arch& arch, const TensorRef& src,
                                   kernels::BlockFloatFormat fmt, uint8_t* out);
ProgramRecord run_unpack_block_float(const chip::Arch& arch, const uint8_t* in,
                                     kernels::BlockFloatFormat fmt, const TensorRef& out);

}  // namespace accel::engine
