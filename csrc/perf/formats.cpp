// Tile sizes of the chip's data formats (accelerators.md, "Data formats").
#include <stdexcept>

#include "perf/cost.h"

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

const Format& find(const std::string& name) {
  for (const auto& f : kFormats)
    if (name == f.name) return f;
  throw std::invalid_argument("performance model: unknown data format '" + name + "'");
}

}  // namespace

bool is_block_float(const std::string& format) { return find(format).block_float; }

int64_t tile_bytes(const std::string& format, const chip::Arch& arch) {
  const Format& f = find(format);
  const int64_t area = arch.tile_rows * arch.tile_cols;
  const int64_t exponents = f.block_float ? area / arch.face_cols : 0;
  return area * f.bits / 8 + exponents;
}

}  // namespace accel::perf
