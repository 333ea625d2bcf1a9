// How the engine sees a tensor: bytes in device DRAM, a dtype, sizes and
// strides in elements. No at::Tensor, so kernels build and test alone.
#pragma once

#include <c10/util/SmallVector.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

namespace accel::engine {

enum class DType : int8_t { F32, F64, BF16, F16, I8, U8, I16, I32, I64, Bool };

int64_t dtype_bytes(DType dt);
const char* dtype_name(DType dt);
inline bool is_floating(DType dt) {
  return dt == DType::F32 || dt == DType::F64 || dt == DType::BF16 || dt == DType::F16;
}

// Sizes or strides, inline up to 6 dims: every op builds several, so they
// must not cost a heap allocation each. Converts to and from std::vector for
// the layout code that works on vectors.
struct InlineDims : c10::SmallVector<int64_t, 6> {
  using Base = c10::SmallVector<int64_t, 6>;
  InlineDims() = default;
  InlineDims(std::initializer_list<int64_t> values) : Base(values) {}
  template <class It, class = decltype(*std::declval<It>())>
  InlineDims(It first, It last) : Base(first, last) {}
  InlineDims(const std::vector<int64_t>& values) : Base(values.begin(), values.end()) {}
  InlineDims& operator=(std::initializer_list<int64_t> values) {
    Base::operator=(values);
    return *this;
  }
  operator std::vector<int64_t>() const { return {begin(), end()}; }
};

struct TensorRef {
  void* data = nullptr;
  DType dtype = DType::F32;
  InlineDims sizes;
  InlineDims strides;  // in elements; 0 broadcasts

  int64_t numel() const;
  int64_t dim() const { return static_cast<int64_t>(sizes.size()); }
  bool is_contiguous() const;
  int64_t nbytes() const { return numel() * dtype_bytes(dtype); }
  // Element offset (in elements) of the i-th element in row-major order.
  int64_t offset_of(int64_t i) const;
};

}  // namespace accel::engine
