// Compute kernels of the histogram programs (engine/histogram.h): a run of
// elements into a core's histogram in L1.
#pragma once

#include <cstdint>

#include "engine/tensor_ref.h"

namespace accel::kernels {

// torch.histc's bins: `bins` equal bins over [lo, hi], the last one closed.
// Float inputs are binned as ATen's CPU kernel bins them, in the input's own
// type: (x - lo) * bins / (hi - lo), truncated, with lo and hi rounded to
// that type. Integer inputs (which CPU ATen rejects) are binned as CUDA's
// kernel does, in int64 arithmetic. Elements outside [lo, hi] and NaNs are skipped.
struct HistcBins {
  double lo, hi;
  int64_t bins;
};
void histc_count(const void* data, engine::DType dt, int64_t n, const HistcBins& b, int64_t* counts);

// torch.bincount: counts[x] += 1 for each element x of an integer run, or
// sums[x] += w with weights (`sums` of the weights' dtype, fp32 or fp64, in
// the run's order; the program adds the cores' runs after, so fp32 sums are
// not CPU ATen's serial ones bit for bit). Elements are known to be in [0, bins).
void bincount_add(const void* index, engine::DType index_dt, int64_t n, int64_t* counts);
void bincount_add(const void* index, engine::DType index_dt, int64_t n, const void* weights,
                  engine::DType weights_dt, void* sums);

}  // namespace accel::kernels
