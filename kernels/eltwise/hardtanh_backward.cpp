#include "kernels/eltwise/hardtanh_backward.h"

#include "kernels/eltwise/tile_kernel.h"

namespace accel::kernels {
namespace {

struct HardtanhBackwardOp {
  KernelParams p;
  template <class C>
  C operator()(C grad, C self) const {
    // ATen's formula, bounds in the compute type: a NaN input keeps its
    // gradient, since both comparisons are false.
    return self <= static_cast<C>(p.alpha) || self >= static_cast<C>(p.beta) ? C(0) : grad;
  }
};

}  // namespace

const engine::TileKernel& hardtanh_backward_kernel() {
  static const engine::TileKernel kernel =
      tile_kernel<HardtanhBackwardOp, 2>("sfpu_hardtanh_backward");
  return kernel;
}

}  // namespace accel::kernels
