// Sort-family programs: every row along the sort dim is one unit of work, the
// rows split over the cores. A core reads a row into L1, orders its keys
// (kernels/sort) and writes values and int64 indices back.
#pragma once

#include <cstdint>

#include "engine/program.h"
#include "engine/tensor_ref.h"

namespace accel::engine {

enum class SortMode {
  Sort,    // the whole row, ascending or descending
  TopK,    // the k first of the row's order (descending = largest)
  Kth,     // the k-th smallest (k is 1-based), one value per row
  Median,  // the lower median, NaN if the row holds one
};

struct SortParams {
  SortMode mode = SortMode::Sort;
  bool descending = false;
  int64_t k = 0;
  bool sorted = true;  // TopK: the k values in order
};

// `values` and `indices` (int64) have in's rank; along `dim` they hold the
// row's output (n, k or 1 entries). Rows of in may alias values.
ProgramRecord run_sort(const chip::Arch& arch, const char* op, const TensorRef& in, int64_t dim,
                       const TensorRef& values, const TensorRef& indices, const SortParams& params);

}  // namespace accel::engine
