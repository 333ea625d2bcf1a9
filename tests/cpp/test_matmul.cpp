// The matrix engine against a scalar reference per fidelity and accumulation
// mode, and the matmul program on partial tiles, strided views, batches,
// epilogues and the L1 plan.
#include <gtest/gtest.h>

#include <c10/util/BFloat16.h>

#include <cmath>
#include <random>
#include <vector>

#include "chip/arch.h"
#include "engine/matmul.h"
#include "engine/matrix_engine.h"

using namespace accel;
using engine::ComputeConfig;
using engine::DType;
using engine::MathFidelity;
using engine::MatrixView;
using engine::TensorRef;

namespace {

std::vector<float> normal(size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> dist;
  std::vector<float> v(n);
  for (auto& x : v) x = dist(gen);
  return v;
}

// C = A B in double, after passing the operands through fa / fb.
template <class FA, class FB>
std::vector<double> reference(int64_t M, int64_t N, int64_t K, MatrixView A, MatrixView B, FA fa, FB fb) {
  std::vector<double> c(M * N, 0.0);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n)
      for (int64_t k = 0; k < K; ++k)
        c[m * N + n] += double(fa(A.data[m * A.row_stride + k * A.col_stride])) *
                        double(fb(B.data[k * B.row_stride + n * B.col_stride]));
  return c;
}

float id(float x) { return x; }

double max_abs_diff(const std::vector<float>& a, const std::vector<double>& b) {
  double d = 0;
  for (size_t i = 0; i < a.size(); ++i) d = std::max(d, std::abs(double(a[i]) - b[i]));
  return d;
}

std::vector<float> run_engine(int64_t M, int64_t N, int64_t K, MatrixView A, MatrixView B, ComputeConfig cfg) {
  std::vector<float> c(M * N, std::nanf(""));  // beta = 0 must not read C
  engine::matrix_engine_gemm(M, N, K, A, B, c.data(), N, 0.f, cfg);
  return c;
}

const chip::Arch& tiny() {
  static chip::Arch arch = chip::preset("tiny");
  return arch;
}

}  // namespace

TEST(MatrixEngine, HiFi4MatchesReferenceOnStridedViews) {
  const int64_t M = 45, N = 70, K = 37;
  const auto a = normal(M * K, 1), b = normal(K * N * 2, 2);
  const MatrixView A{a.data(), 1, M};      // transposed storage
  const MatrixView B{b.data(), 2 * N, 2};  // every other column
  const auto c = run_engine(M, N, K, A, B, {});
  EXPECT_LT(max_abs_diff(c, reference(M, N, K, A, B, id, id)), 1e-4);
}

TEST(MatrixEngine, LoFiIsExactProductOfTruncatedOperands) {
  // Values in +-[1, 2): truncated products are multiples of 2^-10 below 4, so
  // the fp32 sums of 64 of them are exact whatever the summation order.
  const int64_t M = 33, N = 40, K = 64;
  std::mt19937 gen(3);
  std::uniform_real_distribution<float> mag(1.f, 2.f);
  std::bernoulli_distribution sign;
  std::vector<float> a(M * K), b(K * N);
  for (auto* v : {&a, &b})
    for (auto& x : *v) x = sign(gen) ? mag(gen) : -mag(gen);
  const MatrixView A{a.data(), K, 1}, B{b.data(), N, 1};
  const auto c = run_engine(M, N, K, A, B, {MathFidelity::LoFi, true});
  const auto ref = reference(M, N, K, A, B, engine::srca_hi, engine::srcb_hi);
  for (int64_t i = 0; i < M * N; ++i) ASSERT_EQ(double(c[i]), ref[i]) << "at " << i;
}

TEST(MatrixEngine, ErrorShrinksWithFidelity) {
  const int64_t M = 32, N = 32, K = 256;
  const auto a = normal(M * K, 4), b = normal(K * N, 5);
  const MatrixView A{a.data(), K, 1}, B{b.data(), N, 1};
  const auto exact = reference(M, N, K, A, B, id, id);
  double err[5];
  for (int f = 1; f <= 4; ++f)
    err[f] = max_abs_diff(run_engine(M, N, K, A, B, {MathFidelity(f), true}), exact);
  EXPECT_GT(err[1], err[2]);
  EXPECT_GT(err[2], err[4]);
  EXPECT_GT(err[3], err[4]);
  EXPECT_GT(err[1], 100 * err[4]);
  EXPECT_LT(err[4], 1e-4);
  // HiFi2 = A * B_hi: every bit of A, the top of B.
  EXPECT_LT(max_abs_diff(run_engine(M, N, K, A, B, {MathFidelity::HiFi2, true}),
                         reference(M, N, K, A, B, id, engine::srcb_hi)), 1e-4);
}

TEST(MatrixEngine, Bf16DestinationRoundsEachKTile) {
  const int64_t M = 20, N = 24, K = 96;  // three K tiles
  const auto a = normal(M * K, 6), b = normal(K * N, 7);
  const MatrixView A{a.data(), K, 1}, B{b.data(), N, 1};
  const auto c = run_engine(M, N, K, A, B, {MathFidelity::HiFi4, false});
  // The reference: fp32 sums over each 32-deep tile, rounded to bf16 between tiles.
  std::vector<double> ref(M * N);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      float acc = 0;
      for (int64_t k0 = 0; k0 < K; k0 += 32) {
        double part = 0;
        for (int64_t k = k0; k < k0 + 32; ++k) part += double(a[m * K + k]) * b[k * N + n];
        acc = engine::round_bf16(float(acc + part));
      }
      ref[m * N + n] = acc;
    }
  int differs = 0;
  const auto exact = reference(M, N, K, A, B, id, id);
  for (int64_t i = 0; i < M * N; ++i) {
    EXPECT_EQ(c[i], engine::round_bf16(c[i])) << "not a bf16 value at " << i;
    EXPECT_NEAR(c[i], ref[i], 1e-2 * (1 + std::abs(ref[i])));
    differs += std::abs(c[i] - exact[i]) > 1e-5;
  }
  EXPECT_GT(differs, M * N / 2);
}

TEST(MatrixEngine, Bf16OperandsAccumulateInFp32) {
  const int64_t M = 17, N = 50, K = 70;
  const auto af = normal(M * K, 8), bf = normal(K * N, 9);
  std::vector<c10::BFloat16> a(af.begin(), af.end()), b(bf.begin(), bf.end());
  std::vector<float> a32(a.begin(), a.end()), b32(b.begin(), b.end());
  std::vector<float> c(M * N, 1.f);
  engine::matrix_engine_gemm(M, N, K, engine::MatrixViewBF16{a.data(), K, 1},
                             engine::MatrixViewBF16{b.data(), N, 1}, c.data(), N, 0.5f, ComputeConfig{});
  auto ref = reference(M, N, K, {a32.data(), K, 1}, {b32.data(), N, 1}, id, id);
  for (auto& r : ref) r += 0.5;
  EXPECT_LT(max_abs_diff(c, ref), 1e-4);
}

TEST(MatmulProgram, PartialTilesBatchBroadcastBiasAndActivation) {
  const int64_t B = 3, M = 45, N = 70, K = 100;
  const auto a = normal(M * K, 10);            // shared by every batch (stride 0)
  const auto b = normal(B * N * K, 11);        // each batch stored transposed [N, K]
  const auto bias = normal(N, 12);             // a row broadcast over M
  std::vector<c10::BFloat16> out(B * M * N);
  engine::MatmulArgs x;
  x.a = {const_cast<float*>(a.data()), DType::F32, {B, M, K}, {0, K, 1}};
  x.b = {const_cast<float*>(b.data()), DType::F32, {B, K, N}, {N * K, 1, K}};
  x.out = {out.data(), DType::BF16, {B, M, N}, {M * N, N, 1}};
  x.bias = TensorRef{const_cast<float*>(bias.data()), DType::F32, {B, M, N}, {0, 0, 1}};
  x.alpha = 0.5f;
  x.beta = 2.f;
  x.act = engine::Activation::Relu;
  const auto rec = engine::run_matmul(tiny(), "test", x);
  for (int64_t i = 0; i < B; ++i) {
    const auto ref = reference(M, N, K, {a.data(), K, 1}, {b.data() + i * N * K, 1, K}, id, id);
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        const double want = std::max(0.0, 0.5 * ref[m * N + n] + 2.0 * bias[n]);
        ASSERT_NEAR(float(out[(i * M + m) * N + n]), want, 1e-2 * (1 + std::abs(want)));
      }
  }
  EXPECT_EQ(rec.flops, 2 * B * M * N * K);
  EXPECT_EQ(rec.tiles, B * 2 * 3);
  EXPECT_STREQ(rec.compute_engine(), "matrix");
  EXPECT_EQ(rec.compute, "matmul_block_relu");
  EXPECT_LE(rec.l1_bytes_per_core, tiny().l1_bytes_per_core);
}

TEST(MatmulProgram, ReduceBatchSumsIntoOneOutput) {
  const int64_t B = 4, M = 33, N = 31, K = 40;
  const auto a = normal(B * M * K, 13), b = normal(B * K * N, 14);
  std::vector<float> out(M * N);
  engine::MatmulArgs x;
  x.a = {const_cast<float*>(a.data()), DType::F32, {B, M, K}, {M * K, K, 1}};
  x.b = {const_cast<float*>(b.data()), DType::F32, {B, K, N}, {K * N, N, 1}};
  x.out = {out.data(), DType::F32, {1, M, N}, {0, N, 1}};
  x.reduce_batch = true;
  engine::run_matmul(tiny(), "test", x);
  std::vector<double> ref(M * N, 0.0);
  for (int64_t i = 0; i < B; ++i) {
    const auto r = reference(M, N, K, {a.data() + i * M * K, K, 1}, {b.data() + i * K * N, N, 1}, id, id);
    for (int64_t j = 0; j < M * N; ++j) ref[j] += r[j];
  }
  EXPECT_LT(max_abs_diff(out, ref), 1e-4);
}

TEST(MatmulProgram, LargeKStreamsThroughSmallL1) {
  const int64_t M = 128, N = 256, K = 2048;  // operand blocks of this size overflow 256 KiB
  const auto a = normal(M * K, 15), b = normal(K * N, 16);
  std::vector<float> out(M * N);
  engine::MatmulArgs x;
  x.a = {const_cast<float*>(a.data()), DType::F32, {1, M, K}, {0, K, 1}};
  x.b = {const_cast<float*>(b.data()), DType::F32, {1, K, N}, {0, N, 1}};
  x.out = {out.data(), DType::F32, {1, M, N}, {0, N, 1}};
  const auto rec = engine::run_matmul(tiny(), "test", x);
  EXPECT_LE(rec.l1_bytes_per_core, tiny().l1_bytes_per_core);
  EXPECT_EQ(rec.cores_used, tiny().num_cores());
  // A tile is read once per block column that uses it, so reads exceed one pass.
  EXPECT_GT(rec.dram_read_bytes, (M * K + K * N) * 4);
  EXPECT_LT(max_abs_diff(out, reference(M, N, K, {a.data(), K, 1}, {b.data(), N, 1}, id, id)), 1e-3);
}
