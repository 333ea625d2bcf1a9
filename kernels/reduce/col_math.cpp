// Column sums for the reduction programs' column mode, the inner loop of a
// bias gradient (sum over the batch rows of a [rows, features] tensor).
#include <cstdint>

#include "kernels/reduce/accumulators.h"

// GCC clones the loop per ISA and an ifunc picks one when the library loads,
// so the host's widest lanes run the columns (as kernels/norm/row_math.cpp).
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define ACCEL_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define ACCEL_CLONES
#endif

namespace accel::kernels::reduce {
namespace {

// Each column is its own chain of adds in row order: vectorizing across the
// columns reorders nothing.
template <class C>
__attribute__((always_inline)) inline void col_sums_impl(C* out, const C* t, int64_t rows, int64_t w,
                                                         int64_t ld) {
  if (w == kTileWidth) {  // a full tile row: fixed trip count, kept in registers
    C acc[kTileWidth] = {};
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < kTileWidth; ++j) acc[j] += t[r * ld + j];
    for (int64_t j = 0; j < kTileWidth; ++j) out[j] = acc[j];
    return;
  }
  for (int64_t j = 0; j < w; ++j) out[j] = C(0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < w; ++j) out[j] += t[r * ld + j];
}

}  // namespace

ACCEL_CLONES void col_sums(float* out, const float* t, int64_t rows, int64_t w, int64_t ld) {
  col_sums_impl(out, t, rows, w, ld);
}
ACCEL_CLONES void col_sums(double* out, const double* t, int64_t rows, int64_t w, int64_t ld) {
  col_sums_impl(out, t, rows, w, ld);
}

}  // namespace accel::kernels::reduce
