// Pooling and resampling programs over [n, c, h, w] maps (any strides):
// forward splits each plane's output tiles over the cores; backward gives
// each core whole planes, since one plane's windows overlap in the input.
#pragma once

#include "engine/program.h"
#include "engine/tensor_ref.h"
#include "kernels/pool/window.h"

namespace accel::engine {

// indices (int64, out's sizes) for the max kinds, else null.
ProgramRecord pool2d_forward(const chip::Arch& arch, const char* op, const kernels::PoolSpec& spec,
                             const TensorRef& in, const TensorRef& out, const TensorRef* indices);

ProgramRecord pool2d_backward(const chip::Arch& arch, const char* op, const kernels::PoolSpec& spec,
                              const TensorRef& grad_out, const TensorRef* indices,
                              const TensorRef& grad_in);

}  // namespace accel::engine
