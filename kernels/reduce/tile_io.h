// Reader and writer halves of the reduction programs: one run of elements
// from DRAM into an L1 tile in the compute type, and single results back in
// the output's format.
#pragma once

#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "engine/tensor_ref.h"

namespace accel::kernels::reduce {

using engine::DType;

template <class C, class S>
inline void load_as(C* dst, const S* src, int64_t stride, int64_t n) {
  if constexpr (std::is_same_v<C, S>) {
    if (stride == 1) {
      std::memcpy(dst, src, n * sizeof(C));
      return;
    }
  }
  if (stride == 1) {
    for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<C>(src[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<C>(src[i * stride]);
  }
}

// n elements `stride` apart starting at src, converted to C.
template <class C>
inline void load_run(C* dst, const char* src, DType dt, int64_t stride, int64_t n) {
  switch (dt) {
    case DType::F32: return load_as(dst, reinterpret_cast<const float*>(src), stride, n);
    case DType::F64: return load_as(dst, reinterpret_cast<const double*>(src), stride, n);
    case DType::BF16: return load_as(dst, reinterpret_cast<const c10::BFloat16*>(src), stride, n);
    case DType::F16: return load_as(dst, reinterpret_cast<const c10::Half*>(src), stride, n);
    case DType::I8: return load_as(dst, reinterpret_cast<const int8_t*>(src), stride, n);
    case DType::U8: return load_as(dst, reinterpret_cast<const uint8_t*>(src), stride, n);
    case DType::I16: return load_as(dst, reinterpret_cast<const int16_t*>(src), stride, n);
    case DType::I32: return load_as(dst, reinterpret_cast<const int32_t*>(src), stride, n);
    case DType::I64: return load_as(dst, reinterpret_cast<const int64_t*>(src), stride, n);
    case DType::Bool: return load_as(dst, reinterpret_cast<const bool*>(src), stride, n);
  }
}

template <class D, class C>
inline void store_as(D* dst, const C* src, int64_t stride, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    if constexpr (std::is_same_v<D, bool>) dst[i * stride] = src[i] != C(0);
    else dst[i * stride] = static_cast<D>(src[i]);
  }
}

// n values to elements `stride` apart starting at dst, packed to dt.
template <class C>
inline void store_run(char* dst, DType dt, int64_t stride, const C* src, int64_t n) {
  switch (dt) {
    case DType::F32: return store_as(reinterpret_cast<float*>(dst), src, stride, n);
    case DType::F64: return store_as(reinterpret_cast<double*>(dst), src, stride, n);
    case DType::BF16: return store_as(reinterpret_cast<c10::BFloat16*>(dst), src, stride, n);
    case DType::F16: return store_as(reinterpret_cast<c10::Half*>(dst), src, stride, n);
    case DType::I8: return store_as(reinterpret_cast<int8_t*>(dst), src, stride, n);
    case DType::U8: return store_as(reinterpret_cast<uint8_t*>(dst), src, stride, n);
    case DType::I16: return store_as(reinterpret_cast<int16_t*>(dst), src, stride, n);
    case DType::I32: return store_as(reinterpret_cast<int32_t*>(dst), src, stride, n);
    case DType::I64: return store_as(reinterpret_cast<int64_t*>(dst), src, stride, n);
    case DType::Bool: return store_as(reinterpret_cast<bool*>(dst), src, stride, n);
  }
}

template <class C>
inline void store_one(char* dst, DType dt, C value) {
  store_run(dst, dt, 1, &value, 1);
}

}  // namespace accel::kernels::reduce
