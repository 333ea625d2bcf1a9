#include "kernels/norm/row_math.h"

#include "kernels/eltwise/unary.h"

#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <algorithm>

#include <cmath>
#include <cstring>
#include <limits>

// The host's vector width stands in for the SFPU lanes: GCC clones each hot
// loop per ISA and an ifunc picks one when the library loads.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define ACCEL_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define ACCEL_CLONES
#endif

// FP exceptions are not observed here; without this GCC will not turn the
// clamps and selects of fast_exp into vector blends.
#pragma GCC optimize("no-trapping-math")

namespace accel::kernels::norm {
namespace {

constexpr int kLanes = 16;

// kLanes floats as one vector (a zmm, two ymm or four xmm per clone): lane j
// holds what ACCEL_LANE_SUM's acc[j] does. Two running sums in one loop, or a
// select, are more than GCC's vectorizer turns into plain lane operations by
// itself.
typedef float Lanes __attribute__((vector_size(kLanes * sizeof(float))));
__attribute__((always_inline)) inline Lanes load_lanes(const float* p) {
  Lanes v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

__attribute__((always_inline)) inline uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
__attribute__((always_inline)) inline float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// exp by range reduction to r in [-ln2/2, ln2/2] and a degree-6 polynomial,
// branch-free so the loops vectorize; within 2 ulp of std::exp. Results below
// FLT_MIN flush to zero, as on the SFPU; the top ln2 of the range is computed
// with 2^n applied as 2^(n-1) * 2 so the scale stays a normal float.
__attribute__((always_inline)) inline float fast_exp(float x) {
  const float top = 88.3762626647949f, hi = 88.7228391116729f, lo = -87.3365447505531f;
  const bool big = x > top;
  // Below lo the result is 0 anyway; computing it at lo would pass through a
  // subnormal product, which costs a microcode assist per lane (a causal
  // mask's -inf scores made the attention softmax 3x slower).
  const float xc = x > hi ? hi : (x < lo ? 0.0f : x);
  // Adding 1.5 * 2^23 rounds to an integer in the low mantissa bits.
  const float n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  float r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const int32_t e = static_cast<int32_t>(n) + (big ? 126 : 127);
  const float scale = from_bits(static_cast<uint32_t>(e) << 23);
  float y = p * scale;
  y = big ? y * 2.0f : y;
  y = x < lo ? 0.0f : y;
  y = x > hi ? std::numeric_limits<float>::infinity() : y;
  return x != x ? x : y;
}

__attribute__((always_inline)) inline uint16_t bf16_bits(float f) {
  const uint32_t u = bits(f);
  const uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
  return f != f ? uint16_t(0x7fc0) : static_cast<uint16_t>(rounded);
}

ACCEL_CLONES void bf16_to_f32(float* dst, const uint16_t* src, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = from_bits(static_cast<uint32_t>(src[i]) << 16);
}
ACCEL_CLONES void f32_to_bf16(uint16_t* dst, const float* src, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = bf16_bits(src[i]);
}
// GCC's _Float16 converts with F16C/AVX-512 instructions that vectorize;
// c10::Half's bit-twiddling does not.
#ifdef __FLT16_MAX__
using HalfBits = _Float16;
#else
using HalfBits = c10::Half;
#endif
static_assert(sizeof(HalfBits) == 2);
ACCEL_CLONES void f16_to_f32(float* dst, const HalfBits* src, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<float>(src[i]);
}
ACCEL_CLONES void f32_to_f16(HalfBits* dst, const float* src, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<HalfBits>(src[i]);
}

}  // namespace

void to_f32(float* dst, const void* src, DType dt, int64_t n) {
  switch (dt) {
    case DType::F32: std::memcpy(dst, src, n * sizeof(float)); return;
    case DType::BF16: return bf16_to_f32(dst, static_cast<const uint16_t*>(src), n);
    case DType::F16: return f16_to_f32(dst, static_cast<const HalfBits*>(src), n);
    case DType::F64:
      for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<float>(static_cast<const double*>(src)[i]);
      return;
    default: throw std::domain_error(std::string("norm kernels take floating data, not ") + engine::dtype_name(dt));
  }
}

void from_f32(void* dst, DType dt, const float* src, int64_t n) {
  switch (dt) {
    case DType::F32: std::memcpy(dst, src, n * sizeof(float)); return;
    case DType::BF16: return f32_to_bf16(static_cast<uint16_t*>(dst), src, n);
    case DType::F16: return f32_to_f16(static_cast<HalfBits*>(dst), src, n);
    case DType::F64:
      for (int64_t i = 0; i < n; ++i) static_cast<double*>(dst)[i] = src[i];
      return;
    default: throw std::domain_error(std::string("norm kernels take floating data, not ") + engine::dtype_name(dt));
  }
}

float load_one(const void* base, DType dt, int64_t index) {
  switch (dt) {
    case DType::F32: return static_cast<const float*>(base)[index];
    case DType::BF16: return static_cast<const c10::BFloat16*>(base)[index];
    case DType::F16: return static_cast<const c10::Half*>(base)[index];
    case DType::F64: return static_cast<float>(static_cast<const double*>(base)[index]);
    default: throw std::domain_error("norm kernels take floating data");
  }
}

void store_one(void* base, DType dt, int64_t index, float v) {
  switch (dt) {
    case DType::F32: static_cast<float*>(base)[index] = v; return;
    case DType::BF16: static_cast<c10::BFloat16*>(base)[index] = v; return;
    case DType::F16: static_cast<c10::Half*>(base)[index] = v; return;
    case DType::F64: static_cast<double*>(base)[index] = v; return;
    default: throw std::domain_error("norm kernels take floating data");
  }
}

// Reductions keep kLanes independent partial results, so they vectorize
// without reassociating a single accumulator.
// NaNs are not tracked here: they reach the exp sum and poison the row there.
// Two lane groups: one group's max chain waited on the compare's latency. The
// max of the non-NaN values does not depend on the order.
ACCEL_CLONES float row_max(const float* x, int64_t n) {
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  Lanes acc0, acc1;
  for (int j = 0; j < kLanes; ++j) acc0[j] = acc1[j] = kNegInf;
  int64_t i = 0;
  for (; i + 2 * kLanes <= n; i += 2 * kLanes) {
    const Lanes v0 = load_lanes(x + i), v1 = load_lanes(x + i + kLanes);
    acc0 = v0 > acc0 ? v0 : acc0;
    acc1 = v1 > acc1 ? v1 : acc1;
  }
  if (i + kLanes <= n) {
    const Lanes v = load_lanes(x + i);
    acc0 = v > acc0 ? v : acc0;
    i += kLanes;
  }
  acc0 = acc1 > acc0 ? acc1 : acc0;
  float m = kNegInf;
  for (; i < n; ++i) m = x[i] > m ? x[i] : m;
  for (int j = 0; j < kLanes; ++j) m = acc0[j] > m ? acc0[j] : m;
  return m;
}

#define ACCEL_LANE_SUM(term)                                   \
  float acc[kLanes] = {};                                                 \
  int64_t i = 0;                                                          \
  for (; i + kLanes <= n; i += kLanes)                                    \
    for (int j = 0; j < kLanes; ++j) {                                    \
      const int64_t k = i + j;                                            \
      acc[j] += (term);                                                   \
    }                                                                     \
  float tail = 0;                                                         \
  for (int64_t k = i; k < n; ++k) tail += (term);                         \
  float s = tail;                                                         \
  for (int j = 0; j < kLanes; ++j) s += acc[j];                           \
  return s;

ACCEL_CLONES float row_sum(const float* x, int64_t n) { ACCEL_LANE_SUM(x[k]) }
ACCEL_CLONES float row_sq_dev(const float* x, int64_t n, float c) {
  ACCEL_LANE_SUM((x[k] - c) * (x[k] - c))
}
ACCEL_CLONES float row_dot(const float* x, const float* y, int64_t n) { ACCEL_LANE_SUM(x[k] * y[k]) }
// Row exps go through the element-wise exp kernel (Sleef's, with FMA where the
// host has it: about twice fast_exp's speed, whose polynomial is FMA-free so that
// every ISA gives the same bits) between two lane loops; results below FLT_MIN
// still flush to zero, as on the SFPU.
namespace {

void exp_kernel(float* y, const float* x, int64_t n) {
  static const auto exp_fn = unary_kernel(Unary::Exp).f32;
  const float* in[] = {x};
  exp_fn(in, y, n, engine::KernelParams{});
}

// Results below FLT_MIN become 0; returns their row_sum (the same lane order).
ACCEL_CLONES float flush_subnormal_sum(float* y, int64_t n) {
  constexpr float kMin = std::numeric_limits<float>::min();
  const Lanes zero = {};
  Lanes acc = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    Lanes v = load_lanes(y + i);
    v = v < kMin ? zero : v;
    std::memcpy(y + i, &v, sizeof v);
    acc += v;
  }
  float s = 0;
  for (; i < n; ++i) {
    y[i] = y[i] < kMin ? 0.0f : y[i];
    s += y[i];
  }
  for (int j = 0; j < kLanes; ++j) s += acc[j];
  return s;
}

}  // namespace

float exp_shift_sum_only(const float* x, int64_t n, float shift) {
  constexpr int64_t kChunk = 1024;
  float buf[kChunk];
  float s = 0;
  for (int64_t c = 0; c < n; c += kChunk) {
    const int64_t len = std::min(kChunk, n - c);
    s += exp_shift_sum(buf, x + c, len, shift);
  }
  return s;
}

float exp_shift_sum(float* y, const float* x, int64_t n, float shift) {
  // x * 1 is x exactly: y = x - shift (skipped for a zero shift, x - 0 being x)
  if (shift != 0.f) axpb(y, x, n, 1.f, -shift);
  exp_kernel(y, shift != 0.f ? y : x, n);
  return flush_subnormal_sum(y, n);
}

void exp_inplace(float* y, const float* x, int64_t n) {
  exp_kernel(y, x, n);
  flush_subnormal_sum(y, n);
}

ACCEL_CLONES float row_dot_dev(const float* g, const float* x, int64_t n, float c) {
  ACCEL_LANE_SUM(g[k] * (x[k] - c))
}

ACCEL_CLONES void lin2(float* y, const float* g, const float* x, int64_t n, float k1, float k2, float k3) {
  for (int64_t i = 0; i < n; ++i) y[i] = g[i] * k1 + x[i] * k2 + k3;
}

namespace {

// ACCEL_LANE_SUM's a * (x - c) and a for a = g * w (or g), in one sweep.
template <bool kScaled>
__attribute__((always_inline)) inline NormGradSums lane_sums(const float* g, const float* w,
                                                             const float* x, int64_t n, float c) {
  Lanes dot = {}, sum = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    Lanes a = load_lanes(g + i);
    if constexpr (kScaled) a = a * load_lanes(w + i);
    dot += a * (load_lanes(x + i) - c);
    sum += a;
  }
  NormGradSums s;
  for (int64_t k = i; k < n; ++k) {
    const float a = kScaled ? g[k] * w[k] : g[k];
    s.dot_dev += a * (x[k] - c);
    s.sum += a;
  }
  for (int j = 0; j < kLanes; ++j) s.dot_dev += dot[j];
  for (int j = 0; j < kLanes; ++j) s.sum += sum[j];
  return s;
}

// The usual pass 1 (both parameter gradients and the sums) as one sweep over
// g and x: the same products as the separate loops, each computed once.
template <bool kScaled>
__attribute__((always_inline)) inline NormGradSums fused_pass1(float* dw, float* db, const float* g,
                                                               const float* w, const float* x, int64_t n,
                                                               float mean, float rstd) {
  Lanes dot = {}, sum = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    const Lanes gv = load_lanes(g + i), dev = load_lanes(x + i) - mean;
    const Lanes dwv = load_lanes(dw + i) + gv * (dev * rstd), dbv = load_lanes(db + i) + gv;
    std::memcpy(dw + i, &dwv, sizeof dwv);
    std::memcpy(db + i, &dbv, sizeof dbv);
    Lanes a = gv;
    if constexpr (kScaled) a = a * load_lanes(w + i);
    dot += a * dev;
    sum += a;
  }
  NormGradSums s;
  for (int64_t k = i; k < n; ++k) {
    dw[k] += g[k] * ((x[k] - mean) * rstd);
    db[k] += g[k];
    const float a = kScaled ? g[k] * w[k] : g[k];
    s.dot_dev += a * (x[k] - mean);
    s.sum += a;
  }
  for (int j = 0; j < kLanes; ++j) s.dot_dev += dot[j];
  for (int j = 0; j < kLanes; ++j) s.sum += sum[j];
  return s;
}
}  // namespace

ACCEL_CLONES NormGradSums norm_grad_pass1(float* dw, float* db, const float* g, const float* w,
                                          const float* x, int64_t n, float mean, float rstd, bool sums) {
  if (dw && db && sums)
    return w ? fused_pass1<true>(dw, db, g, w, x, n, mean, rstd) : fused_pass1<false>(dw, db, g, w, x, n, mean, rstd);
  if (dw)
    for (int64_t i = 0; i < n; ++i) dw[i] += g[i] * ((x[i] - mean) * rstd);
  if (db)
    for (int64_t i = 0; i < n; ++i) db[i] += g[i];
  if (!sums) return {};
  return w ? lane_sums<true>(g, w, x, n, mean) : lane_sums<false>(g, w, x, n, mean);
}

ACCEL_CLONES void lin2_scaled(float* y, const float* g, const float* w, const float* x, int64_t n,
                              float k1, float k2, float k3) {
  if (!w) return lin2(y, g, x, n, k1, k2, k3);
  for (int64_t i = 0; i < n; ++i) y[i] = (g[i] * w[i]) * k1 + x[i] * k2 + k3;
}

ACCEL_CLONES void acc_add(float* acc, const float* g, int64_t n) {
  for (int64_t i = 0; i < n; ++i) acc[i] += g[i];
}

ACCEL_CLONES void axpb(float* y, const float* x, int64_t n, float a, float b) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * a + b;
}

ACCEL_CLONES void normalize_affine(float* y, const float* x, int64_t n, float mean, float rstd,
                                   const float* w, const float* b) {
  if (w && b) {
    for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - mean) * rstd * w[i] + b[i];
  } else if (w) {
    for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - mean) * rstd * w[i];
  } else if (b) {
    for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - mean) * rstd + b[i];
  } else {
    for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - mean) * rstd;
  }
}

ACCEL_CLONES void softmax_grad(float* gi, const float* g, const float* y, int64_t n, float s) {
  for (int64_t i = 0; i < n; ++i) gi[i] = y[i] * (g[i] - s);
}
ACCEL_CLONES void log_softmax_grad(float* gi, const float* g, const float* y, int64_t n, float s) {
  for (int64_t i = 0; i < n; ++i) gi[i] = g[i] - fast_exp(y[i]) * s;
}

ACCEL_CLONES void col_max(float* m, const float* x, int64_t rows, int64_t w, int64_t ld) {
  for (int64_t j = 0; j < w; ++j) m[j] = -std::numeric_limits<float>::infinity();
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * ld;
    for (int64_t j = 0; j < w; ++j) m[j] = row[j] > m[j] ? row[j] : m[j];
  }
}

ACCEL_CLONES void col_exp_sum(float* s, float* x, const float* m, int64_t rows, int64_t w, int64_t ld,
                              bool write) {
  for (int64_t r = 0; r < rows; ++r) {
    float* row = x + r * ld;
    if (write) {
      for (int64_t j = 0; j < w; ++j) {
        row[j] = fast_exp(row[j] - m[j]);
        s[j] += row[j];
      }
    } else {
      for (int64_t j = 0; j < w; ++j) s[j] += fast_exp(row[j] - m[j]);
    }
  }
}

ACCEL_CLONES void col_dot_acc(float* s, const float* x, const float* y, int64_t rows, int64_t w,
                              int64_t ld) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * ld;
    if (y) {
      const float* yr = y + r * ld;
      for (int64_t j = 0; j < w; ++j) s[j] += xr[j] * yr[j];
    } else {
      for (int64_t j = 0; j < w; ++j) s[j] += xr[j];
    }
  }
}

ACCEL_CLONES void mul_v(float* y, const float* x, const float* a, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * a[i];
}
ACCEL_CLONES void sub_v(float* y, const float* x, const float* a, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] - a[i];
}
ACCEL_CLONES void softmax_grad_v(float* gi, const float* g, const float* y, const float* s, int64_t n) {
  for (int64_t i = 0; i < n; ++i) gi[i] = y[i] * (g[i] - s[i]);
}
ACCEL_CLONES void log_softmax_grad_v(float* gi, const float* g, const float* y, const float* s, int64_t n) {
  for (int64_t i = 0; i < n; ++i) gi[i] = g[i] - fast_exp(y[i]) * s[i];
}

}  // namespace accel::kernels::norm
