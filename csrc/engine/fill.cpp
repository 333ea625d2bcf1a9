#include "engine/fill.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace accel::engine {
namespace {

// Element offset of out's i-th element (row-major) for a strided out.
int64_t offset_of(const TensorRef& t, int64_t i) {
  int64_t offset = 0;
  for (int64_t d = t.dim() - 1; d >= 0 && i > 0; --d) {
    offset += (i % t.sizes[d]) * t.strides[d];
    i /= t.sizes[d];
  }
  return offset;
}

}  // namespace

ProgramRecord run_fill(const chip::Arch& arch, const char* op, const TensorRef& out,
                       const kernels::FillParams& params) {
  const int64_t tile = arch.tile_rows * arch.tile_cols;
  const int64_t width = dtype_bytes(out.dtype);
  const int64_t numel = out.numel();
  const int64_t tiles = (numel + tile - 1) / tile;
  const int64_t l1 = check_l1(arch, op, {{"out", 2, tile * width}});
  const bool contiguous = out.is_contiguous();
  const CoreSplit split = split_tiles(tiles, arch.num_cores());

  run_on_cores(split, [&](int64_t, int64_t begin, int64_t end) {
    const int64_t first = begin * tile;
    const int64_t count = std::min(end * tile, numel) - first;
    if (contiguous) {
      // Writer: generates straight into its pages of the output.
      kernels::generate(static_cast<char*>(out.data) + first * width, out.dtype, first, count, params);
      return;
    }
    std::vector<char> page(tile * width);
    for (int64_t t0 = first; t0 < first + count; t0 += tile) {
      const int64_t n = std::min(tile, first + count - t0);
      kernels::generate(page.data(), out.dtype, t0, n, params);
      for (int64_t i = 0; i < n; ++i)
        std::memcpy(static_cast<char*>(out.data) + offset_of(out, t0 + i) * width, page.data() + i * width,
                    width);
    }
  });

  ProgramRecord rec;
  rec.op = op;
  rec.reader = "";
  rec.compute = "";
  rec.writer = params.kind == kernels::FillKind::Constant ? "writer_fill_constant" : "writer_fill_sequence";
  rec.compute_engine = "sfpu";
  rec.output_format = dtype_name(out.dtype);
  rec.flops = params.kind == kernels::FillKind::Constant ? 0 : 2 * numel;
  rec.dram_write_bytes = tiles * tile * width;
  rec.noc_bytes = rec.dram_write_bytes;
  rec.tiles = tiles;
  rec.cores_used = split.cores_used;
  for (int64_t c = 0; c < split.cores_used; ++c)
    rec.max_tiles_per_core = std::max(rec.max_tiles_per_core, split.tiles(c));
  rec.l1_bytes_per_core = l1;
  return rec;
}

}  // namespace accel::engine
