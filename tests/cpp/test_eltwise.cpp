// Tile kernels against a scalar reference: partial tiles, odd shapes,
// broadcasting, strided inputs and each dtype family.
#include <gtest/gtest.h>

#include <c10/util/BFloat16.h>

#include <cmath>
#include <random>
#include <vector>

#include "chip/arch.h"
#include "engine/eltwise.h"
#include "kernels/eltwise/binary.h"
#include "kernels/eltwise/unary.h"

using namespace accel;
using engine::DType;
using engine::TensorRef;

namespace {

TensorRef ref(void* data, DType dt, std::vector<int64_t> sizes, std::vector<int64_t> strides = {}) {
  if (strides.empty()) {
    strides.resize(sizes.size());
    int64_t s = 1;
    for (int64_t d = static_cast<int64_t>(sizes.size()) - 1; d >= 0; --d) {
      strides[d] = s;
      s *= sizes[d];
    }
  }
  return {data, dt, sizes, strides};
}

std::vector<float> random_floats(size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> dist;
  std::vector<float> v(n);
  for (auto& x : v) x = dist(gen);
  return v;
}

const chip::Arch& tiny() {
  static chip::Arch arch = chip::preset("tiny");
  return arch;
}

}  // namespace

class EltwiseShapes : public ::testing::TestWithParam<std::vector<int64_t>> {};

TEST_P(EltwiseShapes, AddMatchesScalarReferenceOnPartialTiles) {
  const auto shape = GetParam();
  int64_t n = 1;
  for (auto s : shape) n *= s;
  auto a = random_floats(n, 1), b = random_floats(n, 2);
  std::vector<float> out(n, NAN);
  engine::KernelParams p;
  p.alpha = 0.5;
  auto rec = engine::run_eltwise(tiny(), "add", kernels::binary_kernel(kernels::Binary::Add),
                                 ref(out.data(), DType::F32, shape),
                                 {ref(a.data(), DType::F32, shape), ref(b.data(), DType::F32, shape)},
                                 DType::F32, p);
  for (int64_t i = 0; i < n; ++i) ASSERT_FLOAT_EQ(out[i], a[i] + 0.5f * b[i]) << i;
  // Tiles are counted on the padded 32x32 grid of the last two dims.
  const int64_t cols = shape.size() >= 2 ? shape.back() : 32;
  const int64_t rows = shape.size() >= 2 ? shape[shape.size() - 2] : (n + 31) / 32;
  const int64_t batch = shape.size() >= 2 ? n / std::max<int64_t>(rows * cols, 1) : 1;
  EXPECT_EQ(rec.tiles, batch * ((rows + 31) / 32) * ((cols + 31) / 32));
  EXPECT_LE(rec.cores_used, tiny().num_cores());
}

INSTANTIATE_TEST_SUITE_P(Shapes, EltwiseShapes,
                         ::testing::Values(std::vector<int64_t>{1}, std::vector<int64_t>{33},
                                           std::vector<int64_t>{5000},
                                           std::vector<int64_t>{31, 33},
                                           std::vector<int64_t>{3, 64, 65},
                                           std::vector<int64_t>{2, 3, 1, 7}));

TEST(Eltwise, BroadcastAndStridedInputs) {
  // out[4, 40] = a[40, 4]^T (strided) * b[40] (broadcast over rows)
  auto a = random_floats(160, 3), b = random_floats(40, 4);
  std::vector<float> out(160);
  engine::run_eltwise(tiny(), "mul", kernels::binary_kernel(kernels::Binary::Mul),
                      ref(out.data(), DType::F32, {4, 40}),
                      {ref(a.data(), DType::F32, {4, 40}, {1, 4}), ref(b.data(), DType::F32, {4, 40}, {0, 1})},
                      DType::F32, {});
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 40; ++c) ASSERT_FLOAT_EQ(out[r * 40 + c], a[c * 4 + r] * b[c]);
}

TEST(Eltwise, Bfloat16RoundsLikeCpu) {
  auto a = random_floats(100, 5);
  std::vector<c10::BFloat16> in(a.begin(), a.end()), out(100);
  engine::run_eltwise(tiny(), "exp", kernels::unary_kernel(kernels::Unary::Exp),
                      ref(out.data(), DType::BF16, {100}), {ref(in.data(), DType::BF16, {100})},
                      DType::BF16, {});
  for (int i = 0; i < 100; ++i)
    ASSERT_EQ(static_cast<float>(out[i]),
              static_cast<float>(c10::BFloat16(std::exp(static_cast<float>(in[i])))));
}

TEST(Eltwise, IntegerFloorDivisionAndZeroDivisor) {
  std::vector<int64_t> a = {7, -7, 7, -7}, b = {2, 2, -2, -2}, out(4);
  engine::run_eltwise(tiny(), "div", kernels::binary_kernel(kernels::Binary::DivFloor),
                      ref(out.data(), DType::I64, {4}),
                      {ref(a.data(), DType::I64, {4}), ref(b.data(), DType::I64, {4})}, DType::I64, {});
  EXPECT_EQ(out, (std::vector<int64_t>{3, -4, -4, 3}));
  b[1] = 0;
  EXPECT_THROW(engine::run_eltwise(tiny(), "div", kernels::binary_kernel(kernels::Binary::DivFloor),
                                   ref(out.data(), DType::I64, {4}),
                                   {ref(a.data(), DType::I64, {4}), ref(b.data(), DType::I64, {4})},
                                   DType::I64, {}),
               std::domain_error);
}

TEST(Eltwise, ComparisonWritesBool) {
  std::vector<float> a = {1, 2, 3}, b = {2, 2, 2};
  bool out[3];
  engine::run_eltwise(tiny(), "gt", kernels::binary_kernel(kernels::Binary::Gt),
                      ref(out, DType::Bool, {3}),
                      {ref(a.data(), DType::F32, {3}), ref(b.data(), DType::F32, {3})}, DType::F32, {});
  EXPECT_FALSE(out[0]);
  EXPECT_FALSE(out[1]);
  EXPECT_TRUE(out[2]);
}

TEST(Program, SplitsTilesEvenlyOverCores) {
  auto split = engine::split_tiles(10, 4);
  EXPECT_EQ(split.cores_used, 4);
  EXPECT_EQ(split.tiles(0), 3);
  EXPECT_EQ(split.tiles(3), 2);
  EXPECT_EQ(engine::split_tiles(2, 64).cores_used, 2);
  EXPECT_EQ(engine::split_tiles(0, 64).cores_used, 0);
}

TEST(Program, L1OverflowFailsCleanly) {
  std::vector<engine::CircularBuffer> cbs = {{"in0", 200, 4096}, {"out", 200, 4096}};
  try {
    engine::check_l1(tiny(), "huge_op", cbs);
    FAIL();
  } catch (const engine::L1OverflowError& e) {
    EXPECT_NE(std::string(e.what()).find("huge_op"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("L1"), std::string::npos);
  }
}
