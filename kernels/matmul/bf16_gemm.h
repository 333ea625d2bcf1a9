// bf16 x bf16 -> fp32 GEMM on the host's bf16 dot-product instructions
// (AVX512-BF16 vdpbf16ps, AMX), through oneDNN's batch-reduce GEMM ukernel
// that libtorch_cpu exports (at::native::cpublas::brgemm). Every product of
// two bf16 values is exact in fp32 and the sums are fp32, as in the matrix
// engine's HiFi4 pass with an fp32 Dst.
#pragma once

#include <c10/util/BFloat16.h>

#include <cstdint>

namespace accel::kernels {

// An operand as strided bf16 elements: (r, c) is data[r * row_stride + c * col_stride].
struct Bf16Operand {
  const c10::BFloat16* data;
  int64_t row_stride;
  int64_t col_stride;
};

// The bits of an operand's values that take part in a product: those the
// mask keeps, or with `remainder` the rest (x minus its masked head). Both
// are bf16 values again, which is how the matrix engine's lower-fidelity
// passes on bf16 operands run on the same instructions.
struct Bf16Bits {
  uint16_t keep_mask = 0xFFFF;
  bool remainder = false;
  bool whole() const { return keep_mask == 0xFFFF && !remainder; }
};

// Whether bf16_dot_gemm runs here: the CPU has bf16 dot products, torch's
// oneDNN ukernel is built in and enabled (torch.backends.mkldnn.enabled), and
// a first small product through it came out exact.
bool bf16_dot_gemm_available();

// C[M,N] = beta * C + A[M,K] B[K,N], C row-major with leading dimension ldc;
// beta == 0 never reads C. Returns false, leaving C untouched, when
// bf16_dot_gemm_available() is false; the caller then computes it otherwise.
// The products are of the bits a_bits and b_bits select. The dot-product
// instructions treat subnormal inputs and results as zero.
bool bf16_dot_gemm(int64_t M, int64_t N, int64_t K, Bf16Operand A, Bf16Operand B, float* C,
                   int64_t ldc, float beta, Bf16Bits a_bits = {}, Bf16Bits b_bits = {});

}  // namespace accel::kernels
