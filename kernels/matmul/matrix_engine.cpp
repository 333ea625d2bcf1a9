#include "engine/matrix_engine.h"

#include <ATen/cpu/vec/vec.h>

#include <algorithm>
#include <bit>
#include <vector>

#include "engine/executor.h"
#include "kernels/matmul/bf16_gemm.h"
#include "kernels/matmul/f32_gemm.h"

// at::native::cpublas::gemm is not exported from libtorch_cpu, but the BLAS it
// wraps is: Fortran sgemm_, and MKL's bf16 x bf16 -> fp32 GEMM where torch
// was built with MKL (weak, so other builds convert bf16 to fp32 instead).
extern "C" {
void sgemm_(const char* transa, const char* transb, const int* m, const int* n, const int* k,
            const float* alpha, const float* a, const int* lda, const float* b, const int* ldb,
            const float* beta, float* c, const int* ldc);
__attribute__((weak)) void gemm_bf16bf16f32_(const char* transa, const char* transb, const int* m,
                                             const int* n, const int* k, const float* alpha,
                                             const uint16_t* a, const int* lda, const uint16_t* b,
                                             const int* ldb, const float* beta, float* c,
                                             const int* ldc);
__attribute__((weak)) int MKL_Set_Num_Threads_Local(int n);
}

namespace accel::engine {
namespace {

enum class TransposeType { NoTranspose, Transpose };

// Each emulated core already is a host thread: MKL must not fan out again
// inside it (with torch's OpenMP settings that oversubscribes the host).
struct OneBlasThread {
  int previous = 0;
  OneBlasThread() {
    if (MKL_Set_Num_Threads_Local != nullptr) previous = MKL_Set_Num_Threads_Local(1);
  }
  ~OneBlasThread() {
    if (MKL_Set_Num_Threads_Local != nullptr) MKL_Set_Num_Threads_Local(previous);
  }
};

char blas_char(TransposeType t) { return t == TransposeType::NoTranspose ? 'N' : 'T'; }

void blas(TransposeType ta, TransposeType tb, int64_t m, int64_t n, int64_t k, const float* a,
          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  const char ca = blas_char(ta), cb = blas_char(tb);
  const int im = int(m), in = int(n), ik = int(k), ia = int(lda), ib = int(ldb), ic = int(ldc);
  const float one = 1.0f;
  const OneBlasThread one_thread;
  sgemm_(&ca, &cb, &im, &in, &ik, &one, a, &ia, b, &ib, &beta, c, &ic);
}

void blas(TransposeType ta, TransposeType tb, int64_t m, int64_t n, int64_t k,
          const c10::BFloat16* a, int64_t lda, const c10::BFloat16* b, int64_t ldb, float beta,
          float* c, int64_t ldc) {
  const char ca = blas_char(ta), cb = blas_char(tb);
  const int im = int(m), in = int(n), ik = int(k), ia = int(lda), ib = int(ldb), ic = int(ldc);
  const float one = 1.0f;
  const OneBlasThread one_thread;
  gemm_bf16bf16f32_(&ca, &cb, &im, &in, &ik, &one, reinterpret_cast<const uint16_t*>(a), &ia,
                    reinterpret_cast<const uint16_t*>(b), &ib, &beta, c, &ic);
}

constexpr int64_t kTileK = 32;
// Sign, exponent and the mantissa bits one multiplier pass sees.
constexpr uint32_t kSrcAMask = 0xFFFFFFFFu << 19;  // hidden + 4 mantissa bits
constexpr uint32_t kSrcBMask = 0xFFFFFFFFu << 17;  // hidden + 6 mantissa bits

float keep_bits(float x, uint32_t mask) {
  return std::bit_cast<float>(std::bit_cast<uint32_t>(x) & mask);
}

// BLAS is column-major, so row-major C = A B is computed as C^T = B^T A^T.
// A row-major view with unit column stride already is X^T in column-major.
template <class V>
bool blas_layout(V v, int64_t rows, int64_t cols, TransposeType& op, int64_t& ld) {
  if (v.col_stride == 1 && (rows == 1 || v.row_stride >= std::max<int64_t>(cols, 1))) {
    op = TransposeType::NoTranspose;
    ld = std::max(v.row_stride, std::max<int64_t>(cols, 1));
    return true;
  }
  if (v.row_stride == 1 && (cols == 1 || v.col_stride >= std::max<int64_t>(rows, 1))) {
    op = TransposeType::Transpose;
    ld = std::max(v.col_stride, std::max<int64_t>(rows, 1));
    return true;
  }
  return false;
}

// Row-major contiguous copy of v, each element passed through f.
template <class V, class F>
MatrixView pack(V v, int64_t rows, int64_t cols, std::vector<float>& buf, F f) {
  buf.resize(rows * cols);
  for (int64_t r = 0; r < rows; ++r) {
    const auto* src = v.data + r * v.row_stride;
    float* dst = buf.data() + r * cols;
    for (int64_t c = 0; c < cols; ++c) dst[c] = f(static_cast<float>(src[c * v.col_stride]));
  }
  return {buf.data(), cols, 1};
}

float identity(float x) { return x; }

void scale_c(int64_t M, int64_t N, float* C, int64_t ldc, float beta) {
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) C[m * ldc + n] = beta == 0 ? 0.f : beta * C[m * ldc + n];
}

// One full-precision pass: C = beta C + A B.
void blas_gemm(int64_t M, int64_t N, int64_t K, MatrixView A, MatrixView B, float* C,
               int64_t ldc, float beta) {
  if (K == 0) return scale_c(M, N, C, ldc, beta);
  const kernels::F32Operand a{A.data, A.row_stride, A.col_stride};
  if (kernels::f32_block_gemm_takes(M, N, K, a))
    return kernels::f32_block_gemm(M, N, K, a, {B.data, B.row_stride, B.col_stride}, C, ldc, beta);
  thread_local std::vector<float> pa, pb;
  TransposeType ta, tb;
  int64_t lda, ldb;
  if (!blas_layout(A, M, K, ta, lda)) {
    A = pack(A, M, K, pa, identity);
    ta = TransposeType::NoTranspose;
    lda = std::max<int64_t>(K, 1);
  }
  if (!blas_layout(B, K, N, tb, ldb)) {
    B = pack(B, K, N, pb, identity);
    tb = TransposeType::NoTranspose;
    ldb = std::max<int64_t>(N, 1);
  }
  blas(tb, ta, N, M, K, B.data, ldb, A.data, lda, beta, C, ldc);
}

// The multiplier passes of one fidelity over K (see matrix_engine.h); lower
// fidelities run on operands split into their hi and lo bits.
void fidelity_passes(int64_t M, int64_t N, int64_t K, MatrixView A, MatrixView B, float* C,
                     int64_t ldc, float beta, MathFidelity fidelity) {
  if (fidelity == MathFidelity::HiFi4) return blas_gemm(M, N, K, A, B, C, ldc, beta);
  thread_local std::vector<float> a_hi, b_hi, b_lo;
  const MatrixView bh = pack(B, K, N, b_hi, [](float x) { return keep_bits(x, kSrcBMask); });
  switch (fidelity) {
    case MathFidelity::LoFi: {
      const MatrixView ah = pack(A, M, K, a_hi, [](float x) { return keep_bits(x, kSrcAMask); });
      return blas_gemm(M, N, K, ah, bh, C, ldc, beta);
    }
    case MathFidelity::HiFi2: return blas_gemm(M, N, K, A, bh, C, ldc, beta);
    default: {
      const MatrixView bl = pack(B, K, N, b_lo, [](float x) { return x - keep_bits(x, kSrcBMask); });
      const MatrixView ah = pack(A, M, K, a_hi, [](float x) { return keep_bits(x, kSrcAMask); });
      blas_gemm(M, N, K, A, bh, C, ldc, beta);
      return blas_gemm(M, N, K, ah, bl, C, ldc, 1.0f);
    }
  }
}

// A bf16 Dst rounds after every K tile, so this runs often: at::vec's
// round-to-nearest-even, the same as c10's except for a NaN's payload.
void round_block_bf16(int64_t M, int64_t N, float* C, int64_t ldc) {
  using Vec = at::vec::Vectorized<float>;
  for (int64_t m = 0; m < M; ++m) {
    float* row = C + m * ldc;
    int64_t n = 0;
    for (; n + Vec::size() <= N; n += Vec::size()) {
      const Vec v = Vec::loadu(row + n);
      std::get<0>(at::vec::convert_bfloat16_float(at::vec::convert_float_bfloat16(v, v))).store(row + n);
    }
    for (; n < N; ++n) row[n] = round_bf16(row[n]);
  }
}

// Conv and attention hand the engine one block at a time: blocks large enough
// (engine/executor.h) go to the GPU executor when it is on.
template <class V>
bool gpu_gemm(int64_t M, int64_t N, int64_t K, V A, V B, DType dtype, float* C, int64_t ldc,
              float beta, const ComputeConfig& cfg) {
  if (!cuda_executor_on()) return false;
  return cuda_matrix_engine("matrix-engine block", 1, M, N, K,
                            {A.data, dtype, 0, A.row_stride, A.col_stride},
                            {B.data, dtype, 0, B.row_stride, B.col_stride}, C, 0, ldc, beta,
                            false, cfg);
}

// passes(M, N, K, A, B, beta) runs the multiplier passes into C. With an
// fp32 Dst they run once over K; a bf16 Dst holds every 32-deep tile
// product in bf16 before the next one.
template <class V, class Passes>
void accumulate_in_dst(int64_t M, int64_t N, int64_t K, V A, V B, float* C, int64_t ldc,
                       float beta, bool fp32_dest_acc, Passes passes) {
  if (fp32_dest_acc) return passes(M, N, K, A, B, beta);
  if (K == 0) {
    scale_c(M, N, C, ldc, beta);
    return round_block_bf16(M, N, C, ldc);
  }
  for (int64_t k0 = 0; k0 < K; k0 += kTileK) {
    const int64_t kc = std::min(kTileK, K - k0);
    const V a{A.data + k0 * A.col_stride, A.row_stride, A.col_stride};
    const V b{B.data + k0 * B.row_stride, B.row_stride, B.col_stride};
    passes(M, N, kc, a, b, k0 == 0 ? beta : 1.0f);
    round_block_bf16(M, N, C, ldc);
  }
}

// The fidelity passes on bf16 operands as bf16 dot products: each operand
// half (hi: the bits the multiplier sees; lo: the rest) is a bf16 value too.
void bf16_fidelity_passes(int64_t M, int64_t N, int64_t K, MatrixViewBF16 A, MatrixViewBF16 B,
                          float* C, int64_t ldc, float beta, MathFidelity fidelity) {
  const kernels::Bf16Operand a{A.data, A.row_stride, A.col_stride}, b{B.data, B.row_stride, B.col_stride};
  const kernels::Bf16Bits whole{}, a_hi{uint16_t(kSrcAMask >> 16)}, b_hi{uint16_t(kSrcBMask >> 16)},
      b_lo{uint16_t(kSrcBMask >> 16), true};
  switch (fidelity) {
    case MathFidelity::LoFi: kernels::bf16_dot_gemm(M, N, K, a, b, C, ldc, beta, a_hi, b_hi); return;
    case MathFidelity::HiFi2: kernels::bf16_dot_gemm(M, N, K, a, b, C, ldc, beta, whole, b_hi); return;
    case MathFidelity::HiFi3:
      kernels::bf16_dot_gemm(M, N, K, a, b, C, ldc, beta, whole, b_hi);
      kernels::bf16_dot_gemm(M, N, K, a, b, C, ldc, 1.0f, a_hi, b_lo);
      return;
    default: kernels::bf16_dot_gemm(M, N, K, a, b, C, ldc, beta); return;
  }
}

}  // namespace

float srca_hi(float x) { return keep_bits(x, kSrcAMask); }
float srcb_hi(float x) { return keep_bits(x, kSrcBMask); }
float round_bf16(float x) {
  return c10::detail::f32_from_bits(c10::detail::round_to_nearest_even(x));
}

void matrix_engine_gemm(int64_t M, int64_t N, int64_t K, MatrixView A, MatrixView B,
                        float* C, int64_t ldc, float beta, const ComputeConfig& cfg) {
  if (M == 0 || N == 0) return;
  if (gpu_gemm(M, N, K, A, B, DType::F32, C, ldc, beta, cfg)) return;
  accumulate_in_dst(M, N, K, A, B, C, ldc, beta, cfg.fp32_dest_acc,
                    [&](int64_t m, int64_t n, int64_t k, MatrixView a, MatrixView b, float bt) {
                      fidelity_passes(m, n, k, a, b, C, ldc, bt, cfg.fidelity);
                    });
}

void matrix_engine_gemm(int64_t M, int64_t N, int64_t K, MatrixViewBF16 A, MatrixViewBF16 B,
                        float* C, int64_t ldc, float beta, const ComputeConfig& cfg) {
  if (M == 0 || N == 0) return;
  if (gpu_gemm(M, N, K, A, B, DType::BF16, C, ldc, beta, cfg)) return;
  // The host's bf16 dot products where it has them (see bf16_gemm.h); else
  // MKL's bf16 GEMM (on some CPUs no faster than fp32) or fp32 operands.
  if (kernels::bf16_dot_gemm_available())
    return accumulate_in_dst(M, N, K, A, B, C, ldc, beta, cfg.fp32_dest_acc,
                             [&](int64_t m, int64_t n, int64_t k, MatrixViewBF16 a, MatrixViewBF16 b, float bt) {
                               bf16_fidelity_passes(m, n, k, a, b, C, ldc, bt, cfg.fidelity);
                             });
  TransposeType ta, tb;
  int64_t lda, ldb;
  if (gemm_bf16bf16f32_ != nullptr && K > 0 && cfg.fidelity == MathFidelity::HiFi4 &&
      cfg.fp32_dest_acc && blas_layout(A, M, K, ta, lda) && blas_layout(B, K, N, tb, ldb)) {
    blas(tb, ta, N, M, K, B.data, ldb, A.data, lda, beta, C, ldc);
    return;
  }
  thread_local std::vector<float> fa, fb;
  matrix_engine_gemm(M, N, K, pack(A, M, K, fa, identity), pack(B, K, N, fb, identity), C, ldc,
                     beta, cfg);
}

}  // namespace accel::engine
