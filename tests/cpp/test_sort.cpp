// The sort program against std::stable_sort with ATen's order (NaN largest,
// -0 == +0): every dim, strided rows, both directions, narrow and wide keys,
// rows too long for L1, and the selections (topk, kthvalue, median).
#include <gtest/gtest.h>

#include <c10/util/BFloat16.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include "chip/arch.h"
#include "engine/sort.h"

using namespace accel;
using engine::DType;
using engine::SortMode;
using engine::TensorRef;

namespace {

std::vector<int64_t> contiguous_strides(const std::vector<int64_t>& sizes) {
  std::vector<int64_t> s(sizes.size());
  int64_t acc = 1;
  for (int64_t d = static_cast<int64_t>(sizes.size()) - 1; d >= 0; --d) {
    s[d] = acc;
    acc *= sizes[d];
  }
  return s;
}

// ATen's comparison: NaN above everything, ties by position.
template <class T>
bool less(T a, T b) {
  if (std::isnan(static_cast<double>(a))) return false;
  if (std::isnan(static_cast<double>(b))) return true;
  return a < b;
}

template <class T>
std::vector<int64_t> reference_order(const std::vector<T>& row, bool descending) {
  std::vector<int64_t> idx(row.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) {
    return descending ? less(row[b], row[a]) : less(row[a], row[b]);
  });
  return idx;
}

template <class T>
std::vector<T> values_with_ties_and_nans(int64_t n, unsigned seed, bool nans) {
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int> pick(-6, 6);
  std::vector<T> v(n);
  for (auto& x : v) {
    const int r = pick(gen);
    if (nans && r == 6) x = static_cast<T>(NAN);
    else if (r == 0) x = static_cast<T>(-0.0);
    else x = static_cast<T>(r * 0.75);
  }
  return v;
}

chip::Arch tiny() { return chip::preset("tiny"); }

// Sorts a [a, b, c] tensor along `dim` and checks every row.
template <class T>
void check_sort(DType dt, std::vector<int64_t> sizes, int64_t dim, bool descending, bool nans,
                const chip::Arch& arch = tiny()) {
  const auto strides = contiguous_strides(sizes);
  int64_t numel = 1;
  for (auto s : sizes) numel *= s;
  auto in = values_with_ties_and_nans<T>(numel, 7 + dim, nans);
  std::vector<T> values(numel);
  std::vector<int64_t> indices(numel);
  engine::run_sort(arch, "sort", {in.data(), dt, sizes, strides}, dim, {values.data(), dt, sizes, strides},
                   {indices.data(), DType::I64, sizes, strides}, {SortMode::Sort, descending, 0, true});
  const int64_t n = sizes[dim], stride = strides[dim];
  for (int64_t base = 0; base < numel; ++base) {
    if ((base / stride) % n != 0) continue;  // the first element of a row
    std::vector<T> row(n);
    for (int64_t i = 0; i < n; ++i) row[i] = in[base + i * stride];
    const auto order = reference_order(row, descending);
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_EQ(indices[base + i * stride], order[i]) << "row at " << base << " pos " << i;
      const T got = values[base + i * stride], want = row[order[i]];
      ASSERT_TRUE((std::isnan(static_cast<double>(got)) && std::isnan(static_cast<double>(want))) || got == want);
    }
  }
}

}  // namespace

TEST(Sort, FloatEveryDimBothDirections) {
  for (int64_t dim = 0; dim < 3; ++dim)
    for (bool desc : {false, true}) check_sort<float>(DType::F32, {5, 37, 130}, dim, desc, true);
}

TEST(Sort, RadixAndComparisonPathsAgreeOnLongRows) {
  check_sort<float>(DType::F32, {3, 1000}, 1, false, true);
  check_sort<float>(DType::F32, {3, 1000}, 1, true, true);
}

TEST(Sort, IntegerAndWideKeys) {
  check_sort<int32_t>(DType::I32, {4, 300}, 1, false, false);
  check_sort<int8_t>(DType::I8, {4, 33}, 0, true, false);
  check_sort<int64_t>(DType::I64, {6, 200}, 1, true, false);
  check_sort<double>(DType::F64, {6, 200}, 0, false, true);
  check_sort<double>(DType::F64, {6, 200}, 1, true, true);
}

TEST(Sort, BFloat16Keys) { check_sort<c10::BFloat16>(DType::BF16, {3, 257}, 1, true, true); }

TEST(Sort, RowLongerThanL1StreamsThroughDram) {
  auto arch = tiny();
  check_sort<float>(DType::F32, {1, 40000}, 1, false, true, arch);  // 40000 x 25 B > 256 KiB
}

TEST(Sort, StridedRowsInPlace) {
  // Values written over the input: each row is in L1 before it is overwritten.
  std::vector<float> data = {3, 1, 2, NAN, -1, 0};
  std::vector<int64_t> idx(6);
  TensorRef t{data.data(), DType::F32, {3, 2}, {1, 3}};  // rows of 3 with stride 1, dim 0 has stride 1
  engine::run_sort(tiny(), "sort", t, 0, t, {idx.data(), DType::I64, {3, 2}, {1, 3}},
                   {SortMode::Sort, false, 0, true});
  EXPECT_EQ(data[0], 1);
  EXPECT_EQ(data[2], 3);
  EXPECT_EQ(data[3], -1);
  EXPECT_TRUE(std::isnan(data[5]));
  EXPECT_EQ(idx[0], 1);
  EXPECT_EQ(idx[5], 0);
}

TEST(Sort, SelectionsMatchTheFullOrder) {
  const int64_t n = 301;
  auto in = values_with_ties_and_nans<float>(n, 3, false);
  const auto asc = reference_order(in, false);
  const auto desc = reference_order(in, true);
  std::vector<float> v(n);
  std::vector<int64_t> i(n);
  TensorRef src{in.data(), DType::F32, {n}, {1}};
  engine::run_sort(tiny(), "topk", src, 0, {v.data(), DType::F32, {7}, {1}}, {i.data(), DType::I64, {7}, {1}},
                   {SortMode::TopK, true, 7, true});
  for (int k = 0; k < 7; ++k) EXPECT_EQ(v[k], in[desc[k]]);
  engine::run_sort(tiny(), "kthvalue", src, 0, {v.data(), DType::F32, {1}, {1}}, {i.data(), DType::I64, {1}, {1}},
                   {SortMode::Kth, false, 42, false});
  EXPECT_EQ(v[0], in[asc[41]]);
  EXPECT_EQ(in[i[0]], v[0]);
  engine::run_sort(tiny(), "median", src, 0, {v.data(), DType::F32, {1}, {1}}, {i.data(), DType::I64, {1}, {1}},
                   {SortMode::Median, false, 0, false});
  EXPECT_EQ(v[0], in[asc[(n - 1) / 2]]);
  in[17] = NAN;
  in[5] = NAN;
  engine::run_sort(tiny(), "median", src, 0, {v.data(), DType::F32, {1}, {1}}, {i.data(), DType::I64, {1}, {1}},
                   {SortMode::Median, false, 0, false});
  EXPECT_TRUE(std::isnan(v[0]));
  EXPECT_EQ(i[0], 5);
}

TEST(Sort, RecordSplitsRowsOverCores) {
  engine::set_recording(true);
  std::vector<float> in(8 * 64, 1.0f), v(8 * 64);
  std::vector<int64_t> i(8 * 64);
  const auto rec = engine::run_sort(tiny(), "sort", {in.data(), DType::F32, {8, 64}, {64, 1}}, 1,
                                    {v.data(), DType::F32, {8, 64}, {64, 1}},
                                    {i.data(), DType::I64, {8, 64}, {64, 1}}, {SortMode::Sort, false, 0, true});
  engine::set_recording(false);
  EXPECT_EQ(rec.cores_used, 4);
  EXPECT_EQ(rec.dram_read_bytes, 8 * 64 * 4);
  EXPECT_EQ(rec.dram_write_bytes, 8 * 64 * 12);
  EXPECT_GT(rec.l1_bytes_per_core, 0);
}

TEST(Sort, SelectingTheLastPlacesTheLargest) {
  std::vector<float> in = {1, NAN, 2, 0.5f, 3}, v(1);
  std::vector<int64_t> i(1);
  engine::run_sort(tiny(), "kthvalue", {in.data(), DType::F32, {5}, {1}}, 0, {v.data(), DType::F32, {1}, {1}},
                   {i.data(), DType::I64, {1}, {1}}, {SortMode::Kth, false, 5, false});
  EXPECT_TRUE(std::isnan(v[0]));
  EXPECT_EQ(i[0], 1);
}
