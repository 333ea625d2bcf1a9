// The one description of an emulated chip. Every hardware number used by the
// runtime, the engine and the performance model comes from an Arch.
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace accel::chip {

// Raised for an unknown preset or a malformed or inconsistent description.
struct ArchError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

enum class MathFidelity { LoFi = 1, HiFi2 = 2, HiFi3 = 3, HiFi4 = 4 };

struct Arch {
  std::string name;

  // Core grid and each core's L1 SRAM.
  int64_t grid_rows = 0;
  int64_t grid_cols = 0;
  int64_t l1_bytes_per_core = 0;
  int64_t l1_banks = 0;
  int64_t l1_bank_bytes_per_cycle = 0;
  double clock_hz = 0;

  // Off-chip DRAM: pages interleave round-robin over the channels.
  int64_t dram_bytes = 0;
  int64_t dram_channels = 0;
  double dram_bandwidth_bytes_per_s = 0;
  int64_t dram_page_bytes = 0;

  // Network on chip.
  int64_t noc_link_bytes_per_cycle = 0;
  int64_t noc_hop_cycles = 0;
  int64_t noc_max_burst_bytes = 0;

  // Tiles are tile_rows x tile_cols, stored as faces of face_rows x face_cols.
  int64_t tile_rows = 0;
  int64_t tile_cols = 0;
  int64_t face_rows = 0;
  int64_t face_cols = 0;

  // Matrix engine (FPU): one 32x32x32 tile product at LoFi; each higher
  // fidelity adds one more pass of the same length.
  int64_t matmul_cycles_per_tile_lofi = 0;
  int64_t fpu_eltwise_elements_per_cycle = 0;
  // Vector engine (SFPU): lanes that each retire one multiply-add per cycle.
  int64_t sfpu_lanes = 0;
  // Destination register capacity in bf16 tiles; halved with fp32 accumulation.
  int64_t dst_tiles_bf16 = 0;

  // Energy per action and static power.
  double energy_mac_bf16_pj = 0;
  double energy_mac_fp32_pj = 0;
  double energy_mac_bfp8_pj = 0;
  double energy_l1_pj_per_byte = 0;
  double energy_noc_pj_per_byte_hop = 0;
  double energy_dram_pj_per_byte = 0;
  double static_power_w = 0;
  double launch_overhead_us = 0;

  // Performance-model figures (csrc/perf). The three Tensix compute threads
  // (unpack, math, pack) pipeline through the Src and Dst registers.
  int64_t unpack_bytes_per_cycle = 0;     // both unpackers together, L1 -> SrcA/SrcB
  int64_t pack_bytes_per_cycle = 0;       // Dst -> L1
  int64_t dst_sync_cycles = 0;            // math/pack handshake per half of Dst
  int64_t bfp_convert_cycles_per_tile = 0;  // shared-exponent pass when packing to Bfp
  int64_t matmul_block_tiles = 0;         // per-core output block side streamed per step
  int64_t matmul_inner_block_tiles = 0;   // K tiles per multicast step (in0_block_w)
  int64_t noc_count = 0;                  // independent NoCs (each a 2D torus)
  int64_t dram_latency_cycles = 0;        // first byte of a DRAM read, for pipeline fill
  double host_dispatch_us = 0;            // host enqueue of one program, untraced
  double energy_mac_bfp4_pj = 0;
  double energy_sfpu_lane_op_pj = 0;      // one 32-bit SFPU lane instruction

  // Where each figure comes from, keyed by field name.
  std::map<std::string, std::string> sources;

  int64_t num_cores() const { return grid_rows * grid_cols; }
  int64_t matmul_cycles_per_tile(MathFidelity f) const {
    return matmul_cycles_per_tile_lofi * static_cast<int64_t>(f);
  }
  int64_t dst_tiles(bool fp32_accumulation) const {
    return fp32_accumulation ? dst_tiles_bf16 / 2 : dst_tiles_bf16;
  }
  // Throws ArchError naming the first inconsistency.
  void validate() const;
};

std::vector<std::string> preset_names();
// Throws ArchError listing the known presets when `name` is not one.
Arch preset(const std::string& name);

// `origin` names the source (a path) in error messages. A description may
// start from a preset with "base" and override any field.
Arch arch_from_json(const std::string& text, const std::string& origin);
std::string arch_to_json(const Arch& arch);
// A preset name, or a path to a JSON architecture file.
Arch load_arch(const std::string& spec);

}  // namespace accel::chip
