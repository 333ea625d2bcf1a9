#include "kernels/matmul/f32_gemm.h"

#include <ATen/Context.h>
#include <ATen/native/CPUBlas.h>

#include <algorithm>
#include <exception>
#include <vector>

#include "kernels/matmul/brgemm_walk.h"

namespace accel::kernels {
namespace {

namespace cpublas = at::native::cpublas;

using brgemm_walk::kBlockN;
// Shorter products (attention's per-head blocks) stay with sgemm: packing B
// costs as much as a few rows of the product.
constexpr int64_t kMinRows = 128;

// Rows [k0, k0 + kc) x columns [n0, n0 + nc) of B as the ukernel reads them:
// in place when B's rows are contiguous, else copied to [kc x kBlockN].
const float* b_block(F32Operand B, int64_t k0, int64_t kc, int64_t n0, int64_t nc, int64_t& ld,
                     std::vector<float>& scratch) {
  if (B.col_stride == 1) {
    ld = B.row_stride;
    return B.data + k0 * B.row_stride + n0;
  }
  scratch.resize(kc * kBlockN);
  for (int64_t j = 0; j < nc; ++j) {
    const float* col = B.data + (n0 + j) * B.col_stride + k0 * B.row_stride;
    for (int64_t k = 0; k < kc; ++k) scratch[k * kBlockN + j] = col[k * B.row_stride];
  }
  ld = kBlockN;
  return scratch.data();
}

void run(int64_t M, int64_t N, int64_t K, F32Operand A, F32Operand B, float* C, int64_t ldc, float beta) {
  // One B block per column block of the K chunk ([kc x kBlockN], 128 KB at most).
  thread_local std::vector<std::vector<float>> b_scratch;
  std::vector<const float*> blocks;
  std::vector<int64_t> ld_b;
  brgemm_walk::walk(
      M, N, K, C, ldc, beta,
      [&](int64_t k0, int64_t kc) {
        const int64_t n_blocks = (N + kBlockN - 1) / kBlockN;
        if (int64_t(b_scratch.size()) < n_blocks) b_scratch.resize(n_blocks);
        blocks.resize(n_blocks);
        ld_b.resize(n_blocks);
        for (int64_t nb = 0; nb < n_blocks; ++nb)
          blocks[nb] = b_block(B, k0, kc, nb * kBlockN, std::min(kBlockN, N - nb * kBlockN), ld_b[nb], b_scratch[nb]);
      },
      [&](int64_t m0, int64_t mc, int64_t n0, int64_t nc, int64_t k0, int64_t kc, bool add_c) {
        cpublas::brgemm(mc, nc, kc, A.row_stride, ld_b[n0 / kBlockN], ldc, add_c, A.data + m0 * A.row_stride + k0,
                        blocks[n0 / kBlockN], C + m0 * ldc + n0, /*is_vnni=*/false);
      });
}

// Partial row, column and K blocks, with B read in place and copied (stored transposed).
bool ukernel_computes_exactly() {
  constexpr int64_t M = 70, K = 37, N = 70;
  auto in_place = [&](const std::vector<float>& a, const std::vector<float>& b, float* c) {
    run(M, N, K, {a.data(), K, 1}, {b.data(), N, 1}, c, N, 0.f);
  };
  auto copied = [&](const std::vector<float>& a, const std::vector<float>& b, float* c) {
    std::vector<float> bt(K * N);
    for (int64_t k = 0; k < K; ++k)
      for (int64_t n = 0; n < N; ++n) bt[n * K + k] = b[k * N + n];
    run(M, N, K, {a.data(), K, 1}, {bt.data(), 1, K}, c, N, 0.f);
  };
  return brgemm_walk::computes_exactly<float>(M, K, N, in_place) &&
         brgemm_walk::computes_exactly<float>(M, K, N, copied);
}

bool available() {
  if (!at::globalContext().userEnabledMkldnn()) return false;
  static const bool works = ukernel_computes_exactly();
  return works;
}

}  // namespace

bool f32_block_gemm_takes(int64_t M, int64_t N, int64_t K, F32Operand A) {
  return M >= kMinRows && N > 0 && K > 0 && (A.col_stride == 1 || K == 1) && A.row_stride >= K && available();
}

void f32_block_gemm(int64_t M, int64_t N, int64_t K, F32Operand A, F32Operand B, float* C, int64_t ldc,
                    float beta) {
  run(M, N, K, A, B, C, ldc, beta);
}

}  // namespace accel::kernels
