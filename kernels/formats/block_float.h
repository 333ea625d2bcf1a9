// The chip's block-float tile formats Bfp8_b, Bfp4_b and Bfp2_b, bit-exact to
// tt-metal's host conversion (docs/NUMERICS.md has the rules). A 32x32 tile
// is four 16x16 faces (top-left, top-right, bottom-left, bottom-right); each
// face row of 16 values shares one 8-bit exponent (bias 127). In memory a
// tile is its 64 exponent bytes (face 0 rows 0..15, then faces 1..3), then
// the sign + magnitude codes face by face, row-major in the face, packed
// into 32-bit little-endian words with element 0 in the low bits.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace accel::kernels {

enum class BlockFloatFormat : uint8_t { Bfp8_b, Bfp4_b, Bfp2_b };

// "bfp8_b", "bfp4_b", "bfp2_b" (also the chip's spelling "Bfp8_b", ...); nullopt otherwise.
std::optional<BlockFloatFormat> block_float_format(std::string_view name);
// The chip's name of the format: "Bfp8_b", "Bfp4_b", "Bfp2_b".
const char* block_float_format_name(BlockFloatFormat fmt);

constexpr int64_t kBfpTileRows = 32, kBfpTileCols = 32, kBfpFaceRows = 16, kBfpFaceCols = 16;
constexpr int64_t kBfpTileElements = kBfpTileRows * kBfpTileCols;
constexpr int64_t kBfpExponentBytes = kBfpTileElements / kBfpFaceCols;  // one per face row

// Magnitude bits of an element (7, 3, 1); the element is sign + magnitude.
int block_float_magnitude_bits(BlockFloatFormat fmt);
// 1088, 576, 320.
int64_t block_float_tile_bytes(BlockFloatFormat fmt);

// One element against its group's shared exponent (an fp32 exponent field):
// fp32 bits -> sign + magnitude code, and back to fp32 bits.
uint8_t bfp_encode(uint32_t fp32_bits, uint32_t shared_exponent, BlockFloatFormat fmt);
uint32_t bfp_decode(uint8_t code, uint32_t shared_exponent, BlockFloatFormat fmt);
// The shared exponent of a group: the largest fp32 exponent field among its values.
uint32_t bfp_shared_exponent(const uint32_t* fp32_bits, int64_t n);

// tile: 32x32 fp32 values, row-major. out/in: block_float_tile_bytes(fmt) bytes.
void pack_block_float_tile(const float* tile, BlockFloatFormat fmt, uint8_t* out);
void unpack_block_float_tile(const uint8_t* in, BlockFloatFormat fmt, float* tile);

}  // namespace accel::kernels
