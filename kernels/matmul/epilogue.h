// What a matmul core does to its output block between the matrix engine and
// the writer, one row of the block at a time, plus the row movers the reader
// and writer use for non-fp32 formats.
#pragma once

#include <cstdint>

#include "engine/matmul.h"

namespace accel::kernels {

// row[i] = act(alpha * row[i] + beta * bias[i]); bias may be null.
void matmul_epilogue_row(float* row, const float* bias, int64_t n, float alpha, float beta,
                         engine::Activation act);
// row[i] = act(row[i]): the element-wise op's own tile kernel, in place.
void matmul_activation_row(float* row, int64_t n, engine::Activation act);
// out[i] = act(in[i]), the same kernel out of place.
void matmul_activation_row(const float* in, float* out, int64_t n, engine::Activation act);
// grad[i] = the gradient of act at saved[i] times grad[i]: the activation
// backward op's own tile kernel (relu: threshold_backward at 0, saved being
// relu's input or output).
void matmul_activation_backward_row(float* grad, const float* saved, int64_t n,
                                    engine::Activation act);

// dst[i] = float(src[i * stride]) for a float dtype.
void load_float_row(float* dst, const void* src, engine::DType dt, int64_t stride, int64_t n);
// dst[i * stride] = src[i] rounded to the float dtype dt.
void store_float_row(void* dst, engine::DType dt, int64_t stride, const float* src, int64_t n);

}  // namespace accel::kernels
