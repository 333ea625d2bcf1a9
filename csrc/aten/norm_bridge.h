// ATen side of the normalisation programs: tensors to engine refs, the
// device's architecture, and one launch that records the program.
#pragma once

#include <ATen/core/Tensor.h>

#include "engine/norm.h"

namespace accel::aten::norm {

// Float, BFloat16 and Half run on the tile kernels (fp32 compute); other
// dtypes take the counted fallback.
bool tile_float(const at::Tensor& t);
bool tile_float(const std::optional<at::Tensor>& t);

// A contiguous tensor's ref; an undefined tensor gives an absent ref.
engine::TensorRef ref_of(const at::Tensor& t);
engine::TensorRef ref_of(const std::optional<at::Tensor>& t);

// Runs program(arch) for `device`, turning engine errors into RuntimeError,
// and records what it returns.
void launch(const at::Tensor& on, const std::function<engine::ProgramRecord(const chip::Arch&)>& program);

// `t` made contiguous (a copy on the device when it is not).
at::Tensor dense(const at::Tensor& t);
at::Tensor dense(const std::optional<at::Tensor>& t);

// Writes `result` into `out` (resized; dtype must match as structured ops require).
at::Tensor& write_out(at::Tensor& out, const at::Tensor& result);

}  // namespace accel::aten::norm
