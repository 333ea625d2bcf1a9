// Fill-family programs (fill_, zero_, full, arange, linspace): writer-only.
// The output's tiles split over the cores; each core generates a tile in L1
// and writes it out. There is nothing to read and no compute stage.
#pragma once

#include <functional>

#include "engine/program.h"
#include "engine/tensor_ref.h"
#include "kernels/fill/fill.h"

namespace accel::engine {

// Element i of the sequence goes to out's i-th element in row-major order.
ProgramRecord run_fill(const chip::Arch& arch, const char* op, const TensorRef& out,
                       const kernels::FillParams& params);

}  // namespace accel::engine

namespace accel::engine {

// Writes values [first, first + n) of a sequence, in double, to vals.
using SequenceFn = std::function<void(int64_t first, int64_t n, double* vals)>;

// Writer-only program for sequences with no closed form in FillParams (eye,
// logspace, triangle indices): each core computes its tiles' values on the
// vector engine in double and stores them converted to out's dtype, as CPU
// ATen's assignment from double converts them. `flops_per_element` feeds the record.
ProgramRecord run_sequence(const chip::Arch& arch, const char* op, const TensorRef& out,
                           const SequenceFn& values, const char* writer, int64_t flops_per_element);

}  // namespace accel::engine
