// The vector path of the window pools (max, avg and their adaptive forms):
// eight outputs at a time, each lane gathering its own window's taps, so
// small planes fill the lanes as well as large ones. Taps are visited in the
// scalar path's (row, column) order, compared or summed the same way, so
// the results are the same bits.
#include <ATen/cpu/vec/vec.h>
#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <numeric>
#include <type_traits>
#include <utility>

#include "kernels/pool/window.h"

namespace accel::kernels {
namespace {

using fVec = at::vec::Vectorized<float>;
using iVec = at::vec::Vectorized<int32_t>;
using detail::kLanes;
using detail::kMaxPeriod;
constexpr int64_t kMinPeriod = 512;

bool is_max(PoolKind k) { return k == PoolKind::Max || k == PoolKind::AdaptiveMax; }
bool is_adaptive(PoolKind k) { return k == PoolKind::AdaptiveAvg || k == PoolKind::AdaptiveMax; }
using detail::fits_int32;

// Writes a block's eight results (and indices) to their outputs.
template <class T>
struct BlockStore {
  const WindowPlan& plan;
  T* out;
  int64_t* idx;

  void values(int64_t s, const fVec& r) const {
    if constexpr (std::is_same_v<T, float>) {
      if (plan.out_flat) return r.store(out + s);
    }
    float lanes[kLanes];
    r.store(lanes);
    // c10's conversion: round to nearest even, NaN as the scalar path stores it.
    if (plan.out_flat)
      for (int64_t l = 0; l < kLanes; ++l) out[s + l] = static_cast<T>(lanes[l]);
    else
      for (int64_t l = 0; l < kLanes; ++l) out[plan.out_off[s + l]] = static_cast<T>(lanes[l]);
  }
  void indices(int64_t s, const iVec& i) const {
    if (!idx) return;
    int32_t lanes[kLanes];
    i.store(lanes);
    if (plan.idx_flat)
      for (int64_t l = 0; l < kLanes; ++l) idx[s + l] = lanes[l];
    else
      for (int64_t l = 0; l < kLanes; ++l) idx[plan.idx_off[s + l]] = lanes[l];
  }
};

// The lanes' tap (i, j) is inside their window.
struct LaneBounds {
  iVec row0, row_lo, row_hi, col0, col_lo, col_hi;
  LaneBounds(const WindowPlan& plan, int64_t s)
      : row0(iVec::loadu(&plan.row0[s])), row_lo(iVec::loadu(&plan.row_lo[s])),
        row_hi(iVec::loadu(&plan.row_hi[s])), col0(iVec::loadu(&plan.col0[s])),
        col_lo(iVec::loadu(&plan.col_lo[s])), col_hi(iVec::loadu(&plan.col_hi[s])) {}
  iVec rows(int32_t di) const {
    const iVec r = row0 + iVec(di);
    return (r >= row_lo) & (r < row_hi);
  }
  iVec cols(int32_t dj) const {
    const iVec c = col0 + iVec(dj);
    return (c >= col_lo) & (c < col_hi);
  }
};

// Where an interior block's lanes read: runs of consecutive elements load
// instead of gathering; runs of every other element (stride 2) load two taps
// at once, split into evens and odds.
struct Loader {
  const WindowPlan& plan;
  const float* src;

  // visit(v, i, j) for each tap of the block at s, in (i, j) order.
  template <class Visit>
  void taps(int64_t s, Visit&& visit) const {
    const int64_t th = plan.taps_h, tw = plan.taps_w, dh = plan.src_step_h, dw = plan.src_step_w;
    const int32_t* off = &plan.src_off[s];
    const uint8_t load = plan.load[s / kLanes];
    if (load == kUnitLoad) {
      const float* base = src + off[0];
      for (int64_t i = 0; i < th; ++i)
        for (int64_t j = 0; j < tw; ++j) visit(fVec::loadu(base + i * dh + j * dw), i, j);
#if defined(CPU_CAPABILITY_AVX2)
    } else if (load == kPermuteLoad) {
      const float* base = src + off[0];
      const __m256i lanes = iVec::loadu(off) - iVec(off[0]);
      for (int64_t i = 0; i < th; ++i)
        for (int64_t j = 0; j < tw; ++j)
          visit(fVec(_mm256_permutevar8x32_ps(fVec::loadu(base + i * dh + j * dw), lanes)), i, j);
#endif
    } else if (load == kGatherLoad) {
      const iVec org = iVec::loadu(off);
      for (int64_t i = 0; i < th; ++i)
        for (int64_t j = 0; j < tw; ++j) visit(at::vec::gather<4>(src, org + iVec(i * dh + j * dw)), i, j);
    } else {
      // Taps j, j + 1 sit side by side (dw == 1); a lone last tap takes the
      // odds of the pair that ends with it.
      for (int64_t i = 0; i < th; ++i)
        for (int64_t j = 0; j < tw; j += 2) {
          if (j + 1 < tw) {
            const auto [even, odd] = pairs(load, off, i * dh + j);
            visit(even, i, j);
            visit(odd, i, j + 1);
          } else {
            visit(pairs(load, off, i * dh + j - 1).second, i, j);
          }
        }
    }
  }

  std::pair<fVec, fVec> pairs(uint8_t load, const int32_t* off, int64_t tap) const {
    const float* p = src + tap;
    if (load == kPairLoad8) return at::vec::deinterleave2(fVec::loadu(p + off[0]), fVec::loadu(p + off[0] + 8));
    if (load == kPairLoad4) return at::vec::deinterleave2(fVec::loadu(p + off[0]), fVec::loadu(p + off[4]));
#if defined(CPU_CAPABILITY_AVX2)
    const fVec a = _mm256_set_m128(_mm_loadu_ps(p + off[2]), _mm_loadu_ps(p + off[0]));
    const fVec b = _mm256_set_m128(_mm_loadu_ps(p + off[6]), _mm_loadu_ps(p + off[4]));
    return at::vec::deinterleave2(a, b);
#else
    return {};  // plan_window plans no kPairLoad2 without AVX2
#endif
  }
};

// The taps of a block at the window's edge: lanes outside their window
// read nothing (or, from a guarded source, what they read is dropped) and
// hold 0. A masked load never faults, even before the source.
struct MaskedLoader {
  const float* src;
  iVec org;
  int32_t first;
  uint8_t load;
  MaskedLoader(const WindowPlan& plan, const float* src, int64_t s)
      : src(src), org(iVec::loadu(&plan.src_off[s])), first(plan.src_off[s]), load(plan.load[s / kLanes]) {
    if (load != kUnitLoad && !(load == kPermuteLoad && plan.guarded_source)) load = kGatherLoad;
  }
  fVec tap(int32_t off, const fVec& valid) const {
#if defined(CPU_CAPABILITY_AVX2)
    if (load == kUnitLoad) return _mm256_maskload_ps(src + first + off, _mm256_castps_si256(valid));
    if (load == kPermuteLoad) {
      const fVec v = _mm256_permutevar8x32_ps(fVec::loadu(src + first + off), org - iVec(first));
      return v & valid;
    }
#endif
    fVec mask = valid;
    return at::vec::mask_gather<4>(fVec(0.f), src, org + iVec(off), mask);
  }
};

// ATen's rule per lane: NaN wins, ties keep the first tap.
template <class T>
void max_blocks(const WindowPlan& plan, const float* src, const BlockStore<T>& store, int64_t a, int64_t b) {
  const int32_t dh = plan.src_step_h, dw = plan.src_step_w, ih = plan.idx_step_h, iw = plan.idx_step_w;
  const int64_t th = plan.taps_h, tw = plan.taps_w;
  const int32_t row_step = plan.row_step, col_step = plan.col_step;
  const Loader loader{plan, src};
  for (int64_t s = a; s < b; s += kLanes) {
    fVec best;
    iVec arg(0);
    if (plan.block[s / kLanes] == kInteriorBlock) {
      loader.taps(s, [&](const fVec& v, int64_t i, int64_t j) {
        if (i == 0 && j == 0) {
          best = v;
          return;
        }
        const fVec take = (v > best) | v.isnan();
        best = fVec::blendv(best, v, take);
        arg = iVec::blendv(arg, iVec(i * ih + j * iw), at::vec::cast<int32_t>(take));
      });
      store.indices(s, iVec::loadu(&plan.idx0[s]) + arg);
    } else {
      const MaskedLoader taps(plan, src, s);
      const LaneBounds in(plan, s);
      best = fVec(-std::numeric_limits<float>::infinity());
      fVec fresh = at::vec::cast<float>(iVec(-1));  // no tap taken yet
      for (int64_t i = 0; i < th; ++i) {
        const iVec row_ok = in.rows(i * row_step);
        for (int64_t j = 0; j < tw; ++j) {
          const fVec valid = at::vec::cast<float>(row_ok & in.cols(j * col_step));
          const fVec v = taps.tap(i * dh + j * dw, valid);
          const fVec take = valid & (fresh | (v > best) | v.isnan());
          best = fVec::blendv(best, v, take);
          arg = iVec::blendv(arg, iVec(i * ih + j * iw), at::vec::cast<int32_t>(take));
          fresh = fVec::blendv(fresh, fVec(0.f), take);
        }
      }
      store.indices(s, iVec::blendv(iVec::loadu(&plan.idx0[s]) + arg, iVec(-1), at::vec::cast<int32_t>(fresh)));
    }
    store.values(s, best);
  }
}

// Sums start at +0 and add the taps in order; a tap outside the window adds
// +0, which changes no sum (a running sum from +0 is never -0).
template <class T>
void avg_blocks(const WindowPlan& plan, const float* src, const BlockStore<T>& store, int64_t a, int64_t b) {
  const int32_t dh = plan.src_step_h, dw = plan.src_step_w;
  const int64_t th = plan.taps_h, tw = plan.taps_w;
  const int32_t row_step = plan.row_step, col_step = plan.col_step;
  const Loader loader{plan, src};
  for (int64_t s = a; s < b; s += kLanes) {
    fVec sum(0.f);
    if (plan.block[s / kLanes] == kInteriorBlock) {
      loader.taps(s, [&](const fVec& v, int64_t, int64_t) { sum = sum + v; });
    } else {
      const MaskedLoader taps(plan, src, s);
      const LaneBounds in(plan, s);
      for (int64_t i = 0; i < th; ++i) {
        const iVec row_ok = in.rows(i * row_step);
        for (int64_t j = 0; j < tw; ++j) {
          sum = sum + taps.tap(i * dh + j * dw, at::vec::cast<float>(row_ok & in.cols(j * col_step)));
        }
      }
    }
    store.values(s, plan.divide ? sum / fVec::loadu(&plan.divisor[s]) : sum);
  }
}

template <class T>
void blocks_typed(const PoolSpec& p, const WindowPlan& plan, const float* src, void* out, int64_t* idx,
                  int64_t a, int64_t b) {
  const BlockStore<T> store{plan, static_cast<T*>(out), idx};
  if (is_max(p.kind)) max_blocks<T>(plan, src, store, a, b);
  else avg_blocks<T>(plan, src, store, a, b);
}

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
  for (int64_t pos = 0; pos < n; ++pos) {
    const int64_t q = pos / per_plane, oh = pos % per_plane / OW, ow = pos % OW;
    int64_t r0, rlo = 0, rhi = H, c0, clo = 0, chi = W;
    if (adaptive) {
      r0 = rlo = p.axis[0].lo[oh], rhi = p.axis[0].hi[oh];
      c0 = clo = p.axis[1].lo[ow], chi = p.axis[1].hi[ow];
    } else {
      r0 = oh * p.stride[0] - p.pad[0];
      c0 = ow * p.stride[1] - p.pad[1];
    }
    const int64_t src_off = q * plan.src_plane + r0 * sh + c0 * sw;
    const int64_t out_off = q * out.sc + oh * out.sh + ow * out.sw;
    const int64_t idx_off = idx ? q * idx->sc + oh * idx->sh + ow * idx->sw : 0;
    if (!fits_int32(src_off) || !fits_int32(src_off + reach) || !fits_int32(out_off) || !fits_int32(idx_off))
      return WindowPlan{};
    plan.src_off[pos] = src_off;
    plan.row0[pos] = r0, plan.row_lo[pos] = rlo, plan.row_hi[pos] = rhi;
    plan.col0[pos] = c0, plan.col_lo[pos] = clo, plan.col_hi[pos] = chi;
    plan.idx0[pos] = r0 * W + c0;
    plan.out_off[pos] = out_off;
    plan.idx_off[pos] = idx_off;
    interior[pos] = r0 >= rlo && r0 + (plan.taps_h - 1) * dil_h < rhi && c0 >= clo &&
                    c0 + (plan.taps_w - 1) * dil_w < chi;
    if (!is_max(p.kind)) {
      bool none = false;
      plan.divisor[pos] = static_cast<float>(detail::avg_divisor_at(p, oh, ow, H, W, &none));
      empty[pos] = none;
    }
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

bool vector_blocks() { return fVec::size() == kLanes; }

bool fits_int32(int64_t v) {
  return v >= std::numeric_limits<int32_t>::min() && v <= std::numeric_limits<int32_t>::max();
}

void forward_blocks(const PoolSpec& p, const WindowPlan& plan, const float* src, void* out,
                    engine::DType out_dtype, int64_t* idx, int64_t a, int64_t b) {
  switch (out_dtype) {
    case engine::DType::BF16: return blocks_typed<c10::BFloat16>(p, plan, src, out, idx, a, b);
    case engine::DType::F16: return blocks_typed<c10::Half>(p, plan, src, out, idx, a, b);
    default: return blocks_typed<float>(p, plan, src, out, idx, a, b);
  }
}
}  // namespace detail

}  // namespace accel::kernels
