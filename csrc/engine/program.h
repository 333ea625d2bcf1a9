// An op on the chip is a program: its output tiles are split over the cores,
// and each core runs reader -> compute -> writer through circular buffers in
// its L1. This file holds what every program shares: the split, the L1 plan,
// the per-core launch and the record the performance model consumes.
#pragma once

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "chip/arch.h"
#include "perf/kernel_table.h"

namespace accel::engine {

struct L1OverflowError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A contiguous range of tiles per core, like tt-metal's split_work_to_cores.
struct CoreSplit {
  int64_t cores_used = 0;
  std::vector<int64_t> first_tile;  // size cores_used + 1
  int64_t tiles(int64_t core) const { return first_tile[core + 1] - first_tile[core]; }
  int64_t max_tiles() const {
    int64_t most = 0;
    for (int64_t c = 0; c < cores_used; ++c) most = most > tiles(c) ? most : tiles(c);
    return most;
  }
};
CoreSplit split_tiles(int64_t total_tiles, int64_t num_cores);

// One circular buffer: `pages` tiles of `tile_bytes` each.
struct CircularBuffer {
  std::string name;
  int64_t pages;
  int64_t tile_bytes;
  int64_t bytes() const { return pages * tile_bytes; }
};

// Sums the buffers; throws L1OverflowError naming them when they exceed a core's L1.
int64_t check_l1(const chip::Arch& arch, const std::string& op,
                 const std::vector<CircularBuffer>& buffers);

// What a program did, per the chip's roles. The cost model reads this.
struct ProgramRecord {
  std::string op;
  // Entries of the kernel table (perf/kernel_table.h); assigning an unknown
  // name throws std::invalid_argument.
  perf::KernelRef reader, compute, writer;
  std::string input_format, output_format;
  int math_fidelity = 4;
  bool fp32_dest_acc = true;
  int64_t flops = 0;
  int64_t dram_read_bytes = 0;
  int64_t dram_write_bytes = 0;
  int64_t noc_bytes = 0;
  int64_t tiles = 0;
  int64_t cores_used = 0;
  int64_t max_tiles_per_core = 0;
  int64_t l1_bytes_per_core = 0;
  int device = 0;

  // Read by the performance model (csrc/perf); all optional.
  // A matrix-engine product: batch x [m_tiles x k_tiles] @ [k_tiles x n_tiles]
  // in tiles; m_tiles == 0 when the program is not one.
  int64_t batch = 1;
  int64_t m_tiles = 0, n_tiles = 0, k_tiles = 0;
  bool in1_batched = false;   // in1 differs per batch; otherwise the batch folds into M
  std::string in1_format;     // second operand's format when it differs from input_format
  perf::KernelRef sfpu_function;  // vector-engine cost entry when it differs from `compute`
  int64_t multicast_bytes = 0;  // bytes sent once and delivered to a row/column of cores
  // Seconds on the chip-to-chip (Ethernet) links, priced by a collective
  // model rather than from the fields above; such a program holds no Tensix cores.
  double link_s = 0;

  // The engine the compute kernel runs on, from its table entry; a program
  // with no compute kernel only moves data.
  const char* compute_engine() const {
    return perf::engine_name(compute ? compute.desc()->engine : perf::Engine::Noc);
  }
};

// Runs body(core, first_tile, end_tile) for every core with work, the cores
// emulated in parallel on the host's threads.
void run_on_cores(const CoreSplit& split,
                  const std::function<void(int64_t core, int64_t begin, int64_t end)>& body);

// Like run_on_cores, but hands each host thread the whole range of tiles of
// the cores it emulates, so that work set up once per piece of data (a
// matmul's blocks, a fused job) is set up once per thread, not per core.
void run_on_host_threads(const CoreSplit& split, const std::function<void(int64_t begin, int64_t end)>& body);

// Profiling: programs are appended while a collector is active.
void set_recording(bool on);
bool recording();
void record(ProgramRecord rec);
std::vector<ProgramRecord> take_records();
// Called with every program record, whether or not a collector is active:
// the device clock advances by each program's modelled time (perf/clock.h).
using RecordObserver = void (*)(const ProgramRecord&);
void set_record_observer(RecordObserver observer);

}  // namespace accel::engine
