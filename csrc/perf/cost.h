// The performance model: what one program would cost on the chip an Arch
// describes. A pure function of the ProgramRecord and the Arch, no PyTorch
// types, so architects can evaluate programs that never ran.
// docs/PERFORMANCE_MODEL.md explains the model, its constants and its check
// against published measurements.
#pragma once

#include <cstdint>
#include <string>

#include "chip/arch.h"
#include "engine/program.h"
#include "perf/matmul_plan.h"

namespace accel::perf {

struct Cost {
  // Per busiest core, in cycles.
  double math_cycles = 0;       // matrix or vector engine busy
  double unpack_cycles = 0;     // L1 -> Src registers
  double pack_cycles = 0;       // Dst -> L1, incl. Bfp conversion
  double sync_cycles = 0;       // Dst-half handshakes (Dst capacity bounds tiles in flight)
  double compute_cycles = 0;    // the three pipelined threads: slowest + sync
  double dram_cycles = 0;       // the program's DRAM traffic on the busiest channel
  double noc_cycles = 0;        // busiest core's NoC port, or the whole NoC's links
  double l1_cycles = 0;         // busiest core's L1 banks
  double movement_cycles = 0;   // max(dram, noc, l1): overlapped with compute
  double multicast_cycles = 0;  // barrier-synchronised multicast steps, not hidden
  double fill_drain_cycles = 0;
  double core_cycles = 0;       // max(compute, movement) + multicast + fill/drain

  // Seconds.
  double compute_s = 0, dram_s = 0, noc_s = 0, launch_s = 0;
  double time_s = 0;             // device time: slowest core + launch overhead
  double host_dispatch_s = 0;    // host enqueue when not traced, not in time_s

  std::string bound;  // "compute", "dram", "noc" or "launch"
  // Share of each resource's capacity used over time_s, in [0, 1].
  double util_compute = 0, util_dram = 0, util_noc = 0, util_l1 = 0;

  int64_t dram_bytes = 0;
  double noc_byte_hops = 0;
  double l1_bytes = 0;

  // Joules, and their average power over time_s.
  double energy_compute_j = 0, energy_sram_j = 0, energy_noc_j = 0, energy_dram_j = 0,
         energy_static_j = 0, energy_j = 0, avg_power_w = 0;
};

Cost estimate_cost(const engine::ProgramRecord& rec, const chip::Arch& arch);

// Bytes of one tile of `format` ("Float16_b", "Bfp8_b", ...): Bfp formats
// carry one shared exponent byte per face row. Unknown formats throw.
int64_t tile_bytes(const std::string& format, const chip::Arch& arch);
bool is_block_float(const std::string& format);

}  // namespace accel::perf
