// The bias gradient's tile kernel: one channel of a [n, c, d, h, w] map summed
// over n, d, h and w with fp32 accumulators per tile (16 lanes, element i of a
// tile in lane i % 16, then added), tiles then added.
#pragma once

#include <cstdint>

#include "engine/tensor_ref.h"

namespace accel::kernels {

float channel_sum(const engine::TensorRef& t, int64_t c);

}  // namespace accel::kernels
