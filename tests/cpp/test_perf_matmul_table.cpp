// The model against Tenstorrent's published matmul throughput
// (shared/reference/accelerators.md, from TTM tech_reports/GEMM_FLOPS/GEMM_FLOPS.md).
// Each row is modelled as the program a matmul of that shape would record;
// no row has its own correction.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "chip/arch.h"
#include "perf/cost.h"

using accel::engine::ProgramRecord;
using namespace accel;

namespace {

struct Row {
  const char* arch;
  int64_t m, k, n;
  const char* format;
  int fidelity;
  bool in0_in_l1;  // "input 0 sharded in L1": no DRAM read for in0
  bool traced;     // timed without host dispatch
  double published_tflops;
  const char* label;
};

// p150 "best case": the largest, grid-aligned shape in GEMM_FLOPS.md's
// Blackhole sweep (20480 x 26624 x 26624), where throughput peaks.
const Row kRows[] = {
    {"wormhole_n150", 16384, 16384, 16384, "Float16_b", 4, false, false, 54.31, "n150 16384 BF16 HiFi4"},
    {"wormhole_n150", 16384, 16384, 16384, "Float16_b", 2, false, false, 85.30, "n150 16384 BF16 HiFi2"},
    {"wormhole_n150", 16384, 16384, 16384, "Bfp8_b", 2, false, false, 102.42, "n150 16384 BFP8 HiFi2"},
    {"wormhole_n150", 16384, 16384, 16384, "Bfp8_b", 1, false, false, 163.11, "n150 16384 BFP8 LoFi"},
    {"wormhole_n150", 16384, 16384, 16384, "Bfp4_b", 1, false, true, 199.72, "n150 16384 BFP4 LoFi traced"},
    {"wormhole_n150", 2048, 2048, 2048, "Float16_b", 4, true, false, 50.85, "n150 2048 BF16 HiFi4 in0 L1"},
    {"wormhole_n150", 1024, 1024, 1024, "Float16_b", 4, false, false, 23.59, "n150 1024 BF16 HiFi4"},
    {"wormhole_n150", 512, 512, 512, "Float16_b", 4, false, false, 2.89, "n150 512 BF16 HiFi4"},
    {"wormhole_n150", 4096, 4096, 4096, "Float16_b", 2, false, false, 68.15, "n150 4096 BF16 HiFi2 default"},
    {"blackhole_p150", 20480, 26624, 26624, "Float16_b", 4, false, false, 168.24, "p150 best BF16 HiFi4"},
    {"blackhole_p150", 20480, 26624, 26624, "Bfp8_b", 2, false, false, 322.00, "p150 best BFP8 HiFi2"},
};

ProgramRecord matmul_record(const Row& row, const chip::Arch& arch) {
  const int64_t t = arch.tile_rows;
  ProgramRecord r;
  r.op = "matmul";
  r.compute = "matmul_block";
  r.input_format = r.in1_format = r.output_format = row.format;
  r.math_fidelity = row.fidelity;
  r.fp32_dest_acc = false;  // tt-metal's default for these formats
  r.m_tiles = row.m / t;
  r.k_tiles = row.k / t;
  r.n_tiles = row.n / t;
  r.flops = 2 * row.m * row.k * row.n;
  const auto plan = perf::plan_matmul({1, r.m_tiles, r.n_tiles, r.k_tiles}, row.format, row.format,
                                      row.format, false, arch);
  const int64_t in0_bytes = r.m_tiles * r.k_tiles * perf::tile_bytes(row.format, arch);
  r.dram_read_bytes = plan.dram_read_bytes - (row.in0_in_l1 ? in0_bytes * plan.passes_n : 0);
  r.dram_write_bytes = plan.dram_write_bytes;
  r.multicast_bytes = plan.multicast_bytes;
  r.noc_bytes = r.dram_read_bytes + r.dram_write_bytes;
  r.cores_used = plan.rows_used * plan.cols_used;
  r.tiles = r.m_tiles * r.n_tiles;
  r.max_tiles_per_core = plan.core_m * plan.core_n;
  return r;
}

double predicted_tflops(const Row& row) {
  const chip::Arch arch = chip::preset(row.arch);
  const ProgramRecord r = matmul_record(row, arch);
  const perf::Cost c = perf::estimate_cost(r, arch);
  const double seconds = c.time_s + (row.traced ? 0 : c.host_dispatch_s);
  return r.flops / seconds / 1e12;
}

}  // namespace

TEST(PublishedMatmulTable, MedianErrorWithinFifteenPercent) {
  std::vector<double> errors;
  std::printf("| row | published TFLOP/s | predicted TFLOP/s | error |\n|---|---|---|---|\n");
  for (const Row& row : kRows) {
    const double predicted = predicted_tflops(row);
    const double error = predicted / row.published_tflops - 1;
    errors.push_back(std::fabs(error));
    std::printf("| %s | %.2f | %.2f | %+.1f%% |\n", row.label, row.published_tflops, predicted,
                100 * error);
  }
  std::sort(errors.begin(), errors.end());
  const double median = errors[errors.size() / 2];
  std::printf("median absolute error: %.1f%%\n", 100 * median);
  EXPECT_LE(median, 0.15);
}

TEST(PublishedMatmulTable, LargeMatmulsWithinFifteenPercentEach) {
  // The rows where the chip, not host dispatch or configuration, sets the pace.
  for (const Row& row : kRows) {
    if (row.m < 2048) continue;
    if (std::string(row.label).find("default") != std::string::npos) continue;
    const double error = predicted_tflops(row) / row.published_tflops - 1;
    EXPECT_LE(std::fabs(error), 0.15) << row.label;
  }
}
