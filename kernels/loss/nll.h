// Tile math of the negative log-likelihood: values move in float (double for
// float64 data); bf16/fp16 are widened on read and rounded on store.
#pragma once

#include <cstdint>

#include "engine/tensor_ref.h"

namespace accel::kernels {

// The element `i` of a buffer of dtype `dt`, widened.
double load_value(const void* data, engine::DType dt, int64_t i);
// Rounds v into element `i` of a buffer of dtype `dt`.
void store_value(void* data, engine::DType dt, int64_t i, double v);
// Zeroes `n` elements from element `i`.
void zero_values(void* data, engine::DType dt, int64_t i, int64_t n);

}  // namespace accel::kernels
