#include "kernels/eltwise/simd.h"

#include <ATen/Version.h>

namespace accel::kernels {

const SimdTileMath& simd_tile_math() {
  static const SimdTileMath table = [] {
    SimdTileMath t;
#if defined(ACCEL_HAVE_X86_SIMD)
    // ATen's own choice, so ATEN_CPU_CAPABILITY=default also turns ours off.
    const std::string cap = at::get_cpu_capability();
    if (cap == "AVX512") {
      AVX512::fill_simd_tile_math(t);
      return t;
    }
    if (cap == "AVX2") {
      AVX2::fill_simd_tile_math(t);
      return t;
    }
#endif
    DEFAULT::fill_simd_tile_math(t);
    return t;
  }();
  return table;
}

}  // namespace accel::kernels
