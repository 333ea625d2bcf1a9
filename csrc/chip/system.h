// A system of chips joined by Ethernet: which chips, where they sit in a mesh
// or torus, and the links between neighbours. Torch-free, like Arch; the
// collective model (csrc/perf/collective.h) prices traffic on it.
// docs/MULTICHIP.md explains the presets and their sources.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace accel::chip {

struct SystemError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// The links between one pair of neighbouring chips when they differ from the
// system's default (e.g. the on-card pair of an n300, one of whose two links
// the dispatcher reserves).
struct LinkOverride {
  int64_t chip_a = 0;
  int64_t chip_b = 0;
  int64_t ports = 0;
  int64_t reserved = 0;
};

struct System {
  std::string name;
  std::string arch;              // architecture preset or file of every chip
  std::vector<int64_t> dims;     // mesh shape, 1 to 3 dimensions; chip ids row-major
  std::vector<int64_t> wrap;     // per dimension: 1 when the edge links close a torus
  int64_t links_per_neighbour = 0;      // Ethernet ports joining two neighbours
  int64_t reserved_per_neighbour = 0;   // of those, held by firmware or dispatch
  double link_bandwidth_bytes_per_s = 0;  // one link, one direction
  double hop_latency_s = 0;             // a packet's latency across one link
  int64_t max_packet_bytes = 0;         // payload is cut into packets of this size
  int64_t packet_overhead_bytes = 0;    // headers, MAC, FEC and CRC per packet
  int64_t ccl_workers_per_link = 0;     // Tensix cores that feed one link in a CCL op
  double link_energy_pj_per_byte = 0;
  std::vector<LinkOverride> overrides;
  std::map<std::string, std::string> sources;

  int64_t num_chips() const;
  std::vector<int64_t> coords(int64_t chip) const;
  int64_t chip_at(const std::vector<int64_t>& coords) const;
  // Links usable by collectives between two chips; 0 when not neighbours.
  int64_t usable_links(int64_t a, int64_t b) const;
  // The chips a packet visits from a to b (both included), in dimension order
  // along the shorter way round a wrapped dimension.
  std::vector<int64_t> route(int64_t a, int64_t b) const;
  // Bytes on the wire for a payload: packets of max_packet_bytes, each with
  // packet_overhead_bytes of its own headers.
  double wire_bytes(double payload_bytes) const;
  void check_chip(int64_t chip, const char* what) const;
  // Throws SystemError naming the first inconsistency.
  void validate() const;
};

std::vector<std::string> system_preset_names();
// Throws SystemError listing the known presets when `name` is not one.
System system_preset(const std::string& name);
System system_from_json(const std::string& text, const std::string& origin);
std::string system_to_json(const System& system);
// A preset name, or a path to a JSON system file.
System load_system(const std::string& spec);

// The system torch_accel.configure(system=...) laid the devices out on:
// device i is chip i. Unset, devices have no links between them.
void set_active_system(std::optional<System> system);
std::optional<System> active_system();

}  // namespace accel::chip
