// The table of Arch's numeric fields, written once and used by validation,
// JSON reading and JSON writing.
#pragma once

#include "chip/arch.h"

namespace accel::chip {

template <class Visitor>
void visit_arch_fields(Arch& a, Visitor&& v) {
  v("grid_rows", a.grid_rows);
  v("grid_cols", a.grid_cols);
  v("l1_bytes_per_core", a.l1_bytes_per_core);
  v("l1_banks", a.l1_banks);
  v("l1_bank_bytes_per_cycle", a.l1_bank_bytes_per_cycle);
  v("clock_hz", a.clock_hz);
  v("dram_bytes", a.dram_bytes);
  v("dram_channels", a.dram_channels);
  v("dram_bandwidth_bytes_per_s", a.dram_bandwidth_bytes_per_s);
  v("dram_page_bytes", a.dram_page_bytes);
  v("noc_link_bytes_per_cycle", a.noc_link_bytes_per_cycle);
  v("noc_hop_cycles", a.noc_hop_cycles);
  v("noc_max_burst_bytes", a.noc_max_burst_bytes);
  v("tile_rows", a.tile_rows);
  v("tile_cols", a.tile_cols);
  v("face_rows", a.face_rows);
  v("face_cols", a.face_cols);
  v("matmul_cycles_per_tile_lofi", a.matmul_cycles_per_tile_lofi);
  v("fpu_eltwise_elements_per_cycle", a.fpu_eltwise_elements_per_cycle);
  v("sfpu_lanes", a.sfpu_lanes);
  v("dst_tiles_bf16", a.dst_tiles_bf16);
  v("energy_mac_bf16_pj", a.energy_mac_bf16_pj);
  v("energy_mac_fp32_pj", a.energy_mac_fp32_pj);
  v("energy_mac_bfp8_pj", a.energy_mac_bfp8_pj);
  v("energy_l1_pj_per_byte", a.energy_l1_pj_per_byte);
  v("energy_noc_pj_per_byte_hop", a.energy_noc_pj_per_byte_hop);
  v("energy_dram_pj_per_byte", a.energy_dram_pj_per_byte);
  v("static_power_w", a.static_power_w);
  v("launch_overhead_us", a.launch_overhead_us);
  v("unpack_bytes_per_cycle", a.unpack_bytes_per_cycle);
  v("pack_bytes_per_cycle", a.pack_bytes_per_cycle);
  v("dst_sync_cycles", a.dst_sync_cycles);
  v("bfp_convert_cycles_per_tile", a.bfp_convert_cycles_per_tile);
  v("matmul_block_tiles", a.matmul_block_tiles);
  v("matmul_inner_block_tiles", a.matmul_inner_block_tiles);
  v("noc_count", a.noc_count);
  v("dram_latency_cycles", a.dram_latency_cycles);
  v("host_dispatch_us", a.host_dispatch_us);
  v("energy_mac_bfp4_pj", a.energy_mac_bfp4_pj);
  v("energy_sfpu_lane_op_pj", a.energy_sfpu_lane_op_pj);
}

template <class Visitor>
void visit_arch_fields(const Arch& a, Visitor&& v) {
  visit_arch_fields(const_cast<Arch&>(a),
                    [&](const char* key, const auto& field) { v(key, field); });
}

}  // namespace accel::chip
