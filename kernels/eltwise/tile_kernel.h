// Turns a scalar functor into a TileKernel: the loop over a tile's valid
// elements in each of the three host compute types. The compiler vectorizes
// these loops; the functors hold the math.
#pragma once

#include <array>

#include "engine/eltwise.h"

namespace accel::kernels {

using engine::KernelParams;

template <class Op, int Arity>
struct TileLoop {
  template <class C>
  static void run(const C* const* in, C* out, int64_t n, const KernelParams& p) {
    const Op op{p};
    if constexpr (Arity == 1) {
      const C* a = in[0];
      for (int64_t i = 0; i < n; ++i) out[i] = op(a[i]);
    } else if constexpr (Arity == 2) {
      const C *a = in[0], *b = in[1];
      for (int64_t i = 0; i < n; ++i) out[i] = op(a[i], b[i]);
    } else {
      const C *a = in[0], *b = in[1], *c = in[2];
      for (int64_t i = 0; i < n; ++i) out[i] = op(a[i], b[i], c[i]);
    }
  }
};

// The kernel `name` of the kernel table, computing Op.
template <class Op, int Arity>
engine::TileKernel tile_kernel(const char* name) {
  return {&perf::kernel_desc(name), &TileLoop<Op, Arity>::template run<float>,
          &TileLoop<Op, Arity>::template run<double>, &TileLoop<Op, Arity>::template run<int64_t>};
}

// The portable kernels with their float form replaced by the SIMD one where
// the host's capability provides it.
template <size_t N>
std::array<engine::TileKernel, N> with_simd(const engine::TileKernel (&portable)[N],
                                            const engine::TileFn<float> (&simd)[N]) {
  std::array<engine::TileKernel, N> table;
  for (size_t i = 0; i < N; ++i) {
    table[i] = portable[i];
    if (simd[i]) table[i].f32 = simd[i];
  }
  return table;
}

}  // namespace accel::kernels
