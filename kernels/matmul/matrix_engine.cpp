#include "engine/matrix_engine.h"

#include <ATen/native/CPUBlas.h>

#include <algorithm>

// libtorch_cpu exports the bundled BLAS's Fortran sgemm but not cpublas's
// float overloads, so the extension calls BLAS directly.
extern "C" void sgemm_(const char* transa, const char* transb, const int* m, const int* n,
                       const int* k, const float* alpha, const float* a, const int* lda,
                       const float* b, const int* ldb, const float* beta, float* c,
                       const int* ldc);
// Each emulated core already runs on its own host thread; a nested BLAS
// thread team per block would only spin. Weak: absent without MKL.
extern "C" int MKL_Set_Num_Threads_Local(int) __attribute__((weak));

namespace accel::engine {
namespace {

using at::native::TransposeType;

// BLAS is column-major, so row-major C = A B is computed as C^T = B^T A^T.
// A row-major view with unit column stride already is X^T in column-major.
bool transposed_operand(MatrixView v, TransposeType& op, int64_t& ld) {
  if (v.col_stride == 1) { op = TransposeType::NoTranspose; ld = v.row_stride; return true; }
  if (v.row_stride == 1) { op = TransposeType::Transpose; ld = v.col_stride; return true; }
  return false;
}

}  // namespace

void matrix_engine_gemm(int64_t M, int64_t N, int64_t K, MatrixView A, MatrixView B,
                        float* C, int64_t ldc, float beta, const ComputeConfig& cfg) {
  (void)cfg;  // fidelity and accumulation emulation: owned by the matmul program
  TransposeType ta, tb;
  int64_t lda, ldb;
  if (!transposed_operand(A, ta, lda) || !transposed_operand(B, tb, ldb)) {
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        float acc = 0;
        for (int64_t k = 0; k < K; ++k)
          acc += A.data[m * A.row_stride + k * A.col_stride] *
                 B.data[k * B.row_stride + n * B.col_stride];
        C[m * ldc + n] = beta == 0 ? acc : beta * C[m * ldc + n] + acc;
      }
    return;
  }
  const char ctb = tb == TransposeType::NoTranspose ? 'N' : 'T';
  const char cta = ta == TransposeType::NoTranspose ? 'N' : 'T';
  const int m = static_cast<int>(N), n = static_cast<int>(M), k = static_cast<int>(K);
  const int ilda = static_cast<int>(std::max<int64_t>(ldb, 1)), ildb = static_cast<int>(std::max<int64_t>(lda, 1));
  const int ildc = static_cast<int>(std::max<int64_t>(ldc, 1));
  const float alpha = 1.0f;
  thread_local const bool single = MKL_Set_Num_Threads_Local ? (MKL_Set_Num_Threads_Local(1), true) : true;
  (void)single;
  sgemm_(&ctb, &cta, &m, &n, &k, &alpha, B.data, &ilda, A.data, &ildb, &beta, C, &ildc);
}

}  // namespace accel::engine
