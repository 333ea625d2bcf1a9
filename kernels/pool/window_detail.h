// The pool kernels' internals shared by their files: the scalar path
// (window.cpp), the plans (window_plan.cpp, window_grad.cpp) and the vector
// blocks (window_vec.cpp).
#pragma once

#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <cstdint>
#include <stdexcept>
#include <vector>

#include "kernels/float_dispatch.h"
#include "kernels/pool/window.h"


namespace accel::kernels {

namespace detail {
inline bool is_max(PoolKind k) { return k == PoolKind::Max || k == PoolKind::AdaptiveMax; }
inline bool is_adaptive(PoolKind k) { return k == PoolKind::AdaptiveAvg || k == PoolKind::AdaptiveMax; }

constexpr int64_t kLanes = 8;
// The largest period whose tables are built (a few MiB); past it, scalar.
constexpr int64_t kMaxPeriod = int64_t{1} << 18;
constexpr int64_t kMaxVectorTaps = 16;  // taps per output the vector blocks take
// Planes per period: whole blocks of kLanes, and a few hundred positions.
int64_t period_planes(int64_t per_plane, int64_t seg_planes);
// plan.block and plan.load from each position's interior and scalar flags
// (window_plan.cpp).
void classify_blocks(WindowPlan& plan, const std::vector<uint8_t>& interior, const std::vector<uint8_t>& scalar);
bool fits_int32(int64_t v);
// Whether this build's vectors have kLanes fp32 lanes (the vector path's width).
bool vector_blocks();
// What avg_pool2d (or the adaptive avg) divides output (oh, ow)'s sum by;
// empty: the window reads nothing (the output is 0).
int64_t avg_divisor_at(const PoolSpec& p, int64_t oh, int64_t ow, int64_t H, int64_t W, bool* empty);
// The scalar forward of outputs [o0, o1) of one plane (window.cpp).
void forward_scalar(const PoolSpec& p, const Plane& in, const Plane& out, const Plane* idx, int64_t o0,
                    int64_t o1);
// A plane of any strides into a dense fp32 one (window.cpp).
void plane_to_fp32(const Plane& in, float* dst);
// Vector blocks of one period: outputs [a, b) of it, a and b multiples of 8
// (window_vec.cpp), the window's max or (divided) sum. src is the period's
// first source plane (fp32); out and idx the period's first output and index planes.
void forward_blocks(bool max, const WindowPlan& plan, const float* src, void* out, engine::DType out_dtype,
                    int64_t* idx, int64_t a, int64_t b);
// The avg kinds' backward of planes [nc0, nc1) on plan_backward's tables.
void avg_backward_blocks(const WindowPlan& plan, const PlaneBatch& grad_out,
                         const PlaneBatch& grad_in, int64_t nc0, int64_t nc1);
}  // namespace detail

}  // namespace accel::kernels
