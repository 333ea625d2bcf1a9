// Pooling and resampling tile kernels: each output element reduces (or
// interpolates) a window of one (n, c) plane. Backward kernels scatter a
// plane's output gradient into an fp32 accumulator of its input plane.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/tensor_ref.h"

namespace accel::kernels {

enum class PoolKind { Max, Avg, AdaptiveAvg, AdaptiveMax, Nearest, Bilinear };

// Per output index along one axis, computed by the caller with ATen's index
// conventions: adaptive pools [lo, hi); nearest lo; bilinear lo, hi and the
// weight w1 of hi (lo's is 1 - w1).
struct AxisTable {
  std::vector<int64_t> lo, hi;
  std::vector<float> w1;
};

struct PoolSpec {
  PoolKind kind = PoolKind::Max;
  int64_t kernel[2] = {1, 1}, stride[2] = {1, 1}, pad[2] = {0, 0}, dil[2] = {1, 1};
  bool count_include_pad = true;
  int64_t divisor = 0;  // 0: none given
  AxisTable axis[2];
};

// One (n, c) plane with any strides.
struct Plane {
  void* data = nullptr;
  engine::DType dtype = engine::DType::F32;
  int64_t sh = 0, sw = 0, H = 0, W = 0;
};

// Output elements [o0, o1) of the plane (row-major over OH x OW); idx (an
// int64 plane of out's size) is written for the max kinds, else null.
void pool_forward(const PoolSpec& p, const Plane& in, const Plane& out, const Plane* idx, int64_t o0,
                  int64_t o1);

// acc (H x W of the input plane, zeroed by the caller) += the scatter of grad_out.
void pool_backward(const PoolSpec& p, const Plane& grad_out, const Plane* idx, float* acc,
                   int64_t H, int64_t W);

// Writer: the fp32 plane into its dtype.
void store_plane(const Plane& dst, const float* acc);

}  // namespace accel::kernels
