// The matrix engine (FPU) of one core, on the host: a block product of float
// operands with the fidelity and accumulation of a ComputeConfig. Programs for
// matmul, linear, conv (as implicit GEMM) and attention call this per block.
#pragma once

#include <cstdint>

#include "engine/compute_config.h"

namespace accel::engine {

// A row-major matrix view: element (r, c) is data[r * row_stride + c * col_stride].
struct MatrixView {
  const float* data;
  int64_t row_stride;
  int64_t col_stride;
};

// C[M,N] = beta * C + A[M,K] * B[K,N]; C is row-major with leading dim ldc.
void matrix_engine_gemm(int64_t M, int64_t N, int64_t K, MatrixView A, MatrixView B,
                        float* C, int64_t ldc, float beta, const ComputeConfig& cfg);

}  // namespace accel::engine
