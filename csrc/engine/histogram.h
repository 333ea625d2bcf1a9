// Histogram programs (torch.histc, torch.bincount). The cores split the
// input's tiles; each bins its tiles into a histogram held in L1, and the
// partial histograms are added in core order into the output. A histogram
// too large for L1 splits by bins instead: each core then reads the whole
// input for its range of bins.
#pragma once

#include <cstdint>

#include "engine/program.h"
#include "engine/tensor_ref.h"

namespace accel::engine {

// in: contiguous, any float or integer dtype; out: [bins], contiguous, of
// in's dtype (the counts are exact integers until that dtype rounds them).
ProgramRecord run_histc(const chip::Arch& arch, const TensorRef& in, double lo, double hi,
                        const TensorRef& out);

// in: contiguous 1-D integers in [0, out.numel()); weights null or contiguous
// of in's length, fp32 or fp64; out: int64 counts, or the weights' dtype.
ProgramRecord run_bincount(const chip::Arch& arch, const TensorRef& in, const TensorRef* weights,
                           const TensorRef& out);

}  // namespace accel::engine
