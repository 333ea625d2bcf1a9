#include "kernels/fill/fill.h"

#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <cmath>
#include <algorithm>
#include <cstring>
#include <type_traits>

namespace accel::kernels {
namespace {

using engine::DType;

template <class T>
void constant(T* dst, int64_t n, uint64_t pattern) {
  T v;
  std::memcpy(&v, &pattern, sizeof(T));
  for (int64_t i = 0; i < n; ++i) dst[i] = v;
}

// ATen's accumulate type on the CPU: double for float, float for the halves.
template <class T>
using Acc = std::conditional_t<std::is_integral_v<T>, int64_t,
                               std::conditional_t<sizeof(T) == 2, float, double>>;

template <class T>
void arange(T* dst, int64_t first, int64_t n, const FillParams& p) {
  using A = Acc<T>;
  if constexpr (std::is_integral_v<T>) {
    for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<T>(p.istart + p.istep * (first + i));
  } else {
    const A start = static_cast<A>(p.start), step = static_cast<A>(p.step);
    const int64_t lanes = p.vector_bytes / static_cast<int64_t>(sizeof(T));
    for (int64_t i = 0; i < n; ++i) {
      const int64_t g = first + i;
      const int64_t chunk_begin = p.chunk > 0 ? g / p.chunk * p.chunk : 0;
      const int64_t chunk_len = p.chunk > 0 ? std::min(p.chunk, p.steps - chunk_begin) : p.steps;
      const int64_t o = g - chunk_begin;
      if (lanes > 0 && o < chunk_len / (2 * lanes) * (2 * lanes)) {
        const int64_t lane = o % lanes;
        const T base = static_cast<T>(start + step * static_cast<A>(g - lane));
        dst[i] = static_cast<T>(static_cast<A>(base) + static_cast<A>(lane) * step);
      } else {
        dst[i] = static_cast<T>(start + step * static_cast<A>(g));
      }
    }
  }
}

template <class T>
void linspace(T* dst, int64_t first, int64_t n, const FillParams& p) {
  // Integral outputs step in double, others in their own type, as ATen does.
  using S = std::conditional_t<std::is_integral_v<T>, double, T>;
  const T start = static_cast<T>(p.start), end = static_cast<T>(p.end);
  const S step = (static_cast<S>(end) - static_cast<S>(start)) / (p.steps - 1);
  const int64_t halfway = p.steps / 2;
  for (int64_t j = 0; j < n; ++j) {
    const int64_t idx = first + j;
    if constexpr (std::is_floating_point_v<T>) {
      // ATen's kernel is built with FMA contraction on x86: a*b+c rounds once.
      dst[j] = idx < halfway ? std::fma(step, static_cast<T>(idx), start)
                             : std::fma(-step, static_cast<T>(p.steps - idx - 1), end);
    } else {
      dst[j] = idx < halfway ? static_cast<T>(start + step * idx)
                             : static_cast<T>(end - step * (p.steps - idx - 1));
    }
  }
}

template <class T>
void generate_typed(void* dst, int64_t first, int64_t n, const FillParams& p) {
  T* out = static_cast<T*>(dst);
  switch (p.kind) {
    case FillKind::Constant: return constant(out, n, p.pattern);
    case FillKind::Arange: return arange(out, first, n, p);
    case FillKind::Linspace:
      if constexpr (std::is_same_v<T, bool>) return constant(out, n, 0);
      else return linspace(out, first, n, p);
  }
}

}  // namespace

void generate(void* dst, DType dt, int64_t first, int64_t n, const FillParams& p) {
  switch (dt) {
    case DType::F32: return generate_typed<float>(dst, first, n, p);
    case DType::F64: return generate_typed<double>(dst, first, n, p);
    case DType::BF16: return generate_typed<c10::BFloat16>(dst, first, n, p);
    case DType::F16: return generate_typed<c10::Half>(dst, first, n, p);
    case DType::I8: return generate_typed<int8_t>(dst, first, n, p);
    case DType::U8: return generate_typed<uint8_t>(dst, first, n, p);
    case DType::I16: return generate_typed<int16_t>(dst, first, n, p);
    case DType::I32: return generate_typed<int32_t>(dst, first, n, p);
    case DType::I64: return generate_typed<int64_t>(dst, first, n, p);
    case DType::Bool: return generate_typed<bool>(dst, first, n, p);
  }
}

}  // namespace accel::kernels
