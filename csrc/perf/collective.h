// The collective model: how long a collective takes on a system's Ethernet
// links when it runs as tt-metal's CCL ops run it (ring, line or 2D mesh).
// Alpha-beta per step: each step pays the hops' latency and its bytes over the
// busiest link it uses; reductions run on the chip beside the transfer.
// Torch-free; docs/MULTICHIP.md explains the algorithms.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "chip/arch.h"
#include "chip/system.h"

namespace accel::perf {

struct CollectiveCost {
  std::string op;
  std::string algorithm;  // "ring", "line", "mesh2d", "direct" or "local"
  std::string strategy;   // how an all_reduce was composed, e.g. "reduce_scatter+all_gather"
  int64_t group_size = 0;
  int64_t steps = 0;        // transfer steps, each a hop to the next rank
  int64_t max_hops = 0;     // physical hops of the longest step
  int64_t links_used = 0;   // usable links on the narrowest pair the algorithm crosses
  double link_bandwidth_bytes_per_s = 0;  // one link, one direction
  double latency_s = 0;     // sum of per-step hop latencies
  double bandwidth_s = 0;   // sum of per-step bytes over the busiest link
  double reduce_s = 0;      // reduction compute not hidden behind the transfer
  double launch_s = 0;      // one program launch per CCL op on each chip
  double time_s = 0;
  double bytes_per_link = 0;  // payload bytes crossing the busiest single link
  double wire_bytes = 0;      // bytes on all links together, with packet overheads
  double energy_j = 0;        // Ethernet energy of wire_bytes
  std::vector<int64_t> order;  // ranks in the order the algorithm visits them
};

// nbytes: all_reduce and broadcast, the tensor on each rank; all_gather, each
// rank's input (the output is group x nbytes); reduce_scatter, each rank's
// input (the output is nbytes / group); all_to_all, each rank's whole input;
// send_recv, the message (ranks = {source, destination}); barrier, unused.
// algorithm: "auto", "ring", "line" or "mesh2d". Throws std::invalid_argument
// naming a bad op, algorithm, size or rank.
CollectiveCost collective_cost(const chip::System& system, const chip::Arch& arch,
                               const std::string& op, double nbytes,
                               const std::vector<int64_t>& ranks,
                               const std::string& algorithm = "auto",
                               int64_t element_bytes = 2, int64_t root = 0);

std::vector<std::string> collective_ops();

}  // namespace accel::perf
