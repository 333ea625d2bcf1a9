// The matrix engine (FPU) of one core, on the host: a block product of float
// operands with the fidelity and accumulation of a ComputeConfig. Programs for
// matmul, linear, conv (as implicit GEMM) and attention call this per block.
//
// Fidelity: the multipliers take 5 bits of SrcA (hidden bit + 4 mantissa bits)
// and 7 of SrcB (hidden + 6). Each operand splits into hi (those bits) and lo
// (every remaining bit, A - A_hi), and the passes are
//   LoFi  = A_hi*B_hi
//   HiFi2 = LoFi  + A_lo*B_hi  (= A*B_hi)
//   HiFi3 = HiFi2 + A_hi*B_lo
//   HiFi4 = HiFi3 + A_lo*B_lo  (= A*B, fp32 operands kept whole)
// Without fp32_dest_acc the destination holds bf16: the partial sums are
// rounded to bf16 after each 32-deep K tile.
#pragma once

#include <c10/util/BFloat16.h>

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

// The same for bf16 operands (exact in fp32), accumulating into fp32.
struct MatrixViewBF16 {
  const c10::BFloat16* data;
  int64_t row_stride;
  int64_t col_stride;
};
void matrix_engine_gemm(int64_t M, int64_t N, int64_t K, MatrixViewBF16 A, MatrixViewBF16 B,
                        float* C, int64_t ldc, float beta, const ComputeConfig& cfg);

// The operand halves the fidelity passes use (see above), for tests and tools.
float srca_hi(float x);
float srcb_hi(float x);
// Round-to-nearest-even to bf16, kept in fp32: what a bf16 Dst register holds.
float round_bf16(float x);

}  // namespace accel::engine
