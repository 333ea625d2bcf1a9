#include "kernels/conv/channel_sum.h"

#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <stdexcept>

#include "kernels/float_dispatch.h"

namespace accel::kernels {
namespace {

constexpr int64_t kTileElems = 1024;

template <class T>
float sum_typed(const engine::TensorRef& t, int64_t c) {
  const T* base = static_cast<const T*>(t.data) + c * t.strides[1];
  const int64_t D = t.sizes[2], H = t.sizes[3], W = t.sizes[4];
  float total = 0, tile = 0;
  int64_t in_tile = 0;
  for (int64_t n = 0; n < t.sizes[0]; ++n)
    for (int64_t d = 0; d < D; ++d)
      for (int64_t h = 0; h < H; ++h) {
        const T* row = base + n * t.strides[0] + d * t.strides[2] + h * t.strides[3];
        for (int64_t w = 0; w < W; ++w) {
          tile += static_cast<float>(row[w * t.strides[4]]);
          if (++in_tile == kTileElems) {
            total += tile;
            tile = 0;
            in_tile = 0;
          }
        }
      }
  return total + tile;
}

}  // namespace

float channel_sum(const engine::TensorRef& t, int64_t c) {
  ACCEL_FLOAT_DISPATCH(t.dtype, "conv bias gradient", sum_typed, t, c)
}

}  // namespace accel::kernels
