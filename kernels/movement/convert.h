// The data-movement kernels' inner loops: runs of elements moved between DRAM
// and L1 with a stride on each side. Same-dtype runs move bytes by element
// size; cross-dtype runs convert in the reader, the way the chip's unpacker
// converts formats on the way into L1.
#pragma once

#include <cstdint>

#include "engine/tensor_ref.h"

namespace accel::kernels {

using engine::DType;

// dst[i * dst_stride] = convert(src[i * src_stride]) for i < n; strides in elements.
void move_run(char* dst, DType dst_dt, int64_t dst_stride, const char* src, DType src_dt,
              int64_t src_stride, int64_t n);

// Same as move_run for `elem_bytes`-wide elements of any dtype (1, 2, 4, 8 or 16).
void move_bytes(char* dst, int64_t dst_stride, const char* src, int64_t src_stride, int64_t n,
                int64_t elem_bytes);

// A 32x32 block whose rows are contiguous in the source but columns in the
// destination: rows of the source are read whole and transposed in L1.
// src(i, j) = src + (i * src_row + j) * elem; dst(j, i) = dst + (j * dst_row + i) * elem.
void transpose_block(char* dst, int64_t dst_row, const char* src, int64_t src_row, int64_t rows,
                     int64_t cols, int64_t elem_bytes);

// v != 0 for each dtype, the test masks and nonzero use.
bool is_nonzero(const char* p, DType dt);

}  // namespace accel::kernels
