// Data-movement programs against scalar references: permuted, flipped and
// expanded copies with dtype conversion, the tril band, gathers and reducing
// scatters with duplicate and out-of-range indices, and mask compaction.
#include <gtest/gtest.h>

#include <c10/util/BFloat16.h>

#include <numeric>
#include <vector>

#include "chip/arch.h"
#include "engine/movement.h"

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

const chip::Arch& tiny() {
  static chip::Arch arch = chip::preset("tiny");
  return arch;
}

std::vector<float> iota(size_t n) {
  std::vector<float> v(n);
  std::iota(v.begin(), v.end(), 0.f);
  return v;
}

}  // namespace

class TransposeShapes : public ::testing::TestWithParam<std::pair<int64_t, int64_t>> {};

TEST_P(TransposeShapes, PermutedCopyMatchesReference) {
  const auto [r, c] = GetParam();
  auto src = iota(r * c);  // [r, c] read as its transpose [c, r]
  std::vector<float> out(r * c, -1);
  auto rec = engine::run_copies(tiny(), "copy", {{ref(out.data(), DType::F32, {c, r}), ref(src.data(), DType::F32, {c, r}, {1, c})}});
  for (int64_t i = 0; i < c; ++i)
    for (int64_t j = 0; j < r; ++j) ASSERT_EQ(out[i * r + j], src[j * c + i]) << i << "," << j;
  EXPECT_EQ(rec.compute, (r > 1 && c > 1) ? "transpose_wh_tile" : "copy_tile");
  EXPECT_EQ(rec.dram_read_bytes, r * c * 4);
}

INSTANTIATE_TEST_SUITE_P(Movement, TransposeShapes,
                         ::testing::Values(std::pair<int64_t, int64_t>{1, 1}, std::pair<int64_t, int64_t>{33, 65},
                                           std::pair<int64_t, int64_t>{64, 64}, std::pair<int64_t, int64_t>{5, 1}));

TEST(Movement, FlippedExpandedCopyConvertsToBf16) {
  auto src = iota(7);
  std::vector<c10::BFloat16> out(3 * 7);
  // Row-broadcast and reversed: stride 0 on dim 0, -1 on dim 1.
  engine::run_copies(tiny(), "copy", {{ref(out.data(), DType::BF16, {3, 7}), ref(src.data() + 6, DType::F32, {3, 7}, {0, -1})}});
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 7; ++j) EXPECT_EQ(static_cast<float>(out[i * 7 + j]), 6 - j);
}

TEST(Movement, TrilBandZeroesAbove) {
  auto src = iota(40 * 1100);
  std::vector<float> out(src.size(), -1);
  engine::CopyOptions o{engine::Triangle::Lower, 2};
  engine::run_copies(tiny(), "tril", {{ref(out.data(), DType::F32, {40, 1100}), ref(src.data(), DType::F32, {40, 1100})}}, o);
  for (int64_t i = 0; i < 40; ++i)
    for (int64_t j = 0; j < 1100; ++j) ASSERT_EQ(out[i * 1100 + j], j - i <= 2 ? src[i * 1100 + j] : 0.f);
}

TEST(Movement, GatherRowsAndOutOfRange) {
  auto src = iota(5 * 40);
  std::vector<int64_t> idx{4, 0, 4};
  std::vector<float> out(3 * 40);
  engine::IndexOperand ix{ref(idx.data(), DType::I64, {3, 40}, {1, 0}), 5, 40};
  engine::run_index_gather(tiny(), "index_select", ref(out.data(), DType::F32, {3, 40}),
                           ref(src.data(), DType::F32, {3, 40}, {0, 1}), {ix});
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 40; ++j) EXPECT_EQ(out[i * 40 + j], src[idx[i] * 40 + j]);
  idx[1] = -1;
  EXPECT_THROW(engine::run_index_gather(tiny(), "index_select", ref(out.data(), DType::F32, {3, 40}),
                                        ref(src.data(), DType::F32, {3, 40}, {0, 1}), {ix}),
               engine::IndexOutOfRange);
  ix.wrap_negative = true;  // advanced indexing wraps
  engine::run_index_gather(tiny(), "index", ref(out.data(), DType::F32, {3, 40}),
                           ref(src.data(), DType::F32, {3, 40}, {0, 1}), {ix});
  EXPECT_EQ(out[40], src[4 * 40]);
}

TEST(Movement, ScatterAddDuplicatesPerElementIndex) {
  // dst[idx[i][j]][j] += v[i][j] over a [6, 33] index, dst [4, 33].
  std::vector<float> dst(4 * 33, 1.f), v(6 * 33), expect = dst;
  std::vector<int32_t> idx(6 * 33);
  for (int i = 0; i < 6; ++i)
    for (int j = 0; j < 33; ++j) {
      idx[i * 33 + j] = (i * 7 + j) % 4;
      v[i * 33 + j] = float(i - j);
      expect[idx[i * 33 + j] * 33 + j] += 2 * v[i * 33 + j];
    }
  engine::IndexOperand ix{ref(idx.data(), DType::I32, {6, 33}), 4, 33};
  auto rec = engine::run_index_scatter(tiny(), "scatter_add", ref(dst.data(), DType::F32, {6, 33}, {0, 1}),
                                       ref(v.data(), DType::F32, {6, 33}), {ix}, engine::Reduce::Add, 2.0);
  EXPECT_EQ(dst, expect);
  EXPECT_STREQ(rec.compute_engine(), "sfpu");
}

TEST(Movement, ScatterMaxPropagatesNan) {
  std::vector<float> dst{0.f, 0.f}, v{3.f, NAN, -1.f};
  std::vector<int64_t> idx{0, 1, 1};
  engine::IndexOperand ix{ref(idx.data(), DType::I64, {3}), 2, 1};
  engine::run_index_scatter(tiny(), "scatter_reduce", ref(dst.data(), DType::F32, {3}, {0}),
                            ref(v.data(), DType::F32, {3}), {ix}, engine::Reduce::Max);
  EXPECT_EQ(dst[0], 3.f);
  EXPECT_TRUE(std::isnan(dst[1]));
}

TEST(Movement, CompactionKeepsRowMajorOrder) {
  const int64_t n = 3000;
  std::vector<uint8_t> mask(n);
  std::vector<float> src = iota(n), want;
  std::vector<int64_t> coords;
  for (int64_t i = 0; i < n; ++i) {
    mask[i] = (i * 37) % 5 < 2;
    if (mask[i]) want.push_back(src[i]);
  }
  const auto m = ref(mask.data(), DType::Bool, {n});
  const int64_t count = engine::count_true(tiny(), m, nullptr);
  ASSERT_EQ(count, static_cast<int64_t>(want.size()));
  std::vector<float> out(count);
  engine::run_masked_select(tiny(), ref(out.data(), DType::F32, {count}), ref(src.data(), DType::F32, {n}), m);
  EXPECT_EQ(out, want);
  std::vector<int64_t> nz(count * 2);
  const auto m2 = ref(mask.data(), DType::Bool, {60, 50});
  engine::run_nonzero(tiny(), ref(nz.data(), DType::I64, {count, 2}), m2);
  for (int64_t k = 0; k < count; ++k) ASSERT_EQ(nz[2 * k] * 50 + nz[2 * k + 1], static_cast<int64_t>(want[k]));
}
