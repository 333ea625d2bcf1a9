// Element-wise programs: the output's iteration space is viewed as
// [batch, rows, cols], cut into 32x32 tiles (a 1-D space is rows of 32), and
// each core reads its tiles into L1, runs the tile kernel, and writes back.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/program.h"
#include "engine/tensor_ref.h"

namespace accel::engine {

struct KernelParams {
  double alpha = 1, beta = 0, gamma = 0;
  int64_t mode = 0;
};

template <class C>
using TileFn = void (*)(const C* const* in, C* out, int64_t n, const KernelParams& p);

// One tile kernel in the three compute types the cores use on the host:
// fp32 (also for bf16/fp16 data), fp64, and int64 (all integer and bool data).
// Its name, engine and FLOPs are its kernel-table entry.
struct TileKernel {
  const perf::KernelDesc* desc;
  TileFn<float> f32;
  TileFn<double> f64;
  TileFn<int64_t> i64;
};

// out[i] = kernel(inputs[0][i], ...). Inputs carry out's sizes with their own
// strides (0 broadcasts) and dtypes; `compute` picks the compute type.
ProgramRecord run_eltwise(const chip::Arch& arch, const char* op, const TileKernel& kernel,
                          const TensorRef& out, const std::vector<TensorRef>& inputs,
                          DType compute, const KernelParams& params);

// One element-wise job of a multi-tensor program.
struct EltwiseJob {
  TensorRef out;
  std::vector<TensorRef> inputs;
  KernelParams params;
};

// A multi-tensor program (the _foreach ops, optimizer steps): the tiles of all
// jobs are split over the cores together, so many small tensors cost one launch.
ProgramRecord run_eltwise_multi(const chip::Arch& arch, const char* op, const TileKernel& kernel,
                                const std::vector<EltwiseJob>& jobs, DType compute);

}  // namespace accel::engine
