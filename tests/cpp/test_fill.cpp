// The fill program against scalar references: constants of every width,
// arange and linspace sequences, partial tiles and strided outputs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "chip/arch.h"
#include "engine/fill.h"

using namespace accel;
using engine::DType;
using kernels::FillKind;
using kernels::FillParams;

namespace {
chip::Arch tiny() { return chip::preset("tiny"); }
}  // namespace

TEST(Fill, ConstantPartialTiles) {
  std::vector<int16_t> out(3000, 0);
  FillParams p;
  p.pattern = 0x1234;
  const auto rec = engine::run_fill(tiny(), "fill", {out.data(), DType::I16, {3000}, {1}}, p);
  for (auto v : out) ASSERT_EQ(v, 0x1234);
  EXPECT_EQ(rec.tiles, 3);
  EXPECT_EQ(rec.cores_used, 3);
  EXPECT_EQ(rec.dram_read_bytes, 0);
}

TEST(Fill, IntegralArangeStridedOut) {
  std::vector<int64_t> out(2 * 700, -1);
  FillParams p;
  p.kind = FillKind::Arange;
  p.istart = -5;
  p.istep = 3;
  p.steps = 700;
  engine::run_fill(tiny(), "arange", {out.data(), DType::I64, {700}, {2}}, p);
  for (int64_t i = 0; i < 700; ++i) {
    ASSERT_EQ(out[2 * i], -5 + 3 * i);
    ASSERT_EQ(out[2 * i + 1], -1);
  }
}

TEST(Fill, LinspaceEndsExactlyAndIsSymmetric) {
  std::vector<float> out(1001);
  FillParams p;
  p.kind = FillKind::Linspace;
  p.start = -3.0;
  p.end = 7.0;
  p.steps = 1001;
  engine::run_fill(tiny(), "linspace", {out.data(), DType::F32, {1001}, {1}}, p);
  EXPECT_EQ(out.front(), -3.0f);
  EXPECT_EQ(out.back(), 7.0f);
  for (int64_t i = 0; i < 1001; ++i) ASSERT_NEAR(out[i], -3.0 + i * 0.01, 1e-5);
}
