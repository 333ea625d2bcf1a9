// Invariants of the performance model (csrc/perf): direction of every effect
// the issue names, checked on records shaped like the engine's programs.
#include <gtest/gtest.h>

#include <stdexcept>

#include "chip/arch.h"
#include "perf/cost.h"
#include "perf/kernel_table.h"

using accel::engine::ProgramRecord;
using namespace accel;

namespace {

// What run_eltwise records for an op over `elements` values in `format`.
ProgramRecord eltwise(const chip::Arch& arch, int64_t elements, int inputs,
                      const std::string& kernel = "eltwise_binary_add",
                      const std::string& format = "Float16_b") {
  const int64_t area = arch.tile_rows * arch.tile_cols;
  ProgramRecord r;
  r.op = "add";
  r.compute = kernel;
  r.input_format = r.output_format = format;
  r.tiles = (elements + area - 1) / area;
  r.cores_used = std::min(r.tiles, arch.num_cores());
  r.max_tiles_per_core = (r.tiles + r.cores_used - 1) / r.cores_used;
  const int64_t tb = perf::tile_bytes(format, arch);
  r.dram_read_bytes = inputs * r.tiles * tb;
  r.dram_write_bytes = r.tiles * tb;
  r.noc_bytes = r.dram_read_bytes + r.dram_write_bytes;
  r.flops = elements;
  return r;
}

ProgramRecord matmul(const chip::Arch& arch, int64_t size, int fidelity = 4,
                     const std::string& format = "Float16_b", bool fp32_acc = false) {
  ProgramRecord r;
  r.op = "matmul";
  r.compute = "matmul_block";
  r.input_format = r.output_format = format;
  r.math_fidelity = fidelity;
  r.fp32_dest_acc = fp32_acc;
  r.m_tiles = r.n_tiles = r.k_tiles = size / arch.tile_rows;
  r.flops = 2 * size * size * size;
  const auto p = perf::plan_matmul({1, r.m_tiles, r.n_tiles, r.k_tiles}, format, format, format,
                                   fp32_acc, arch);
  r.dram_read_bytes = p.dram_read_bytes;
  r.dram_write_bytes = p.dram_write_bytes;
  r.multicast_bytes = p.multicast_bytes;
  r.noc_bytes = r.dram_read_bytes + r.dram_write_bytes;
  r.tiles = r.m_tiles * r.n_tiles;
  r.cores_used = p.rows_used * p.cols_used;
  return r;
}

const chip::Arch& n150() {
  static const chip::Arch a = chip::preset("wormhole_n150");
  return a;
}

}  // namespace

TEST(PerfModel, CostIsMonotonicInSize) {
  double last = 0;
  for (int64_t n : {1, 1024, 4096, 65536, 1 << 20, 1 << 24}) {
    const double t = perf::estimate_cost(eltwise(n150(), n, 2), n150()).time_s;
    EXPECT_GE(t, last) << n;
    last = t;
  }
  last = 0;
  for (int64_t n : {32, 128, 512, 1024, 2048, 4096}) {
    const auto c = perf::estimate_cost(matmul(n150(), n), n150());
    EXPECT_GT(c.time_s, last) << n;
    last = c.time_s;
  }
}

TEST(PerfModel, HigherFidelityTakesMoreCycles) {
  for (int64_t n : {256, 2048}) {
    const double lofi = perf::estimate_cost(matmul(n150(), n, 1), n150()).compute_cycles;
    const double hifi2 = perf::estimate_cost(matmul(n150(), n, 2), n150()).compute_cycles;
    const double hifi3 = perf::estimate_cost(matmul(n150(), n, 3), n150()).compute_cycles;
    const double hifi4 = perf::estimate_cost(matmul(n150(), n, 4), n150()).compute_cycles;
    EXPECT_GE(hifi4, hifi3);
    EXPECT_GE(hifi3, hifi2);
    EXPECT_GE(hifi2, lofi);
    EXPECT_GT(hifi4, lofi);
  }
}

TEST(PerfModel, Bfp8MovesFewerBytesThanBf16) {
  const auto bf16 = perf::estimate_cost(matmul(n150(), 4096, 2, "Float16_b"), n150());
  const auto bfp8 = perf::estimate_cost(matmul(n150(), 4096, 2, "Bfp8_b"), n150());
  EXPECT_LT(bfp8.dram_bytes, bf16.dram_bytes);
  EXPECT_LT(bfp8.noc_byte_hops, bf16.noc_byte_hops);
  EXPECT_LT(bfp8.time_s, bf16.time_s);
  EXPECT_EQ(perf::tile_bytes("Bfp8_b", n150()), 1088);
  EXPECT_EQ(perf::tile_bytes("Bfp4_b", n150()), 576);
  EXPECT_EQ(perf::tile_bytes("Float16_b", n150()), 2048);
}

TEST(PerfModel, LargeMatmulIsComputeBoundLargeEltwiseIsDramBound) {
  const auto mm = perf::estimate_cost(matmul(n150(), 8192), n150());
  EXPECT_EQ(mm.bound, "compute");
  EXPECT_GT(mm.util_compute, 0.5);
  const auto add = perf::estimate_cost(eltwise(n150(), 64 << 20, 2), n150());
  EXPECT_EQ(add.bound, "dram");
  EXPECT_GT(add.util_dram, 0.8);
  const auto exp = perf::estimate_cost(eltwise(n150(), 64 << 20, 1, "sfpu_exp"), n150());
  EXPECT_EQ(exp.bound, "dram");
}

TEST(PerfModel, DoublingDramBandwidthSpeedsOnlyTheDramBoundOp) {
  chip::Arch fast = n150();
  fast.dram_bandwidth_bytes_per_s *= 2;
  const auto add = eltwise(n150(), 64 << 20, 2);
  const auto mm = matmul(n150(), 8192);
  const double add_slow = perf::estimate_cost(add, n150()).time_s;
  const double add_fast = perf::estimate_cost(add, fast).time_s;
  EXPECT_LT(add_fast, 0.6 * add_slow);
  const double mm_slow = perf::estimate_cost(mm, n150()).time_s;
  const double mm_fast = perf::estimate_cost(mm, fast).time_s;
  EXPECT_NEAR(mm_fast / mm_slow, 1.0, 1e-3);
}

TEST(PerfModel, TranscendentalCostsMoreThanMultiplyAdd) {
  const auto relu = perf::estimate_cost(eltwise(n150(), 1 << 16, 1, "sfpu_relu"), n150());
  const auto exp = perf::estimate_cost(eltwise(n150(), 1 << 16, 1, "sfpu_exp"), n150());
  const auto add = perf::estimate_cost(eltwise(n150(), 1 << 16, 2), n150());
  EXPECT_GT(exp.math_cycles, relu.math_cycles);
  EXPECT_GT(exp.math_cycles, add.math_cycles);
  EXPECT_GT(perf::kernel_desc("sfpu_exp").sfpu_instructions,
            perf::kernel_desc("eltwise_ternary_lerp").sfpu_instructions);
}

TEST(PerfModel, Fp32AccumulationHalvesTilesInFlight) {
  // Half the Dst capacity: more math/pack handshakes for the same tiles.
  auto r = eltwise(n150(), 1 << 20, 1, "sfpu_exp");
  r.fp32_dest_acc = false;
  const double bf16_sync = perf::estimate_cost(r, n150()).sync_cycles;
  r.fp32_dest_acc = true;
  EXPECT_NEAR(perf::estimate_cost(r, n150()).sync_cycles, 2 * bf16_sync, 0.5 * n150().dst_sync_cycles);
  // And smaller matmul subblocks, so more unpacking per tile product.
  const auto mm16 = perf::plan_matmul({1, 64, 64, 64}, "Float16_b", "Float16_b", "Float16_b", false, n150());
  const auto mm32 = perf::plan_matmul({1, 64, 64, 64}, "Float16_b", "Float16_b", "Float16_b", true, n150());
  EXPECT_GT(mm16.sub_h * mm16.sub_w, mm32.sub_h * mm32.sub_w);
}

TEST(PerfModel, BfpOutputPaysFormatConversion) {
  const auto bf16 = perf::estimate_cost(eltwise(n150(), 1 << 20, 1, "sfpu_relu"), n150());
  auto rec = eltwise(n150(), 1 << 20, 1, "sfpu_relu", "Bfp8_b");
  const auto bfp8 = perf::estimate_cost(rec, n150());
  EXPECT_GT(bfp8.pack_cycles, bf16.pack_cycles * 0.5 + 64 * rec.max_tiles_per_core - 1);
}

TEST(PerfModel, InterleavingSpreadsPagesOverChannels) {
  // One page lands on one channel; twelve pages on twelve.
  auto one = eltwise(n150(), 1024, 0);
  one.dram_read_bytes = n150().dram_page_bytes;
  one.dram_write_bytes = 0;
  auto twelve = one;
  twelve.dram_read_bytes = 12 * n150().dram_page_bytes;
  EXPECT_DOUBLE_EQ(perf::estimate_cost(one, n150()).dram_cycles,
                   perf::estimate_cost(twelve, n150()).dram_cycles);
}

TEST(PerfModel, EnergyAndUtilisationAreConsistent) {
  for (const auto& rec : {eltwise(n150(), 1 << 22, 2), matmul(n150(), 2048)}) {
    const auto c = perf::estimate_cost(rec, n150());
    EXPECT_GT(c.energy_j, c.energy_static_j);
    EXPECT_NEAR(c.energy_j, c.energy_compute_j + c.energy_sram_j + c.energy_noc_j +
                                c.energy_dram_j + c.energy_static_j, 1e-12);
    EXPECT_NEAR(c.avg_power_w, c.energy_j / c.time_s, 1e-9);
    EXPECT_GT(c.avg_power_w, n150().static_power_w);
    for (double u : {c.util_compute, c.util_dram, c.util_noc, c.util_l1}) {
      EXPECT_GE(u, 0);
      EXPECT_LE(u, 1);
    }
  }
  // Bfp8 MACs cost less energy than bf16 ones.
  const auto bf16 = perf::estimate_cost(matmul(n150(), 2048, 2, "Float16_b"), n150());
  const auto bfp8 = perf::estimate_cost(matmul(n150(), 2048, 2, "Bfp8_b"), n150());
  EXPECT_LT(bfp8.energy_compute_j, bf16.energy_compute_j);
}

TEST(PerfModel, EmptyProgramCostsTheLaunch) {
  ProgramRecord r;
  const auto c = perf::estimate_cost(r, n150());
  EXPECT_EQ(c.bound, "launch");
  EXPECT_DOUBLE_EQ(c.time_s, n150().launch_overhead_us * 1e-6);
  const auto tiny = perf::estimate_cost(eltwise(n150(), 1, 2), n150());
  EXPECT_EQ(tiny.bound, "launch");
}

TEST(PerfModel, UnknownFormatIsAnError) {
  auto r = eltwise(n150(), 1024, 2);
  r.input_format = "Float7";
  EXPECT_THROW(perf::estimate_cost(r, n150()), std::invalid_argument);
}
