#include "kernels/movement/convert.h"

#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <cstring>
#include <type_traits>

#if defined(__SSE2__)
#include <immintrin.h>
#endif

namespace accel::kernels {
namespace {

struct alignas(16) Bytes16 {
  uint64_t lo, hi;
};

template <class D, class S>
void run(char* dst, int64_t ds, const char* src, int64_t ss, int64_t n) {
  auto* d = reinterpret_cast<D*>(dst);
  const auto* s = reinterpret_cast<const S*>(src);
  if constexpr (std::is_same_v<D, S>) {
    if (ds == 1 && ss == 1) {
      std::memcpy(d, s, n * sizeof(D));
      return;
    }
    if (ds == 1 && ss == -1) {  // a flip: strides the compiler knows vectorize (a lane reverse)
      for (int64_t i = 0; i < n; ++i) d[i] = s[-i];
      return;
    }
  }
  if (ds == 1 && ss == 1) {
    for (int64_t i = 0; i < n; ++i) {
      if constexpr (std::is_same_v<D, bool>) d[i] = static_cast<double>(s[i]) != 0.0;
      else d[i] = static_cast<D>(s[i]);
    }
    return;
  }
  for (int64_t i = 0; i < n; ++i) {
    if constexpr (std::is_same_v<D, bool>) d[i * ds] = static_cast<double>(s[i * ss]) != 0.0;
    else if constexpr (std::is_same_v<D, S>) d[i * ds] = s[i * ss];
    else d[i * ds] = static_cast<D>(s[i * ss]);
  }
}

template <class F>
void with_type(DType dt, F&& f) {
  switch (dt) {
    case DType::F32: return f(float{});
    case DType::F64: return f(double{});
    case DType::BF16: return f(c10::BFloat16{});
    case DType::F16: return f(c10::Half{});
    case DType::I8: return f(int8_t{});
    case DType::U8: return f(uint8_t{});
    case DType::I16: return f(int16_t{});
    case DType::I32: return f(int32_t{});
    case DType::I64: return f(int64_t{});
    case DType::Bool: return f(bool{});
  }
}

}  // namespace

void move_bytes(char* dst, int64_t ds, const char* src, int64_t ss, int64_t n, int64_t elem) {
  switch (elem) {
    case 1: return run<uint8_t, uint8_t>(dst, ds, src, ss, n);
    case 2: return run<uint16_t, uint16_t>(dst, ds, src, ss, n);
    case 4: return run<uint32_t, uint32_t>(dst, ds, src, ss, n);
    case 8: return run<uint64_t, uint64_t>(dst, ds, src, ss, n);
    default: return run<Bytes16, Bytes16>(dst, ds, src, ss, n);
  }
}

void move_run(char* dst, DType dd, int64_t ds, const char* src, DType sd, int64_t ss, int64_t n) {
  if (dd == sd) return move_bytes(dst, ds, src, ss, n, engine::dtype_bytes(dd));
  with_type(dd, [&](auto d) {
    with_type(sd, [&](auto s) { run<decltype(d), decltype(s)>(dst, ds, src, ss, n); });
  });
}

namespace {
template <class T>
void transpose_typed(T* dst, int64_t dst_row, const T* src, int64_t src_row, int64_t rows,
                     int64_t cols) {
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) dst[j * dst_row + i] = src[i * src_row + j];
}

#if defined(__SSE2__)
// Register transposes of the block's full 4x4 (32-bit) / 8x8 (16-bit)
// sub-blocks: whole rows are loaded as vectors and interleaved, so every
// load and store moves 16 bytes; the ragged edge falls back to transpose_typed.
void transpose4x4_32(uint32_t* dst, int64_t ds, const uint32_t* src, int64_t ss) {
  __m128 r0 = _mm_loadu_ps(reinterpret_cast<const float*>(src));
  __m128 r1 = _mm_loadu_ps(reinterpret_cast<const float*>(src + ss));
  __m128 r2 = _mm_loadu_ps(reinterpret_cast<const float*>(src + 2 * ss));
  __m128 r3 = _mm_loadu_ps(reinterpret_cast<const float*>(src + 3 * ss));
  _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
  _mm_storeu_ps(reinterpret_cast<float*>(dst), r0);
  _mm_storeu_ps(reinterpret_cast<float*>(dst + ds), r1);
  _mm_storeu_ps(reinterpret_cast<float*>(dst + 2 * ds), r2);
  _mm_storeu_ps(reinterpret_cast<float*>(dst + 3 * ds), r3);
}

void transpose8x8_16(uint16_t* dst, int64_t ds, const uint16_t* src, int64_t ss) {
  __m128i r[8], a[8], b[8];
  for (int k = 0; k < 8; ++k) r[k] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + k * ss));
  for (int k = 0; k < 4; ++k) {
    a[2 * k] = _mm_unpacklo_epi16(r[2 * k], r[2 * k + 1]);
    a[2 * k + 1] = _mm_unpackhi_epi16(r[2 * k], r[2 * k + 1]);
  }
  for (int k = 0; k < 2; ++k) {
    b[4 * k + 0] = _mm_unpacklo_epi32(a[4 * k], a[4 * k + 2]);
    b[4 * k + 1] = _mm_unpackhi_epi32(a[4 * k], a[4 * k + 2]);
    b[4 * k + 2] = _mm_unpacklo_epi32(a[4 * k + 1], a[4 * k + 3]);
    b[4 * k + 3] = _mm_unpackhi_epi32(a[4 * k + 1], a[4 * k + 3]);
  }
  for (int k = 0; k < 4; ++k) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + (2 * k) * ds), _mm_unpacklo_epi64(b[k], b[k + 4]));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + (2 * k + 1) * ds), _mm_unpackhi_epi64(b[k], b[k + 4]));
  }
}

template <class T, int64_t K, class Block>
void transpose_blocked(T* dst, int64_t dr, const T* src, int64_t sr, int64_t rows, int64_t cols,
                       Block&& block) {
  const int64_t rf = rows / K * K, cf = cols / K * K;
  for (int64_t i = 0; i < rf; i += K)
    for (int64_t j = 0; j < cf; j += K) block(dst + j * dr + i, dr, src + i * sr + j, sr);
  if (cf < cols) transpose_typed(dst + cf * dr, dr, src + cf, sr, rows, cols - cf);
  if (rf < rows) transpose_typed(dst + rf, dr, src + rf * sr, sr, rows - rf, cf);
}
#endif
}  // namespace

void transpose_block(char* dst, int64_t dst_row, const char* src, int64_t src_row, int64_t rows,
                     int64_t cols, int64_t elem) {
  switch (elem) {
    case 1: return transpose_typed(reinterpret_cast<uint8_t*>(dst), dst_row, reinterpret_cast<const uint8_t*>(src), src_row, rows, cols);
#if defined(__SSE2__)
    case 2: return transpose_blocked<uint16_t, 8>(reinterpret_cast<uint16_t*>(dst), dst_row, reinterpret_cast<const uint16_t*>(src), src_row, rows, cols, transpose8x8_16);
    case 4: return transpose_blocked<uint32_t, 4>(reinterpret_cast<uint32_t*>(dst), dst_row, reinterpret_cast<const uint32_t*>(src), src_row, rows, cols, transpose4x4_32);
#else
    case 2: return transpose_typed(reinterpret_cast<uint16_t*>(dst), dst_row, reinterpret_cast<const uint16_t*>(src), src_row, rows, cols);
    case 4: return transpose_typed(reinterpret_cast<uint32_t*>(dst), dst_row, reinterpret_cast<const uint32_t*>(src), src_row, rows, cols);
#endif
    case 8: return transpose_typed(reinterpret_cast<uint64_t*>(dst), dst_row, reinterpret_cast<const uint64_t*>(src), src_row, rows, cols);
    default: return transpose_typed(reinterpret_cast<Bytes16*>(dst), dst_row, reinterpret_cast<const Bytes16*>(src), src_row, rows, cols);
  }
}

bool is_nonzero(const char* p, DType dt) {
  bool r = false;
  with_type(dt, [&](auto t) {
    using T = decltype(t);
    T v;
    std::memcpy(&v, p, sizeof(T));
    if constexpr (std::is_same_v<T, bool>) r = v;
    else r = static_cast<double>(v) != 0.0;
  });
  return r;
}

}  // namespace accel::kernels
