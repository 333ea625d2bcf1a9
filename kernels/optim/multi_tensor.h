// Flat multi-tensor programs for optimizer and gradient-scaling steps: every
// operand of a job is contiguous with the same numel, each job is cut into
// 1024-element tiles, and the tiles of all jobs are split over the cores
// together, so a whole parameter list costs one launch.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "engine/program.h"
#include "engine/tensor_ref.h"

namespace accel::kernels {

constexpr int64_t kFlatTile = 1024;

// Reader / writer: n elements of a contiguous buffer, from element `first`,
// widened to float in L1 and rounded back to the buffer's format.
void read_floats(const engine::TensorRef& t, int64_t first, int64_t n, float* dst);
void write_floats(const engine::TensorRef& t, int64_t first, int64_t n, const float* src);

struct FlatProgram {
  const char* op;
  const char* compute;            // kernel name; its FLOPs are its kernel-table entry's
  int64_t operands_per_job;       // circular buffers per core (double-buffered tiles)
  int64_t read_operands;          // operands read from DRAM per element
  int64_t written_operands;       // operands written back per element
};

// Runs tile(core, job, first_element, n) for every tile; jobs[i] = numel of job i.
engine::ProgramRecord run_flat_multi(const chip::Arch& arch, const FlatProgram& prog,
                                     const std::vector<int64_t>& jobs, engine::DType format,
                                     const std::function<void(int64_t core, size_t job, int64_t first,
                                                              int64_t n)>& tile);

}  // namespace accel::kernels
