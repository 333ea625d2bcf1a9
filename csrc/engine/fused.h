// Fused element-wise programs (kernels/fused/program.h): one pass over the
// output's tiles in which each core reads the group's inputs once, runs every
// step on the tile in fp32 while it stays on the core, and writes only the
// group's outputs. The record's DRAM traffic is those inputs and outputs.
#pragma once

#include <vector>

#include "engine/program.h"
#include "engine/tensor_ref.h"
#include "kernels/fused/program.h"

namespace accel::engine {

// outputs: one per program output, all of one shape; inputs: broadcast to
// that shape (stride 0 where they repeat), float32, bfloat16 or float16.
ProgramRecord run_fused(const chip::Arch& arch, const kernels::fused::Program& program,
                        const std::vector<TensorRef>& outputs, const std::vector<TensorRef>& inputs);

// One tensor's share of a multi-tensor fused program (an optimizer step
// updating every parameter): its outputs and inputs, as run_fused takes them.
// An output may be an input exactly (same data and layout): an in-place update.
struct FusedJob {
  std::vector<TensorRef> outputs;
  std::vector<TensorRef> inputs;
};

// One launch of the program over every job: their tiles split over the cores
// together, so many small tensors cost one program, as eager's _foreach ops do.
ProgramRecord run_fused_multi(const chip::Arch& arch, const kernels::fused::Program& program,
                              const std::vector<FusedJob>& jobs);

// The record run_fused makes, without running anything (for planning tools).
ProgramRecord fused_program_record(const chip::Arch& arch, const kernels::fused::Program& program,
                                   const std::vector<TensorRef>& outputs,
                                   const std::vector<TensorRef>& inputs);

}  // namespace accel::engine
