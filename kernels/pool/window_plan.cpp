// The vector path's plans for the window pools' forward: per output
// position of a period, where its window starts and ends, and per block of
// eight how its lanes read their taps.
#include <ATen/cpu/vec/vec.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <numeric>
#include <vector>

#include "kernels/pool/window_detail.h"

namespace accel::kernels {
namespace {

using detail::fits_int32;
using detail::is_adaptive;
using detail::is_max;
using detail::kLanes;
using detail::kMaxPeriod;
using detail::kMaxVectorTaps;
constexpr int64_t kMinPeriod = 512;


// How the interior block at `first` may read its taps.
uint8_t load_of(const WindowPlan& plan, int64_t first) {
  const int32_t* off = &plan.src_off[first];
  auto runs = [&](int64_t len, int64_t step) {
    for (int64_t l = 0; l < kLanes; ++l)
      if (off[l] != off[l / len * len] + (l % len) * step) return false;
    return true;
  };
  if (runs(kLanes, 1)) return kUnitLoad;
  if (plan.src_step_w == 1 && plan.taps_w > 1) {
    if (runs(8, 2)) return kPairLoad8;
    if (runs(4, 2)) return kPairLoad4;
#if defined(CPU_CAPABILITY_AVX2)
    if (runs(2, 2)) return kPairLoad2;
#endif
  }
#if defined(CPU_CAPABILITY_AVX2)
  if (plan.padded_source &&
      std::all_of(off, off + kLanes, [&](int32_t o) { return o >= off[0] && o < off[0] + kLanes; }))
    return kPermuteLoad;
#endif
  return kGatherLoad;
}

}  // namespace

WindowPlan plan_window(const PoolSpec& p, const PlaneBatch& in, const PlaneBatch& out, const PlaneBatch* idx) {
  using engine::DType;
  WindowPlan plan;
  const bool window_kind = is_max(p.kind) || p.kind == PoolKind::Avg || p.kind == PoolKind::AdaptiveAvg;
  const bool float_kind = in.dtype == DType::F32 || in.dtype == DType::BF16 || in.dtype == DType::F16;
  const int64_t H = in.H, W = in.W, OH = out.H, OW = out.W, per_plane = OH * OW;
  if (!detail::vector_blocks() || !window_kind || !float_kind || out.dtype != in.dtype || per_plane == 0 ||
      in.planes() == 0 || !fits_int32(H * W))
    return plan;
  plan.per_plane = per_plane;
  plan.whole_batch = in.planes_uniform() && out.planes_uniform() && (!idx || idx->planes_uniform());
  const int64_t seg_planes = plan.whole_batch ? in.planes() : in.C;
  plan.period_planes = detail::period_planes(per_plane, seg_planes);
  plan.period = plan.period_planes * per_plane;
  if (plan.period > kMaxPeriod) return WindowPlan{};
  plan.packed_source = plan.padded_source = in.dtype != DType::F32;
  plan.src_plane = plan.packed_source ? H * W : in.sc;
  const int64_t sh = plan.packed_source ? W : in.sh, sw = plan.packed_source ? 1 : in.sw;
  const bool adaptive = is_adaptive(p.kind);
  const int64_t dil_h = adaptive ? 1 : p.dil[0], dil_w = adaptive ? 1 : p.dil[1];
  if (adaptive) {
    for (int64_t o = 0; o < OH; ++o) plan.taps_h = std::max(plan.taps_h, p.axis[0].hi[o] - p.axis[0].lo[o]);
    for (int64_t o = 0; o < OW; ++o) plan.taps_w = std::max(plan.taps_w, p.axis[1].hi[o] - p.axis[1].lo[o]);
  } else {
    plan.taps_h = p.kernel[0];
    plan.taps_w = p.kernel[1];
  }
  // Wide windows (adaptive 56 -> 7: 8x8 taps per output) go to the scalar
  // path, whose inner loop runs along a contiguous window row: eight lanes
  // gathering 64 taps each ran 3.5x slower than CPU eager there.
  if (plan.taps_h * plan.taps_w > kMaxVectorTaps) return WindowPlan{};
  plan.row_step = dil_h;
  plan.col_step = dil_w;
  plan.src_step_h = dil_h * sh;
  plan.src_step_w = dil_w * sw;
  plan.idx_step_h = dil_h * W;
  plan.idx_step_w = dil_w;
  const int64_t reach = (plan.taps_h - 1) * plan.src_step_h + (plan.taps_w - 1) * plan.src_step_w;
  if (!fits_int32(reach) || !fits_int32(plan.idx_step_h * plan.taps_h)) return WindowPlan{};

  const int64_t n = plan.period;
  for (auto* t : {&plan.src_off, &plan.row0, &plan.col0, &plan.row_lo, &plan.row_hi, &plan.col_lo, &plan.col_hi,
                  &plan.idx0, &plan.out_off, &plan.idx_off})
    t->resize(n);
  plan.divisor.assign(n, 1.f);
  std::vector<uint8_t> interior(n), empty(n);
  // The first plane row by row; the period's others are it, shifted.
  int64_t lowest = 0, highest = 0;
  for (int64_t oh = 0; oh < OH; ++oh) {
    const int64_t r0 = adaptive ? p.axis[0].lo[oh] : oh * p.stride[0] - p.pad[0];
    const int64_t rlo = adaptive ? r0 : 0, rhi = adaptive ? p.axis[0].hi[oh] : H;
    const bool rows_inside = r0 >= rlo && r0 + (plan.taps_h - 1) * dil_h < rhi;
    for (int64_t ow = 0, pos = oh * OW; ow < OW; ++ow, ++pos) {
      const int64_t c0 = adaptive ? p.axis[1].lo[ow] : ow * p.stride[1] - p.pad[1];
      const int64_t clo = adaptive ? c0 : 0, chi = adaptive ? p.axis[1].hi[ow] : W;
      const int64_t src_off = r0 * sh + c0 * sw;
      lowest = std::min(lowest, src_off);
      highest = std::max(highest, src_off + reach);
      plan.src_off[pos] = src_off;
      plan.row0[pos] = r0, plan.row_lo[pos] = rlo, plan.row_hi[pos] = rhi;
      plan.col0[pos] = c0, plan.col_lo[pos] = clo, plan.col_hi[pos] = chi;
      plan.idx0[pos] = r0 * W + c0;
      plan.out_off[pos] = oh * out.sh + ow * out.sw;
      plan.idx_off[pos] = idx ? oh * idx->sh + ow * idx->sw : 0;
      interior[pos] = rows_inside && c0 >= clo && c0 + (plan.taps_w - 1) * dil_w < chi;
      if (!is_max(p.kind)) {
        bool none = false;
        plan.divisor[pos] = static_cast<float>(detail::avg_divisor_at(p, oh, ow, H, W, &none));
        empty[pos] = none;
      }
    }
  }
  const int64_t last = plan.period_planes - 1;
  if (!fits_int32(lowest) || !fits_int32(highest + last * plan.src_plane) ||
      !fits_int32((OH - 1) * out.sh + (OW - 1) * out.sw + last * out.sc) ||
      (idx && !fits_int32((OH - 1) * idx->sh + (OW - 1) * idx->sw + last * idx->sc)))
    return WindowPlan{};
  for (int64_t q = 1; q <= last; ++q) {
    const int64_t at = q * per_plane;
    for (int64_t o = 0; o < per_plane; ++o) {
      plan.src_off[at + o] = plan.src_off[o] + q * plan.src_plane;
      plan.out_off[at + o] = plan.out_off[o] + q * out.sc;
      plan.idx_off[at + o] = plan.idx_off[o] + (idx ? q * idx->sc : 0);
    }
    for (auto* t : {&plan.row0, &plan.col0, &plan.row_lo, &plan.row_hi, &plan.col_lo, &plan.col_hi, &plan.idx0})
      std::copy_n(t->begin(), per_plane, t->begin() + at);
    std::copy_n(plan.divisor.begin(), per_plane, plan.divisor.begin() + at);
    std::copy_n(interior.begin(), per_plane, interior.begin() + at);
    std::copy_n(empty.begin(), per_plane, empty.begin() + at);
  }
  detail::classify_blocks(plan, interior, empty);
  const bool one_plane = plan.period_planes == 1;
  plan.out_flat = out.sw == 1 && out.sh == OW && (one_plane || out.sc == per_plane);
  plan.idx_flat = idx && idx->sw == 1 && idx->sh == OW && (one_plane || idx->sc == per_plane);
  plan.vector = true;
  return plan;
}

namespace detail {
int64_t period_planes(int64_t per_plane, int64_t seg_planes) {
  // Small planes group so that a period is whole blocks (2x2 outputs pair
  // up) and long enough that the per-period work is small beside the blocks'.
  const int64_t group = per_plane % kLanes != 0 && per_plane < 64 ? kLanes / std::gcd(per_plane, kLanes) : 1;
  const int64_t groups = std::max<int64_t>(1, kMinPeriod / (group * per_plane));
  return std::min(group * groups, seg_planes);
}

void classify_blocks(WindowPlan& plan, const std::vector<uint8_t>& interior, const std::vector<uint8_t>& scalar) {
  const int64_t blocks = plan.period / kLanes;
  plan.block.resize(blocks);
  plan.load.resize(blocks);
  for (int64_t blk = 0; blk < blocks; ++blk) {
    const auto first = blk * kLanes, last = first + kLanes;
    plan.load[blk] = load_of(plan, first);
    plan.block[blk] = std::any_of(&scalar[first], &scalar[last], [](uint8_t e) { return e; }) ? kScalarBlock
                      : std::all_of(&interior[first], &interior[last], [](uint8_t i) { return i; })
                          ? kInteriorBlock
                          : kMaskedBlock;
  }
}

bool vector_blocks() { return at::vec::Vectorized<float>::size() == kLanes; }

bool fits_int32(int64_t v) {
  return v >= std::numeric_limits<int32_t>::min() && v <= std::numeric_limits<int32_t>::max();
}

}  // namespace detail

}  // namespace accel::kernels
