// The matrix engine against a scalar reference per fidelity and accumulation
// mode, and the matmul program on partial tiles, strided views, batches,
// epilogues and the L1 plan.
#include <gtest/gtest.h>

#include <ATen/Context.h>
#include <c10/util/BFloat16.h>

#include <bit>
#include <cmath>
#include <random>
#include <vector>

#include "chip/arch.h"
#include "engine/matmul.h"
#include "engine/matrix_engine.h"
#include "kernels/matmul/bf16_gemm.h"

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

TEST(MatrixEngine, Bf16DestinationRoundsToNearestEven) {
  // K = 0 leaves beta C, rounded as a bf16 Dst holds it: every value,
  // exact ties (odd and even heads) and the row tails past a SIMD width.
  const int64_t M = 7, N = 45;
  std::mt19937 gen(21);
  std::vector<float> c(M * N);
  for (auto& x : c) {
    uint32_t bits = gen();
    if (gen() % 2) bits = (bits & 0xFFFF0000u) | 0x8000u;  // halfway between two bf16 values
    x = std::bit_cast<float>(bits);
    if (!std::isfinite(x)) x = 1.f;
  }
  auto out = c;
  engine::matrix_engine_gemm(M, N, 0, MatrixView{nullptr, 0, 1}, MatrixView{nullptr, 1, 0}, out.data(), N,
                             1.f, {MathFidelity::HiFi4, false});
  for (int64_t i = 0; i < M * N; ++i) ASSERT_EQ(out[i], engine::round_bf16(c[i])) << "at " << i;
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

// torch.backends.mkldnn.enabled: off, bf16 products take the BLAS path.
struct MkldnnEnabled {
  const bool previous = at::globalContext().userEnabledMkldnn();
  explicit MkldnnEnabled(bool on) { at::globalContext().setUserEnabledMkldnn(on); }
  ~MkldnnEnabled() { at::globalContext().setUserEnabledMkldnn(previous); }
};

// A bf16 operand of rows x cols stored as given: transposed or every other column.
struct Bf16Matrix {
  std::vector<c10::BFloat16> storage;
  engine::MatrixViewBF16 view;
  Bf16Matrix(int64_t rows, int64_t cols, int layout, unsigned seed) {
    const auto v = normal(rows * cols * 2, seed);
    storage.assign(v.begin(), v.end());
    if (layout == 0) view = {storage.data(), cols, 1};
    else if (layout == 1) view = {storage.data(), 1, rows};
    else view = {storage.data(), 2 * cols, 2};
  }
  double at(int64_t r, int64_t c) const { return double(view.data[r * view.row_stride + c * view.col_stride]); }
};

// Every bf16 product is exact in fp32, so the fp32 sums stay within the
// classic bound of K roundings of the sum of |products| (and one for beta C).
void expect_fp32_sums_of_bf16_products(int64_t M, int64_t N, int64_t K, int la, int lb, float beta) {
  SCOPED_TRACE(::testing::Message() << "M=" << M << " N=" << N << " K=" << K << " layouts " << la
                                    << lb << " beta=" << beta);
  const Bf16Matrix A(M, K, la, unsigned(M * 7 + K)), B(K, N, lb, unsigned(N * 3 + K));
  const int64_t ldc = N + 3;
  const auto c0 = normal(M * ldc, 99);
  std::vector<float> c(c0);
  if (beta == 0) std::fill(c.begin(), c.end(), std::nanf(""));  // must not be read
  engine::matrix_engine_gemm(M, N, K, A.view, B.view, c.data(), ldc, beta, ComputeConfig{});
  const double unit = std::ldexp(1.0, -24);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      double want = beta == 0 ? 0.0 : double(beta) * c0[m * ldc + n], magnitude = std::abs(want);
      for (int64_t k = 0; k < K; ++k) {
        want += A.at(m, k) * B.at(k, n);
        magnitude += std::abs(A.at(m, k) * B.at(k, n));
      }
      ASSERT_LE(std::abs(c[m * ldc + n] - want), 2 * (K + 2) * unit * magnitude)
          << "at " << m << "," << n << " (" << c[m * ldc + n] << " vs " << want << ")";
    }
  for (int64_t m = 0; m < M; ++m)  // the padding between rows is not C's
    for (int64_t n = N; n < ldc; ++n) {
      if (beta == 0) ASSERT_TRUE(std::isnan(c[m * ldc + n]));
      else ASSERT_EQ(c[m * ldc + n], c0[m * ldc + n]);
    }
}

TEST(MatrixEngine, Bf16ProductsSumInFp32OnOddShapesAndViews) {
  // Shapes off the 32/64 blocks, K = 1, M = 1, and K past one 512-deep chunk.
  const int64_t shapes[][3] = {{1, 1, 1}, {1, 65, 37}, {33, 70, 1}, {45, 70, 37}, {65, 130, 129}, {9, 20, 1031}};
  for (bool dot_products : {true, false}) {
    const MkldnnEnabled mkldnn(dot_products);
    for (const auto& s : shapes)
      for (int la : {0, 1})
        for (int lb : {0, 1, 2})
          for (float beta : {0.f, 1.f, 0.5f}) expect_fp32_sums_of_bf16_products(s[0], s[1], s[2], la, lb, beta);
  }
}

TEST(MatrixEngine, Bf16OperandsMatchFloatOperandsBitForBitAtEveryFidelity) {
  // bf16 values in +-[1, 2): every pass's products are multiples of 2^-14
  // below 4, so 64-deep fp32 sums are exact in any order, and with a bf16
  // Dst so is each rounding. bf16 and float operands must then agree exactly.
  const int64_t M = 35, N = 70, K = 64;
  std::mt19937 gen(17);
  std::uniform_real_distribution<float> mag(1.f, 2.f);
  std::bernoulli_distribution sign;
  std::vector<c10::BFloat16> a(M * K), b(K * N);
  for (auto* v : {&a, &b})
    for (auto& x : *v) x = sign(gen) ? mag(gen) : -mag(gen);
  const std::vector<float> a32(a.begin(), a.end()), b32(b.begin(), b.end());
  const MatrixView A{a32.data(), 1, M}, B{b32.data(), N, 1};  // A stored transposed
  for (bool dot_products : {true, false})
    for (bool fp32_dst : {true, false})
      for (int f = 1; f <= 4; ++f) {
        SCOPED_TRACE(::testing::Message() << "fidelity " << f << " fp32 Dst " << fp32_dst << " dot " << dot_products);
        const MkldnnEnabled mkldnn(dot_products);
        const ComputeConfig cfg{MathFidelity(f), fp32_dst};
        std::vector<float> c(M * N, std::nanf(""));
        engine::matrix_engine_gemm(M, N, K, engine::MatrixViewBF16{a.data(), 1, M},
                                   engine::MatrixViewBF16{b.data(), N, 1}, c.data(), N, 0.f, cfg);
        const auto want = run_engine(M, N, K, A, B, cfg);
        for (int64_t i = 0; i < M * N; ++i) ASSERT_EQ(c[i], want[i]) << "at " << i;
        if (f == 1 && fp32_dst) {
          const auto ref = reference(M, N, K, A, B, engine::srca_hi, engine::srcb_hi);
          for (int64_t i = 0; i < M * N; ++i) ASSERT_EQ(double(c[i]), ref[i]) << "at " << i;
        }
      }
}

TEST(MatrixEngine, Bf16DotGemmStepsAsideWhenMkldnnIsOff) {
  const std::vector<c10::BFloat16> a(4, c10::BFloat16(1.f)), b(4, c10::BFloat16(2.f));
  std::vector<float> c(4, 7.f);
  const MkldnnEnabled off(false);
  EXPECT_FALSE(kernels::bf16_dot_gemm_available());
  EXPECT_FALSE(kernels::bf16_dot_gemm(2, 2, 2, {a.data(), 2, 1}, {b.data(), 2, 1}, c.data(), 2, 0.f));
  EXPECT_EQ(c, std::vector<float>(4, 7.f));
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
  // K streams through L1 two tiles per step; the chip program's output blocks
  // fit, so every operand tile is read from DRAM once.
  EXPECT_EQ(rec.dram_read_bytes, (M * K + K * N) * 4);
  EXPECT_LT(max_abs_diff(out, reference(M, N, K, {a.data(), K, 1}, {b.data(), N, 1}, id, id)), 1e-3);
}
