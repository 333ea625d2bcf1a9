#include "kernels/random/normal.h"

#include <c10/util/BFloat16-math.h>

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "kernels/random/cpu_sampling.h"

namespace accel::kernels {
namespace {

using engine::DType;

constexpr double kPi = 3.14159265358979323846;

template <class T>
void store_pairs(const uint64_t* words, int64_t first, int64_t n, T* dst, const NormalParams& p) {
  const int64_t skip = p.cached ? 1 : 0;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t e = first + i;
    double raw;
    if (e < skip) {
      raw = p.cache;
    } else {
      const int64_t k = e - skip;
      raw = box_muller_pair(words[k & ~int64_t{1}], words[k | 1], (k & 1) != 0);
    }
    double v = p.fused ? std::fma(raw, p.std, p.mean) : raw * p.std + p.mean;
    if (p.log) v = std::exp(v);
    dst[i] = static_cast<T>(v);
  }
}

// The scalar 16-wide Box-Muller in the type CPU computes it in: data[0, 8)
// hold the first uniforms, data[8, 16) the second ones; -2 and 2 pi keep
// CPU's types. In a 16-bit float (torch before 2.13) every step rounds to it
// through c10's operators and math functions, as ATen's normal_fill_16 does.
// torch 2.13 fuses sample * std + mean explicitly; before, only where the
// compiler contracted it (its AVX2/AVX512 builds), and never in a 16-bit float.
template <class Op>
void box_muller16(Op* data, Op mean, Op std, bool fused) {
  for (int j = 0; j < 8; ++j) {
    const Op u1 = 1 - data[j];
    const Op u2 = data[j + 8];
    const Op radius = std::sqrt(-2 * std::log(u1));
    const Op theta = static_cast<Op>(static_cast<double>(2.0f) * kPi * u2);
    const Op c = radius * std::cos(theta), s = radius * std::sin(theta);
    if constexpr (is_reduced_float<Op>()) {
      data[j] = c * std + mean;
      data[j + 8] = s * std + mean;
    } else {
      data[j] = fused ? std::fma(c, std, mean) : c * std + mean;
      data[j + 8] = fused ? std::fma(s, std, mean) : s * std + mean;
    }
  }
}

// float/double fills draw all `size` words before the extra block (and
// bfloat16/half ones before torch 2.13); bfloat16/half ones from 2.13 on draw
// block by block, so theirs skip the partial block.
constexpr bool fill_draws_all_first(bool reduced) { return !reduced || kCpuSamplersBefore2_13; }
int64_t extra_block_word(int64_t size, bool reduced) {
  return fill_draws_all_first(reduced) ? size : size / 16 * 16;
}

template <class T>
void fill_chunks(const uint64_t* words, int64_t size, int64_t first, int64_t n, T* dst,
                 const NormalParams& p) {
  constexpr bool own_type = kCpuSamplersBefore2_13 && is_reduced_float<T>();
  using Op = std::conditional_t<own_type, T, std::conditional_t<std::is_same_v<T, double>, double, float>>;
  const Op mean = static_cast<Op>(p.mean), std = static_cast<Op>(p.std);
  const bool simd = p.avx2 && std::is_same_v<Op, float>;
  const int64_t end = first + n;
  const int64_t cut = size % 16 ? size - 16 : size;  // outputs past `cut` come from the extra block
  Op block[16];
  auto compute = [&](const uint64_t* w) {
    for (int j = 0; j < 16; ++j) {
      if constexpr (std::is_same_v<Op, double>) block[j] = fraction53(w[j]);
      else block[j] = fraction<own_type ? mantissa_digits<T>() : 24>(w[j]);
    }
    if constexpr (std::is_same_v<Op, float>) {
      if (simd && box_muller16_avx2(block, mean, std)) return;
    }
    box_muller16(block, mean, std, !kCpuSamplersBefore2_13 || p.fused);
  };
  auto emit = [&](int64_t block_first, int64_t lo, int64_t hi) {
    for (int64_t e = lo; e < hi; ++e) dst[e - first] = static_cast<T>(block[e - block_first]);
  };
  for (int64_t b = first / 16 * 16; b < std::min(end, cut); b += 16) {
    compute(words + b);
    emit(b, std::max(b, first), std::min({b + 16, cut, end}));
  }
  if (end > cut) {
    compute(words + extra_block_word(size, is_reduced_float<T>()));
    emit(size - 16, std::max(cut, first), end);
  }
}

template <class F>
void by_dtype(DType out, void* dst, F&& f) {
  switch (out) {
    case DType::F32: return f(static_cast<float*>(dst));
    case DType::F64: return f(static_cast<double*>(dst));
    case DType::BF16: return f(static_cast<c10::BFloat16*>(dst));
    case DType::F16: return f(static_cast<c10::Half*>(dst));
    default: return;  // normal_ and log_normal_ take floating dtypes only (checked by the caller)
  }
}

}  // namespace

double box_muller_pair(uint64_t w1, uint64_t w2, bool sine) {
  const double u1 = fraction53(w1), u2 = fraction53(w2);
  const double r = std::sqrt(-2.0 * std::log1p(-u2));
  const double theta = 2.0 * kPi * u1;
  return sine ? r * std::sin(theta) : r * std::cos(theta);
}

int64_t normal_pair_words(int64_t n, const NormalParams& p) {
  const int64_t fresh = std::max<int64_t>(0, n - (p.cached ? 1 : 0));
  return 2 * ((fresh + 1) / 2);
}

void normal_pairs(const uint64_t* words, int64_t first, int64_t n, void* dst, DType out,
                  const NormalParams& p) {
  by_dtype(out, dst, [&](auto* d) { store_pairs(words, first, n, d, p); });
}

int64_t normal_fill_words(int64_t size, DType out) {
  return size % 16 ? extra_block_word(size, out == DType::BF16 || out == DType::F16) + 16 : size;
}

void normal_fill(const uint64_t* words, int64_t size, int64_t first, int64_t n, void* dst, DType out,
                 const NormalParams& p) {
  by_dtype(out, dst, [&](auto* d) { fill_chunks(words, size, first, n, d, p); });
}

}  // namespace accel::kernels
