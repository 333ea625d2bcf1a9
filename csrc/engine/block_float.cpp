#include "engine/block_float.h"

#include <algorithm>
#include <array>

#include "engine/movement_layout.h"
#include "kernels/matmul/epilogue.h"

namespace accel::engine {
namespace {

using kernels::kBfpTileCols;
using kernels::kBfpTileElements;
using kernels::kBfpTileRows;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

struct TileOrigin {
  int64_t i, r0, c0, rows, cols;  // batch, first row/col, rows/cols inside the tensor
};

TileOrigin origin(const BlockFloatTiling& t, int64_t tile) {
  const int64_t per_batch = t.row_tiles() * t.col_tiles();
  const int64_t i = tile / per_batch, tr = tile % per_batch / t.col_tiles(), tc = tile % t.col_tiles();
  const int64_t r0 = tr * kBfpTileRows, c0 = tc * kBfpTileCols;
  return {i, r0, c0, std::min(kBfpTileRows, t.rows - r0), std::min(kBfpTileCols, t.cols - c0)};
}

const char* element(const TensorRef& t, const TileOrigin& o, int64_t r) {
  return static_cast<const char*>(t.data) +
         (o.i * t.strides[0] + (o.r0 + r) * t.strides[1] + o.c0 * t.strides[2]) * dtype_bytes(t.dtype);
}

ProgramRecord record(const char* op, const char* reader, const char* compute, const char* writer,
                     const std::string& in_format, const std::string& out_format, int64_t tiles,
                     int64_t in_bytes, int64_t out_bytes, const CoreSplit& split, int64_t l1) {
  ProgramRecord rec = layout::base_record(op, split, tiles, l1, reader, compute, writer);
  rec.input_format = in_format;
  rec.output_format = out_format;
  rec.dram_read_bytes = in_bytes;
  rec.dram_write_bytes = out_bytes;
  rec.noc_bytes = in_bytes + out_bytes;
  return rec;
}

}  // namespace

int64_t BlockFloatTiling::row_tiles() const { return ceil_div(rows, kBfpTileRows); }
int64_t BlockFloatTiling::col_tiles() const { return ceil_div(cols, kBfpTileCols); }

BlockFloatTiling block_float_tiling(const TensorRef& t) { return {t.sizes[0], t.sizes[1], t.sizes[2]}; }

void pack_block_float_tiles(const TensorRef& src, kernels::BlockFloatFormat fmt, uint8_t* out,
                            int64_t begin, int64_t end) {
  const BlockFloatTiling tiling = block_float_tiling(src);
  const int64_t tile_bytes = kernels::block_float_tile_bytes(fmt);
  std::array<float, kBfpTileElements> tile;
  for (int64_t t = begin; t < end; ++t) {
    const TileOrigin o = origin(tiling, t);
    tile.fill(0.f);  // the edge tiles' padding
    for (int64_t r = 0; r < o.rows; ++r)
      kernels::load_float_row(tile.data() + r * kBfpTileCols, element(src, o, r), src.dtype,
                              src.strides[2], o.cols);
    kernels::pack_block_float_tile(tile.data(), fmt, out + t * tile_bytes);
  }
}

void unpack_block_float_tiles(const uint8_t* in, kernels::BlockFloatFormat fmt, const TensorRef& out,
                              int64_t begin, int64_t end) {
  const BlockFloatTiling tiling = block_float_tiling(out);
  const int64_t tile_bytes = kernels::block_float_tile_bytes(fmt);
  std::array<float, kBfpTileElements> tile;
  for (int64_t t = begin; t < end; ++t) {
    const TileOrigin o = origin(tiling, t);
    kernels::unpack_block_float_tile(in + t * tile_bytes, fmt, tile.data());
    for (int64_t r = 0; r < o.rows; ++r)
      kernels::store_float_row(const_cast<char*>(element(out, o, r)), out.dtype, out.strides[2],
                               tile.data() + r * kBfpTileCols, o.cols);
  }
}

std::array<int64_t, 2> BlockFloatOperand::expand(int64_t r0, int64_t rows, int64_t c0, int64_t cols, DType dt,
                                                 std::vector<char>& out) const {
  // The block in stored coordinates.
  const int64_t sr0 = transposed ? c0 : r0, srows = transposed ? cols : rows;
  const int64_t sc0 = transposed ? r0 : c0, scols = transposed ? rows : cols;
  const int64_t width = dtype_bytes(dt);
  out.resize(srows * scols * width);
  const BlockFloatTiling tiling{1, stored_rows, stored_cols};
  const int64_t tile_bytes = kernels::block_float_tile_bytes(fmt);
  std::array<float, kBfpTileElements> tile;
  for (int64_t tr = sr0 / kBfpTileRows; tr * kBfpTileRows < sr0 + srows; ++tr) {
    for (int64_t tc = sc0 / kBfpTileCols; tc * kBfpTileCols < sc0 + scols; ++tc) {
      kernels::unpack_block_float_tile(tiles + (tr * tiling.col_tiles() + tc) * tile_bytes, fmt,
                                       tile.data());
      const int64_t tile_r0 = tr * kBfpTileRows, tile_c0 = tc * kBfpTileCols;
      const int64_t row_a = std::max(sr0, tile_r0), row_b = std::min(sr0 + srows, tile_r0 + kBfpTileRows);
      const int64_t col_a = std::max(sc0, tile_c0), col_b = std::min(sc0 + scols, tile_c0 + kBfpTileCols);
      for (int64_t r = row_a; r < row_b; ++r)
        kernels::store_float_row(out.data() + ((r - sr0) * scols + (col_a - sc0)) * width, dt, 1,
                                 tile.data() + (r - tile_r0) * kBfpTileCols + (col_a - tile_c0),
                                 col_b - col_a);
    }
  }
  return transposed ? std::array<int64_t, 2>{1, scols} : std::array<int64_t, 2>{scols, 1};
}

// Reader: the source's tiles (tilized from any strides) into L1; the packer
// converts each from Dst to the block format; writer: the tiles to DRAM.
ProgramRecord run_pack_block_float(const chip::Arch& arch, const TensorRef& src,
                                   kernels::BlockFloatFormat fmt, uint8_t* out) {
  const BlockFloatTiling tiling = block_float_tiling(src);
  const int64_t tile_bytes = kernels::block_float_tile_bytes(fmt);
  const int64_t in_tile_bytes = kBfpTileElements * dtype_bytes(src.dtype);
  const int64_t l1 = check_l1(arch, "pack_block_float", {{"in", 2, in_tile_bytes}, {"out", 2, tile_bytes}});
  const CoreSplit split = split_tiles(tiling.tiles(), arch.num_cores());
  run_on_cores(split, [&](int64_t, int64_t begin, int64_t end) {
    pack_block_float_tiles(src, fmt, out, begin, end);
  });
  return record("pack_block_float", "reader_strided_tilize", "pack_block_float_tile", "writer_interleaved",
                dtype_name(src.dtype), kernels::block_float_format_name(fmt), tiling.tiles(),
                tiling.tiles() * in_tile_bytes, tiling.tiles() * tile_bytes, split, l1);
}

// Reader: the block-float tiles into L1; the unpacker expands them to the
// output's format on their way to Dst; writer: untilized into the output.
ProgramRecord run_unpack_block_float(const chip::Arch& arch, const uint8_t* in,
                                     kernels::BlockFloatFormat fmt, const TensorRef& out) {
  const BlockFloatTiling tiling = block_float_tiling(out);
  const int64_t tile_bytes = kernels::block_float_tile_bytes(fmt);
  const int64_t out_tile_bytes = kBfpTileElements * dtype_bytes(out.dtype);
  const int64_t l1 =
      check_l1(arch, "unpack_block_float", {{"in", 2, tile_bytes}, {"out", 2, out_tile_bytes}});
  const CoreSplit split = split_tiles(tiling.tiles(), arch.num_cores());
  run_on_cores(split, [&](int64_t, int64_t begin, int64_t end) {
    unpack_block_float_tiles(in, fmt, out, begin, end);
  });
  return record("unpack_block_float", "reader_block_float_tiles", "unpack_block_float_tile",
                "writer_strided_untilize", kernels::block_float_format_name(fmt), dtype_name(out.dtype),
                tiling.tiles(), tiling.tiles() * tile_bytes, tiling.tiles() * out_tile_bytes, split, l1);
}

}  // namespace accel::engine
