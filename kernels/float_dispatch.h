// `return fn<T>(args...)` for the float tile type T of dtype dt (fp32, bf16,
// fp16), for the kernels whose operands come in those three; `what` names the
// kernel in the error for any other dtype.
#pragma once

#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <stdexcept>
#include <string>

#include "engine/tensor_ref.h"

#define ACCEL_FLOAT_DISPATCH(dt, what, fn, ...)                                    \
  switch (dt) {                                                                    \
    case ::accel::engine::DType::F32: return fn<float>(__VA_ARGS__);               \
    case ::accel::engine::DType::BF16: return fn<c10::BFloat16>(__VA_ARGS__);      \
    case ::accel::engine::DType::F16: return fn<c10::Half>(__VA_ARGS__);           \
    default: throw std::domain_error(std::string(what) + ": unsupported dtype");   \
  }
