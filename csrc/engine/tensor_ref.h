// How the engine sees a tensor: bytes in device DRAM, a dtype, sizes and
// strides in elements. No PyTorch types, so kernels build and test alone.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace accel::engine {

enum class DType : int8_t { F32, F64, BF16, F16, I8, U8, I16, I32, I64, Bool };

int64_t dtype_bytes(DType dt);
const char* dtype_name(DType dt);
inline bool is_floating(DType dt) {
  return dt == DType::F32 || dt == DType::F64 || dt == DType::BF16 || dt == DType::F16;
}

struct TensorRef {
  void* data = nullptr;
  DType dtype = DType::F32;
  std::vector<int64_t> sizes;
  std::vector<int64_t> strides;  // in elements; 0 broadcasts

  int64_t numel() const;
  int64_t dim() const { return static_cast<int64_t>(sizes.size()); }
  bool is_contiguous() const;
  int64_t nbytes() const { return numel() * dtype_bytes(dtype); }
  // Element offset (in elements) of the i-th element in row-major order.
  int64_t offset_of(int64_t i) const;
};

}  // namespace accel::engine
