// avg_pool2d's and adaptive_avg_pool2d's backward as a gather: each input
// element sums the shares (gradient / divisor) of the windows that cover it,
// in output order, as the scalar scatter adds them, so the bits agree. Eight
// input elements at a time run through the forward's vector blocks (a sum
// divided by 1), the shares of a period of planes their source.
#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "kernels/pool/window_detail.h"

namespace accel::kernels {
namespace {

using detail::kLanes;

// Per input index along one axis: the outputs whose windows cover it, [lo, hi).
struct Cover {
  std::vector<int64_t> lo, hi;
  int64_t most = 0;
};

Cover cover_of(const PoolSpec& p, int d, int64_t I, int64_t O) {
  Cover c;
  c.lo.assign(I, O);
  c.hi.assign(I, 0);
  if (p.kind == PoolKind::AdaptiveAvg) {
    for (int64_t o = 0; o < O; ++o)
      for (int64_t i = p.axis[d].lo[o]; i < p.axis[d].hi[o]; ++i) {
        c.lo[i] = std::min(c.lo[i], o);
        c.hi[i] = std::max(c.hi[i], o + 1);
      }
  } else {
    // Output o covers [o * s - pad, o * s - pad + k) (avg_pool2d has no dilation).
    const int64_t k = p.kernel[d], s = p.stride[d], pad = p.pad[d];
    for (int64_t i = 0; i < I; ++i) {
      const int64_t first = i + pad - k + 1;
      c.lo[i] = first <= 0 ? 0 : (first + s - 1) / s;
      c.hi[i] = std::min(O, (i + pad) / s + 1);
    }
  }
  for (int64_t i = 0; i < I; ++i) c.most = std::max(c.most, c.hi[i] - c.lo[i]);
  return c;
}

// share = gradient / divisor, for the planes [q0, q1) of a period.
template <class G>
void shares_typed(const PlaneBatch& go, int64_t p0, int64_t q0, int64_t q1, const float* divisor, float* share) {
  const int64_t area = go.H * go.W;
  if (go.sw == 1 && go.sh == go.W && go.sc == area) {  // the planes are one run
    const G* g = static_cast<const G*>(go.plane(q0).data);
    for (int64_t e = (q0 - p0) * area, o = 0, n = (q1 - q0) * area; o < n; ++o, ++e)
      share[e] = static_cast<float>(g[o]) / divisor[e];
    return;
  }
  for (int64_t nc = q0; nc < q1; ++nc) {
    const Plane g = go.plane(nc);
    const G* src = static_cast<const G*>(g.data);
    for (int64_t oh = 0; oh < g.H; ++oh)
      for (int64_t ow = 0; ow < g.W; ++ow) {
        const int64_t e = (nc - p0) * area + oh * g.W + ow;
        share[e] = static_cast<float>(src[oh * g.sh + ow * g.sw]) / divisor[e];
      }
  }
}

void shares_of(const PlaneBatch& go, int64_t p0, int64_t q0, int64_t q1, const float* divisor, float* share) {
  ACCEL_FLOAT_DISPATCH(go.dtype, "pool kernels", shares_typed, go, p0, q0, q1, divisor, share)
}

// Input positions [a, b) of a period one at a time, the blocks' sums in order.
template <class T>
void gather_typed(const WindowPlan& plan, const float* share, void* out, int64_t a, int64_t b) {
  T* dst = static_cast<T*>(out);
  for (int64_t pos = a; pos < b; ++pos) {
    float acc = 0;
    for (int64_t r = plan.row_lo[pos]; r < plan.row_hi[pos]; ++r)
      for (int64_t c = plan.col_lo[pos]; c < plan.col_hi[pos]; ++c)
        acc += share[plan.src_off[pos] + (r - plan.row0[pos]) * plan.src_step_h + (c - plan.col0[pos])];
    dst[plan.out_flat ? pos : plan.out_off[pos]] = static_cast<T>(acc);
  }
}

void gather_scalar(const WindowPlan& plan, const float* share, void* dst, engine::DType dt, int64_t a, int64_t b) {
  ACCEL_FLOAT_DISPATCH(dt, "pool kernels", gather_typed, plan, share, dst, a, b)
}

// Floats past a period's shares that a lane's taps outside its window may
// reach: a row of outputs below the last, plus a block's width.
int64_t guard_floats(const WindowPlan& plan, int64_t OW) { return (plan.taps_h + 1) * OW + plan.taps_w + kLanes; }

}  // namespace

WindowPlan plan_backward(const PoolSpec& p, const PlaneBatch& grad_out, const PlaneBatch& grad_in) {
  WindowPlan plan;
  const int64_t H = grad_in.H, W = grad_in.W, OH = grad_out.H, OW = grad_out.W, per_plane = H * W;
  if ((p.kind != PoolKind::Avg && p.kind != PoolKind::AdaptiveAvg) || !detail::vector_blocks() ||
      per_plane == 0 || OH * OW == 0 || grad_in.planes() == 0)
    return plan;
  plan.per_plane = per_plane;
  plan.whole_batch = grad_out.planes_uniform() && grad_in.planes_uniform();
  plan.period_planes = detail::period_planes(per_plane, plan.whole_batch ? grad_in.planes() : grad_in.C);
  plan.period = plan.period_planes * per_plane;
  if (plan.period > detail::kMaxPeriod || !detail::fits_int32(plan.period_planes * OH * OW)) return WindowPlan{};
  const Cover rows = cover_of(p, 0, H, OH), cols = cover_of(p, 1, W, OW);
  plan.taps_h = rows.most;
  plan.taps_w = cols.most;
  plan.src_plane = OH * OW;
  plan.src_step_h = OW;
  plan.src_step_w = 1;
  const int64_t n = plan.period;
  for (auto* t : {&plan.src_off, &plan.row0, &plan.col0, &plan.row_lo, &plan.row_hi, &plan.col_lo, &plan.col_hi,
                  &plan.out_off})
    t->resize(n);
  plan.divide = false;  // the shares are divided already
  // The shares' buffer reaches past any lane's last tap (guard_floats).
  plan.padded_source = plan.guarded_source = true;
  plan.divisor.resize(plan.period_planes * OH * OW);
  for (int64_t oh = 0, o = 0; oh < OH; ++oh)
    for (int64_t ow = 0; ow < OW; ++ow, ++o) {
      bool empty = false;
      plan.divisor[o] = static_cast<float>(detail::avg_divisor_at(p, oh, ow, H, W, &empty));
    }
  for (int64_t e = OH * OW; e < static_cast<int64_t>(plan.divisor.size()); ++e)
    plan.divisor[e] = plan.divisor[e - OH * OW];
  if (!detail::fits_int32((H - 1) * grad_in.sh + (W - 1) * grad_in.sw + (plan.period_planes - 1) * grad_in.sc))
    return WindowPlan{};
  std::vector<uint8_t> interior(n), scalar(n, 0);
  // The first plane; the period's others are it, shifted.
  for (int64_t ih = 0, pos = 0; ih < H; ++ih)
    for (int64_t iw = 0; iw < W; ++iw, ++pos) {
      plan.src_off[pos] = rows.lo[ih] * OW + cols.lo[iw];
      plan.row0[pos] = plan.row_lo[pos] = rows.lo[ih];
      plan.row_hi[pos] = rows.hi[ih];
      plan.col0[pos] = plan.col_lo[pos] = cols.lo[iw];
      plan.col_hi[pos] = cols.hi[iw];
      plan.out_off[pos] = ih * grad_in.sh + iw * grad_in.sw;
      interior[pos] = rows.hi[ih] - rows.lo[ih] == plan.taps_h && cols.hi[iw] - cols.lo[iw] == plan.taps_w;
    }
  for (int64_t q = 1; q < plan.period_planes; ++q) {
    const int64_t at = q * per_plane;
    for (int64_t e = 0; e < per_plane; ++e) {
      plan.src_off[at + e] = plan.src_off[e] + q * OH * OW;
      plan.out_off[at + e] = plan.out_off[e] + q * grad_in.sc;
    }
    for (auto* t : {&plan.row0, &plan.col0, &plan.row_lo, &plan.row_hi, &plan.col_lo, &plan.col_hi})
      std::copy_n(t->begin(), per_plane, t->begin() + at);
    std::copy_n(interior.begin(), per_plane, interior.begin() + at);
  }
  detail::classify_blocks(plan, interior, scalar);
  plan.out_flat = grad_in.sw == 1 && grad_in.sh == W && (plan.period_planes == 1 || grad_in.sc == per_plane);
  plan.vector = true;
  return plan;
}

namespace detail {
void avg_backward_blocks(const WindowPlan& plan, const PlaneBatch& grad_out,
                         const PlaneBatch& grad_in, int64_t nc0, int64_t nc1) {
  const int64_t per_plane = plan.per_plane, OH = grad_out.H, OW = grad_out.W;
  const int64_t seg_planes = plan.whole_batch ? grad_in.planes() : grad_in.C;
  const int64_t period_outputs = plan.period_planes * OH * OW;
  thread_local std::vector<float> shares;
  const int64_t size = period_outputs + guard_floats(plan, OW);
  if (static_cast<int64_t>(shares.size()) < size) shares.resize(size);
  for (int64_t seg = nc0 / seg_planes * seg_planes; seg < nc1; seg += seg_planes) {
    const int64_t seg_end = std::min(seg + seg_planes, grad_in.planes());
    for (int64_t p0 = seg + (std::max(seg, nc0) - seg) / plan.period_planes * plan.period_planes;
         p0 < std::min(seg_end, nc1); p0 += plan.period_planes) {
      const int64_t q0 = std::max(nc0, p0), q1 = std::min({nc1, seg_end, p0 + plan.period_planes});
      shares_of(grad_out, p0, q0, q1, plan.divisor.data(), shares.data());
      const int64_t a = (q0 - p0) * per_plane, b = (q1 - p0) * per_plane;
      const int64_t va = std::min(b, (a + kLanes - 1) / kLanes * kLanes), vb = std::max(va, b / kLanes * kLanes);
      void* dst = grad_in.plane(p0).data;
      gather_scalar(plan, shares.data(), dst, grad_in.dtype, a, va);
      forward_blocks(/*max=*/false, plan, shares.data(), dst, grad_in.dtype, nullptr, va, vb);  // the shares' sums
      gather_scalar(plan, shares.data(), dst, grad_in.dtype, vb, b);
    }
  }
}
}  // namespace detail

}  // namespace accel::kernels
