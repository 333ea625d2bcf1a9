// Reduction and scan programs against scalar references: row and column
// layouts, partial tiles, the reduced axis cut over cores, strided inputs,
// bf16 and int64 data, first-index ties and NaN.
#include <gtest/gtest.h>

#include <c10/util/BFloat16.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "chip/arch.h"
#include "engine/reduce.h"

using namespace accel;
using engine::DType;
using engine::ReduceKind;
using engine::TensorRef;

namespace {

std::vector<int64_t> contiguous(const std::vector<int64_t>& sizes) {
  std::vector<int64_t> st(sizes.size());
  int64_t s = 1;
  for (int64_t d = static_cast<int64_t>(sizes.size()) - 1; d >= 0; --d) {
    st[d] = s;
    s *= sizes[d];
  }
  return st;
}

TensorRef ref(void* data, DType dt, std::vector<int64_t> sizes, std::vector<int64_t> strides = {}) {
  if (strides.empty()) strides = contiguous(sizes);
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

// [A, B] reduced over dim `d` in fp64, for reference.
std::vector<double> ref_sum_2d(const std::vector<float>& x, int64_t A, int64_t B, int d) {
  std::vector<double> out(d == 0 ? B : A, 0.0);
  for (int64_t i = 0; i < A; ++i)
    for (int64_t j = 0; j < B; ++j) out[d == 0 ? j : i] += x[i * B + j];
  return out;
}

}  // namespace

class ReduceShapes : public ::testing::TestWithParam<std::pair<int64_t, int64_t>> {};

TEST_P(ReduceShapes, SumRowsAndColumnsMatchReference) {
  const auto [A, B] = GetParam();
  const auto x = random_floats(A * B, 1);
  for (int d = 0; d < 2; ++d) {
    std::vector<float> out(d == 0 ? B : A, NAN);
    std::vector<int64_t> osz = d == 0 ? std::vector<int64_t>{1, B} : std::vector<int64_t>{A, 1};
    auto rec = engine::run_reduce(tiny(), "sum", ReduceKind::Sum,
                                  ref(const_cast<float*>(x.data()), DType::F32, {A, B}), {d},
                                  {ref(out.data(), DType::F32, osz), {}, {}}, DType::F32);
    const auto want = ref_sum_2d(x, A, B, d);
    for (size_t i = 0; i < out.size(); ++i) EXPECT_NEAR(out[i], want[i], 1e-4 * (1 + std::abs(want[i])));
    EXPECT_STREQ(rec.compute_engine(), "fpu");
    EXPECT_GE(rec.cores_used, 1);
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, ReduceShapes,
                         ::testing::Values(std::make_pair(1, 1), std::make_pair(7, 45),
                                           std::make_pair(33, 1030), std::make_pair(1500, 40),
                                           std::make_pair(3, 70000)));

TEST(Reduce, FullSumCutOverCoresMatchesReference) {
  const int64_t n = 200003;
  const auto x = random_floats(n, 2);
  float out = NAN;
  auto rec = engine::run_reduce(tiny(), "sum", ReduceKind::Sum, ref(const_cast<float*>(x.data()), DType::F32, {n}),
                                {0}, {ref(&out, DType::F32, {1}), {}, {}}, DType::F32);
  double want = 0;
  for (float v : x) want += v;
  EXPECT_NEAR(out, want, 1e-3);
  EXPECT_EQ(rec.cores_used, tiny().num_cores());
}

TEST(Reduce, StridedBf16MaxOverTwoDims) {
  // A [4, 5, 6] view with every other element of a [4, 5, 12] buffer, max over dims 0 and 2.
  const auto src = random_floats(4 * 5 * 12, 3);
  std::vector<c10::BFloat16> x(src.begin(), src.end());
  std::vector<c10::BFloat16> out(5);
  engine::run_reduce(tiny(), "amax", ReduceKind::Max, ref(x.data(), DType::BF16, {4, 5, 6}, {60, 12, 2}), {0, 2},
                     {ref(out.data(), DType::BF16, {1, 5, 1}), {}, {}}, DType::F32);
  for (int64_t j = 0; j < 5; ++j) {
    float want = -INFINITY;
    for (int64_t i = 0; i < 4; ++i)
      for (int64_t k = 0; k < 6; ++k) want = std::max(want, static_cast<float>(x[i * 60 + j * 12 + k * 2]));
    EXPECT_EQ(static_cast<float>(out[j]), want);
  }
}

TEST(Reduce, ArgMaxTakesFirstTieAndNaN) {
  std::vector<float> x = {1, 5, 5, 2,  3, NAN, 9, NAN,  0, 0, 0, 0};
  std::vector<float> vals(3);
  std::vector<int64_t> idx(3);
  engine::run_reduce(tiny(), "max", ReduceKind::ArgMax, ref(x.data(), DType::F32, {3, 4}), {1},
                     {ref(vals.data(), DType::F32, {3, 1}), ref(idx.data(), DType::I64, {3, 1}), {}}, DType::F32);
  EXPECT_EQ(idx, (std::vector<int64_t>{1, 1, 0}));
  EXPECT_EQ(vals[0], 5);
  EXPECT_TRUE(std::isnan(vals[1]));
  // Down the columns: ties keep the first row.
  std::vector<int64_t> cidx(4);
  engine::run_reduce(tiny(), "argmin", ReduceKind::ArgMin, ref(x.data(), DType::F32, {3, 4}), {0},
                     {{}, ref(cidx.data(), DType::I64, {1, 4}), {}}, DType::F32);
  EXPECT_EQ(cidx, (std::vector<int64_t>{2, 1, 2, 1}));
}

TEST(Reduce, ArgMaxOfLongAxisCutOverCores) {
  std::vector<float> x(100000, 1.0f);
  x[77777] = 3.0f;
  x[88888] = 3.0f;
  int64_t idx = -1;
  engine::run_reduce(tiny(), "argmax", ReduceKind::ArgMax, ref(x.data(), DType::F32, {100000}), {0},
                     {{}, ref(&idx, DType::I64, {1}), {}}, DType::F32);
  EXPECT_EQ(idx, 77777);
}

TEST(Reduce, VarMeanAndEmptyReductions) {
  const auto x = random_floats(3000, 4);
  float var = 0, mean = 0;
  engine::ReduceParams prm;
  engine::run_reduce(tiny(), "var_mean", ReduceKind::Var, ref(const_cast<float*>(x.data()), DType::F32, {3000}),
                     {0}, {ref(&var, DType::F32, {1}), {}, ref(&mean, DType::F32, {1})}, DType::F32, prm);
  double m = 0, m2 = 0;
  for (float v : x) m += v;
  m /= 3000;
  for (float v : x) m2 += (v - m) * (v - m);
  EXPECT_NEAR(mean, m, 1e-6);
  EXPECT_NEAR(var, m2 / 2999, 1e-5);
  float sum = NAN, prod = NAN;
  engine::run_reduce(tiny(), "sum", ReduceKind::Sum, ref(nullptr, DType::F32, {0}), {0},
                     {ref(&sum, DType::F32, {1}), {}, {}}, DType::F32);
  engine::run_reduce(tiny(), "prod", ReduceKind::Prod, ref(nullptr, DType::F32, {0}), {0},
                     {ref(&prod, DType::F32, {1}), {}, {}}, DType::F32);
  EXPECT_EQ(sum, 0.0f);
  EXPECT_EQ(prod, 1.0f);
}

TEST(Reduce, Int32SumIsExactInInt64) {
  std::vector<int32_t> x(5000, 1 << 30);
  int64_t out = 0;
  engine::run_reduce(tiny(), "sum", ReduceKind::Sum, ref(x.data(), DType::I32, {5000}), {0},
                     {ref(&out, DType::I64, {1}), {}, {}}, DType::I64);
  EXPECT_EQ(out, int64_t{5000} << 30);
}

TEST(Scan, CumsumRowsColumnsAndSegments) {
  for (auto [A, B] : {std::pair<int64_t, int64_t>{1, 70001}, {9, 33}, {40, 50}}) {
    const auto x = random_floats(A * B, 5);
    for (int d = 0; d < 2; ++d) {
      std::vector<float> out(A * B, NAN);
      engine::run_scan(tiny(), "cumsum", engine::ScanKind::Sum, ref(const_cast<float*>(x.data()), DType::F32, {A, B}),
                       d, ref(out.data(), DType::F32, {A, B}), DType::F32);
      std::vector<double> run(d == 0 ? B : A, 0.0);
      for (int64_t i = 0; i < A; ++i) {
        for (int64_t j = 0; j < B; ++j) {
          const double want = run[d == 0 ? j : i] += x[i * B + j];
          ASSERT_NEAR(out[i * B + j], want, 1e-3) << i << "," << j;
        }
      }
    }
  }
}

TEST(Reduce, L1OverflowWhenTilesCannotFit) {
  chip::Arch arch = tiny();
  arch.l1_bytes_per_core = 1024;
  std::vector<float> x(64), out(1);
  EXPECT_THROW(engine::run_reduce(arch, "sum", ReduceKind::Sum, ref(x.data(), DType::F32, {64}), {0},
                                  {ref(out.data(), DType::F32, {1}), {}, {}}, DType::F32),
               engine::L1OverflowError);
}
