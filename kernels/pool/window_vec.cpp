// The vector path of the window pools (max, avg and their adaptive forms):
// eight outputs at a time, each lane reading its own window's taps (loads
// where the lanes' taps lie in runs, gathers elsewhere), so small planes fill
// the lanes as well as large ones. Taps are visited in the scalar path's
// (row, column) order, compared or summed the same way: the same bits.
#include <ATen/cpu/vec/vec.h>
#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <utility>

#include "kernels/pool/window_detail.h"

namespace accel::kernels {
namespace {

using fVec = at::vec::Vectorized<float>;
using iVec = at::vec::Vectorized<int32_t>;
using detail::kLanes;


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
void blocks_typed(bool max, const WindowPlan& plan, const float* src, void* out, int64_t* idx, int64_t a,
                  int64_t b) {
  const BlockStore<T> store{plan, static_cast<T*>(out), idx};
  if (max) max_blocks<T>(plan, src, store, a, b);
  else avg_blocks<T>(plan, src, store, a, b);
}

// Outputs [a, b) of the planes from `first` on: per plane, the scalar path.
void scalar_range(const PoolSpec& p, const PlaneBatch& in, const PlaneBatch& out, const PlaneBatch* idx,
                  int64_t first, int64_t a, int64_t b) {
  const int64_t per_plane = out.H * out.W;
  while (a < b) {
    const int64_t nc = first + a / per_plane, o0 = a % per_plane, o1 = std::min(per_plane, o0 + (b - a));
    const Plane ix = idx ? idx->plane(nc) : Plane{};
    detail::forward_scalar(p, in.plane(nc), out.plane(nc), idx ? &ix : nullptr, o0, o1);
    a += o1 - o0;
  }
}

char* plane_address(const PlaneBatch& t, int64_t nc) { return static_cast<char*>(t.plane(nc).data); }

// The fp32 copy of the input planes a core's vector blocks read (bf16, f16).
struct PackedSource {
  std::vector<float>& buffer;
  int64_t first = 0, last = 0;  // planes [first, last) are in buffer

  const float* planes(const PlaneBatch& in, int64_t p0, int64_t p1, int64_t limit) {
    const int64_t area = in.H * in.W;
    if (p0 < first || p1 > last) {
      // A few hundred KiB at a time: the copy stays in cache for the blocks.
      const int64_t chunk = std::max(p1 - p0, (int64_t{1} << 16) / std::max<int64_t>(area, 1));
      first = p0;
      last = std::max(p1, std::min(limit, p0 + chunk));
      const int64_t size = (last - first) * area + detail::kLanes;  // padded: WindowPlan::padded_source
      if (static_cast<int64_t>(buffer.size()) < size) buffer.resize(size);
      float* dst = buffer.data();
      if (in.stacked())  // one tall plane
        detail::plane_to_fp32({in.plane(first).data, in.dtype, in.W, 1, (last - first) * in.H, in.W}, dst);
      else
        for (int64_t nc = first; nc < last; ++nc) detail::plane_to_fp32(in.plane(nc), dst + (nc - first) * area);
    }
    return buffer.data() + (p0 - first) * area;
  }
};

}  // namespace

namespace detail {
void forward_blocks(bool max, const WindowPlan& plan, const float* src, void* out, engine::DType out_dtype,
                    int64_t* idx, int64_t a, int64_t b) {
  ACCEL_FLOAT_DISPATCH(out_dtype, "pool kernels", blocks_typed, max, plan, src, out, idx, a, b)
}
}  // namespace detail

void pool_forward(const PoolSpec& p, const WindowPlan& plan, const PlaneBatch& in, const PlaneBatch& out,
                  const PlaneBatch* idx, int64_t f0, int64_t f1) {
  if (f0 >= f1) return;
  if (!plan.vector) return scalar_range(p, in, out, idx, 0, f0, f1);
  const int64_t per_plane = plan.per_plane, seg_planes = plan.whole_batch ? in.planes() : in.C;
  const int64_t last_plane = (f1 - 1) / per_plane + 1;
  thread_local std::vector<float> packed_buffer;
  PackedSource packed{packed_buffer};
  // Periods start at each segment's first plane, so their tables line up.
  for (int64_t seg = f0 / per_plane / seg_planes * seg_planes; seg * per_plane < f1; seg += seg_planes) {
    const int64_t seg_end = std::min(seg + seg_planes, in.planes());
    const int64_t first = seg + (std::max(seg, f0 / per_plane) - seg) / plan.period_planes * plan.period_planes;
    for (int64_t p0 = first; p0 < seg_end && p0 * per_plane < f1; p0 += plan.period_planes) {
      const int64_t p1 = std::min(p0 + plan.period_planes, seg_end), base = p0 * per_plane;
      const int64_t a = std::max(f0, base) - base, b = std::min(f1, p1 * per_plane) - base;
      if (a >= b) continue;
      const int64_t va = (a + kLanes - 1) / kLanes * kLanes, vb = b / kLanes * kLanes;
      if (va >= vb) {
        scalar_range(p, in, out, idx, p0, a, b);
        continue;
      }
      scalar_range(p, in, out, idx, p0, a, va);
      const float* src = plan.packed_source
                             ? packed.planes(in, p0, std::min(p1, last_plane), std::min(seg_end, last_plane))
                             : reinterpret_cast<const float*>(plane_address(in, p0));
      void* dst = plane_address(out, p0);
      int64_t* ix = idx ? reinterpret_cast<int64_t*>(plane_address(*idx, p0)) : nullptr;
      for (int64_t s = va; s < vb;) {
        int64_t e = s + kLanes;
        if (plan.block[s / kLanes] == kScalarBlock) {
          while (e < vb && plan.block[e / kLanes] == kScalarBlock) e += kLanes;
          scalar_range(p, in, out, idx, p0, s, e);
        } else {
          while (e < vb && plan.block[e / kLanes] != kScalarBlock) e += kLanes;
          detail::forward_blocks(detail::is_max(p.kind), plan, src, dst, out.dtype, ix, s, e);
        }
        s = e;
      }
      scalar_range(p, in, out, idx, p0, vb, b);
    }
  }
}

}  // namespace accel::kernels
