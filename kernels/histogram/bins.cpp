#include "kernels/histogram/bins.h"

#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <algorithm>
#include <stdexcept>

namespace accel::kernels {
namespace {

using engine::DType;

// ATen's CPU formula, every step in T (c10's reduced floats round after each).
template <class T>
void histc_float(const T* x, int64_t n, const HistcBins& b, int64_t* counts) {
  const T lo = static_cast<T>(b.lo), hi = static_cast<T>(b.hi);
  const T width = hi - lo;
  for (int64_t i = 0; i < n; ++i) {
    const T e = x[i];
    if (!(e >= lo && e <= hi)) continue;
    const int64_t pos = static_cast<int64_t>((e - lo) * b.bins / width);
    // Rounding in a narrow type can carry the closed right edge one bin past the last.
    ++counts[std::clamp<int64_t>(pos, 0, b.bins - 1)];
  }
}

// CUDA's formula for integer inputs: int64 arithmetic, truncating.
template <class T>
void histc_int(const T* x, int64_t n, const HistcBins& b, int64_t* counts) {
  const auto lo = static_cast<int64_t>(b.lo), hi = static_cast<int64_t>(b.hi);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t e = x[i];
    if (e < lo || e > hi) continue;
    const int64_t pos = (e - lo) * b.bins / (hi - lo);
    ++counts[std::min(pos, b.bins - 1)];
  }
}

template <class F>
void dispatch_index(DType dt, const char* what, F&& f) {
  switch (dt) {
    case DType::U8: return f(uint8_t{});
    case DType::I8: return f(int8_t{});
    case DType::I16: return f(int16_t{});
    case DType::I32: return f(int32_t{});
    case DType::I64: return f(int64_t{});
    default: throw std::domain_error(std::string(what) + ": expected an integer dtype");
  }
}

template <class I, class W>
void add_weights(const I* index, int64_t n, const W* w, W* sums) {
  for (int64_t i = 0; i < n; ++i) sums[index[i]] += w[i];
}

}  // namespace

void histc_count(const void* data, DType dt, int64_t n, const HistcBins& b, int64_t* counts) {
  switch (dt) {
    case DType::F32: return histc_float(static_cast<const float*>(data), n, b, counts);
    case DType::F64: return histc_float(static_cast<const double*>(data), n, b, counts);
    case DType::BF16: return histc_float(static_cast<const c10::BFloat16*>(data), n, b, counts);
    case DType::F16: return histc_float(static_cast<const c10::Half*>(data), n, b, counts);
    default:
      dispatch_index(dt, "histc", [&](auto tag) {
        histc_int(static_cast<const decltype(tag)*>(data), n, b, counts);
      });
  }
}

void bincount_add(const void* index, DType index_dt, int64_t n, int64_t* counts) {
  dispatch_index(index_dt, "bincount", [&](auto tag) {
    const auto* x = static_cast<const decltype(tag)*>(index);
    for (int64_t i = 0; i < n; ++i) ++counts[x[i]];
  });
}

void bincount_add(const void* index, DType index_dt, int64_t n, const void* weights, DType weights_dt,
                  void* sums) {
  dispatch_index(index_dt, "bincount", [&](auto tag) {
    const auto* x = static_cast<const decltype(tag)*>(index);
    if (weights_dt == DType::F32)
      add_weights(x, n, static_cast<const float*>(weights), static_cast<float*>(sums));
    else if (weights_dt == DType::F64)
      add_weights(x, n, static_cast<const double*>(weights), static_cast<double*>(sums));
    else
      throw std::domain_error("bincount: weights must be float32 or float64");
  });
}

}  // namespace accel::kernels
