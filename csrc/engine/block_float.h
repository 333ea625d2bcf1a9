// Block-float programs: a float tensor's 32x32 tiles to the chip's Bfp8_b /
// Bfp4_b / Bfp2_b tile bytes (the packer's conversion) and back (the
// unpacker's). The tensor is viewed as [batch, rows, cols]; its tiles are
// zero-padded at the right and bottom edges and stored tile after tile,
// row-major over (batch, tile row, tile column), block_float_tile_bytes each.
#pragma once

#include <cstdint>

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

// The programs on the device's cores; out / in hold tiling.tiles() tiles.
ProgramRecord run_pack_block_float(const chip::Arch& arch, const TensorRef& src,
                                   kernels::BlockFloatFormat fmt, uint8_t* out);
ProgramRecord run_unpack_block_float(const chip::Arch& arch, const uint8_t* in,
                                     kernels::BlockFloatFormat fmt, const TensorRef& out);

}  // namespace accel::engine
