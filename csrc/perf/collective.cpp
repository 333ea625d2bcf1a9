#include "perf/collective.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <stdexcept>
#include <unordered_map>

#include "perf/collective_groups.h"

namespace accel::perf {
namespace {

using chip::System;

using Group = CollectiveGroup;

// How many logical transfers of one step cross each directed physical link.
struct LinkLoad {
  std::unordered_map<int64_t, double> crossings;  // from * chips + to -> transfers
  int64_t max_hops = 0;
  int64_t min_links = std::numeric_limits<int64_t>::max();
  double hop_transfers = 0;  // sum over transfers of their hops
};

void add_route(const System& s, int64_t from, int64_t to, LinkLoad& load) {
  const auto path = s.route(from, to);
  load.max_hops = std::max<int64_t>(load.max_hops, static_cast<int64_t>(path.size()) - 1);
  for (size_t i = 0; i + 1 < path.size(); ++i) {
    load.crossings[path[i] * s.num_chips() + path[i + 1]] += 1;
    load.hop_transfers += 1;
  }
}

// The narrowest pair the transfers cross, once every route is in.
void find_min_links(const System& s, LinkLoad& load) {
  for (const auto& [key, transfers] : load.crossings)
    load.min_links = std::min(load.min_links, s.usable_links(key / s.num_chips(), key % s.num_chips()));
}

LinkLoad neighbour_load(const System& s, const Group& g, bool both_ways) {
  LinkLoad load;
  const size_t n = g.order.size();
  const size_t edges = g.closed ? n : n - 1;
  for (size_t i = 0; i < edges && n > 1; ++i) {
    add_route(s, g.order[i], g.order[(i + 1) % n], load);
    if (both_ways) add_route(s, g.order[(i + 1) % n], g.order[i], load);
  }
  find_min_links(s, load);
  return load;
}

// A step in which every transfer of `load` carries `payload` bytes at once.
struct StepTime {
  double seconds = 0;
  double busiest_payload = 0;  // bytes on the busiest single link
};

StepTime busiest_link(const System& s, const LinkLoad& load, double payload) {
  StepTime worst;
  for (const auto& [key, transfers] : load.crossings) {
    const int64_t links = s.usable_links(key / s.num_chips(), key % s.num_chips());
    const double per_link = payload / static_cast<double>(links);
    const double t = transfers * s.wire_bytes(per_link) / s.link_bandwidth_bytes_per_s;
    if (t > worst.seconds) worst = {t, transfers * per_link};
  }
  return worst;
}

// Element-wise reduction of `bytes` on the CCL worker cores: the FPU adds
// tiles while the DRAM reads the local operand and takes the result.
double reduce_seconds(const System& s, const chip::Arch& arch, double bytes,
                      int64_t element_bytes, int64_t links) {
  if (bytes <= 0) return 0;
  const double tile_elems = static_cast<double>(arch.tile_rows * arch.tile_cols);
  const double tiles = std::ceil(bytes / element_bytes / tile_elems);
  const int64_t cores = std::clamp<int64_t>(s.ccl_workers_per_link * links * 2, 1, arch.num_cores());
  const double fpu_cycles = std::ceil(tiles / cores) * tile_elems / arch.fpu_eltwise_elements_per_cycle;
  return std::max(fpu_cycles / arch.clock_hz, 2 * bytes / arch.dram_bandwidth_bytes_per_s);
}

struct Context {
  const System& s;
  const chip::Arch& arch;
  int64_t element_bytes;
};

void add_into(CollectiveCost& total, const CollectiveCost& part) {
  total.steps += part.steps;
  total.max_hops = std::max(total.max_hops, part.max_hops);
  if (part.links_used > 0)  // a local reduction uses no link
    total.links_used = total.links_used ? std::min(total.links_used, part.links_used) : part.links_used;
  total.latency_s += part.latency_s;
  total.bandwidth_s += part.bandwidth_s;
  total.reduce_s += part.reduce_s;
  total.launch_s += part.launch_s;
  total.time_s += part.time_s;
  total.bytes_per_link += part.bytes_per_link;
  total.wire_bytes += part.wire_bytes;
  total.energy_j += part.energy_j;
}

void finish(const Context& c, CollectiveCost& r) {
  r.launch_s = c.arch.launch_overhead_us * 1e-6;
  r.time_s = r.latency_s + r.bandwidth_s + r.reduce_s + r.launch_s;
  r.energy_j = r.wire_bytes * c.s.link_energy_pj_per_byte * 1e-12;
  r.link_bandwidth_bytes_per_s = c.s.link_bandwidth_bytes_per_s;
}

// `steps` steps, each a transfer to the next rank of `payload` bytes (in both
// directions when `both_ways`), with `reduce_bytes` reduced per step beside it.
CollectiveCost stepped(const Context& c, const Group& g, bool both_ways, int64_t steps,
                       double payload, double reduce_bytes) {
  CollectiveCost r;
  r.order = g.order;
  r.group_size = static_cast<int64_t>(g.order.size());
  if (g.order.size() < 2) return r;  // nothing to send: no program either
  const LinkLoad load = neighbour_load(c.s, g, both_ways);
  const StepTime step = busiest_link(c.s, load, payload);
  const double reduce = reduce_seconds(c.s, c.arch, reduce_bytes, c.element_bytes, load.min_links);
  r.steps = steps;
  r.max_hops = load.max_hops;
  r.links_used = load.min_links;
  r.latency_s = steps * load.max_hops * c.s.hop_latency_s;
  r.bandwidth_s = steps * step.seconds;
  r.reduce_s = steps * std::max(0.0, reduce - step.seconds);
  r.bytes_per_link = steps * step.busiest_payload;
  r.wire_bytes = steps * load.hop_transfers * c.s.wire_bytes(payload);
  finish(c, r);
  return r;
}

// tt-metal's ring all-gather is bidirectional: half of each shard goes each
// way round the whole ring. Its line all-gather sends whole shards both ways,
// so the end links carry group - 1 shards one way.
CollectiveCost all_gather(const Context& c, const Group& g, double shard) {
  const int64_t n = static_cast<int64_t>(g.order.size());
  return stepped(c, g, true, n - 1, g.closed ? shard / 2 : shard, 0);
}

// Ring reduce-scatter: each of the n fractures travels round the ring,
// reduced with the local fracture at every rank; split over both directions
// like the all-gather. On a line the partials flow in from both ends.
CollectiveCost reduce_scatter(const Context& c, const Group& g, double nbytes) {
  const int64_t n = static_cast<int64_t>(g.order.size());
  const double fracture = nbytes / std::max<int64_t>(n, 1);
  return stepped(c, g, true, n - 1, g.closed ? fracture / 2 : fracture, fracture);
}

CollectiveCost all_reduce(const Context& c, const Group& g, double nbytes) {
  const int64_t n = static_cast<int64_t>(g.order.size());
  CollectiveCost split = reduce_scatter(c, g, nbytes);
  add_into(split, all_gather(c, g, nbytes / std::max<int64_t>(n, 1)));
  split.strategy = "reduce_scatter+all_gather";
  // Small tensors: gather every rank's whole tensor, then reduce locally.
  CollectiveCost gather = all_gather(c, g, nbytes);
  if (n > 1) {
    CollectiveCost local;
    local.reduce_s = (n - 1) * reduce_seconds(c.s, c.arch, nbytes, c.element_bytes, 1);
    finish(c, local);
    add_into(gather, local);
  }
  gather.strategy = "all_gather+local_reduce";
  return gather.time_s < split.time_s ? gather : split;
}

CollectiveCost broadcast(const Context& c, const Group& g, double nbytes, int64_t root) {
  const int64_t n = static_cast<int64_t>(g.order.size());
  CollectiveCost r;
  r.order = g.order;
  r.group_size = n;
  if (n < 2) return r;
  const int64_t at = std::find(g.order.begin(), g.order.end(), root) - g.order.begin();
  // Pipelined from the root both ways: the farthest rank is `depth` steps away.
  const int64_t depth = g.closed ? n / 2 : std::max(at, n - 1 - at);
  const LinkLoad load = neighbour_load(c.s, g, true);
  const StepTime whole = busiest_link(c.s, load, nbytes);
  const double packet = busiest_link(c.s, load, std::min<double>(nbytes, c.s.max_packet_bytes)).seconds;
  r.steps = depth;
  r.max_hops = load.max_hops;
  r.links_used = load.min_links;
  r.latency_s = depth * load.max_hops * c.s.hop_latency_s;
  r.bandwidth_s = whole.seconds + (depth - 1) * packet;
  r.bytes_per_link = whole.busiest_payload;
  r.wire_bytes = (n - 1) * c.s.wire_bytes(nbytes);
  finish(c, r);
  return r;
}

// Every rank sends nbytes / n to each other rank along the topology's routes.
CollectiveCost all_to_all(const Context& c, const std::vector<int64_t>& ranks, double nbytes) {
  const int64_t n = static_cast<int64_t>(ranks.size());
  CollectiveCost r;
  r.order = ranks;
  r.group_size = n;
  r.algorithm = "direct";
  if (n < 2) return r;
  LinkLoad load;
  for (int64_t a : ranks)
    for (int64_t b : ranks)
      if (a != b) add_route(c.s, a, b, load);
  find_min_links(c.s, load);
  const double chunk = nbytes / n;
  const StepTime step = busiest_link(c.s, load, chunk);
  r.steps = 1;
  r.max_hops = load.max_hops;
  r.links_used = load.min_links;
  r.latency_s = load.max_hops * c.s.hop_latency_s;
  r.bandwidth_s = step.seconds;
  r.bytes_per_link = step.busiest_payload;
  r.wire_bytes = load.hop_transfers * c.s.wire_bytes(chunk);
  finish(c, r);
  return r;
}

// Store and forward per packet: each further hop adds one packet's time.
CollectiveCost send_recv(const Context& c, int64_t from, int64_t to, double nbytes) {
  CollectiveCost r;
  r.order = {from, to};
  r.group_size = 2;
  r.algorithm = "direct";
  if (from == to) return r;
  LinkLoad load;
  add_route(c.s, from, to, load);
  find_min_links(c.s, load);
  const double packet = busiest_link(c.s, load, std::min<double>(nbytes, c.s.max_packet_bytes)).seconds;
  const StepTime whole = busiest_link(c.s, load, nbytes);
  r.steps = 1;
  r.max_hops = load.max_hops;
  r.links_used = load.min_links;
  r.latency_s = load.max_hops * c.s.hop_latency_s;
  r.bandwidth_s = whole.seconds + (load.max_hops - 1) * packet;
  r.bytes_per_link = whole.busiest_payload;
  r.wire_bytes = load.hop_transfers * c.s.wire_bytes(nbytes);
  finish(c, r);
  return r;
}


// The slowest of groups that run at once on disjoint links.
template <class Phase>
CollectiveCost slowest(const std::vector<Group>& groups, Phase&& phase) {
  CollectiveCost worst;
  for (const auto& g : groups) {
    CollectiveCost r = phase(g);
    if (r.time_s >= worst.time_s) worst = r;
  }
  return worst;
}

// tt-metal on a 2D mesh runs a collective axis by axis: along every row at
// once, then along every column on the rows' result.
CollectiveCost mesh2d(const Context& c, const MeshRectangle& m, const std::string& kind,
                      double size, int64_t root) {
  const double cols = static_cast<double>(m.rows.front().order.size());
  const double rows = static_cast<double>(m.cols.front().order.size());
  const auto on_rows = [&](auto&& f) { return slowest(m.rows, f); };
  const auto on_cols = [&](auto&& f) { return slowest(m.cols, f); };
  CollectiveCost r;
  if (kind == "all_reduce" || kind == "reduce_scatter") {
    r = on_rows([&](const Group& g) { return reduce_scatter(c, g, size); });
    add_into(r, on_cols([&](const Group& g) { return reduce_scatter(c, g, size / cols); }));
    r.strategy = "reduce_scatter rows, reduce_scatter columns";
    if (kind == "all_reduce") {
      add_into(r, on_cols([&](const Group& g) { return all_gather(c, g, size / (cols * rows)); }));
      add_into(r, on_rows([&](const Group& g) { return all_gather(c, g, size / cols); }));
      r.strategy += ", all_gather columns, all_gather rows";
    }
  } else if (kind == "all_gather") {
    r = on_rows([&](const Group& g) { return all_gather(c, g, size); });
    add_into(r, on_cols([&](const Group& g) { return all_gather(c, g, size * cols); }));
    r.strategy = "all_gather rows, all_gather columns";
  } else {  // broadcast: along the root's row, then down every column
    size_t row_of_root = 0;
    for (size_t i = 0; i < m.rows.size(); ++i)
      if (std::count(m.rows[i].order.begin(), m.rows[i].order.end(), root)) row_of_root = i;
    r = broadcast(c, m.rows[row_of_root], size, root);
    add_into(r, on_cols([&](const Group& g) { return broadcast(c, g, size, g.order[row_of_root]); }));
    r.strategy = "broadcast along the root's row, then down the columns";
  }
  return r;
}

CollectiveCost on_group(const Context& c, const Group& g, const std::string& kind, double size,
                        int64_t root) {
  if (kind == "all_reduce") return all_reduce(c, g, size);
  if (kind == "all_gather") return all_gather(c, g, size);
  if (kind == "reduce_scatter") return reduce_scatter(c, g, size);
  return broadcast(c, g, size, root);
}

// The algorithms the group's shape allows (or the one asked for); the fastest.
CollectiveCost choose(const Context& c, const std::vector<int64_t>& ranks,
                      const std::string& algorithm, const std::string& kind, double size,
                      int64_t root) {
  std::vector<CollectiveCost> candidates;
  if (algorithm == "auto" || algorithm == "ring") {
    candidates.push_back(on_group(c, ring_group(c.s, ranks), kind, size, root));
    candidates.back().algorithm = "ring";
  }
  if (algorithm == "auto" || algorithm == "line") {
    candidates.push_back(on_group(c, line_group(c.s, ranks), kind, size, root));
    candidates.back().algorithm = "line";
  }
  if (algorithm == "auto" || algorithm == "mesh2d") {
    const auto rectangle = mesh_rectangle(c.s, ranks);
    if (rectangle) {
      candidates.push_back(mesh2d(c, *rectangle, kind, size, root));
      candidates.back().algorithm = "mesh2d";
      candidates.back().order = line_group(c.s, ranks).order;
    } else if (algorithm == "mesh2d") {
      throw std::invalid_argument(
          "mesh2d needs a group that fills a rectangle of the mesh in two dimensions");
    }
  }
  return *std::min_element(candidates.begin(), candidates.end(),
                           [](const auto& a, const auto& b) { return a.time_s < b.time_s; });
}

}  // namespace


std::vector<std::string> collective_ops() {
  return {"all_reduce", "all_gather", "reduce_scatter", "broadcast", "all_to_all", "send_recv",
          "barrier"};
}

CollectiveCost collective_cost(const chip::System& system, const chip::Arch& arch,
                               const std::string& op, double nbytes,
                               const std::vector<int64_t>& ranks, const std::string& algorithm,
                               int64_t element_bytes, int64_t root) {
  const auto ops = collective_ops();
  if (std::find(ops.begin(), ops.end(), op) == ops.end()) {
    std::string known;
    for (const auto& o : ops) known += (known.empty() ? "" : ", ") + o;
    throw std::invalid_argument("unknown collective '" + op + "'; known: " + known);
  }
  if (algorithm != "auto" && algorithm != "ring" && algorithm != "line" && algorithm != "mesh2d")
    throw std::invalid_argument("unknown collective algorithm '" + algorithm +
                                "'; choose auto, ring, line or mesh2d");
  if (!(nbytes >= 0) || !std::isfinite(nbytes))
    throw std::invalid_argument("collective size must be a finite number of bytes >= 0, got " +
                                std::to_string(nbytes));
  if (element_bytes <= 0) throw std::invalid_argument("element_bytes must be positive");
  if (ranks.empty()) throw std::invalid_argument("a collective needs at least one rank");
  std::set<int64_t> unique;
  for (int64_t r : ranks) {
    system.check_chip(r, "collective rank");
    if (!unique.insert(r).second)
      throw std::invalid_argument("collective rank " + std::to_string(r) + " appears twice");
  }
  if (op == "send_recv" && ranks.size() != 2)
    throw std::invalid_argument("send_recv needs ranks = [source, destination]");
  if (op == "broadcast" && root >= 0 && !unique.count(root))
    throw std::invalid_argument("broadcast root " + std::to_string(root) + " is not in the group");
  const Context c{system, arch, element_bytes};
  CollectiveCost result;
  if (op == "all_to_all") {
    result = all_to_all(c, ranks, nbytes);
  } else if (op == "send_recv") {
    result = send_recv(c, ranks[0], ranks[1], nbytes);
  } else {
    const double size = op == "barrier" ? 16.0 : nbytes;  // one Ethernet word of semaphores
    const std::string kind = op == "barrier" ? "all_reduce" : op;
    const int64_t source = root >= 0 ? root : ranks[0];
    if (ranks.size() == 1) {
      result.order = ranks;
      result.algorithm = "local";
    } else {
      result = choose(c, ranks, algorithm, kind, size, source);
    }
  }
  result.op = op;
  result.group_size = static_cast<int64_t>(ranks.size());
  return result;
}

}  // namespace accel::perf
