#include "kernels/sort/row_sort.h"

#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <utility>

namespace accel::kernels {
namespace {

using engine::DType;

// Rows shorter than this sort faster by comparison than by radix passes.
constexpr int64_t kRadixMinRow = 96;

uint32_t float_key(float v) {
  if (v != v) return 0xffffffffu;
  if (v == 0.0f) v = 0.0f;  // -0 and +0 compare equal
  uint32_t u;
  std::memcpy(&u, &v, 4);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

uint64_t double_key(double v) {
  if (v != v) return ~uint64_t{0};
  if (v == 0.0) v = 0.0;
  uint64_t u;
  std::memcpy(&u, &v, 8);
  return (u >> 63) ? ~u : (u | (uint64_t{1} << 63));
}

template <class S, class F>
void pack(const void* src, int64_t stride, int64_t n, bool descending, uint64_t* keys, F key_of) {
  const S* p = static_cast<const S*>(src);
  const uint32_t flip = descending ? 0xffffffffu : 0u;
  for (int64_t i = 0; i < n; ++i)
    keys[i] = (static_cast<uint64_t>(key_of(p[i * stride]) ^ flip) << 32) | static_cast<uint64_t>(i);
}

template <class S, class F>
void pack_wide(const void* src, int64_t stride, int64_t n, bool descending, WideKey* keys, F key_of) {
  const S* p = static_cast<const S*>(src);
  const uint64_t flip = descending ? ~uint64_t{0} : 0;
  for (int64_t i = 0; i < n; ++i) keys[i] = {key_of(p[i * stride]) ^ flip, i};
}

uint32_t signed_key(int32_t v) { return static_cast<uint32_t>(v) ^ 0x80000000u; }

// LSD radix sort on the key half (bits 32..63); the index half is already
// ascending, and every pass is stable, so ties keep their order. Passes whose
// digit is the same for the whole row are skipped.
void radix_sort(uint64_t* keys, uint64_t* scratch, int64_t n) {
  std::array<std::array<uint32_t, 256>, 4> hist{};
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t k = static_cast<uint32_t>(keys[i] >> 32);
    ++hist[0][k & 0xff];
    ++hist[1][(k >> 8) & 0xff];
    ++hist[2][(k >> 16) & 0xff];
    ++hist[3][k >> 24];
  }
  uint64_t* from = keys;
  uint64_t* to = scratch;
  for (int pass = 0; pass < 4; ++pass) {
    auto& h = hist[pass];
    const int shift = 32 + 8 * pass;
    if (h[(from[0] >> shift) & 0xff] == static_cast<uint32_t>(n)) continue;
    uint32_t offset = 0;
    for (auto& c : h) offset += std::exchange(c, offset);
    for (int64_t i = 0; i < n; ++i) to[h[(from[i] >> shift) & 0xff]++] = from[i];
    std::swap(from, to);
  }
  if (from != keys) std::memcpy(keys, from, n * sizeof(uint64_t));
}

template <class T>
void copy_element(const void* src, int64_t index, void* dst, int64_t pos) {
  static_cast<T*>(dst)[pos] = static_cast<const T*>(src)[index];
}

}  // namespace

bool packs_in_word(DType dt) { return dt != DType::F64 && dt != DType::I64; }

void make_keys(const void* src, DType dt, int64_t stride, int64_t n, bool descending, uint64_t* keys) {
  switch (dt) {
    case DType::F32: return pack<float>(src, stride, n, descending, keys, float_key);
    case DType::BF16:
      return pack<c10::BFloat16>(src, stride, n, descending, keys,
                                 [](c10::BFloat16 v) { return float_key(static_cast<float>(v)); });
    case DType::F16:
      return pack<c10::Half>(src, stride, n, descending, keys,
                             [](c10::Half v) { return float_key(static_cast<float>(v)); });
    case DType::I8: return pack<int8_t>(src, stride, n, descending, keys, signed_key);
    case DType::I16: return pack<int16_t>(src, stride, n, descending, keys, signed_key);
    case DType::I32: return pack<int32_t>(src, stride, n, descending, keys, signed_key);
    case DType::U8: return pack<uint8_t>(src, stride, n, descending, keys, [](uint8_t v) { return uint32_t{v}; });
    case DType::Bool: return pack<bool>(src, stride, n, descending, keys, [](bool v) { return uint32_t{v}; });
    default: throw std::logic_error("make_keys: 64-bit dtypes use wide keys");
  }
}

void make_keys(const void* src, DType dt, int64_t stride, int64_t n, bool descending, WideKey* keys) {
  if (dt == DType::F64) return pack_wide<double>(src, stride, n, descending, keys, double_key);
  if (dt == DType::I64)
    return pack_wide<int64_t>(src, stride, n, descending, keys, [](int64_t v) {
      return static_cast<uint64_t>(v) ^ (uint64_t{1} << 63);
    });
  throw std::logic_error("make_keys: only 64-bit dtypes use wide keys");
}

void sort_keys(uint64_t* keys, uint64_t* scratch, int64_t n) {
  if (n < kRadixMinRow) std::sort(keys, keys + n);
  else radix_sort(keys, scratch, n);
}

void sort_keys(WideKey* keys, int64_t n) { std::sort(keys, keys + n); }

template <class K>
static void select_impl(K* keys, int64_t n, int64_t k, bool sorted) {
  if (k <= 0) return;
  k = std::min(k, n);
  std::nth_element(keys, keys + (k - 1), keys + n);
  if (sorted) std::sort(keys, keys + (k - 1));
}

void select_smallest(uint64_t* keys, int64_t n, int64_t k, bool sorted) { select_impl(keys, n, k, sorted); }
void select_smallest(WideKey* keys, int64_t n, int64_t k, bool sorted) { select_impl(keys, n, k, sorted); }

bool is_nan_key(uint64_t key, DType dt) {
  return is_floating(dt) && (key >> 32) == 0xffffffffu;
}
bool is_nan_key(const WideKey& key, DType dt) { return dt == DType::F64 && key.key == ~uint64_t{0}; }

template <class K>
void write_row(const K* keys, int64_t n, const void* src, int64_t src_stride, DType dt, void* values,
               int64_t values_stride, int64_t* indices, int64_t indices_stride) {
  const int64_t width = engine::dtype_bytes(dt);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t idx = index_of(keys[i]);
    if (values) {
      const char* s = static_cast<const char*>(src) + idx * src_stride * width;
      char* d = static_cast<char*>(values) + i * values_stride * width;
      switch (width) {
        case 1: *d = *s; break;
        case 2: copy_element<uint16_t>(s, 0, d, 0); break;
        case 4: copy_element<uint32_t>(s, 0, d, 0); break;
        default: copy_element<uint64_t>(s, 0, d, 0); break;
      }
    }
    if (indices) indices[i * indices_stride] = idx;
  }
}

template void write_row<uint64_t>(const uint64_t*, int64_t, const void*, int64_t, DType, void*, int64_t,
                                  int64_t*, int64_t);
template void write_row<WideKey>(const WideKey*, int64_t, const void*, int64_t, DType, void*, int64_t,
                                 int64_t*, int64_t);

}  // namespace accel::kernels
