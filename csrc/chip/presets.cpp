// Built-in chips. Each figure names its source; ISA = tenstorrent/tt-isa-documentation,
// TTM = tenstorrent/tt-metal (see shared/reference/accelerators.md).
#include "chip/arch.h"

#include <functional>

namespace accel::chip {
namespace {

// Horowitz (ISSCC 2014) gives 45 nm / 0.9 V energies; we scale logic and SRAM
// energy linearly with feature size and with V^2 (0.8 V), DRAM I/O unscaled.
constexpr const char* kEnergySource =
    "Horowitz ISSCC 2014 (45 nm), scaled by node/45 * (0.8/0.9)^2";

void set_tensix_core(Arch& a) {
  a.l1_bytes_per_core = 1499136;
  a.l1_banks = 16;
  a.l1_bank_bytes_per_cycle = 16;
  a.tile_rows = a.tile_cols = 32;
  a.face_rows = a.face_cols = 16;
  a.matmul_cycles_per_tile_lofi = 16;
  a.fpu_eltwise_elements_per_cycle = 128;
  a.sfpu_lanes = 32;
  a.dst_tiles_bf16 = 16;
  a.noc_hop_cycles = 9;
  a.sources["l1_bytes_per_core"] = "ISA WormholeB0/TensixTile/L1.md: 1464 KiB";
  a.sources["l1_banks"] = "ISA WormholeB0/TensixTile/L1.md: 16 banks";
  a.sources["l1_bank_bytes_per_cycle"] =
      "ISA WormholeB0/TensixTile/L1.md: one 128-bit access per bank per cycle";
  a.sources["tile_rows"] = a.sources["tile_cols"] =
      "TTM tech_reports/tensor_layouts/tensor_layouts.md";
  a.sources["face_rows"] = a.sources["face_cols"] =
      "TTM tech_reports/tensor_layouts/tensor_layouts.md: four 16x16 faces";
  a.sources["matmul_cycles_per_tile_lofi"] =
      "TTM tech_reports/GEMM_FLOPS/GEMM_FLOPS.md: LoFi 16, HiFi2 32, HiFi3 48, HiFi4 64";
  a.sources["fpu_eltwise_elements_per_cycle"] =
      "TTM tech_reports/matrix_engine/matrix_engine.md";
  a.sources["sfpu_lanes"] = "ISA VectorUnit.md: 32 lanes, one MAD per cycle";
  a.sources["dst_tiles_bf16"] = "ISA Dst.md: 1024 rows x 16 x 16-bit = 16 tiles";
  a.sources["noc_hop_cycles"] = "ISA WormholeB0/NoC/README.md: at least 9 cycles";

  a.unpack_bytes_per_cycle = 128;
  a.pack_bytes_per_cycle = 64;
  a.dst_sync_cycles = 16;
  a.bfp_convert_cycles_per_tile = 64;
  a.matmul_block_tiles = 8;
  a.matmul_inner_block_tiles = 2;
  a.noc_count = 2;
  a.sources["unpack_bytes_per_cycle"] =
      "assumption: two unpackers, each reading 4 L1 banks x 16 B per cycle (ISA L1.md)";
  a.sources["pack_bytes_per_cycle"] =
      "assumption: one packer writing 4 L1 banks x 16 B per cycle (ISA L1.md)";
  a.sources["dst_sync_cycles"] =
      "assumption: semaphore handshake between the math and pack threads per Dst half";
  a.sources["bfp_convert_cycles_per_tile"] =
      "derived: one 16-value exponent group (a face row) per cycle, 64 per tile "
      "(ISA Packers/FormatConversion.md: max exponent per group, then shift)";
  a.sources["matmul_block_tiles"] =
      "assumption: TTM 2D-multicast matmul per-core block of 8x8 tiles (4x2 subblocks)";
  a.sources["matmul_inner_block_tiles"] =
      "TTM matmul_multicore_reuse_mcast programming example: in0_block_w = 2";
  a.sources["noc_count"] = "ISA WormholeB0/NoC/README.md: two 2D tori in opposite directions";
}

void set_energy(Arch& a, double node_nm) {
  const double scale = node_nm / 45.0 * (0.8 * 0.8) / (0.9 * 0.9);
  a.energy_mac_bf16_pj = (0.4 + 1.1) * scale;   // fp16 add + mult
  a.energy_mac_fp32_pj = (0.9 + 3.7) * scale;   // fp32 add + mult
  a.energy_mac_bfp8_pj = (0.03 + 0.2) * scale;  // 8-bit int add + mult
  a.energy_l1_pj_per_byte = 20.0 / 8 * scale;   // 64-bit read of 32 KB SRAM
  a.energy_noc_pj_per_byte_hop = 10.0 / 8 * scale;  // an 8 KB buffer hop
  a.energy_dram_pj_per_byte = 2000.0 / 8;       // 64-bit DRAM access, mid
  // A 4-bit multiplier array is a quarter of an 8-bit one; the adder stays.
  a.energy_mac_bfp4_pj = (0.03 + 0.2 / 4) * scale;
  a.energy_sfpu_lane_op_pj = (0.9 + 3.7) * scale;  // one fp32 multiply-add per lane
  for (const char* key : {"energy_mac_bf16_pj", "energy_mac_fp32_pj", "energy_mac_bfp4_pj",
                          "energy_sfpu_lane_op_pj",
                          "energy_mac_bfp8_pj", "energy_l1_pj_per_byte",
                          "energy_noc_pj_per_byte_hop", "energy_dram_pj_per_byte"})
    a.sources[key] = kEnergySource;
}

Arch wormhole_n150() {
  Arch a;
  a.name = "wormhole_n150";
  set_tensix_core(a);
  a.grid_rows = 8;
  a.grid_cols = 8;
  a.clock_hz = 1.0e9;
  a.dram_bytes = 12LL << 30;
  a.dram_channels = 12;
  a.dram_bandwidth_bytes_per_s = 288e9;
  a.dram_page_bytes = 2048;
  a.noc_link_bytes_per_cycle = 32;
  a.noc_max_burst_bytes = 8192;
  set_energy(a, 12);
  a.static_power_w = 25;
  a.launch_overhead_us = 5;
  a.dram_latency_cycles = 400;
  a.host_dispatch_us = 30;
  a.sources["dram_latency_cycles"] = "assumption: about 400 ns GDDR6 read round trip over the NoC";
  a.sources["host_dispatch_us"] =
      "derived: TTM GEMM_FLOPS.md out-of-box n150 512^3 BF16 HiFi2, 49.0 us untraced "
      "vs 20.0 us traced per matmul";
  a.sources["grid_rows"] = a.sources["grid_cols"] =
      "TTM GEMM_FLOPS.md: 8x8 compute grid used by tt-metal kernels";
  a.sources["clock_hz"] = "ISA BabyRISCV/README.md: 1.0 GHz";
  a.sources["dram_bytes"] = "ISA WormholeB0/DRAMTile/README.md: 12 GiB GDDR6";
  a.sources["dram_channels"] = "ISA WormholeB0/DRAMTile/README.md: 12 x 1 GiB";
  a.sources["dram_bandwidth_bytes_per_s"] =
      "TTM Saturating_DRAM_bandwidth: 288 GB/s spec (267 measured)";
  a.sources["dram_page_bytes"] = "one bf16 tile per interleaved page (TTM tensor_layouts.md)";
  a.sources["noc_link_bytes_per_cycle"] = "ISA WormholeB0/NoC/README.md: 256-bit links";
  a.sources["noc_max_burst_bytes"] = "ISA WormholeB0/NoC/README.md: 8 KB";
  a.sources["static_power_w"] = "assumption: idle share of the n150's 160 W board power";
  a.sources["launch_overhead_us"] = "assumption: tt-metal program dispatch, a few us";
  return a;
}

Arch blackhole_p150() {
  Arch a;
  a.name = "blackhole_p150";
  set_tensix_core(a);
  a.grid_rows = 10;
  a.grid_cols = 13;
  a.clock_hz = 1.35e9;
  a.dram_bytes = 32LL << 30;
  a.dram_channels = 8;
  a.dram_bandwidth_bytes_per_s = 512e9;
  a.dram_page_bytes = 2048;
  a.noc_link_bytes_per_cycle = 64;
  a.noc_max_burst_bytes = 16384;
  set_energy(a, 6);
  a.static_power_w = 40;
  a.launch_overhead_us = 5;
  a.dram_latency_cycles = 540;
  a.host_dispatch_us = 30;
  a.sources["dram_latency_cycles"] = "assumption: about 400 ns GDDR6 read round trip at 1.35 GHz";
  a.sources["host_dispatch_us"] = "assumption: host enqueue as measured on n150 (GEMM_FLOPS.md)";
  a.sources["grid_rows"] = a.sources["grid_cols"] =
      "TTM BlackholeBringUpProgrammingGuide.md: 13x10 compute grid";
  a.sources["clock_hz"] = "TTM GEMM_FLOPS.md: about 1.35 GHz";
  a.sources["dram_bytes"] = "TTM soc_descriptors/blackhole_140_arch.yaml: 32 GiB GDDR6";
  a.sources["dram_channels"] = "TTM blackhole_140_arch.yaml: 8 banks seen by tt-metal";
  a.sources["dram_bandwidth_bytes_per_s"] =
      "TTM Saturating_DRAM_bandwidth_Blackhole.md: 512 GB/s peak";
  a.sources["dram_page_bytes"] = "one bf16 tile per interleaved page (TTM tensor_layouts.md)";
  a.sources["noc_link_bytes_per_cycle"] =
      "TTM Saturating_DRAM_bandwidth_Blackhole.md: 64-byte links";
  a.sources["noc_max_burst_bytes"] = "TTM Saturating_DRAM_bandwidth_Blackhole.md: 16 KB";
  a.sources["static_power_w"] = "assumption: idle share of the p150's 300 W board power";
  a.sources["launch_overhead_us"] = "assumption: tt-metal program dispatch, a few us";
  return a;
}

// A small chip for tests: 2x2 cores, 256 KiB of L1 and 64 MiB of DRAM.
Arch tiny() {
  Arch a = wormhole_n150();
  a.name = "tiny";
  a.grid_rows = 2;
  a.grid_cols = 2;
  a.l1_bytes_per_core = 256 << 10;
  a.dram_bytes = 64LL << 20;
  a.dram_channels = 2;
  a.dram_bandwidth_bytes_per_s = 48e9;
  for (const char* key : {"grid_rows", "grid_cols", "l1_bytes_per_core",
                          "dram_bytes", "dram_channels", "dram_bandwidth_bytes_per_s"})
    a.sources[key] = "test preset: wormhole core, shrunk";
  return a;
}

const std::map<std::string, std::function<Arch()>>& registry() {
  static const std::map<std::string, std::function<Arch()>> presets = {
      {"wormhole_n150", wormhole_n150},
      {"blackhole_p150", blackhole_p150},
      {"tiny", tiny},
  };
  return presets;
}

}  // namespace

std::vector<std::string> preset_names() {
  std::vector<std::string> names;
  for (const auto& [name, make] : registry()) names.push_back(name);
  return names;
}

Arch preset(const std::string& name) {
  auto it = registry().find(name);
  if (it == registry().end()) {
    std::string known;
    for (const auto& n : preset_names()) known += (known.empty() ? "" : ", ") + n;
    throw ArchError("unknown accel architecture preset '" + name +
                    "'; known presets: " + known +
                    ", or give a path to a .json/.yaml architecture file");
  }
  return it->second();
}

}  // namespace accel::chip
