// How a matmul runs on the grid, after tt-metal's 2D-multicast matmul: cores
// along M share an in0 block multicast along their row, cores along N share an
// in1 block multicast down their column; each core streams K through its
// output block, holding a subblock of outputs in Dst at a time.
#include <algorithm>

#include "perf/cost.h"

namespace accel::perf {
namespace {
int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
}  // namespace

MatmulPlan plan_matmul(int64_t batch, int64_t m_tiles, int64_t n_tiles, int64_t k_tiles,
                       const std::string& in0_format, const std::string& in1_format,
                       const std::string& out_format, bool fp32_dest_acc,
                       const chip::Arch& arch) {
  MatmulPlan p;
  const int64_t m = std::max<int64_t>(1, batch) * m_tiles;
  if (m <= 0 || n_tiles <= 0 || k_tiles <= 0) return p;
  const int64_t a = tile_bytes(in0_format, arch), b = tile_bytes(in1_format, arch),
                o = tile_bytes(out_format, arch), acc = tile_bytes("Float32", arch);

  p.core_m = ceil_div(m, arch.grid_rows);
  p.core_n = ceil_div(n_tiles, arch.grid_cols);
  p.rows_used = ceil_div(m, p.core_m);
  p.cols_used = ceil_div(n_tiles, p.core_n);
  p.block_k = std::min(k_tiles, arch.matmul_inner_block_tiles);
  p.block_m = std::min(p.core_m, arch.matmul_block_tiles);
  p.block_n = std::min(p.core_n, arch.matmul_block_tiles);

  // Double-buffered input blocks, the output block, and fp32 partials when
  // accumulating in fp32 must share the core's L1; shrink the block until they do.
  auto l1_need = [&](int64_t bm, int64_t bn) {
    return 2 * p.block_k * (bm * a + bn * b) + bm * bn * o + (fp32_dest_acc ? bm * bn * acc : 0);
  };
  while (l1_need(p.block_m, p.block_n) > arch.l1_bytes_per_core &&
         (p.block_m > 1 || p.block_n > 1)) {
    if (p.block_m >= p.block_n) --p.block_m;
    else --p.block_n;
  }

  // Dst is split in halves so math fills one while pack drains the other.
  const int64_t dst_half = std::max<int64_t>(1, arch.dst_tiles(fp32_dest_acc) / 2);
  p.sub_w = std::min(p.block_n, dst_half);
  p.sub_h = std::min(p.block_m, std::max<int64_t>(1, dst_half / p.sub_w));

  p.passes_m = ceil_div(p.core_m, p.block_m);
  p.passes_n = ceil_div(p.core_n, p.block_n);
  // Each in0 block is read once per pass over N blocks, each in1 block once
  // per pass over M blocks; the multicast delivers them to the whole row/column.
  const int64_t in0_reads = m * k_tiles * a * p.passes_n;
  const int64_t in1_reads = k_tiles * n_tiles * b * p.passes_m;
  p.dram_read_bytes = in0_reads + in1_reads;
  p.dram_write_bytes = m * n_tiles * o;
  p.multicast_bytes = p.dram_read_bytes;
  return p;
}

}  // namespace accel::perf
