#include "kernels/loss/nll.h"

#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <cstring>

namespace accel::kernels {

double load_value(const void* data, engine::DType dt, int64_t i) {
  switch (dt) {
    case engine::DType::F32: return static_cast<const float*>(data)[i];
    case engine::DType::F64: return static_cast<const double*>(data)[i];
    case engine::DType::BF16: return static_cast<float>(static_cast<const c10::BFloat16*>(data)[i]);
    case engine::DType::F16: return static_cast<float>(static_cast<const c10::Half*>(data)[i]);
    default: return 0;
  }
}

void store_value(void* data, engine::DType dt, int64_t i, double v) {
  switch (dt) {
    case engine::DType::F32: static_cast<float*>(data)[i] = static_cast<float>(v); return;
    case engine::DType::F64: static_cast<double*>(data)[i] = v; return;
    case engine::DType::BF16: static_cast<c10::BFloat16*>(data)[i] = static_cast<float>(v); return;
    case engine::DType::F16: static_cast<c10::Half*>(data)[i] = static_cast<float>(v); return;
    default: return;
  }
}

void zero_values(void* data, engine::DType dt, int64_t i, int64_t n) {
  // Zero is all-zero bits in every floating format.
  const int64_t b = engine::dtype_bytes(dt);
  std::memset(static_cast<char*>(data) + i * b, 0, n * b);
}

}  // namespace accel::kernels
