// Block-float tile math (kernels/formats/block_float.h) against hand-worked
// cases of the documented conversion; tests/python/test_block_float.py checks
// it bit for bit against an independent reference over 10^6 values.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>
#include <vector>

#include "engine/block_float.h"
#include "kernels/formats/block_float.h"

using namespace accel::kernels;

namespace {

uint32_t bits(float x) { return std::bit_cast<uint32_t>(x); }
float value(uint32_t b) { return std::bit_cast<float>(b); }
constexpr uint32_t kExp1 = 127;  // the fp32 exponent field of 1.0

}  // namespace

TEST(BlockFloat, TileBytes) {
  EXPECT_EQ(block_float_tile_bytes(BlockFloatFormat::Bfp8_b), 1088);
  EXPECT_EQ(block_float_tile_bytes(BlockFloatFormat::Bfp4_b), 576);
  EXPECT_EQ(block_float_tile_bytes(BlockFloatFormat::Bfp2_b), 320);
  EXPECT_FALSE(block_float_format("bfp16").has_value());
}

TEST(BlockFloat, EncodesSignAndMagnitudeAgainstTheSharedExponent) {
  // 1.5 with shared exponent 2^0: magnitude 1.1000000b -> 0b1100000 = 96.
  EXPECT_EQ(bfp_encode(bits(1.5f), kExp1, BlockFloatFormat::Bfp8_b), 96);
  EXPECT_EQ(bfp_encode(bits(-1.5f), kExp1, BlockFloatFormat::Bfp8_b), 0x80 | 96);
  // Against 2^1 it shifts right one place: 0.11b -> 48.
  EXPECT_EQ(bfp_encode(bits(1.5f), kExp1 + 1, BlockFloatFormat::Bfp8_b), 48);
  EXPECT_EQ(bfp_encode(bits(1.5f), kExp1, BlockFloatFormat::Bfp4_b), 6);
  EXPECT_EQ(value(bfp_decode(96, kExp1, BlockFloatFormat::Bfp8_b)), 1.5f);
  EXPECT_EQ(value(bfp_decode(48, kExp1 + 1, BlockFloatFormat::Bfp8_b)), 1.5f);
  EXPECT_EQ(value(bfp_decode(0x8 | 6, kExp1, BlockFloatFormat::Bfp4_b)), -1.5f);
}

TEST(BlockFloat, RoundsToNearestEvenAndSaturates) {
  // Bfp4_b keeps 1.xx: 1.001b and 1.011b are ties, going to the even 1.00b and 1.10b;
  // 1.0011b is past the tie and goes up.
  EXPECT_EQ(bfp_encode(bits(1.125f), kExp1, BlockFloatFormat::Bfp4_b), 4);
  EXPECT_EQ(bfp_encode(bits(1.375f), kExp1, BlockFloatFormat::Bfp4_b), 6);
  EXPECT_EQ(bfp_encode(bits(1.1875f), kExp1, BlockFloatFormat::Bfp4_b), 5);
  // 1.9375 rounds up past 1.11b; the magnitude saturates at 7 instead of carrying.
  EXPECT_EQ(bfp_encode(bits(1.9375f), kExp1, BlockFloatFormat::Bfp4_b), 7);
  // A value too small for the group's exponent flushes to +0, its sign dropped.
  EXPECT_EQ(bfp_encode(bits(-0x1p-30f), kExp1, BlockFloatFormat::Bfp8_b), 0);
}

TEST(BlockFloat, ZerosInfinitiesAndNaN) {
  EXPECT_EQ(bfp_encode(bits(-0.0f), kExp1, BlockFloatFormat::Bfp8_b), 0);
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(value(bfp_decode(bfp_encode(bits(inf), 255, BlockFloatFormat::Bfp8_b), 255,
                             BlockFloatFormat::Bfp8_b)), inf);
  EXPECT_TRUE(std::isnan(value(bfp_decode(bfp_encode(bits(NAN), 255, BlockFloatFormat::Bfp8_b), 255,
                                          BlockFloatFormat::Bfp8_b))));
  // A sign with a zero magnitude reads back as -0.
  EXPECT_EQ(bfp_decode(0x80, kExp1, BlockFloatFormat::Bfp8_b), 0x80000000u);
}

TEST(BlockFloat, TileLayoutIsFaceByFace) {
  std::vector<float> tile(kBfpTileElements, 0.f);
  tile[0 * 32 + 16] = 2.0f;    // face 1, row 0
  tile[16 * 32 + 0] = 4.0f;    // face 2, row 0
  tile[31 * 32 + 31] = -1.0f;  // face 3, row 15, column 15
  std::vector<uint8_t> packed(block_float_tile_bytes(BlockFloatFormat::Bfp8_b));
  pack_block_float_tile(tile.data(), BlockFloatFormat::Bfp8_b, packed.data());
  EXPECT_EQ(packed[16], kExp1 + 1);       // face 1 row 0's exponent
  EXPECT_EQ(packed[32], kExp1 + 2);       // face 2 row 0's
  EXPECT_EQ(packed[63], kExp1);           // face 3 row 15's
  EXPECT_EQ(packed[0], 0);                // an all-zero row
  EXPECT_EQ(packed[64 + 256], 64);        // face 1's first code: 1.0 x 2^1
  EXPECT_EQ(packed[64 + 512], 64);
  EXPECT_EQ(packed[64 + 1023], 0x80 | 64);
  std::vector<float> back(kBfpTileElements);
  unpack_block_float_tile(packed.data(), BlockFloatFormat::Bfp8_b, back.data());
  EXPECT_EQ(back, tile);
  // Bfp4_b: two codes a byte, element 0 in the low nibble.
  std::vector<uint8_t> packed4(block_float_tile_bytes(BlockFloatFormat::Bfp4_b));
  tile[1] = 1.0f;
  pack_block_float_tile(tile.data(), BlockFloatFormat::Bfp4_b, packed4.data());
  EXPECT_EQ(packed4[64], 4 << 4);
}

// The unpacker of a matmul operand: any block of the matrix, or of its
// transpose, expands to the values the whole-tile unpack gives.
TEST(BlockFloat, OperandExpandsAnyBlock) {
  using accel::engine::BlockFloatOperand;
  using accel::engine::DType;
  using accel::engine::TensorRef;
  const int64_t rows = 40, cols = 70;
  std::vector<float> x(rows * cols);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.37f * i) * std::exp2(float(i % 9) - 4);
  const TensorRef src{x.data(), DType::F32, {1, rows, cols}, {0, cols, 1}};
  const auto fmt = BlockFloatFormat::Bfp4_b;
  std::vector<uint8_t> packed(2 * 3 * block_float_tile_bytes(fmt));
  accel::engine::pack_block_float_tiles(src, fmt, packed.data(), 0, 6);
  std::vector<float> whole(rows * cols);
  const TensorRef dst{whole.data(), DType::F32, {1, rows, cols}, {0, cols, 1}};
  accel::engine::unpack_block_float_tiles(packed.data(), fmt, dst, 0, 6);

  std::vector<char> block;
  const BlockFloatOperand plain{packed.data(), fmt, rows, cols, false};
  auto s = plain.expand(5, 30, 33, 20, DType::F32, block);
  for (int64_t r = 0; r < 30; ++r)
    for (int64_t c = 0; c < 20; ++c)
      ASSERT_EQ(reinterpret_cast<float*>(block.data())[r * s[0] + c * s[1]], whole[(5 + r) * cols + 33 + c]);
  const BlockFloatOperand transposed{packed.data(), fmt, rows, cols, true};  // reads [70, 40]
  s = transposed.expand(33, 20, 5, 30, DType::F32, block);
  for (int64_t r = 0; r < 20; ++r)
    for (int64_t c = 0; c < 30; ++c)
      ASSERT_EQ(reinterpret_cast<float*>(block.data())[r * s[0] + c * s[1]], whole[(5 + c) * cols + 33 + r]);
}
