// Writer-side generators of the fill family: element i of a sequence is a
// function of i alone, so any core can produce any run of it. The formulas
// follow CPU ATen's in its own arithmetic types, so results match.
#pragma once

#include <cstdint>

#include "engine/tensor_ref.h"

namespace accel::kernels {

enum class FillKind {
  Constant,  // every element is `pattern` (the element's bytes)
  Arange,    // start + step * i in ATen's accumulate type
  Linspace,  // from start (first half) or back from end (second half)
};

struct FillParams {
  FillKind kind = FillKind::Constant;
  uint64_t pattern = 0;
  double start = 0, step = 0, end = 0;  // floating and linspace arguments
  int64_t istart = 0, istep = 0;        // integral arange arguments
  int64_t steps = 0;                    // linspace
  // How ATen's CPU arange walks a floating range, which decides its rounding:
  // per-thread chunks of `chunk` elements, and in each chunk vectors of
  // `vector_bytes` built from a rounded base, two at a time, then a scalar tail.
  int64_t chunk = 0;
  int64_t vector_bytes = 32;
};

// Writes elements [first, first + n) of the sequence, contiguously, to dst.
void generate(void* dst, engine::DType dt, int64_t first, int64_t n, const FillParams& p);

}  // namespace accel::kernels
