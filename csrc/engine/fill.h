// Fill-family programs (fill_, zero_, full, arange, linspace): writer-only.
// The output's tiles split over the cores; each core generates a tile in L1
// and writes it out. There is nothing to read and no compute stage.
#pragma once

#include "engine/program.h"
#include "engine/tensor_ref.h"
#include "kernels/fill/fill.h"

namespace accel::engine {

// Element i of the sequence goes to out's i-th element in row-major order.
ProgramRecord run_fill(const chip::Arch& arch, const char* op, const TensorRef& out,
                       const kernels::FillParams& params);

}  // namespace accel::engine
