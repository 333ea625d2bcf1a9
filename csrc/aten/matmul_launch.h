// From ATen tensors to the engine's matmul program, shared by the aten:: and
// accel:: registrations.
#pragma once

#include <ATen/core/Tensor.h>

#include <array>

#include "engine/matmul.h"

namespace accel::aten {

// t seen as a 3-D operand with the given sizes and element strides.
engine::TensorRef matmul_operand(const at::Tensor& t, std::array<int64_t, 3> sizes,
                                 std::array<int64_t, 3> strides);

// Runs the program on out's device with the current compute config and records it.
void launch_matmul(const char* op, engine::MatmulArgs& args, const at::Tensor& out);

// Whether the matrix engine takes this dtype (float32, bfloat16, float16).
bool matmul_dtype(at::ScalarType t);

}  // namespace accel::aten
