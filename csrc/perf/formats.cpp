// Tile sizes of the chip's data formats (accelerators.md, "Data formats").
#include <iterator>
#include <stdexcept>
#include <string_view>

#include "perf/cost.h"
#include "perf/kernel_table.h"

namespace accel::perf {
namespace {

// Bits per element, and whether a face row shares one exponent byte.
struct Format {
  const char* name;
  int bits;
  bool block_float;
};

constexpr Format kFormats[] = {
    {"Float32", 32, false}, {"Float16_b", 16, false}, {"Float16", 16, false},
    {"Float64", 64, false}, {"Bfp8_b", 8, true}, {"Bfp8", 8, true},
    {"Bfp4_b", 4, true},    {"Bfp4", 4, true},        {"Bfp2_b", 2, true},
    {"Int8", 8, false},     {"UInt8", 8, false},      {"Bool", 8, false},
    {"Int16", 16, false},   {"Int32", 32, false},     {"Int64", 64, false},
};

// kernel_table.h's format sets index this list.
static_assert(std::size(kFormats) == 15 && kFormats[8].block_float && kFormats[9].bits == 8 &&
              !kFormats[9].block_float);

size_t index_of(std::string_view name) {
  for (size_t i = 0; i < std::size(kFormats); ++i)
    if (name == kFormats[i].name) return i;
  throw std::invalid_argument("performance model: unknown data format '" + std::string(name) + "'");
}

const Format& find(const std::string& name) { return kFormats[index_of(name)]; }

}  // namespace

FormatSet format_bit(std::string_view format) { return FormatSet{1} << index_of(format); }

std::vector<std::string> format_names(FormatSet formats) {
  std::vector<std::string> names;
  for (size_t i = 0; i < std::size(kFormats); ++i)
    if (formats & (FormatSet{1} << i)) names.emplace_back(kFormats[i].name);
  return names;
}

bool is_block_float(const std::string& format) { return find(format).block_float; }

int64_t tile_bytes(const std::string& format, const chip::Arch& arch) {
  const Format& f = find(format);
  const int64_t area = arch.tile_rows * arch.tile_cols;
  const int64_t exponents = f.block_float ? area / arch.face_cols : 0;
  return area * f.bits / 8 + exponents;
}

}  // namespace accel::perf
