// The kernel table (csrc/perf/kernel_table_*.cpp): every entry is
// consistent and priced by the cost model; unknown kernels are errors; the
// per-op cost cache returns what the full evaluation does.
#include <gtest/gtest.h>

#include <set>
#include <stdexcept>
#include <string>

#include "chip/arch.h"
#include "perf/cost.h"
#include "perf/cost_cache.h"
#include "perf/kernel_table.h"

using accel::engine::ProgramRecord;
using namespace accel;
using perf::Engine;
using perf::KernelDesc;
using perf::KernelRole;

namespace {

const chip::Arch& n150() {
  static const chip::Arch a = chip::preset("wormhole_n150");
  return a;
}

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// The first format of the kernel's set: a record it accepts.
std::string format_for(const KernelDesc& k) {
  return perf::format_names(k.formats).front();
}

// A record of 64 tiles over 16 cores running `k`, as the engine would write it.
ProgramRecord stream_record(const KernelDesc& k) {
  const std::string format = format_for(k);
  const int64_t tile = perf::tile_bytes(format, n150());
  ProgramRecord r;
  r.op = "coverage";
  r.reader = "reader_tilize_interleaved";
  r.compute = k;
  r.writer = "writer_untilize_interleaved";
  r.input_format = r.output_format = format;
  r.tiles = 64;
  r.cores_used = 16;
  r.max_tiles_per_core = 4;
  r.flops = 64 * 1024 * k.flops_per_element;
  r.dram_read_bytes = 2 * 64 * tile;
  r.dram_write_bytes = 64 * tile;
  r.noc_bytes = r.dram_read_bytes + r.dram_write_bytes;
  if (k.engine == Engine::Matrix) {  // a product of 8 x 8 tiles over 8 K tiles
    r.m_tiles = r.n_tiles = r.k_tiles = 8;
    r.flops = 2 * 256LL * 256 * 256;
  }
  return r;
}

}  // namespace

TEST(KernelTable, EntriesAreConsistent) {
  std::set<std::string> names;
  ASSERT_GT(perf::kernel_table().size(), 150u);
  for (const KernelDesc& k : perf::kernel_table()) {
    const std::string name = k.name;
    SCOPED_TRACE(name);
    EXPECT_TRUE(names.insert(name).second) << "two entries";
    EXPECT_EQ(&perf::kernel_desc(name), &k);
    EXPECT_NE(k.formats, 0u);
    EXPECT_NE(std::string(k.op_class), "");
    EXPECT_GE(k.flops_per_element, 0);
    // Readers and writers move data; compute kernels run on an engine.
    const bool mover = k.role != KernelRole::Compute;
    EXPECT_EQ(mover, k.engine == Engine::Noc);
    if (starts_with(name, "reader_")) EXPECT_EQ(k.role, KernelRole::Reader);
    if (starts_with(name, "writer_")) EXPECT_EQ(k.role, KernelRole::Writer);
    // Only vector-engine kernels count vector instructions, and each one does.
    if (k.engine == Engine::Sfpu)
      EXPECT_TRUE(k.sfpu_instructions > 0 || k.sfpu_instructions == perf::kInstructionsFromFlops);
    else
      EXPECT_EQ(k.sfpu_instructions, 0);
  }
}

TEST(KernelTable, EveryComputeKernelHasACost) {
  for (const KernelDesc& k : perf::kernel_table()) {
    if (k.role != KernelRole::Compute) continue;
    SCOPED_TRACE(k.name);
    const ProgramRecord r = stream_record(k);
    perf::Cost c;
    ASSERT_NO_THROW(c = perf::estimate_cost(r, n150()));
    EXPECT_GT(c.time_s, c.launch_s);
    EXPECT_GT(c.energy_j, 0);
    if (k.engine == Engine::Sfpu) {
      EXPECT_GT(c.math_cycles, 0);
      EXPECT_GT(c.energy_compute_j, 0);
    }
    EXPECT_STREQ(r.compute_engine(), perf::engine_name(k.engine));
  }
}

TEST(KernelTable, EveryReaderAndWriterHasACost) {
  ProgramRecord base = stream_record(perf::kernel_desc("eltwise_binary_add"));
  for (const KernelDesc& k : perf::kernel_table()) {
    if (k.role == KernelRole::Compute) continue;
    SCOPED_TRACE(k.name);
    ProgramRecord r = base;
    (k.role == KernelRole::Reader ? r.reader : r.writer) = k;
    EXPECT_NO_THROW(perf::estimate_cost(r, n150()));
  }
  // A writer-only program (a constant fill) moves data and runs no math.
  ProgramRecord fill = base;
  fill.reader = fill.compute = "";
  fill.writer = "writer_fill_constant";
  fill.dram_read_bytes = 0;
  const auto c = perf::estimate_cost(fill, n150());
  EXPECT_EQ(c.math_cycles, 0);
  EXPECT_STREQ(fill.compute_engine(), "noc");
}

TEST(KernelTable, VectorEngineCountsOrderTheKernels) {
  const auto cycles = [](const char* kernel) {
    return perf::estimate_cost(stream_record(perf::kernel_desc(kernel)), n150()).math_cycles;
  };
  EXPECT_GT(cycles("sfpu_exp"), cycles("sfpu_relu"));
  EXPECT_GT(cycles("sfpu_mish"), cycles("sfpu_exp"));
  EXPECT_GT(cycles("eltwise_binary_div"), cycles("eltwise_binary_add"));
}

TEST(KernelTable, UnknownKernelIsAnError) {
  ProgramRecord r;
  try {
    r.compute = "sfpu_no_such_kernel";
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("sfpu_no_such_kernel"), std::string::npos);
  }
  EXPECT_EQ(perf::find_kernel("sfpu_no_such_kernel"), nullptr);
  EXPECT_THROW(perf::kernel_desc(""), std::invalid_argument);
  // "" is no kernel, not an unknown one.
  EXPECT_NO_THROW(r.reader = "");
  EXPECT_TRUE(r.reader.empty());
}

TEST(KernelTable, KernelInTheWrongRoleOrFormatIsAnError) {
  ProgramRecord r = stream_record(perf::kernel_desc("sfpu_exp"));
  r.compute = "reader_tilize_interleaved";
  EXPECT_THROW(perf::estimate_cost(r, n150()), std::invalid_argument);
  r = stream_record(perf::kernel_desc("eltwise_binary_bitwise_and"));
  r.input_format = r.output_format = "Float16_b";
  EXPECT_THROW(perf::estimate_cost(r, n150()), std::invalid_argument);
  r.input_format = r.output_format = "Int32";
  EXPECT_NO_THROW(perf::estimate_cost(r, n150()));
}

TEST(CostCache, ReturnsTheFullEvaluationPerSignature) {
  perf::clear_cost_cache();
  ProgramRecord r = stream_record(perf::kernel_desc("sfpu_exp"));
  const double first = perf::cached_time_s(r, n150());
  EXPECT_DOUBLE_EQ(first, perf::estimate_cost(r, n150()).time_s);
  EXPECT_DOUBLE_EQ(perf::cached_time_s(r, n150()), first);
  // Every field the cost reads is part of the signature.
  r.tiles *= 4;
  r.max_tiles_per_core *= 4;
  EXPECT_DOUBLE_EQ(perf::cached_time_s(r, n150()), perf::estimate_cost(r, n150()).time_s);
  EXPECT_NE(perf::cached_time_s(r, n150()), first);
  r.compute = "sfpu_relu";
  EXPECT_DOUBLE_EQ(perf::cached_time_s(r, n150()), perf::estimate_cost(r, n150()).time_s);
  r.input_format = r.output_format = "Float32";
  EXPECT_DOUBLE_EQ(perf::cached_time_s(r, n150()), perf::estimate_cost(r, n150()).time_s);
  // So is the arch.
  const chip::Arch p150 = chip::preset("blackhole_p150");
  EXPECT_DOUBLE_EQ(perf::cached_time_s(r, p150), perf::estimate_cost(r, p150).time_s);
  EXPECT_NE(perf::cached_time_s(r, p150), perf::cached_time_s(r, n150()));
}
