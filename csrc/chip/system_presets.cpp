// Built-in systems. Each figure names its source; TTM = tenstorrent/tt-metal
// (see shared/reference/accelerators.md and docs/MULTICHIP.md).
#include <functional>

#include "chip/system.h"

namespace accel::chip {
namespace {

// What every Wormhole Ethernet link offers (TTM BasicEthernetGuide.md).
void set_wormhole_links(System& s) {
  s.arch = "wormhole_n150";
  s.link_bandwidth_bytes_per_s = 12.5e9;
  s.hop_latency_s = 650e-9;
  s.max_packet_bytes = 1500;
  s.packet_overhead_bytes = 50;
  s.ccl_workers_per_link = 2;
  s.link_energy_pj_per_byte = 40;
  s.sources["arch"] =
      "every chip is a Wormhole with the n150's 8x8 compute grid (an n300 card holds two)";
  s.sources["link_bandwidth_bytes_per_s"] =
      "TTM tech_reports/EthernetMultichip/BasicEthernetGuide.md: 100 Gb/s per direction per link";
  s.sources["hop_latency_s"] =
      "TTM BasicEthernetGuide.md ring ping: about 650 ns per hop (8-hop round trip 5.2 us)";
  s.sources["max_packet_bytes"] = "TTM BasicEthernetGuide.md: maximum packet 1500 B";
  s.sources["packet_overhead_bytes"] =
      "TTM BasicEthernetGuide.md: 50+ B per packet (raw, packet and MAC headers, FEC, CRC)";
  s.sources["ccl_workers_per_link"] =
      "assumption: tt-metal CCL ops give each link a sender and a receiver worker core";
  s.sources["link_energy_pj_per_byte"] =
      "assumption: about 5 pJ/bit for a 100G SerDes link, both ends";
}

System n300() {
  System s;
  s.name = "n300";
  set_wormhole_links(s);
  s.dims = {2};
  s.wrap = {0};
  s.links_per_neighbour = 2;
  s.reserved_per_neighbour = 1;
  s.sources["wrap"] = "two chips: a line";
  s.sources["dims"] = "TTM BasicEthernetGuide.md: two Wormhole chips on one card";
  s.sources["links_per_neighbour"] =
      "TTM BasicEthernetGuide.md: 200 Gb/s per direction between the two chips";
  s.sources["reserved_per_neighbour"] =
      "TTM BasicEthernetGuide.md: one link reserved for the dispatcher, 100 Gb/s left to kernels";
  return s;
}

System t3k() {
  System s;
  s.name = "t3k";
  set_wormhole_links(s);
  // Row 0 holds the four PCIe-attached (local) chips, row 1 their remote
  // partners: each column is one n300 card.
  s.dims = {2, 4};
  s.wrap = {0, 0};
  s.links_per_neighbour = 2;
  s.reserved_per_neighbour = 0;
  s.sources["reserved_per_neighbour"] = "TTM BasicEthernetGuide.md: links between cards are all usable";
  s.sources["wrap"] = "TTM BasicEthernetGuide.md: a 2x4 mesh, not closed";
  for (int64_t card = 0; card < 4; ++card) s.overrides.push_back({card, card + 4, 2, 1});
  s.sources["dims"] = "TTM BasicEthernetGuide.md: T3000, eight chips (four n300) in a 2x4 mesh";
  s.sources["links_per_neighbour"] =
      "assumption: one QSFP-DD 200G port (two 100 GbE links) between neighbouring cards";
  s.sources["links"] =
      "TTM BasicEthernetGuide.md: inside each n300 one of the two links stays reserved for dispatch";
  return s;
}

System galaxy(bool torus) {
  System s;
  s.name = torus ? "galaxy_torus" : "galaxy";
  set_wormhole_links(s);
  s.dims = {4, 8};
  s.wrap = {torus ? 1 : 0, torus ? 1 : 0};
  s.links_per_neighbour = 4;
  s.reserved_per_neighbour = 0;
  s.sources["reserved_per_neighbour"] = "TTM TT-Fabric-Architecture.md: every neighbour link carries fabric traffic";
  s.sources["wrap"] = s.sources["dims"] = torus
      ? "TTM BasicEthernetGuide.md: 32 chips in a 4x8 mesh, edge links closed into a torus"
      : "TTM BasicEthernetGuide.md: Galaxy, 32 Wormhole chips in a 4x8 mesh";
  s.sources["links_per_neighbour"] =
      "TTM tech_reports/TT-Fabric/TT-Fabric-Architecture.md: Wormhole, 4 links per neighbour direction";
  return s;
}

// 32 Galaxies joined edge to edge: 8 x 4 Galaxies of 4 x 8 chips make a
// 32 x 32 torus of 1,024 chips through the edge chips' spare ports.
System galaxy_pod_1024() {
  System s = galaxy(true);
  s.name = "galaxy_pod_1024";
  s.dims = {32, 32};
  s.wrap = {1, 1};
  s.sources["wrap"] = s.sources["dims"] =
      "assumption: 32 Galaxies (4x8 each) joined through their edge links into a 32x32 torus "
      "(TTM BasicEthernetGuide.md: edge links join Galaxies into larger meshes)";
  return s;
}

System p150x4() {
  System s;
  s.name = "p150x4";
  s.arch = "blackhole_p150";
  s.dims = {4};
  s.wrap = {1};
  s.links_per_neighbour = 2;
  s.reserved_per_neighbour = 0;
  s.sources["reserved_per_neighbour"] = "assumption: no link reserved; each p150 has its own PCIe host link";
  s.sources["wrap"] = "assumption: the ring closes (card 3 back to card 0)";
  s.link_bandwidth_bytes_per_s = 25e9;
  s.hop_latency_s = 650e-9;
  s.max_packet_bytes = 1500;
  s.packet_overhead_bytes = 50;
  s.ccl_workers_per_link = 2;
  s.link_energy_pj_per_byte = 40;
  s.sources["arch"] = "four Blackhole p150 cards in one box";
  s.sources["dims"] = "assumption: the four cards cabled as a ring through their QSFP-DD ports";
  s.sources["links_per_neighbour"] =
      "TTM tech_reports/TT-Fabric/TT-Fabric-Architecture.md: Blackhole, 2 links per neighbour direction";
  s.sources["link_bandwidth_bytes_per_s"] =
      "ISA BlackholeA0/README.md: 400 GbE links (50 GB/s); TTM CCL notes: they currently run at "
      "half their rated speed, so 25 GB/s per direction";
  s.sources["hop_latency_s"] = "assumption: as a Wormhole hop (TTM BasicEthernetGuide.md, 650 ns)";
  s.sources["max_packet_bytes"] = "assumption: standard Ethernet MTU, as Wormhole";
  s.sources["packet_overhead_bytes"] = "assumption: as Wormhole (TTM BasicEthernetGuide.md)";
  s.sources["ccl_workers_per_link"] =
      "assumption: tt-metal CCL ops give each link a sender and a receiver worker core";
  s.sources["link_energy_pj_per_byte"] = "assumption: about 5 pJ/bit per SerDes link, both ends";
  return s;
}

const std::map<std::string, std::function<System()>>& system_registry() {
  static const std::map<std::string, std::function<System()>> presets = {
      {"n300", n300},
      {"t3k", t3k},
      {"galaxy", [] { return galaxy(false); }},
      {"galaxy_torus", [] { return galaxy(true); }},
      {"galaxy_pod_1024", galaxy_pod_1024},
      {"p150x4", p150x4},
  };
  return presets;
}

}  // namespace

std::vector<std::string> system_preset_names() {
  std::vector<std::string> names;
  for (const auto& [name, make] : system_registry()) names.push_back(name);
  return names;
}

System system_preset(const std::string& name) {
  auto it = system_registry().find(name);
  if (it == system_registry().end()) {
    std::string known;
    for (const auto& n : system_preset_names()) known += (known.empty() ? "" : ", ") + n;
    throw SystemError("unknown accel system preset '" + name + "'; known presets: " + known +
                      ", or give a path to a .json/.yaml system file");
  }
  System s = it->second();
  s.validate();
  return s;
}

}  // namespace accel::chip
