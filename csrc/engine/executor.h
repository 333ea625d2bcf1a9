// Host executors of matrix-engine work. The CPU kernels always exist; the GPU
// executor is the optional plugin libtorch_accel_cuda.so (csrc/cuda), loaded
// with dlopen when it is switched on, so a host without CUDA libraries or a
// driver never loads it. The executor changes how fast the host computes a
// program, never its ProgramRecord or modelled time.
#pragma once

#include <cstdint>
#include <string>

#include <vector>

#include "engine/compute_config.h"
#include "engine/program.h"
#include "engine/tensor_ref.h"

namespace accel::engine {

// Whether this build has the plugin (CMake option TORCH_ACCEL_CUDA).
bool cuda_executor_built();
// "" when the GPU executor can run, else why not (loads the plugin and asks
// it for a GPU; switches nothing).
std::string cuda_executor_unavailable_reason();
// Switches the GPU executor on or off. Switching on loads the plugin and
// checks that a GPU is visible; throws std::runtime_error naming why not.
void set_cuda_executor(bool on);
bool cuda_executor_on();

// Products with fewer multiplies (M * N * K, summed over the batch) stay on
// the CPU: moving them to the GPU and back costs more than computing them.
// Default 1 << 22; 0 sends every product (the tests compare small ones).
void set_cuda_min_multiplies(int64_t n);
int64_t cuda_min_multiplies();

// A host operand, [batch, rows, cols] with element strides.
struct HostOperand {
  const void* data;
  DType dtype;
  int64_t batch_stride, row_stride, col_stride;
};

// The matrix-engine product (plugin interface csrc/cuda/accel_cuda.h) on the
// GPU: C[o] = beta C[o] + sum A[i] B[i] with cfg's fidelity and destination.
// Returns false, computing nothing, when the executor is off, the product is
// below cuda_min_multiplies(), or the operands do not suit it (dtype,
// negative strides); the caller then uses the CPU kernels. Throws
// std::runtime_error naming `op` when the GPU fails.
bool cuda_matrix_engine(const char* op, int64_t batch, int64_t M, int64_t N, int64_t K,
                        const HostOperand& a, const HostOperand& b, float* c,
                        int64_t c_batch_stride, int64_t ldc, float beta, bool reduce_batch,
                        const ComputeConfig& cfg);

// For record(): "cuda" when a product of the program being recorded ran on
// the GPU since the last record, else "cpu"; counts the program. (A side
// table, not a ProgramRecord field: the record is what the cost model
// prices, and the executor must not change it.)
const char* take_program_executor();

// take_records() (engine/program.h), with the executor of each record.
std::vector<ProgramRecord> take_records(std::vector<const char*>& executors);

struct ExecutorStats {
  int64_t cpu_programs = 0, cuda_programs = 0, cuda_products = 0;
};
ExecutorStats executor_stats();
void reset_executor_stats();

}  // namespace accel::engine
