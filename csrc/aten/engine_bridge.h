// From ATen's TensorIterator to an engine program, and the program's record
// to the profiler.
#pragma once

#include <ATen/TensorIterator.h>

#include "engine/eltwise.h"

namespace accel::aten {

// The engine's dtype for t, or nullopt when no tile kernel takes it.
std::optional<engine::DType> tile_dtype_of(at::ScalarType t);
// As tile_dtype_of, raising TypeError for an unsupported dtype.
engine::DType engine_dtype(at::ScalarType t);
// Runs `kernel` over iter (output 0, then inputs) on the device's cores,
// computing in `compute` (default: the iterator's common dtype).
void launch_eltwise(const char* op, const engine::TileKernel& kernel,
                    const at::TensorIteratorBase& iter, const engine::KernelParams& params = {},
                    std::optional<at::ScalarType> compute = std::nullopt);

// The iterator's operands (output 0, then inputs) as one job of a multi-tensor program.
engine::EltwiseJob eltwise_job(const at::TensorIteratorBase& iter, const engine::KernelParams& params);
// Runs the jobs as one program on `device`'s cores and records it.
void launch_eltwise_multi(const char* op, const engine::TileKernel& kernel,
                          const std::vector<engine::EltwiseJob>& jobs, engine::DType compute,
                          int device);

}  // namespace accel::aten
