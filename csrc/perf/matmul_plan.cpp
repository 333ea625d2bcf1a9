// How a matmul runs on the grid. Each program gives every core an output
// block of core_m x core_n tiles; the core streams K through it in steps of
// block_k tiles, holding a block_m x block_n part of it in L1 per pass and a
// sub_h x sub_w subblock in Dst at a time. The programs differ in which cores
// read which operand from DRAM and what they multicast (docs/PERFORMANCE_MODEL.md).
#include "perf/matmul_plan.h"

#include <algorithm>
#include <stdexcept>

#include "perf/cost.h"

namespace accel::perf {
namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// tt-metal switches to a 1D program when one side is more than 8x the other.
constexpr int64_t kNarrowRatio = 8;
// Decode-shaped activations: at most two tile rows.
constexpr int64_t kSkinnyMaxTiles = 2;
// K tiles per step of the DRAM-sharded program's weight reads.
constexpr int64_t kShardedBlockK = 8;

struct TileBytes {
  int64_t in0, in1, out, acc;
};

int64_t l1_need(const TileBytes& t, int64_t bm, int64_t bn, int64_t bk, bool fp32_dest_acc) {
  // Double-buffered input blocks, the output block, and fp32 partials when
  // accumulating in fp32.
  return 2 * bk * (bm * t.in0 + bn * t.in1) + bm * bn * t.out + (fp32_dest_acc ? bm * bn * t.acc : 0);
}

// Dst is split in halves so math fills one while pack drains the other; the
// subblock is as much of the L1 block as half of Dst holds.
void fit_subblock(MatmulPlan& p, bool fp32_dest_acc, const chip::Arch& arch) {
  const int64_t dst_half = std::max<int64_t>(1, arch.dst_tiles(fp32_dest_acc) / 2);
  p.sub_w = std::min(p.block_n, dst_half);
  p.sub_h = std::min(p.block_m, std::max<int64_t>(1, dst_half / p.sub_w));
}

// The per-core output (core_m x core_n) in blocks that fit L1 beside the
// input buffers, then the Dst subblock and the passes.
void fit_blocks(MatmulPlan& p, const TileBytes& t, bool fp32_dest_acc, const chip::Arch& arch,
                int64_t block_cap) {
  p.block_m = std::min(p.core_m, block_cap);
  p.block_n = std::min(p.core_n, block_cap);
  while (l1_need(t, p.block_m, p.block_n, p.block_k, fp32_dest_acc) > arch.l1_bytes_per_core &&
         (p.block_m > 1 || p.block_n > 1)) {
    if (p.block_m >= p.block_n) --p.block_m;
    else --p.block_n;
  }
  fit_subblock(p, fp32_dest_acc, arch);
  p.passes_m = ceil_div(p.core_m, p.block_m);
  p.passes_n = ceil_div(p.core_n, p.block_n);
  p.l1_bytes = l1_need(t, p.block_m, p.block_n, p.block_k, fp32_dest_acc);
}

// The cores_used cores laid out row by row on the grid.
void lay_out_rows(MatmulPlan& p, const chip::Arch& arch) {
  p.cols_used = std::min(p.cores_used, arch.grid_cols);
  p.rows_used = ceil_div(p.cores_used, arch.grid_cols);
}

double mean_hops(const chip::Arch& a) {
  return (a.grid_rows - 1) / 2.0 + (a.grid_cols - 1) / 2.0 + 1;
}

MatmulProgram choose(const MatmulShape& s, const chip::Arch& arch) {
  if (s.in1_batched && s.batch > 1) return MatmulProgram::BatchedReuse;
  const int64_t m = s.batch * s.m_tiles, n = s.n_tiles;
  if (m <= kSkinnyMaxTiles && n >= arch.dram_channels && s.k_tiles >= 2)
    return MatmulProgram::DramSharded;
  const bool narrow = std::max(m, n) > kNarrowRatio * std::min(m, n) || std::min(m, n) <= 1;
  if (!narrow) return MatmulProgram::Mcast2D;
  return m > n ? MatmulProgram::Mcast1DIn1 : MatmulProgram::Mcast1DIn0;
}

// In0 is read from DRAM once per pass over N blocks, in1 once per pass over
// M blocks.
struct OperandReads {
  int64_t in0, in1;
};
OperandReads operand_reads(const MatmulPlan& p, int64_t m, const MatmulShape& s, const TileBytes& t) {
  return {m * s.k_tiles * t.in0 * p.passes_n, s.k_tiles * s.n_tiles * t.in1 * p.passes_m};
}

// Every core reads its own slice of one operand; a sender reads the other and
// multicasts it, block_k tiles per step, to `span` hops of cores.
void multicast_one_operand(MatmulPlan& p, int64_t m, const MatmulShape& s, const TileBytes& t,
                           bool mcast_in0, int64_t span) {
  const OperandReads reads = operand_reads(p, m, s, t);
  p.dram_read_bytes = reads.in0 + reads.in1;
  p.multicast_bytes = mcast_in0 ? reads.in0 : reads.in1;
  p.multicast_span = span;
  p.multicast_steps = p.passes_m * p.passes_n * ceil_div(s.k_tiles, p.block_k);
  p.multicast_step_bytes = p.block_k * (mcast_in0 ? p.block_m * t.in0 : p.block_n * t.in1);
  p.core_noc_in_bytes = p.multicast_bytes + (mcast_in0 ? reads.in1 : reads.in0) / p.cores_used;
}

// in0 blocks go along the grid's rows, in1 blocks down its columns; the
// first column and the first row of cores read them and multicast them.
void plan_2d(MatmulPlan& p, int64_t m, const MatmulShape& s, const TileBytes& t, bool acc,
             const chip::Arch& arch) {
  p.core_m = ceil_div(m, arch.grid_rows);
  p.core_n = ceil_div(s.n_tiles, arch.grid_cols);
  p.rows_used = ceil_div(m, p.core_m);
  p.cols_used = ceil_div(s.n_tiles, p.core_n);
  p.cores_used = p.rows_used * p.cols_used;
  fit_blocks(p, t, acc, arch, arch.matmul_block_tiles);
  const OperandReads reads = operand_reads(p, m, s, t);
  p.dram_read_bytes = reads.in0 + reads.in1;
  p.multicast_bytes = p.dram_read_bytes;
  p.multicast_span = std::max(p.rows_used, p.cols_used) - 1;
  p.multicast_steps = p.passes_m * p.passes_n * ceil_div(s.k_tiles, p.block_k);
  p.multicast_step_bytes = p.block_k * (p.block_m * t.in0 + p.block_n * t.in1);
  p.core_noc_in_bytes = p.dram_read_bytes / std::max<int64_t>(1, std::min(p.rows_used, p.cols_used));
  p.dram_hops = mean_hops(arch);
}

// One operand is split over every core; the other is read once by a sender
// and multicast to the whole rectangle. mcast_in0: the wide case.
void plan_1d(MatmulPlan& p, int64_t m, const MatmulShape& s, const TileBytes& t, bool acc,
             bool mcast_in0, const chip::Arch& arch) {
  const int64_t split = mcast_in0 ? s.n_tiles : m;
  const int64_t per_core = ceil_div(split, arch.num_cores());
  p.cores_used = ceil_div(split, per_core);
  p.core_m = mcast_in0 ? m : per_core;
  p.core_n = mcast_in0 ? per_core : s.n_tiles;
  lay_out_rows(p, arch);
  // As tt-metal's 1D configs: the core's whole output if L1 holds it, so the
  // operand it reads alone is read once.
  fit_blocks(p, t, acc, arch, std::max(p.core_m, p.core_n));
  multicast_one_operand(p, m, s, t, mcast_in0, p.rows_used + p.cols_used - 2);
  p.dram_hops = mean_hops(arch);
}

// Weights width-sharded over the DRAM banks: the core beside each bank reads
// only its own slice, one hop away; the few activation rows are multicast.
void plan_dram_sharded(MatmulPlan& p, int64_t m, const MatmulShape& s, const TileBytes& t, bool acc,
                       const chip::Arch& arch) {
  const int64_t per_core = ceil_div(s.n_tiles, arch.dram_channels);
  p.cores_used = ceil_div(s.n_tiles, per_core);
  p.core_m = m;
  p.core_n = per_core;
  p.rows_used = arch.grid_rows;  // bank-adjacent cores sit on the grid's edges
  p.cols_used = arch.grid_cols;
  // A core's whole weight slice is its output block, and K is streamed in
  // deep steps, so the activations are multicast a few times only.
  p.block_k = std::min(s.k_tiles, kShardedBlockK);
  fit_blocks(p, t, acc, arch, std::max(p.core_m, p.core_n));
  multicast_one_operand(p, m, s, t, /*mcast_in0=*/true, arch.grid_rows + arch.grid_cols - 2);
  p.dram_hops = 1;
}

// Both operands differ per batch, so nothing is shared between cores: each
// reads the in0 rows and in1 columns of its own output blocks.
void plan_batched(MatmulPlan& p, const MatmulShape& s, const TileBytes& t, bool acc,
                  const chip::Arch& arch) {
  int64_t bm = std::min(s.m_tiles, arch.matmul_block_tiles);
  int64_t bn = std::min(s.n_tiles, arch.matmul_block_tiles);
  auto blocks = [&] { return s.batch * ceil_div(s.m_tiles, bm) * ceil_div(s.n_tiles, bn); };
  while (blocks() < arch.num_cores() && (bm > 1 || bn > 1)) {
    if (bm >= bn) bm = ceil_div(bm, 2);
    else bn = ceil_div(bn, 2);
  }
  while (l1_need(t, bm, bn, p.block_k, acc) > arch.l1_bytes_per_core && (bm > 1 || bn > 1)) {
    if (bm >= bn) --bm;
    else --bn;
  }
  const int64_t total_blocks = blocks();
  p.cores_used = std::min(total_blocks, arch.num_cores());
  const int64_t core_blocks = ceil_div(total_blocks, p.cores_used);
  lay_out_rows(p, arch);
  p.core_m = bm;
  p.core_n = bn * core_blocks;
  p.block_m = bm;
  p.block_n = bn;
  fit_subblock(p, acc, arch);
  p.passes_m = 1;
  p.passes_n = core_blocks;
  p.l1_bytes = l1_need(t, bm, bn, p.block_k, acc);
  const int64_t block_reads = s.k_tiles * (bm * t.in0 + bn * t.in1);
  p.dram_read_bytes = total_blocks * block_reads;
  p.core_noc_in_bytes = core_blocks * block_reads;
  p.dram_hops = mean_hops(arch);
}

}  // namespace

namespace {
struct ProgramNames {
  const char* program;
  const char* reader;
};
// In MatmulProgram's order.
constexpr ProgramNames kNames[] = {
    {"matmul_2d_mcast", "reader_matmul_2d_mcast"},
    {"matmul_1d_mcast_in0", "reader_matmul_1d_mcast_in0"},
    {"matmul_1d_mcast_in1", "reader_matmul_1d_mcast_in1"},
    {"matmul_dram_sharded", "reader_matmul_dram_sharded"},
    {"matmul_batched_reuse", "reader_matmul_batched"},
};
}  // namespace

const char* matmul_program_name(MatmulProgram program) {
  return kNames[static_cast<int>(program)].program;
}

const char* matmul_reader_name(MatmulProgram program) {
  return kNames[static_cast<int>(program)].reader;
}

MatmulPlan plan_matmul(const MatmulShape& s, const std::string& in0_format,
                       const std::string& in1_format, const std::string& out_format,
                       bool fp32_dest_acc, const chip::Arch& arch) {
  MatmulPlan p;
  const int64_t batch = std::max<int64_t>(1, s.batch);
  if (s.m_tiles <= 0 || s.n_tiles <= 0 || s.k_tiles <= 0) return p;
  const TileBytes t{tile_bytes(in0_format, arch), tile_bytes(in1_format, arch),
                    tile_bytes(out_format, arch), tile_bytes("Float32", arch)};
  MatmulShape shape = s;
  shape.batch = batch;
  p.program = choose(shape, arch);
  p.block_k = std::min(s.k_tiles, arch.matmul_inner_block_tiles);
  const int64_t m = batch * s.m_tiles;  // the batch folds into M unless in1 is batched
  switch (p.program) {
    case MatmulProgram::Mcast2D: plan_2d(p, m, shape, t, fp32_dest_acc, arch); break;
    case MatmulProgram::Mcast1DIn0: plan_1d(p, m, shape, t, fp32_dest_acc, true, arch); break;
    case MatmulProgram::Mcast1DIn1: plan_1d(p, m, shape, t, fp32_dest_acc, false, arch); break;
    case MatmulProgram::DramSharded: plan_dram_sharded(p, m, shape, t, fp32_dest_acc, arch); break;
    case MatmulProgram::BatchedReuse: plan_batched(p, shape, t, fp32_dest_acc, arch); break;
  }
  p.dram_write_bytes = m * s.n_tiles * t.out;
  return p;
}

}  // namespace accel::perf
