#include "engine/tensor_ref.h"

namespace accel::engine {

int64_t dtype_bytes(DType dt) {
  switch (dt) {
    case DType::F64: case DType::I64: return 8;
    case DType::F32: case DType::I32: return 4;
    case DType::BF16: case DType::F16: case DType::I16: return 2;
    default: return 1;
  }
}

const char* dtype_name(DType dt) {
  switch (dt) {
    case DType::F32: return "Float32";
    case DType::F64: return "Float64";
    case DType::BF16: return "Float16_b";
    case DType::F16: return "Float16";
    case DType::I8: return "Int8";
    case DType::U8: return "UInt8";
    case DType::I16: return "Int16";
    case DType::I32: return "Int32";
    case DType::I64: return "Int64";
    case DType::Bool: return "Bool";
  }
  return "?";
}

int64_t TensorRef::offset_of(int64_t i) const {
  int64_t offset = 0;
  for (int64_t d = dim() - 1; d >= 0 && i > 0; --d) {
    offset += (i % sizes[d]) * strides[d];
    i /= sizes[d];
  }
  return offset;
}

int64_t TensorRef::numel() const {
  int64_t n = 1;
  for (int64_t s : sizes) n *= s;
  return n;
}

bool TensorRef::is_contiguous() const {
  int64_t expected = 1;
  for (int64_t d = dim() - 1; d >= 0; --d) {
    if (sizes[d] != 1 && strides[d] != expected) return false;
    expected *= sizes[d];
  }
  return true;
}

}  // namespace accel::engine
