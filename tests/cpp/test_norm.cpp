// Normalisation kernels and programs against scalar references: resident and
// two-pass rows (the tiny chip's 256 KiB L1), column tiles, partial tiles,
// bf16 storage and the vector exp.
#include <gtest/gtest.h>

#include <c10/util/BFloat16.h>

#include <cfloat>
#include <cmath>
#include <random>
#include <vector>

#include "chip/arch.h"
#include "engine/norm.h"
#include "engine/norm_fused.h"
#include "kernels/norm/row_math.h"

using namespace accel;
using engine::DType;
using engine::TensorRef;

namespace {

TensorRef flat(void* data, DType dt, int64_t n) { return {data, dt, {n}, {1}}; }

std::vector<float> random_floats(size_t n, unsigned seed, float scale = 2.f) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> dist;
  std::vector<float> v(n);
  for (auto& x : v) x = dist(gen) * scale;
  return v;
}

const chip::Arch& tiny() {
  static chip::Arch arch = chip::preset("tiny");
  return arch;
}

// Softmax over the middle dim of [outer, dim, inner], in double.
std::vector<float> softmax_ref(const std::vector<float>& x, int64_t outer, int64_t dim, int64_t inner, bool log) {
  std::vector<float> y(x.size());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      auto at = [&](int64_t d) { return (o * dim + d) * inner + i; };
      double m = -INFINITY, s = 0;
      for (int64_t d = 0; d < dim; ++d) m = std::max(m, double(x[at(d)]));
      for (int64_t d = 0; d < dim; ++d) s += std::exp(x[at(d)] - m);
      for (int64_t d = 0; d < dim; ++d)
        y[at(d)] = log ? float(x[at(d)] - m - std::log(s)) : float(std::exp(x[at(d)] - m) / s);
    }
  return y;
}

}  // namespace

TEST(NormKernels, VectorExpMatchesStdExp) {
  std::vector<float> x, y(4000), s(4000);
  for (int i = 0; i < 4000; ++i) x.push_back(-100.f + i * 0.0475f);  // up to 89.95: past FLT_MAX
  kernels::norm::exp_inplace(y.data(), x.data(), 4000);
  for (int i = 0; i < 4000; ++i) {
    const float want = std::exp(x[i]);
    if (want < FLT_MIN) EXPECT_LE(y[i], FLT_MIN) << x[i];  // subnormal results flush to zero
    else if (std::isinf(want)) EXPECT_EQ(y[i], want) << x[i];
    else EXPECT_NEAR(y[i], want, 3e-7f * want) << x[i];
  }
  const float specials[] = {-INFINITY, INFINITY, NAN, 0.f};
  kernels::norm::exp_inplace(y.data(), specials, 4);
  EXPECT_EQ(y[0], 0.f);
  EXPECT_EQ(y[1], INFINITY);
  EXPECT_TRUE(std::isnan(y[2]));
  EXPECT_EQ(y[3], 1.f);
}

TEST(NormKernels, Bf16ConversionRoundsToNearestEven) {
  const auto x = random_floats(77, 3);
  std::vector<c10::BFloat16> b(77);
  std::vector<float> back(77);
  kernels::norm::from_f32(b.data(), DType::BF16, x.data(), 77);
  kernels::norm::to_f32(back.data(), b.data(), DType::BF16, 77);
  for (int i = 0; i < 77; ++i) {
    EXPECT_EQ(b[i].x, c10::BFloat16(x[i]).x);
    EXPECT_EQ(back[i], static_cast<float>(c10::BFloat16(x[i])));
  }
}

struct SoftmaxCase {
  int64_t outer, dim, inner;
};
class SoftmaxShapes : public ::testing::TestWithParam<SoftmaxCase> {};

TEST_P(SoftmaxShapes, MatchesReferenceResidentAndTwoPass) {
  const auto c = GetParam();
  const int64_t n = c.outer * c.dim * c.inner;
  const auto x = random_floats(n, 1);
  for (bool log : {false, true}) {
    std::vector<float> y(n, NAN);
    engine::SoftmaxArgs a{flat((void*)x.data(), DType::F32, n), flat(y.data(), DType::F32, n), c.outer, c.dim, c.inner, log};
    const auto rec = engine::run_softmax(tiny(), a);
    const auto want = softmax_ref(x, c.outer, c.dim, c.inner, log);
    for (int64_t i = 0; i < n; ++i) ASSERT_NEAR(y[i], want[i], 2e-6f + 2e-5f * std::abs(want[i])) << i;
    // A reduced row of more than ~60 float32 tiles no longer fits tiny's L1.
    EXPECT_EQ(rec.reader == "reader_norm_row_two_pass", c.dim > 1800) << c.dim;
    EXPECT_LE(rec.l1_bytes_per_core, tiny().l1_bytes_per_core);
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, SoftmaxShapes,
                         ::testing::Values(SoftmaxCase{1, 1, 1}, SoftmaxCase{33, 45, 1}, SoftmaxCase{3, 5000, 1},
                                           SoftmaxCase{2, 17, 70}, SoftmaxCase{2, 3000, 5}));

TEST(NormPrograms, SoftmaxBackwardMatchesReference) {
  const int64_t outer = 5, dim = 2100, n = outer * dim;  // two-pass rows
  const auto x = random_floats(n, 2), g = random_floats(n, 3);
  const auto y = softmax_ref(x, outer, dim, 1, false);
  std::vector<float> gi(n);
  engine::run_softmax_backward(tiny(), {flat((void*)g.data(), DType::F32, n), flat((void*)y.data(), DType::F32, n),
                                        flat(gi.data(), DType::F32, n), outer, dim, 1, false});
  for (int64_t r = 0; r < outer; ++r) {
    double s = 0;
    for (int64_t j = 0; j < dim; ++j) s += double(g[r * dim + j]) * y[r * dim + j];
    for (int64_t j = 0; j < dim; ++j)
      ASSERT_NEAR(gi[r * dim + j], y[r * dim + j] * (g[r * dim + j] - s), 1e-6);
  }
}

TEST(NormPrograms, LayerNormBf16StorageResidentAndTwoPass) {
  for (int64_t cols : {45, 9000}) {
    const int64_t rows = 35, n = rows * cols;
    const auto xf = random_floats(n, 4);
    const auto w = random_floats(cols, 5), b = random_floats(cols, 6);
    std::vector<c10::BFloat16> x(xf.begin(), xf.end()), y(n);
    std::vector<float> mean(rows), rstd(rows);
    engine::RowNormArgs a{flat(x.data(), DType::BF16, n), flat(y.data(), DType::BF16, n),
                          flat((void*)w.data(), DType::F32, cols), flat((void*)b.data(), DType::F32, cols),
                          flat(mean.data(), DType::F32, rows), flat(rstd.data(), DType::F32, rows), rows, cols, 1e-5};
    const auto rec = engine::run_row_norm(tiny(), a);
    EXPECT_EQ(rec.reader == "reader_norm_row_two_pass", cols == 9000);
    for (int64_t r = 0; r < rows; ++r) {
      double m = 0, v = 0;
      for (int64_t j = 0; j < cols; ++j) m += float(x[r * cols + j]);
      m /= cols;
      for (int64_t j = 0; j < cols; ++j) v += std::pow(float(x[r * cols + j]) - m, 2);
      const double rs = 1 / std::sqrt(v / cols + 1e-5);
      ASSERT_NEAR(mean[r], m, 1e-5);
      ASSERT_NEAR(rstd[r], rs, 1e-5 * rs);
      for (int64_t j = 0; j < cols; ++j) {
        const double want = (float(x[r * cols + j]) - m) * rs * w[j] + b[j];
        ASSERT_NEAR(float(y[r * cols + j]), want, 1e-2 * std::abs(want) + 1e-2);
      }
    }
  }
}

TEST(NormPrograms, BatchNormTrainingUpdatesRunningStats) {
  const int64_t nb = 3, c = 4, hxw = 37, n = nb * c * hxw;
  const auto x = random_floats(n, 7);
  std::vector<float> y(n), rm(c, 0.5f), rv(c, 2.f), sm(c), si(c);
  engine::BatchNormArgs a{flat((void*)x.data(), DType::F32, n), flat(y.data(), DType::F32, n), {}, {},
                          flat(rm.data(), DType::F32, c), flat(rv.data(), DType::F32, c),
                          flat(sm.data(), DType::F32, c), flat(si.data(), DType::F32, c), nb, c, hxw, true, 0.1, 1e-5};
  engine::run_batch_norm(tiny(), a);
  for (int64_t ch = 0; ch < c; ++ch) {
    double m = 0, v = 0;
    for (int64_t i = 0; i < nb; ++i)
      for (int64_t k = 0; k < hxw; ++k) m += x[(i * c + ch) * hxw + k];
    m /= nb * hxw;
    for (int64_t i = 0; i < nb; ++i)
      for (int64_t k = 0; k < hxw; ++k) v += std::pow(x[(i * c + ch) * hxw + k] - m, 2);
    EXPECT_NEAR(sm[ch], m, 1e-5);
    EXPECT_NEAR(si[ch], 1 / std::sqrt(v / (nb * hxw) + 1e-5), 1e-5);
    EXPECT_NEAR(rm[ch], 0.9 * 0.5 + 0.1 * m, 1e-5);
    EXPECT_NEAR(rv[ch], 0.9 * 2 + 0.1 * v / (nb * hxw - 1), 1e-5);
    EXPECT_NEAR(y[(2 * c + ch) * hxw + 5], (x[(2 * c + ch) * hxw + 5] - m) * si[ch], 1e-5);
  }
}

// The fused residual add + norm stores the sum and normalises the stored
// (rounded) sum: bit for bit what the add and the norm programs give apart,
// with one DRAM read of the sum fewer.
TEST(NormFusedPrograms, AddLayerNormEqualsAddThenNormResidentAndTwoPass) {
  for (int64_t cols : {45, 9000}) {
    const int64_t rows = 35, n = rows * cols;
    const auto xf = random_floats(n, 11), yf = random_floats(n, 12);
    const auto w = random_floats(cols, 13), b = random_floats(cols, 14);
    std::vector<c10::BFloat16> x(xf.begin(), xf.end()), y(yf.begin(), yf.end()), h(n), out(n), want_out(n), sum(n);
    for (int64_t i = 0; i < n; ++i) sum[i] = float(x[i]) + float(y[i]);
    std::vector<float> mean(rows), rstd(rows), want_mean(rows), want_rstd(rows);
    const auto wref = flat((void*)w.data(), DType::F32, cols), bref = flat((void*)b.data(), DType::F32, cols);
    engine::AddRowNormArgs a{flat(x.data(), DType::BF16, n),     flat(y.data(), DType::BF16, n),
                             flat(h.data(), DType::BF16, n),     flat(out.data(), DType::BF16, n),
                             wref,                               bref,
                             flat(mean.data(), DType::F32, rows), flat(rstd.data(), DType::F32, rows),
                             rows,                               cols,
                             1e-5};
    const auto rec = engine::run_add_row_norm(tiny(), a);
    engine::RowNormArgs plain{flat(sum.data(), DType::BF16, n), flat(want_out.data(), DType::BF16, n), wref, bref,
                              flat(want_mean.data(), DType::F32, rows), flat(want_rstd.data(), DType::F32, rows),
                              rows, cols, 1e-5};
    const auto norm_rec = engine::run_row_norm(tiny(), plain);
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_EQ(h[i].x, sum[i].x) << i;
      ASSERT_EQ(out[i].x, want_out[i].x) << i;
    }
    for (int64_t r = 0; r < rows; ++r) {
      ASSERT_EQ(mean[r], want_mean[r]);
      ASSERT_EQ(rstd[r], want_rstd[r]);
    }
    const bool resident = cols == 45;
    EXPECT_EQ(rec.reader == "reader_norm_row_resident", resident);
    EXPECT_EQ(rec.compute, "add_layer_norm_sfpu");
    // Reads x and y where the norm reads the sum once; a streamed row reads the
    // stored sum back for its second pass as the norm does.
    const int64_t plane = ((rows + 31) / 32) * ((cols + 31) / 32) * 1024 * 2;
    EXPECT_EQ(rec.dram_read_bytes, norm_rec.dram_read_bytes + plane);
    EXPECT_EQ(rec.dram_write_bytes, norm_rec.dram_write_bytes + plane);
  }
}

TEST(NormFusedPrograms, AddRmsNormMatchesReference) {
  const int64_t rows = 33, cols = 70, n = rows * cols;
  auto x = random_floats(n, 15), y = random_floats(n, 16);
  const auto w = random_floats(cols, 17);
  std::vector<float> h(n), out(n), rstd(rows);
  engine::AddRowNormArgs a{flat(x.data(), DType::F32, n), flat(y.data(), DType::F32, n), flat(h.data(), DType::F32, n),
                           flat(out.data(), DType::F32, n), flat((void*)w.data(), DType::F32, cols), {}, {},
                           flat(rstd.data(), DType::F32, rows), rows, cols, 1e-6, true};
  const auto rec = engine::run_add_row_norm(tiny(), a);
  EXPECT_EQ(rec.compute, "add_rms_norm_sfpu");
  for (int64_t r = 0; r < rows; ++r) {
    double ms = 0;
    for (int64_t j = 0; j < cols; ++j) ms += double(x[r * cols + j] + y[r * cols + j]) * (x[r * cols + j] + y[r * cols + j]);
    const double rs = 1 / std::sqrt(ms / cols + 1e-6);
    ASSERT_NEAR(rstd[r], rs, 1e-5 * rs);
    for (int64_t j = 0; j < cols; ++j) {
      const int64_t i = r * cols + j;
      ASSERT_EQ(h[i], x[i] + y[i]);
      ASSERT_NEAR(out[i], h[i] * rs * w[j], 1e-5 * std::abs(h[i] * rs * w[j]) + 1e-6);
    }
  }
}

// Scale and mask on the row, resident and streamed: an added mask with a row
// offset per row (broadcast over a head dim), and a bool mask filled.
TEST(NormFusedPrograms, ScaleMaskSoftmaxMatchesReference) {
  for (int64_t cols : {40, 9000}) {
    const int64_t heads = 2, qrows = 3, rows = heads * qrows, n = rows * cols;
    const auto x = random_floats(n, 18), mask = random_floats(qrows * cols, 19);
    std::vector<uint8_t> keep(qrows * cols);
    for (size_t i = 0; i < keep.size(); ++i) keep[i] = (i * 7 % 5) != 0;
    std::vector<int64_t> offsets(rows);
    for (int64_t r = 0; r < rows; ++r) offsets[r] = (r % qrows) * cols;  // the mask repeats per head
    for (bool filled : {false, true}) {
      std::vector<float> out(n);
      engine::ScaleMaskSoftmaxArgs a;
      a.in = flat((void*)x.data(), DType::F32, n);
      a.out = flat(out.data(), DType::F32, n);
      a.mask = filled ? TensorRef{keep.data(), DType::Bool, {qrows * cols}, {1}}
                      : flat((void*)mask.data(), DType::F32, qrows * cols);
      a.mask_kind = filled ? engine::SoftmaxMask::FillWhereFalse : engine::SoftmaxMask::Add;
      a.mask_row_offsets = offsets;
      a.rows = rows;
      a.cols = cols;
      a.scale = 0.5f;
      a.fill = -INFINITY;
      const auto rec = engine::run_scale_mask_softmax(tiny(), a);
      EXPECT_EQ(rec.reader == "reader_norm_row_two_pass", cols == 9000);
      std::vector<float> z(n);
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t j = 0; j < cols; ++j) {
          const int64_t m = offsets[r] + j;
          const float s = x[r * cols + j] * 0.5f;
          z[r * cols + j] = filled ? (keep[m] ? s : -INFINITY) : s + mask[m];
        }
      const auto want = softmax_ref(z, rows, cols, 1, false);
      for (int64_t i = 0; i < n; ++i) ASSERT_NEAR(out[i], want[i], 1e-6 + 1e-5 * want[i]) << i;
    }
  }
}
