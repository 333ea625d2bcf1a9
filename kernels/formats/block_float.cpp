#include "kernels/formats/block_float.h"

#include <algorithm>
#include <bit>
#include <cstring>

namespace accel::kernels {
namespace {

constexpr uint32_t kExponentMask = 0x7f800000u, kMantissaMask = 0x007fffffu, kHiddenBit = 0x00800000u;

int64_t code_index(int64_t row, int64_t col) {
  const int64_t face = (row / kBfpFaceRows) * (kBfpTileCols / kBfpFaceCols) + col / kBfpFaceCols;
  return face * kBfpFaceRows * kBfpFaceCols + (row % kBfpFaceRows) * kBfpFaceCols + col % kBfpFaceCols;
}

// Codes are packed low bits first into little-endian words, so a code's bits
// sit in byte index*bits/8 at bit offset (index*bits) % 8.
void put_code(uint8_t* data, int64_t index, int bits, uint8_t code) {
  const int64_t bit = index * bits;
  data[bit / 8] |= static_cast<uint8_t>(code << (bit % 8));
}

uint8_t get_code(const uint8_t* data, int64_t index, int bits) {
  const int64_t bit = index * bits;
  return static_cast<uint8_t>((data[bit / 8] >> (bit % 8)) & ((1u << bits) - 1));
}

}  // namespace

std::optional<BlockFloatFormat> block_float_format(std::string_view name) {
  if (name == "bfp8_b" || name == "Bfp8_b") return BlockFloatFormat::Bfp8_b;
  if (name == "bfp4_b" || name == "Bfp4_b") return BlockFloatFormat::Bfp4_b;
  if (name == "bfp2_b" || name == "Bfp2_b") return BlockFloatFormat::Bfp2_b;
  return std::nullopt;
}

const char* block_float_format_name(BlockFloatFormat fmt) {
  switch (fmt) {
    case BlockFloatFormat::Bfp8_b: return "Bfp8_b";
    case BlockFloatFormat::Bfp4_b: return "Bfp4_b";
    case BlockFloatFormat::Bfp2_b: return "Bfp2_b";
  }
  return "?";
}

int block_float_magnitude_bits(BlockFloatFormat fmt) {
  switch (fmt) {
    case BlockFloatFormat::Bfp8_b: return 7;
    case BlockFloatFormat::Bfp4_b: return 3;
    case BlockFloatFormat::Bfp2_b: return 1;
  }
  return 0;
}

int64_t block_float_tile_bytes(BlockFloatFormat fmt) {
  return kBfpExponentBytes + kBfpTileElements * (block_float_magnitude_bits(fmt) + 1) / 8;
}

uint32_t bfp_shared_exponent(const uint32_t* fp32_bits, int64_t n) {
  uint32_t shared = 0;
  for (int64_t i = 0; i < n; ++i) shared = std::max(shared, (fp32_bits[i] & kExponentMask) >> 23);
  return shared;
}

uint8_t bfp_encode(uint32_t bits, uint32_t shared_exponent, BlockFloatFormat fmt) {
  if ((bits & 0x7fffffffu) == 0) return 0;  // +0 and -0 alike
  const int width = block_float_magnitude_bits(fmt);
  const int drop = 24 - width;  // bits of the 24-bit significand that do not fit
  const uint32_t exponent = (bits & kExponentMask) >> 23;
  uint32_t sign = bits >> 31;
  // The hidden bit is set for every nonzero value, denormals included: the
  // chip's conversion reads a denormal as 1.m x 2^-127.
  uint32_t significand = (bits & kMantissaMask) | kHiddenBit;
  if (shared_exponent > exponent) {
    const uint32_t shift = shared_exponent - exponent;
    significand = shift >= 32 ? 0 : significand >> shift;
  }
  const uint32_t rest = significand & ((1u << drop) - 1), tie = 1u << (drop - 1);
  uint32_t magnitude = significand >> drop;
  if (rest > tie || (rest == tie && (magnitude & 1))) ++magnitude;  // nearest, ties to even
  // A round-up past the largest magnitude saturates: the shared exponent is fixed.
  magnitude = std::min(magnitude, (1u << width) - 1);
  if (magnitude == 0) sign = 0;
  return static_cast<uint8_t>((sign << width) | magnitude);
}

uint32_t bfp_decode(uint8_t code, uint32_t shared_exponent, BlockFloatFormat fmt) {
  const int width = block_float_magnitude_bits(fmt);
  const uint32_t sign = (code >> width) & 1u;
  uint32_t magnitude = code & ((1u << width) - 1);
  if (magnitude == 0) return sign << 31;  // sign + zero magnitude reads as a signed zero
  // Normalise: the leading one becomes the hidden bit, the exponent drops by
  // the shift. Unsigned arithmetic, as the chip's host code, for the (never
  // packed) codes whose shift exceeds the exponent.
  const int leading = std::bit_width(magnitude) - 1;
  const uint32_t shift = static_cast<uint32_t>(width - 1 - leading);
  magnitude = (magnitude << (shift + 1)) & ((1u << width) - 1);
  const uint32_t exponent = shared_exponent - shift;
  return (sign << 31) | (exponent << 23) | (magnitude << (23 - width));
}

void pack_block_float_tile(const float* tile, BlockFloatFormat fmt, uint8_t* out) {
  const int bits = block_float_magnitude_bits(fmt) + 1;
  uint8_t* codes = out + kBfpExponentBytes;
  std::memset(codes, 0, kBfpTileElements * bits / 8);
  uint32_t group[kBfpFaceCols];
  for (int64_t row = 0; row < kBfpTileRows; ++row) {
    for (int64_t col0 = 0; col0 < kBfpTileCols; col0 += kBfpFaceCols) {
      std::memcpy(group, tile + row * kBfpTileCols + col0, sizeof(group));
      const uint32_t shared = bfp_shared_exponent(group, kBfpFaceCols);
      const int64_t first = code_index(row, col0);
      out[first / kBfpFaceCols] = static_cast<uint8_t>(shared);
      for (int64_t j = 0; j < kBfpFaceCols; ++j)
        put_code(codes, first + j, bits, bfp_encode(group[j], shared, fmt));
    }
  }
}

void unpack_block_float_tile(const uint8_t* in, BlockFloatFormat fmt, float* tile) {
  const int bits = block_float_magnitude_bits(fmt) + 1;
  const uint8_t* codes = in + kBfpExponentBytes;
  for (int64_t row = 0; row < kBfpTileRows; ++row) {
    for (int64_t col0 = 0; col0 < kBfpTileCols; col0 += kBfpFaceCols) {
      const int64_t first = code_index(row, col0);
      const uint32_t shared = in[first / kBfpFaceCols];
      for (int64_t j = 0; j < kBfpFaceCols; ++j)
        tile[row * kBfpTileCols + col0 + j] =
            std::bit_cast<float>(bfp_decode(get_code(codes, first + j, bits), shared, fmt));
    }
  }
}

}  // namespace accel::kernels
