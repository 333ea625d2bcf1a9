#include "chip/system.h"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>

#include <nlohmann/json.hpp>

namespace accel::chip {
namespace {

using Json = nlohmann::json;

void require(bool ok, const std::string& system, const std::string& what) {
  if (!ok) throw SystemError("system '" + system + "' is inconsistent: " + what);
}

int64_t positive_mod(int64_t v, int64_t m) { return ((v % m) + m) % m; }

// The system's scalar fields, visited by name, as arch_fields.h does for Arch.
template <class Visitor>
void visit_system_scalars(System& s, Visitor&& v) {
  v("links_per_neighbour", s.links_per_neighbour);
  v("reserved_per_neighbour", s.reserved_per_neighbour);
  v("link_bandwidth_bytes_per_s", s.link_bandwidth_bytes_per_s);
  v("hop_latency_s", s.hop_latency_s);
  v("max_packet_bytes", s.max_packet_bytes);
  v("packet_overhead_bytes", s.packet_overhead_bytes);
  v("ccl_workers_per_link", s.ccl_workers_per_link);
  v("link_energy_pj_per_byte", s.link_energy_pj_per_byte);
}

template <class T>
void read_number(const Json& value, const std::string& key, T& field, const std::string& origin) {
  if (!value.is_number())
    throw SystemError(origin + ": field '" + key + "' must be a number, got " + value.dump());
  if constexpr (std::is_integral_v<T>) {
    const double d = value.get<double>();
    if (d != std::floor(d))
      throw SystemError(origin + ": field '" + key + "' must be an integer, got " + value.dump());
    field = static_cast<T>(d);
  } else {
    field = value.get<double>();
  }
}

std::vector<int64_t> read_int_list(const Json& value, const std::string& key,
                                   const std::string& origin) {
  if (!value.is_array())
    throw SystemError(origin + ": field '" + key + "' must be a list of integers");
  std::vector<int64_t> out;
  for (const auto& item : value) {
    int64_t v = 0;
    if (item.is_boolean()) v = item.get<bool>() ? 1 : 0;
    else read_number(item, key, v, origin);
    out.push_back(v);
  }
  return out;
}

std::mutex g_active_mutex;
std::optional<System> g_active;

}  // namespace

void set_active_system(std::optional<System> system) {
  std::lock_guard<std::mutex> lock(g_active_mutex);
  g_active = std::move(system);
}

std::optional<System> active_system() {
  std::lock_guard<std::mutex> lock(g_active_mutex);
  return g_active;
}

int64_t System::num_chips() const {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

void System::check_chip(int64_t chip, const char* what) const {
  if (chip < 0 || chip >= num_chips())
    throw SystemError(std::string(what) + ": chip " + std::to_string(chip) + " is not in system '" +
                      name + "', which has chips 0 to " + std::to_string(num_chips() - 1));
}

std::vector<int64_t> System::coords(int64_t chip) const {
  check_chip(chip, "coords");
  std::vector<int64_t> c(dims.size());
  for (size_t i = dims.size(); i-- > 0;) {
    c[i] = chip % dims[i];
    chip /= dims[i];
  }
  return c;
}

int64_t System::chip_at(const std::vector<int64_t>& c) const {
  int64_t id = 0;
  for (size_t i = 0; i < dims.size(); ++i) id = id * dims[i] + c[i];
  return id;
}

int64_t System::usable_links(int64_t a, int64_t b) const {
  check_chip(a, "usable_links");
  check_chip(b, "usable_links");
  for (const auto& o : overrides)
    if ((o.chip_a == a && o.chip_b == b) || (o.chip_a == b && o.chip_b == a))
      return o.ports - o.reserved;
  const auto ca = coords(a), cb = coords(b);
  int differing = 0;
  bool adjacent = true;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (ca[i] == cb[i]) continue;
    ++differing;
    const int64_t d = std::abs(ca[i] - cb[i]);
    adjacent = adjacent && (d == 1 || (wrap[i] && d == dims[i] - 1));
  }
  if (differing != 1 || !adjacent) return 0;
  return links_per_neighbour - reserved_per_neighbour;
}

std::vector<int64_t> System::route(int64_t a, int64_t b) const {
  check_chip(a, "route");
  check_chip(b, "route");
  auto c = coords(a);
  const auto target = coords(b);
  std::vector<int64_t> path{a};
  for (size_t i = 0; i < dims.size(); ++i) {
    int64_t forward = positive_mod(target[i] - c[i], dims[i]);
    int step = target[i] > c[i] ? 1 : -1;
    if (wrap[i]) step = forward <= dims[i] - forward ? 1 : -1;
    while (c[i] != target[i]) {
      c[i] = wrap[i] ? positive_mod(c[i] + step, dims[i]) : c[i] + step;
      path.push_back(chip_at(c));
    }
  }
  return path;
}

double System::wire_bytes(double payload_bytes) const {
  if (payload_bytes <= 0) return 0;
  const double per_packet = static_cast<double>(max_packet_bytes - packet_overhead_bytes);
  return payload_bytes + std::ceil(payload_bytes / per_packet) * packet_overhead_bytes;
}

void System::validate() const {
  const std::string& n = name.empty() ? std::string("<unnamed>") : name;
  require(!name.empty(), n, "the system needs a name");
  require(!arch.empty(), n, "the system needs an 'arch' (an architecture preset or file)");
  require(!dims.empty() && dims.size() <= 3, n, "'dims' must have 1 to 3 dimensions");
  require(wrap.size() == dims.size(), n, "'wrap' needs one entry per dimension");
  for (int64_t d : dims) require(d >= 1 && d <= 4096, n, "every dimension must be 1 to 4096 chips");
  require(num_chips() <= (int64_t{1} << 20), n, "a system is limited to 2^20 chips");
  require(links_per_neighbour >= 1, n, "links_per_neighbour must be at least 1");
  require(reserved_per_neighbour >= 0 && reserved_per_neighbour < links_per_neighbour, n,
          "reserved_per_neighbour must leave at least one usable link");
  require(link_bandwidth_bytes_per_s > 0, n, "link_bandwidth_bytes_per_s must be positive");
  require(hop_latency_s >= 0, n, "hop_latency_s must not be negative");
  require(max_packet_bytes > packet_overhead_bytes && packet_overhead_bytes >= 0, n,
          "max_packet_bytes must exceed packet_overhead_bytes");
  require(ccl_workers_per_link >= 1, n, "ccl_workers_per_link must be at least 1");
  require(link_energy_pj_per_byte >= 0, n, "link_energy_pj_per_byte must not be negative");
  for (const auto& o : overrides) {
    require(o.chip_a >= 0 && o.chip_a < num_chips() && o.chip_b >= 0 && o.chip_b < num_chips(),
            n, "a 'links' entry names a chip outside the system");
    require(o.ports >= 1 && o.reserved >= 0 && o.reserved < o.ports, n,
            "a 'links' entry must have ports >= 1 and leave one unreserved");
    System plain = *this;
    plain.overrides.clear();
    require(plain.usable_links(o.chip_a, o.chip_b) > 0, n,
            "'links' entry " + std::to_string(o.chip_a) + "-" + std::to_string(o.chip_b) +
                " joins chips that are not neighbours in the mesh");
  }
}

System system_from_json(const std::string& text, const std::string& origin) {
  Json doc;
  try {
    doc = Json::parse(text);
  } catch (const Json::parse_error& e) {
    throw SystemError(origin + ": malformed JSON: " + e.what());
  }
  if (!doc.is_object()) throw SystemError(origin + ": a system must be a JSON object");
  System s;
  const bool based = doc.contains("base");
  if (based) {
    if (!doc["base"].is_string()) throw SystemError(origin + ": 'base' must be a system preset name");
    s = system_preset(doc["base"].get<std::string>());
  }
  std::map<std::string, bool> known = {{"base", true}, {"name", true}, {"arch", true},
                                       {"dims", true}, {"wrap", true}, {"torus", true},
                                       {"links", true}, {"sources", true},
                                       {"num_chips", true}};  // num_chips: written by system_to_json
  const auto from_file = [&](const std::string& key) { s.sources[key] = "system file " + origin; };
  visit_system_scalars(s, [&](const char* key, auto& field) {
    known[key] = true;
    if (doc.contains(key)) {
      read_number(doc[key], key, field, origin);
      from_file(key);
    } else if (!based) {
      throw SystemError(origin + ": missing field '" + key +
                        "' (give every field, or start from a preset with \"base\")");
    }
  });
  for (const auto& [key, value] : doc.items())
    if (!known.count(key)) throw SystemError(origin + ": unknown field '" + key + "'");
  for (const char* key : {"name", "arch"}) {
    if (doc.contains(key)) {
      if (!doc[key].is_string()) throw SystemError(origin + ": '" + key + "' must be a string");
      (std::string(key) == "name" ? s.name : s.arch) = doc[key].get<std::string>();
    } else if (!based) {
      throw SystemError(origin + ": missing field '" + key + "'");
    }
  }
  if (doc.contains("dims")) {
    s.dims = read_int_list(doc["dims"], "dims", origin);
    if (!doc.contains("wrap") && !doc.contains("torus")) s.wrap.assign(s.dims.size(), 0);
  } else if (!based) {
    throw SystemError(origin + ": missing field 'dims'");
  }
  if (doc.contains("wrap")) s.wrap = read_int_list(doc["wrap"], "wrap", origin);
  if (doc.contains("torus")) {
    if (!doc["torus"].is_boolean()) throw SystemError(origin + ": 'torus' must be true or false");
    s.wrap.assign(s.dims.size(), doc["torus"].get<bool>() ? 1 : 0);
  }
  if (doc.contains("links")) {
    if (!doc["links"].is_array())
      throw SystemError(origin + ": 'links' must be a list of {chips: [a, b], ports, reserved}");
    s.overrides.clear();
    for (const auto& item : doc["links"]) {
      if (!item.is_object() || !item.contains("chips") || !item.contains("ports"))
        throw SystemError(origin + ": each 'links' entry needs 'chips' and 'ports'");
      const auto chips = read_int_list(item["chips"], "links.chips", origin);
      if (chips.size() != 2) throw SystemError(origin + ": 'links.chips' must name two chips");
      LinkOverride o{chips[0], chips[1], 0, 0};
      read_number(item["ports"], "links.ports", o.ports, origin);
      if (item.contains("reserved")) read_number(item["reserved"], "links.reserved", o.reserved, origin);
      s.overrides.push_back(o);
    }
  }
  if (doc.contains("sources")) {
    if (!doc["sources"].is_object())
      throw SystemError(origin + ": 'sources' must map field names to strings");
    for (const auto& [key, value] : doc["sources"].items()) {
      if (!value.is_string()) throw SystemError(origin + ": 'sources' entry '" + key + "' is not a string");
      s.sources[key] = value.get<std::string>();
    }
  }
  s.validate();
  return s;
}

std::string system_to_json(const System& system) {
  Json doc;
  System& s = const_cast<System&>(system);
  doc["name"] = s.name;
  doc["arch"] = s.arch;
  doc["dims"] = s.dims;
  doc["wrap"] = s.wrap;
  visit_system_scalars(s, [&](const char* key, const auto& value) { doc[key] = value; });
  doc["links"] = Json::array();
  for (const auto& o : s.overrides)
    doc["links"].push_back({{"chips", {o.chip_a, o.chip_b}}, {"ports", o.ports}, {"reserved", o.reserved}});
  doc["num_chips"] = s.num_chips();
  doc["sources"] = s.sources;
  return doc.dump(2);
}

System load_system(const std::string& spec) {
  const bool looks_like_path = spec.find('/') != std::string::npos ||
                               spec.find('.') != std::string::npos;
  if (!looks_like_path) return system_preset(spec);
  std::ifstream file(spec);
  if (!file) throw SystemError("cannot open system file '" + spec + "'");
  std::stringstream text;
  text << file.rdbuf();
  return system_from_json(text.str(), spec);
}

}  // namespace accel::chip
