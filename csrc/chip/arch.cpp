#include "chip/arch.h"

#include <fstream>
#include <sstream>
#include <type_traits>

#include <nlohmann/json.hpp>

#include "chip/arch_fields.h"

namespace accel::chip {
namespace {

using Json = nlohmann::json;

bool is_power_of_two(int64_t v) { return v > 0 && (v & (v - 1)) == 0; }

void require(bool ok, const std::string& arch, const std::string& what) {
  if (!ok) throw ArchError("architecture '" + arch + "' is inconsistent: " + what);
}

template <class T>
void read_field(const Json& value, const char* key, T& field, const std::string& origin) {
  if constexpr (std::is_integral_v<T>) {
    if (!value.is_number_integer() && !(value.is_number_float() &&
                                         value.get<double>() == static_cast<double>(
                                             static_cast<int64_t>(value.get<double>()))))
      throw ArchError(origin + ": field '" + key + "' must be an integer, got " + value.dump());
    field = value.is_number_integer() ? value.get<int64_t>()
                                      : static_cast<int64_t>(value.get<double>());
  } else {
    if (!value.is_number())
      throw ArchError(origin + ": field '" + key + "' must be a number, got " + value.dump());
    field = value.get<double>();
  }
}

}  // namespace

void Arch::validate() const {
  const std::string& n = name;
  require(!name.empty(), "<unnamed>", "the architecture needs a name");
  visit_arch_fields(*this, [&](const char* key, const auto& value) {
    require(value > 0, n, std::string(key) + " must be positive");
  });
  require(tile_rows % face_rows == 0 && tile_cols % face_cols == 0, n,
          "a tile must be a whole number of faces");
  require(is_power_of_two(dram_page_bytes), n, "dram_page_bytes must be a power of two");
  require(dram_bytes % (dram_page_bytes * dram_channels) == 0, n,
          "dram_bytes must be a whole number of pages on every channel");
  require(dram_bytes % 4096 == 0, n, "dram_bytes must be a multiple of 4096");
  require(is_power_of_two(dst_tiles_bf16) && dst_tiles_bf16 >= 2, n,
          "dst_tiles_bf16 must be a power of two of at least 2");
  // A core must at least double-buffer one fp32 tile per input and output.
  const int64_t fp32_tile = tile_rows * tile_cols * 4;
  require(l1_bytes_per_core >= 6 * fp32_tile, n,
          "l1_bytes_per_core must hold at least six fp32 tiles (" +
              std::to_string(6 * fp32_tile) + " bytes)");
  require(grid_rows <= 64 && grid_cols <= 64, n, "the grid is limited to 64x64 cores");
}

Arch arch_from_json(const std::string& text, const std::string& origin) {
  Json doc;
  try {
    doc = Json::parse(text);
  } catch (const Json::parse_error& e) {
    throw ArchError(origin + ": malformed JSON: " + e.what());
  }
  if (!doc.is_object()) throw ArchError(origin + ": an architecture must be a JSON object");

  Arch arch;
  bool complete = false;
  if (doc.contains("base")) {
    if (!doc["base"].is_string()) throw ArchError(origin + ": 'base' must be a preset name");
    arch = preset(doc["base"].get<std::string>());
    complete = true;
  }
  std::map<std::string, bool> known = {{"base", true}, {"name", true}, {"sources", true}};
  visit_arch_fields(arch, [&](const char* key, auto& field) {
    known[key] = true;
    if (doc.contains(key)) {
      read_field(doc[key], key, field, origin);
      arch.sources[key] = "architecture file " + origin;
    } else if (!complete) {
      throw ArchError(origin + ": missing field '" + key +
                      "' (give every field, or start from a preset with \"base\")");
    }
  });
  for (const auto& [key, value] : doc.items())
    if (!known.count(key)) throw ArchError(origin + ": unknown field '" + key + "'");

  if (doc.contains("name")) {
    if (!doc["name"].is_string()) throw ArchError(origin + ": 'name' must be a string");
    arch.name = doc["name"].get<std::string>();
  } else if (!complete) {
    throw ArchError(origin + ": missing field 'name'");
  }
  if (doc.contains("sources")) {
    if (!doc["sources"].is_object())
      throw ArchError(origin + ": 'sources' must map field names to strings");
    for (const auto& [key, value] : doc["sources"].items()) {
      if (!known.count(key) || !value.is_string())
        throw ArchError(origin + ": 'sources' entry '" + key + "' is not a field with a string");
      arch.sources[key] = value.get<std::string>();
    }
  }
  arch.validate();
  return arch;
}

std::string arch_to_json(const Arch& arch) {
  Json doc;
  doc["name"] = arch.name;
  visit_arch_fields(arch, [&](const char* key, const auto& value) { doc[key] = value; });
  doc["sources"] = arch.sources;
  return doc.dump(2);
}

Arch load_arch(const std::string& spec) {
  const bool looks_like_path = spec.find('/') != std::string::npos ||
                               spec.find('.') != std::string::npos;
  if (!looks_like_path) return preset(spec);
  std::ifstream file(spec);
  if (!file) throw ArchError("cannot open architecture file '" + spec + "'");
  std::stringstream text;
  text << file.rdbuf();
  return arch_from_json(text.str(), spec);
}

}  // namespace accel::chip
