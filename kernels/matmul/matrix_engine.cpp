#include "engine/matrix_engine.h"

#include <ATen/native/CPUBlas.h>

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
  at::native::cpublas::gemm(tb, ta, N, M, K, 1.0f, B.data, ldb, A.data, lda, beta, C, ldc);
}

}  // namespace accel::engine
