#include "kernels/conv/channel_sum.h"

#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <algorithm>
#include <stdexcept>

#include "kernels/float_dispatch.h"

namespace accel::kernels {
namespace {

constexpr int64_t kTileElems = 1024;
constexpr int64_t kLanes = 16;  // a vector register's fp32 lanes: element i of a tile goes to lane i % 16

// One channel's elements in order, summed per tile of 1024 in kLanes fp32
// lanes (the lanes then added in order) and the tiles added in order. The
// lanes let the host add 16 at a time instead of one add waiting on the last.
template <class T>
class ChannelSum {
 public:
  void add_run(const T* p, int64_t stride, int64_t len) {
    while (len > 0) {
      const int64_t take = std::min(len, kTileElems - in_tile_);
      int64_t i = 0;
      if (stride == 1) {
        for (; i < take && (in_tile_ + i) % kLanes != 0; ++i) lanes_[(in_tile_ + i) % kLanes] += float(p[i]);
        float lanes[kLanes];  // in registers for the run, not through the object
        std::copy_n(lanes_, kLanes, lanes);
        for (; i + kLanes <= take; i += kLanes)
          for (int64_t j = 0; j < kLanes; ++j) lanes[j] += float(p[i + j]);
        std::copy_n(lanes, kLanes, lanes_);
      }
      for (; i < take; ++i) lanes_[(in_tile_ + i) % kLanes] += float(p[i * stride]);
      in_tile_ += take;
      p += take * stride;
      len -= take;
      if (in_tile_ == kTileElems) close_tile();
    }
  }
  float total() {
    if (in_tile_ > 0) close_tile();
    return total_;
  }

 private:
  void close_tile() {
    float tile = 0;
    for (float& lane : lanes_) {
      tile += lane;
      lane = 0;
    }
    total_ += tile;
    in_tile_ = 0;
  }

  float lanes_[kLanes] = {};
  float total_ = 0;
  int64_t in_tile_ = 0;
};

template <class T>
float sum_typed(const engine::TensorRef& t, int64_t c) {
  const T* base = static_cast<const T*>(t.data) + c * t.strides[1];
  const int64_t D = t.sizes[2], H = t.sizes[3], W = t.sizes[4];
  const bool dense_planes = t.strides[4] == 1 && t.strides[3] == W;
  ChannelSum<T> sum;
  for (int64_t n = 0; n < t.sizes[0]; ++n)
    for (int64_t d = 0; d < D; ++d) {
      const T* plane = base + n * t.strides[0] + d * t.strides[2];
      if (dense_planes) {
        sum.add_run(plane, 1, H * W);
        continue;
      }
      for (int64_t h = 0; h < H; ++h) sum.add_run(plane + h * t.strides[3], t.strides[4], W);
    }
  return sum.total();
}

}  // namespace

float channel_sum(const engine::TensorRef& t, int64_t c) {
  ACCEL_FLOAT_DISPATCH(t.dtype, "conv bias gradient", sum_typed, t, c)
}

}  // namespace accel::kernels
