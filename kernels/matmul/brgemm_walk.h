// How both paths through oneDNN's batch-reduce GEMM ukernel (bf16_gemm.cpp,
// f32_gemm.cpp) walk a product C = beta * C + A B: K in chunks that keep one
// packed B block (kChunkK x kBlockN) in L2, and per chunk, panels of kPanelM
// rows of A (also in L2) sweeping the column blocks, kBlockM rows a call.
#pragma once

#include <algorithm>
#include <cstdint>
#include <exception>
#include <vector>

namespace accel::kernels::brgemm_walk {

constexpr int64_t kBlockN = 64;
constexpr int64_t kBlockM = 64;
constexpr int64_t kPanelM = 256;
constexpr int64_t kChunkK = 512;  // even: a bf16 chunk after the first starts a pair of rows

// Scales C by beta (unless 0 or 1), then calls chunk(k0, kc) once per K
// chunk and call(m0, mc, n0, nc, k0, kc, add_c) per ukernel call of it;
// add_c is false only where the call writes its block's first sums.
template <class Chunk, class Call>
void walk(int64_t M, int64_t N, int64_t K, float* C, int64_t ldc, float beta, Chunk chunk, Call call) {
  if (beta != 0 && beta != 1)
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) C[m * ldc + n] *= beta;
  for (int64_t k0 = 0; k0 < K; k0 += kChunkK) {
    const int64_t kc = std::min(kChunkK, K - k0);
    chunk(k0, kc);
    const bool add_c = k0 > 0 || beta != 0;
    for (int64_t p0 = 0; p0 < M; p0 += kPanelM) {
      const int64_t panel_end = std::min(M, p0 + kPanelM);
      for (int64_t n0 = 0; n0 < N; n0 += kBlockN)
        for (int64_t m0 = p0; m0 < panel_end; m0 += kBlockM)
          call(m0, std::min(kBlockM, panel_end - m0), n0, std::min(kBlockN, N - n0), k0, kc, add_c);
    }
  }
}

// Whether product(a, b, c) (row-major M x K and K x N operands of type T, C
// zeroed M x N with ldc N) gives the exact sums of a product of small integers:
// a torch build whose ukernel is missing, throws or reads another layout of B
// fails it, which leaves that path off.
template <class T, class Product>
bool computes_exactly(int64_t M, int64_t K, int64_t N, Product product) {
  std::vector<T> a(M * K), b(K * N);
  for (int64_t i = 0; i < M * K; ++i) a[i] = T(float(i % 7 - 3));
  for (int64_t i = 0; i < K * N; ++i) b[i] = T(float(i % 5 - 2));
  std::vector<float> c(M * N, 0.f);
  try {
    product(a, b, c.data());
  } catch (const std::exception&) {
    return false;
  }
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      float want = 0;
      for (int64_t k = 0; k < K; ++k) want += float(a[m * K + k]) * float(b[k * N + n]);
      if (c[m * N + n] != want) return false;
    }
  return true;
}

}  // namespace accel::kernels::brgemm_walk
