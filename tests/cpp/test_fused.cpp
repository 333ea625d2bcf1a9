// Fused element-wise programs (engine/fused.h): parsing, numerics against the
// op-by-op fp32 result rounded once, and the record's traffic.
#include <gtest/gtest.h>

#include <c10/util/BFloat16.h>

#include <cmath>
#include <stdexcept>
#include <vector>

#include "chip/arch.h"
#include "engine/fused.h"

using namespace accel;
using engine::DType;
using engine::TensorRef;

namespace {

TensorRef contiguous(void* data, DType dt, std::vector<int64_t> sizes) {
  std::vector<int64_t> strides(sizes.size());
  int64_t s = 1;
  for (int64_t d = int64_t(sizes.size()) - 1; d >= 0; --d) strides[d] = s, s *= sizes[d];
  return {data, dt, sizes, strides};
}

TEST(FusedProgram, ParsesValuesConstantsAndOutputs) {
  const auto& p = kernels::fused::parse_program("add %0 %1 alpha=2;relu %2;mul %3 #0.5 | %4:bfloat16,%2:float32", 2);
  EXPECT_EQ(p.num_inputs, 2);
  EXPECT_EQ(p.steps.size(), 3u);
  EXPECT_EQ(p.outputs.size(), 2u);
  EXPECT_EQ(p.outputs[0].dtype, DType::BF16);
  EXPECT_EQ(p.absorbed(), "add+relu+mul");
  EXPECT_DOUBLE_EQ(p.steps[0].params.alpha, 2.0);
}

TEST(FusedProgram, BadTextNamesTheProblem) {
  EXPECT_THROW(kernels::fused::parse_program("nope %0 | %1:float32", 1), std::invalid_argument);
  EXPECT_THROW(kernels::fused::parse_program("relu %0", 1), std::invalid_argument);  // no outputs
  EXPECT_THROW(kernels::fused::parse_program("relu %0 %0 | %1:float32", 1), std::invalid_argument);
  EXPECT_THROW(kernels::fused::parse_program("relu %0 | %1:int64", 1), std::invalid_argument);
  EXPECT_THROW(kernels::fused::parse_program("relu %0 | %5:float32", 1), std::invalid_argument);
}

TEST(FusedProgram, InputCountComesFromTheCaller) {
  // Five inputs, the first read again after a later input is first read: the
  // text alone would read as four inputs and a missing value.
  const std::string text = "mul %0 %1;mul %0 %2;mul %5 %3;mul %5 %4 | %6:float32,%7:float32,%8:float32";
  const auto& p = kernels::fused::parse_program(text, 5);
  EXPECT_EQ(p.num_inputs, 5);
  EXPECT_EQ(p.outputs[2].value, 8);
  EXPECT_EQ(kernels::fused::count_outputs(text), 3);
  EXPECT_THROW(kernels::fused::parse_program(text, 4), std::invalid_argument);  // %8 undefined
  EXPECT_THROW(kernels::fused::parse_program("relu %0 | %1:float32", 0), std::invalid_argument);
  // Constants are numbered after the values and take no part in the check.
  const auto& c = kernels::fused::parse_program("mul %0 #2;add %1 #0.5 | %2:float32", 1);
  EXPECT_EQ(c.num_values(), 3);
  EXPECT_THROW(kernels::fused::parse_program("mul %0 #2;add %0 #0.5 | %2:float32", 1), std::invalid_argument);
}

TEST(FusedProgram, BroadcastChainRoundsOnlyItsOutput) {
  const chip::Arch arch = chip::preset("tiny");
  const int64_t rows = 37, cols = 45;  // partial tiles both ways
  std::vector<float> x(rows * cols), b(cols);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.37f * i) * 3;
  for (size_t i = 0; i < b.size(); ++i) b[i] = 0.1f * i - 2;
  std::vector<c10::BFloat16> out(rows * cols);
  std::vector<float> mid(rows * cols);
  TensorRef bias{b.data(), DType::F32, {rows, cols}, {0, 1}};
  const auto& p = kernels::fused::parse_program("add %0 %1 alpha=1;exp %2;mul %3 %0 | %4:bfloat16,%2:float32", 2);
  const auto rec = engine::run_fused(arch, p, {contiguous(out.data(), DType::BF16, {rows, cols}),
                                               contiguous(mid.data(), DType::F32, {rows, cols})},
                                     {contiguous(x.data(), DType::F32, {rows, cols}), bias});
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      const float s = x[r * cols + c] + b[c];
      ASSERT_EQ(mid[r * cols + c], s);
      const float expected = float(c10::BFloat16(std::exp(s) * x[r * cols + c]));
      ASSERT_NEAR(float(out[r * cols + c]), expected, std::abs(expected) * 1e-2 + 1e-6) << r << "," << c;
    }
  const int64_t tiles = 2, area = 32 * 32;  // contiguous outputs tile flat: 1665 elements
  EXPECT_EQ(rec.op, "fused[add+exp+mul]");
  EXPECT_EQ(rec.tiles, tiles);
  EXPECT_EQ(rec.dram_read_bytes, (tiles + 1) * area * 4);  // x, and the bias's own tile
  EXPECT_EQ(rec.dram_write_bytes, tiles * area * (2 + 4));
  EXPECT_GT(rec.l1_bytes_per_core, 0);
}

TEST(FusedProgram, TransposedOutputIsWrittenTileByTile) {
  const chip::Arch arch = chip::preset("tiny");
  const int64_t rows = 40, cols = 70;
  std::vector<float> x(rows * cols), out(rows * cols);
  for (size_t i = 0; i < x.size(); ++i) x[i] = 0.01f * float(i) - 3;
  // out is [rows, cols] with column-major strides, x row-major.
  TensorRef out_ref{out.data(), DType::F32, {rows, cols}, {1, rows}};
  const auto& p = kernels::fused::parse_program("neg %0;relu %1 | %2:float32", 1);
  const auto rec = engine::run_fused(arch, p, {out_ref}, {contiguous(x.data(), DType::F32, {rows, cols})});
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) ASSERT_EQ(out[c * rows + r], std::max(0.f, -x[r * cols + c]));
  EXPECT_EQ(rec.tiles, 2 * 3);
}

}  // namespace
