// fp32 GEMM through oneDNN's batch-reduce GEMM ukernel that libtorch_cpu
// exports (at::native::cpublas::brgemm): on this project's hosts it ran the
// transformer shapes ~10% faster than the BLAS sgemm. Each sum runs over K in
// order with fused multiply-adds, a chunk of K at a time (MKL blocks K its
// own way), so results can differ from sgemm's in the last bits.
#pragma once

#include <cstdint>

namespace accel::kernels {

// An operand as strided fp32 elements: (r, c) is data[r * row_stride + c * col_stride].
struct F32Operand {
  const float* data;
  int64_t row_stride;
  int64_t col_stride;
};

// Whether f32_block_gemm takes this product: torch's oneDNN ukernel is built
// in and enabled, a first small product through it came out exact, M is
// tall enough to pay for packing B, and A's rows are contiguous (a
// transposed A is sgemm's to read: copying it cost more than the ukernel saved).
bool f32_block_gemm_takes(int64_t M, int64_t N, int64_t K, F32Operand A);

// C[M,N] = beta * C + A[M,K] B[K,N], C row-major with leading dimension ldc;
// beta == 0 never reads C. Only for sizes f32_block_gemm_takes.
void f32_block_gemm(int64_t M, int64_t N, int64_t K, F32Operand A, F32Operand B, float* C, int64_t ldc,
                    float beta);

}  // namespace accel::kernels
