#include "kernels/matmul/bf16_gemm.h"

#include <ATen/Context.h>
#include <ATen/native/CPUBlas.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <type_traits>
#include <vector>

#include "kernels/matmul/brgemm_walk.h"

namespace accel::kernels {
namespace {

namespace cpublas = at::native::cpublas;

// The ukernel reads B in VNNI order: for each pair of rows (k, k+1), the two
// values of a column side by side in one 32-bit word, in column blocks of
// kBlockN words (brgemm_walk.h: the blocks and chunks of a product).
using brgemm_walk::kBlockN;

uint32_t pair(uint16_t lo, uint16_t hi) { return uint32_t(lo) | uint32_t(hi) << 16; }

struct Masked {  // what the mask keeps: a plain AND, so the packing loops vectorize
  uint16_t mask;
  uint16_t operator()(c10::BFloat16 x) const { return x.x & mask; }
};
struct Remainder {  // x minus its masked head: exact, and a bf16 value again
  uint16_t mask;
  uint16_t operator()(c10::BFloat16 x) const {
    const float head = c10::BFloat16(x.x & mask, c10::BFloat16::from_bits());
    return c10::BFloat16(float(x) - head).x;
  }
};

// Calls f with the functor that selects `sel`'s bits.
template <class F>
void with_selector(Bf16Bits sel, F f) {
  if (sel.remainder) f(Remainder{sel.keep_mask});
  else f(Masked{sel.keep_mask});
}

// Rows [k0, k0 + kc) of B as VNNI words, block after block of kBlockN
// columns; the last block's spare columns and an odd chunk's spare row are 0.
template <class Select>
void pack_b_vnni(Bf16Operand B, int64_t k0, int64_t kc, int64_t N, Select bits,
                 std::vector<uint32_t>& out) {
  const int64_t pairs = (kc + 1) / 2, blocks = (N + kBlockN - 1) / kBlockN;
  out.resize(blocks * pairs * kBlockN);
  for (int64_t nb = 0; nb < blocks; ++nb) {
    const int64_t n0 = nb * kBlockN, nc = std::min(kBlockN, N - n0);
    uint32_t* block = out.data() + nb * pairs * kBlockN;
    if (nc < kBlockN)
      for (int64_t p = 0; p < pairs; ++p) std::fill(block + p * kBlockN + nc, block + (p + 1) * kBlockN, 0u);
    if (B.col_stride == 1) {  // rows are contiguous: interleave two of them
      for (int64_t p = 0; p < pairs; ++p) {
        const c10::BFloat16* lo = B.data + (k0 + 2 * p) * B.row_stride + n0;
        const c10::BFloat16* hi = lo + B.row_stride;
        uint32_t* dst = block + p * kBlockN;
        if (2 * p + 1 < kc)
          for (int64_t j = 0; j < nc; ++j) dst[j] = pair(bits(lo[j]), bits(hi[j]));
        else
          for (int64_t j = 0; j < nc; ++j) dst[j] = bits(lo[j]);
      }
      continue;
    }
    // A transposed B (a linear's weight) has unit row stride: each column's
    // pairs already are the 32-bit words, to be masked and transposed.
    if (B.row_stride == 1 && std::is_same_v<Select, Masked> && k0 % 2 == 0) {
      const uint32_t mask = pair(bits(c10::BFloat16(0xFFFF, c10::BFloat16::from_bits())),
                                 bits(c10::BFloat16(0xFFFF, c10::BFloat16::from_bits())));
      const int64_t whole_pairs = kc / 2;
      for (int64_t j = 0; j < nc; ++j) {
        const c10::BFloat16* col = B.data + (n0 + j) * B.col_stride + k0;
        for (int64_t p = 0; p < whole_pairs; ++p) {
          uint32_t word;
          std::memcpy(&word, col + 2 * p, sizeof word);
          block[p * kBlockN + j] = word & mask;
        }
        if (kc % 2) block[whole_pairs * kBlockN + j] = bits(col[kc - 1]);
      }
      continue;
    }
    // Any other layout goes column by column, element by element.
    for (int64_t j = 0; j < nc; ++j) {
      const c10::BFloat16* col = B.data + (n0 + j) * B.col_stride + k0 * B.row_stride;
      for (int64_t p = 0; p < pairs; ++p) {
        const uint16_t lo = bits(col[2 * p * B.row_stride]);
        const uint16_t hi = 2 * p + 1 < kc ? bits(col[(2 * p + 1) * B.row_stride]) : 0;
        block[p * kBlockN + j] = pair(lo, hi);
      }
    }
  }
}

// A as the ukernel reads it: rows of K contiguous elements, lda apart, of
// the bits a_bits selects.
const c10::BFloat16* row_major_a(int64_t M, int64_t K, Bf16Operand A, Bf16Bits a_bits,
                                 int64_t& lda, std::vector<uint16_t>& scratch) {
  if (a_bits.whole() && (A.col_stride == 1 || K == 1) && (M == 1 || A.row_stride >= K)) {
    lda = M == 1 ? K : A.row_stride;
    return A.data;
  }
  scratch.resize(M * K);
  with_selector(a_bits, [&](auto bits) {
    for (int64_t r = 0; r < M; ++r)
      for (int64_t k = 0; k < K; ++k) scratch[r * K + k] = bits(A.data[r * A.row_stride + k * A.col_stride]);
  });
  lda = K;
  return reinterpret_cast<const c10::BFloat16*>(scratch.data());
}

void run(int64_t M, int64_t N, int64_t K, Bf16Operand A, Bf16Operand B, float* C, int64_t ldc,
         float beta, Bf16Bits a_bits, Bf16Bits b_bits) {
  thread_local std::vector<uint32_t> packed_b;
  thread_local std::vector<uint16_t> a_scratch;
  int64_t lda = 0;
  const c10::BFloat16* a = row_major_a(M, K, A, a_bits, lda, a_scratch);
  const c10::BFloat16* b = nullptr;
  brgemm_walk::walk(
      M, N, K, C, ldc, beta,
      [&](int64_t k0, int64_t kc) {
        with_selector(b_bits, [&](auto bits) { pack_b_vnni(B, k0, kc, N, bits, packed_b); });
        b = reinterpret_cast<const c10::BFloat16*>(packed_b.data());
      },
      [&](int64_t m0, int64_t mc, int64_t n0, int64_t nc, int64_t k0, int64_t kc, bool add_c) {
        const int64_t pairs = (kc + 1) / 2;
        cpublas::brgemm(mc, nc, kc, lda, kBlockN, ldc, add_c, a + m0 * lda + k0, b + n0 * pairs * 2,
                        C + m0 * ldc + n0, /*is_vnni=*/true);
      });
  cpublas::brgemm_release(/*is_vnni=*/true);
}

bool cpu_has_bf16_dot() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  // Without it oneDNN would emulate the bf16 dots, no faster than the BLAS path.
  return __builtin_cpu_supports("avx512bf16");
#else
  return false;
#endif
}

// Partial row, column and K blocks, an odd K past one AMX tile.
bool ukernel_computes_exactly() {
  constexpr int64_t M = 17, K = 37, N = 70;
  return brgemm_walk::computes_exactly<c10::BFloat16>(
      M, K, N, [&](const std::vector<c10::BFloat16>& a, const std::vector<c10::BFloat16>& b, float* c) {
        run(M, N, K, {a.data(), K, 1}, {b.data(), N, 1}, c, N, 0.f, {}, {});
      });
}

}  // namespace

bool bf16_dot_gemm_available() {
  if (!at::globalContext().userEnabledMkldnn()) return false;
  static const bool works = cpu_has_bf16_dot() && ukernel_computes_exactly();
  return works;
}

bool bf16_dot_gemm(int64_t M, int64_t N, int64_t K, Bf16Operand A, Bf16Operand B, float* C,
                   int64_t ldc, float beta, Bf16Bits a_bits, Bf16Bits b_bits) {
  if (!bf16_dot_gemm_available()) return false;
  if (M == 0 || N == 0) return true;
  if (K == 0) {
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) C[m * ldc + n] = beta == 0 ? 0.f : beta * C[m * ldc + n];
    return true;
  }
  run(M, N, K, A, B, C, ldc, beta, a_bits, b_bits);
  return true;
}

}  // namespace accel::kernels
