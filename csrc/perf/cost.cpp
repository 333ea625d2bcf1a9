// estimate_cost: compute cycles per engine, data movement, their overlap, the
// bound, utilisation and energy. See docs/PERFORMANCE_MODEL.md.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "perf/cost.h"
#include "perf/kernel_table.h"

namespace accel::perf {
namespace {

using engine::ProgramRecord;

struct Formats {
  std::string in0, in1, out;
};

Formats formats_of(const ProgramRecord& r) {
  Formats f;
  f.out = r.output_format.empty() ? (r.input_format.empty() ? "Float32" : r.input_format)
                                  : r.output_format;
  f.in0 = r.input_format.empty() ? f.out : r.input_format;
  f.in1 = r.in1_format.empty() ? f.in0 : r.in1_format;
  return f;
}

double mac_energy_pj(const std::string& format, const chip::Arch& a) {
  if (format == "Float32" || format == "Float64" || format == "Int32" || format == "Int64")
    return a.energy_mac_fp32_pj;
  if (format == "Bfp8_b" || format == "Bfp8" || format == "Int8" || format == "UInt8" ||
      format == "Bool")
    return a.energy_mac_bfp8_pj;
  if (format == "Bfp4_b" || format == "Bfp4" || format == "Bfp2_b") return a.energy_mac_bfp4_pj;
  return a.energy_mac_bf16_pj;
}

// The narrower operand sets the multiplier width.
const std::string& narrower(const std::string& x, const std::string& y, const chip::Arch& a) {
  return tile_bytes(x, a) <= tile_bytes(y, a) ? x : y;
}

// Average hops from a core to a DRAM port or another core: on a one-way torus
// ring of n stops the mean distance is (n - 1) / 2, in each dimension, plus
// the hop into the endpoint.
double mean_hops(const chip::Arch& a) {
  return (a.grid_rows - 1) / 2.0 + (a.grid_cols - 1) / 2.0 + 1;
}

// Per-core quantities that differ between a matmul and a tile-stream program.
struct CoreWork {
  double math = 0, unpack = 0, pack = 0, sync = 0;
  double total_math = 0;    // all cores, for utilisation
  double multicast = 0;     // exposed multicast cycles
  double core_in_bytes = 0, core_out_bytes = 0;  // busiest core's NoC traffic
  double sfpu_lane_ops = 0; // all cores, for energy
  double byte_hops = 0;
  double l1_bytes = 0;      // all cores
  int64_t dram_read = 0, dram_write = 0;
  int64_t cores = 0;
};

CoreWork matmul_work(const ProgramRecord& r, const Formats& f, const chip::Arch& a) {
  CoreWork w;
  const MatmulShape shape{r.batch, r.m_tiles, r.n_tiles, r.k_tiles, r.in1_batched};
  const MatmulPlan p = plan_matmul(shape, f.in0, f.in1, f.out, r.fp32_dest_acc, a);
  const int64_t ta = tile_bytes(f.in0, a), tb = tile_bytes(f.in1, a), to = tile_bytes(f.out, a);
  const int64_t cpt = a.matmul_cycles_per_tile(static_cast<chip::MathFidelity>(
      std::clamp(r.math_fidelity, 1, 4)));
  const double k = static_cast<double>(r.k_tiles);
  const double passes = static_cast<double>(p.passes_m * p.passes_n);
  const double subblocks = std::ceil(double(p.block_m) / p.sub_h) *
                           std::ceil(double(p.block_n) / p.sub_w);

  // Output tiles of the busiest core and of the whole product.
  const double core_tiles = double(p.core_m) * p.core_n;
  const double all_tiles = double(std::max<int64_t>(1, r.batch)) * r.m_tiles * r.n_tiles;
  w.cores = p.cores_used;
  w.math = core_tiles * k * cpt;
  w.total_math = all_tiles * k * cpt;
  // A vector-engine stage on every element of the product (attention's
  // softmax) shares the math thread with the matrix engine, so it adds.
  if (r.sfpu_function) {
    const double lane_ops_per_tile = double(a.tile_rows) * a.tile_cols *
                                     r.sfpu_function.desc()->sfpu_instructions;
    w.math += core_tiles * lane_ops_per_tile / a.sfpu_lanes;
    w.total_math += all_tiles * lane_ops_per_tile / a.sfpu_lanes;
    w.sfpu_lane_ops = all_tiles * lane_ops_per_tile;
  }
  // Per K tile of each subblock the unpackers load sub_h in0 and sub_w in1 tiles.
  const double unpack_bytes = passes * subblocks * k * (p.sub_h * ta + p.sub_w * tb);
  w.unpack = unpack_bytes / a.unpack_bytes_per_cycle;
  w.pack = core_tiles * to / double(a.pack_bytes_per_cycle) +
           (is_block_float(f.out) ? core_tiles * a.bfp_convert_cycles_per_tile : 0);
  w.sync = passes * subblocks * a.dst_sync_cycles;

  // Every receiver must free its buffer before a multicast step is sent, so
  // the steps are barrier-synchronised over the receivers and their transfer
  // is not hidden behind compute.
  w.multicast = double(p.multicast_steps) *
                (double(p.multicast_step_bytes) / a.noc_link_bytes_per_cycle +
                 p.multicast_span * a.noc_hop_cycles);

  // The program's producer counts its traffic from this plan plus what its
  // own readers add (a bias, attention's K/V streaming); a bare record gets the plan's.
  w.dram_read = r.dram_read_bytes > 0 ? r.dram_read_bytes : p.dram_read_bytes;
  w.dram_write = r.dram_write_bytes > 0 ? r.dram_write_bytes : p.dram_write_bytes;
  w.core_in_bytes = std::max(0.0, double(p.core_noc_in_bytes) +
                                      double(w.dram_read - p.dram_read_bytes) / w.cores);
  w.core_out_bytes = core_tiles * to;
  w.byte_hops = (w.dram_read + w.dram_write) * p.dram_hops +
                double(p.multicast_bytes) * p.multicast_span;
  w.l1_bytes = double(w.cores) * (unpack_bytes + core_tiles * to) +
               double(p.multicast_bytes) * p.multicast_span + w.dram_read + 2.0 * w.dram_write;
  return w;
}

// The kernel whose math the program pays for: the vector-engine entry when
// the record names one apart from its compute kernel. nullptr: the program
// only moves data. A kernel in the wrong role or given a format it does not
// take is an error, not a guess.
const KernelDesc* math_kernel(const ProgramRecord& r, const Formats& f) {
  const auto check_role = [](KernelRef k, KernelRole role) {
    if (k && k.desc()->role != role)
      throw std::invalid_argument(std::string("kernel '") + k.name() + "' is a " +
                                  role_name(k.desc()->role) + " kernel, recorded as the " +
                                  role_name(role));
  };
  check_role(r.reader, KernelRole::Reader);
  check_role(r.compute, KernelRole::Compute);
  check_role(r.writer, KernelRole::Writer);
  check_role(r.sfpu_function, KernelRole::Compute);
  const KernelDesc* k = r.sfpu_function ? r.sfpu_function.desc() : r.compute.desc();
  if (k)
    for (const std::string* format : {&f.in0, &f.out})
      if (!(k->formats & format_bit(*format)))
        throw std::invalid_argument(std::string("kernel '") + k->name + "' does not take data format '" +
                                    *format + "'");
  return k;
}

// A tile-stream program: each core reads its tiles, runs them through the
// FPU or SFPU tile by tile, and writes them back.
CoreWork stream_work(const ProgramRecord& r, const Formats& f, const KernelDesc* kernel,
                     const chip::Arch& a) {
  CoreWork w;
  const int64_t area = a.tile_rows * a.tile_cols;
  const double tiles = static_cast<double>(std::max<int64_t>(0, r.tiles));
  w.cores = std::max<int64_t>(1, r.cores_used);
  const double core_tiles = r.max_tiles_per_core > 0 ? double(r.max_tiles_per_core)
                                                     : std::ceil(tiles / w.cores);
  const double in_per_tile = tiles > 0 ? r.dram_read_bytes / tiles : 0;
  const double out_per_tile = tiles > 0 ? r.dram_write_bytes / tiles : 0;
  const int64_t ti = tile_bytes(f.in0, a);
  const double inputs = std::max(1.0, std::round(in_per_tile / ti));

  double math_per_tile;
  if (!kernel) {
    math_per_tile = 0;
  } else if (kernel->engine == Engine::Sfpu) {
    double instr = kernel->sfpu_instructions;
    if (instr == kInstructionsFromFlops)
      instr = (tiles > 0 ? r.flops / (tiles * area) : 1) + inputs + 1;
    math_per_tile = instr * area / a.sfpu_lanes;
    w.sfpu_lane_ops = instr * area * tiles;
  } else {
    // One FPU pass per pair of operands (a ternary op is two passes).
    math_per_tile = double(area) / a.fpu_eltwise_elements_per_cycle * std::max(1.0, inputs - 1);
  }
  w.math = core_tiles * math_per_tile;
  w.total_math = tiles * math_per_tile;
  w.unpack = core_tiles * in_per_tile / a.unpack_bytes_per_cycle;
  w.pack = core_tiles * (out_per_tile / a.pack_bytes_per_cycle +
                         (is_block_float(f.out) ? a.bfp_convert_cycles_per_tile : 0));
  const int64_t dst_half = std::max<int64_t>(1, a.dst_tiles(r.fp32_dest_acc) / 2);
  w.sync = std::ceil(core_tiles / dst_half) * a.dst_sync_cycles;

  w.dram_read = r.dram_read_bytes;
  w.dram_write = r.dram_write_bytes;
  const double share = tiles > 0 ? core_tiles / tiles : 0;
  const double noc_total = std::max<double>(r.noc_bytes, r.dram_read_bytes + r.dram_write_bytes);
  const double read_share = (r.dram_read_bytes + r.dram_write_bytes) > 0
      ? double(r.dram_read_bytes) / (r.dram_read_bytes + r.dram_write_bytes) : 1.0;
  w.core_in_bytes = noc_total * read_share * share;
  w.core_out_bytes = noc_total * (1 - read_share) * share;
  const int64_t span = std::max(a.grid_rows, a.grid_cols) - 1;
  w.byte_hops = noc_total * mean_hops(a) + double(r.multicast_bytes) * span;
  // Each byte is written into L1 and read out once on each side of compute.
  w.l1_bytes = 2.0 * noc_total;
  return w;
}

}  // namespace

Cost estimate_cost(const ProgramRecord& r, const chip::Arch& a) {
  Cost c;
  const Formats f = formats_of(r);
  const bool matmul = r.m_tiles > 0 && r.n_tiles > 0 && r.k_tiles > 0;
  const bool empty = !matmul && r.tiles <= 0;
  const double hz = a.clock_hz;
  c.launch_s = a.launch_overhead_us * 1e-6;
  c.host_dispatch_s = a.host_dispatch_us * 1e-6;
  if (r.link_s > 0) {
    // A collective: its time is the links' (and its hops' latencies), as a
    // collective model priced it; the chip draws its static power meanwhile.
    c.time_s = r.link_s;
    c.bound = "ethernet";
    c.dram_bytes = r.dram_read_bytes + r.dram_write_bytes;
    c.energy_static_j = c.energy_j = a.static_power_w * c.time_s;
    c.avg_power_w = a.static_power_w;
    return c;
  }
  if (empty) {
    c.time_s = c.launch_s;
    c.bound = "launch";
    c.energy_static_j = c.energy_j = a.static_power_w * c.time_s;
    c.avg_power_w = a.static_power_w;
    return c;
  }
  const KernelDesc* kernel = math_kernel(r, f);
  const CoreWork w = matmul ? matmul_work(r, f, a) : stream_work(r, f, kernel, a);

  c.math_cycles = w.math;
  c.unpack_cycles = w.unpack;
  c.pack_cycles = w.pack;
  c.sync_cycles = w.sync;
  c.compute_cycles = std::max({w.math, w.unpack, w.pack}) + w.sync;

  // DRAM pages interleave round-robin over the channels; the busiest channel
  // carries ceil(pages / channels) of them.
  c.dram_bytes = w.dram_read + w.dram_write;
  const double pages = std::ceil(double(c.dram_bytes) / a.dram_page_bytes);
  const double busiest_pages = std::ceil(pages / a.dram_channels);
  const double channel_bytes_per_cycle = a.dram_bandwidth_bytes_per_s / a.dram_channels / hz;
  c.dram_cycles = busiest_pages * a.dram_page_bytes / channel_bytes_per_cycle;

  // Reader and writer use different NoCs, so the core's port time is the
  // larger direction; the whole grid offers noc_count x 2 outgoing links per router.
  const double port = std::max(w.core_in_bytes, w.core_out_bytes) / a.noc_link_bytes_per_cycle;
  const double links = double(a.noc_count) * 2 * a.num_cores();
  c.noc_byte_hops = w.byte_hops;
  c.noc_cycles = std::max(port, w.byte_hops / (links * a.noc_link_bytes_per_cycle));
  const double l1_bw = double(a.l1_banks) * a.l1_bank_bytes_per_cycle;
  c.l1_bytes = w.l1_bytes;
  c.l1_cycles = w.l1_bytes / w.cores / l1_bw;
  c.movement_cycles = std::max({c.dram_cycles, c.noc_cycles, c.l1_cycles});
  c.multicast_cycles = w.multicast;

  // Fill: the first tile's DRAM round trip and transfer; drain: the last
  // tile's pack and write-back.
  const double hops = mean_hops(a) * a.noc_hop_cycles;
  const int64_t ti = tile_bytes(f.in0, a), to = tile_bytes(f.out, a);
  c.fill_drain_cycles = a.dram_latency_cycles + hops + double(ti) / a.noc_link_bytes_per_cycle +
                        double(to) / a.pack_bytes_per_cycle + hops +
                        double(to) / a.noc_link_bytes_per_cycle;
  c.core_cycles = std::max(c.compute_cycles, c.movement_cycles) + c.multicast_cycles +
                  c.fill_drain_cycles;

  c.time_s = c.core_cycles / hz + c.launch_s;
  c.compute_s = c.compute_cycles / hz;
  c.dram_s = c.dram_cycles / hz;
  c.noc_s = (std::max(c.noc_cycles, c.l1_cycles) + c.multicast_cycles) / hz;
  const std::pair<double, const char*> parts[] = {
      {c.compute_s, "compute"}, {c.dram_s, "dram"}, {c.noc_s, "noc"}, {c.launch_s, "launch"}};
  c.bound = std::max_element(std::begin(parts), std::end(parts))->second;

  const double cycles = c.time_s * hz;
  c.util_compute = std::min(1.0, w.total_math / (double(a.num_cores()) * cycles));
  c.util_dram = std::min(1.0, c.dram_bytes / (a.dram_bandwidth_bytes_per_s * c.time_s));
  c.util_noc = std::min(1.0, w.byte_hops / (links * a.noc_link_bytes_per_cycle * cycles));
  c.util_l1 = std::min(1.0, w.l1_bytes / (double(a.num_cores()) * l1_bw * cycles));

  const double pj = 1e-12;
  if (matmul || !kernel || kernel->engine != Engine::Sfpu) {
    const double macs = r.flops > 0 ? r.flops / 2.0
        : double(std::max<int64_t>(1, r.batch)) * r.m_tiles * r.n_tiles * r.k_tiles *
              a.tile_rows * a.tile_cols * a.tile_cols;
    c.energy_compute_j = macs * mac_energy_pj(narrower(f.in0, f.in1, a), a) * pj +
                         w.sfpu_lane_ops * a.energy_sfpu_lane_op_pj * pj;
  } else {
    c.energy_compute_j = w.sfpu_lane_ops * a.energy_sfpu_lane_op_pj * pj;
  }
  c.energy_sram_j = w.l1_bytes * a.energy_l1_pj_per_byte * pj;
  c.energy_noc_j = w.byte_hops * a.energy_noc_pj_per_byte_hop * pj;
  c.energy_dram_j = c.dram_bytes * a.energy_dram_pj_per_byte * pj;
  c.energy_static_j = a.static_power_w * c.time_s;
  c.energy_j = c.energy_compute_j + c.energy_sram_j + c.energy_noc_j + c.energy_dram_j +
               c.energy_static_j;
  c.avg_power_w = c.energy_j / c.time_s;
  return c;
}

}  // namespace accel::perf
