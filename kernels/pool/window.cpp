// The scalar path of the pool kernels, one output (or one plane's scatter)
// at a time: the resampling kinds, the max kinds' backward, and whatever the
// vector path leaves (a block's edges, tables too large to build). Its order
// of taps and additions is the one the vector path keeps.
#include "kernels/pool/window_detail.h"

#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include "kernels/movement/convert.h"

namespace accel::kernels {

namespace {


// The taps of one output along one axis: start + i * step for i < count,
// those in [lo, hi) read.
struct Taps {
  int64_t start, count, step, lo, hi;
};

Taps taps_of(const PoolSpec& p, int d, int64_t o, int64_t extent) {
  if (detail::is_adaptive(p.kind)) {
    const int64_t lo = p.axis[d].lo[o], hi = p.axis[d].hi[o];
    return {lo, hi - lo, 1, lo, hi};
  }
  return {o * p.stride[d] - p.pad[d], p.kernel[d], p.dil[d], 0, extent};
}

// An avg window along one axis: its clipped [start, end) and the padded
// extent avg_pool2d divides by (adaptive windows: no padding).
struct Span {
  int64_t start, end, padded;
};

Span avg_span(const PoolSpec& p, int d, int64_t o, int64_t extent) {
  if (detail::is_adaptive(p.kind)) {
    const int64_t lo = p.axis[d].lo[o], hi = p.axis[d].hi[o];
    return {lo, hi, hi - lo};
  }
  int64_t start = o * p.stride[d] - p.pad[d];
  int64_t end = std::min(start + p.kernel[d], extent + p.pad[d]);
  const int64_t padded = end - start;
  return {std::max<int64_t>(start, 0), std::min(end, extent), padded};
}

int64_t avg_divisor(const PoolSpec& p, const Span& h, const Span& w) {
  if (p.divisor) return p.divisor;
  return p.count_include_pad ? h.padded * w.padded : (h.end - h.start) * (w.end - w.start);
}

// ATen's rule: NaN wins, ties keep the first tap in (row, column) order.
template <class T>
void max_outputs(const PoolSpec& p, const Plane& in, const Plane& out, const Plane* idx, int64_t o0,
                 int64_t o1) {
  const T* src = static_cast<const T*>(in.data);
  T* dst = static_cast<T*>(out.data);
  int64_t* ix = idx ? static_cast<int64_t*>(idx->data) : nullptr;
  for (int64_t o = o0; o < o1; ++o) {
    const int64_t oh = o / out.W, ow = o % out.W;
    const Taps th = taps_of(p, 0, oh, in.H), tw = taps_of(p, 1, ow, in.W);
    float best = -std::numeric_limits<float>::infinity();
    int64_t arg = -1;
    for (int64_t i = 0; i < th.count; ++i) {
      const int64_t ih = th.start + i * th.step;
      if (ih < th.lo || ih >= th.hi) continue;
      for (int64_t j = 0; j < tw.count; ++j) {
        const int64_t iw = tw.start + j * tw.step;
        if (iw < tw.lo || iw >= tw.hi) continue;
        const float v = static_cast<float>(src[ih * in.sh + iw * in.sw]);
        if (arg < 0 || v > best || std::isnan(v)) {
          best = v;
          arg = ih * in.W + iw;
        }
      }
    }
    dst[oh * out.sh + ow * out.sw] = static_cast<T>(best);
    if (ix) ix[oh * idx->sh + ow * idx->sw] = arg;
  }
}

template <class T>
void avg_outputs(const PoolSpec& p, const Plane& in, const Plane& out, int64_t o0, int64_t o1) {
  const T* src = static_cast<const T*>(in.data);
  T* dst = static_cast<T*>(out.data);
  for (int64_t o = o0; o < o1; ++o) {
    const int64_t oh = o / out.W, ow = o % out.W;
    const Span h = avg_span(p, 0, oh, in.H), w = avg_span(p, 1, ow, in.W);
    float sum = 0;
    for (int64_t ih = h.start; ih < h.end; ++ih)
      for (int64_t iw = w.start; iw < w.end; ++iw) sum += static_cast<float>(src[ih * in.sh + iw * in.sw]);
    const float result =
        h.start >= h.end || w.start >= w.end ? 0.f : sum / static_cast<float>(avg_divisor(p, h, w));
    dst[oh * out.sh + ow * out.sw] = static_cast<T>(result);
  }
}

template <class T>
void resample_outputs(const PoolSpec& p, const Plane& in, const Plane& out, int64_t o0, int64_t o1) {
  const T* src = static_cast<const T*>(in.data);
  T* dst = static_cast<T*>(out.data);
  auto at = [&](int64_t ih, int64_t iw) { return static_cast<float>(src[ih * in.sh + iw * in.sw]); };
  const AxisTable &ah = p.axis[0], &aw = p.axis[1];
  for (int64_t o = o0; o < o1; ++o) {
    const int64_t oh = o / out.W, ow = o % out.W;
    float result;
    if (p.kind == PoolKind::Nearest) {
      result = at(ah.lo[oh], aw.lo[ow]);
    } else {
      const float lh = ah.w1[oh], lw = aw.w1[ow];
      result = (1 - lh) * ((1 - lw) * at(ah.lo[oh], aw.lo[ow]) + lw * at(ah.lo[oh], aw.hi[ow])) +
               lh * ((1 - lw) * at(ah.hi[oh], aw.lo[ow]) + lw * at(ah.hi[oh], aw.hi[ow]));
    }
    dst[oh * out.sh + ow * out.sw] = static_cast<T>(result);
  }
}

template <class T>
void forward_typed(const PoolSpec& p, const Plane& in, const Plane& out, const Plane* idx, int64_t o0,
                   int64_t o1) {
  switch (p.kind) {
    case PoolKind::Max:
    case PoolKind::AdaptiveMax: return max_outputs<T>(p, in, out, idx, o0, o1);
    case PoolKind::Avg:
    case PoolKind::AdaptiveAvg: return avg_outputs<T>(p, in, out, o0, o1);
    case PoolKind::Nearest:
    case PoolKind::Bilinear: return resample_outputs<T>(p, in, out, o0, o1);
  }
}

// Window sums and maxima scatter in output order, so an input shared by
// several windows accumulates its gradients in the order ATen's CPU adds them.
template <class T>
void scatter_plane(const PoolSpec& p, const Plane& go, const Plane* idx, float* acc, int64_t W,
                   const std::vector<Span>& rows, const std::vector<Span>& cols) {
  const T* g = static_cast<const T*>(go.data);
  switch (p.kind) {
    case PoolKind::Max:
    case PoolKind::AdaptiveMax: {
      const int64_t* ix = static_cast<const int64_t*>(idx->data);
      if (go.dense() && idx->dense()) {
        for (int64_t o = 0, n = go.H * go.W; o < n; ++o)
          if (const int64_t i = ix[o]; i >= 0) acc[i] += static_cast<float>(g[o]);
        return;
      }
      for (int64_t oh = 0; oh < go.H; ++oh)
        for (int64_t ow = 0; ow < go.W; ++ow)
          if (const int64_t i = ix[oh * idx->sh + ow * idx->sw]; i >= 0)
            acc[i] += static_cast<float>(g[oh * go.sh + ow * go.sw]);
      return;
    }
    case PoolKind::Avg:
    case PoolKind::AdaptiveAvg:
      for (int64_t oh = 0; oh < go.H; ++oh) {
        const Span& h = rows[oh];
        for (int64_t ow = 0; ow < go.W; ++ow) {
          const Span& w = cols[ow];
          const float share = static_cast<float>(g[oh * go.sh + ow * go.sw]) /
                              static_cast<float>(avg_divisor(p, h, w));
          for (int64_t ih = h.start; ih < h.end; ++ih)
            for (int64_t iw = w.start; iw < w.end; ++iw) acc[ih * W + iw] += share;
        }
      }
      return;
    case PoolKind::Nearest:
      for (int64_t oh = 0; oh < go.H; ++oh)
        for (int64_t ow = 0; ow < go.W; ++ow)
          acc[p.axis[0].lo[oh] * W + p.axis[1].lo[ow]] += static_cast<float>(g[oh * go.sh + ow * go.sw]);
      return;
    case PoolKind::Bilinear:
      for (int64_t oh = 0; oh < go.H; ++oh)
        for (int64_t ow = 0; ow < go.W; ++ow) {
          const float v = static_cast<float>(g[oh * go.sh + ow * go.sw]);
          const int64_t h0 = p.axis[0].lo[oh], h1 = p.axis[0].hi[oh];
          const int64_t w0 = p.axis[1].lo[ow], w1 = p.axis[1].hi[ow];
          const float lh = p.axis[0].w1[oh], lw = p.axis[1].w1[ow];
          acc[h0 * W + w0] += (1 - lh) * (1 - lw) * v;
          acc[h0 * W + w1] += (1 - lh) * lw * v;
          acc[h1 * W + w0] += lh * (1 - lw) * v;
          acc[h1 * W + w1] += lh * lw * v;
        }
      return;
  }
}

// A plane and dense fp32 rows, converted by the data-movement runs (kernels/movement).
void store_plane(const Plane& dst, const float* acc) {
  const int64_t bytes = engine::dtype_bytes(dst.dtype);
  const char* src = reinterpret_cast<const char*>(acc);
  if (dst.dense())
    return move_run(static_cast<char*>(dst.data), dst.dtype, 1, src, engine::DType::F32, 1, dst.H * dst.W);
  for (int64_t h = 0; h < dst.H; ++h)
    move_run(static_cast<char*>(dst.data) + h * dst.sh * bytes, dst.dtype, dst.sw, src + h * dst.W * sizeof(float),
             engine::DType::F32, 1, dst.W);
}

// Planes [nc0, nc1), T being grad_out's type. An fp32 plane stored densely
// accumulates in place; others accumulate a chunk of planes in fp32, then
// store it.
template <class T>
void backward_typed(const PoolSpec& p, const PlaneBatch& grad_out, const PlaneBatch* idx,
                    const PlaneBatch& grad_in, int64_t nc0, int64_t nc1) {
  const int64_t H = grad_in.H, W = grad_in.W, area = H * W;
  std::vector<Span> rows, cols;
  if (p.kind == PoolKind::Avg || p.kind == PoolKind::AdaptiveAvg) {
    for (int64_t oh = 0; oh < grad_out.H; ++oh) rows.push_back(avg_span(p, 0, oh, H));
    for (int64_t ow = 0; ow < grad_out.W; ++ow) cols.push_back(avg_span(p, 1, ow, W));
  }
  const bool in_place = grad_in.dtype == engine::DType::F32 && grad_in.sw == 1 && grad_in.sh == W;
  const bool stacked = grad_in.stacked();
  const bool dense = in_place && stacked;  // one memset
  const int64_t chunk_planes = std::max<int64_t>(1, (int64_t{1} << 14) / std::max<int64_t>(area, 1));
  const int64_t chunk = in_place ? nc1 - nc0 : chunk_planes;
  auto flat = [&](const PlaneBatch& t) {
    return t.sw == 1 && t.sh == grad_out.W && t.planes_uniform();
  };
  const bool run_scatter = idx && (p.kind == PoolKind::Max || p.kind == PoolKind::AdaptiveMax) &&
                           flat(grad_out) && flat(*idx) && (dense || !in_place);
  // Large planes clear a band of rows just before their windows' outputs add
  // into it, while it is in cache, instead of in a pass of their own.
  const bool banded = run_scatter && dense && area >= 4096;
  std::vector<int64_t> reach;  // per output row: elements its windows (and those above) may touch
  if (banded)
    for (int64_t oh = 0, most = 0; oh < grad_out.H; ++oh) {
      const Taps t = taps_of(p, 0, oh, H);
      most = std::max(most, std::clamp<int64_t>(t.start + (t.count - 1) * t.step + 1, 0, H) * W);
      reach.push_back(most);
    }
  thread_local std::vector<float> scratch;
  if (!in_place && static_cast<int64_t>(scratch.size()) < chunk * area) scratch.resize(chunk * area);
  for (int64_t c0 = nc0; c0 < nc1; c0 += chunk) {
    const int64_t c1 = std::min(nc1, c0 + chunk);
    if (dense && !banded) std::memset(grad_in.plane(c0).data, 0, (c1 - c0) * area * sizeof(float));
    if (!in_place) std::memset(scratch.data(), 0, (c1 - c0) * area * sizeof(float));
    if (run_scatter) {
      // The planes' gradients, indices and accumulators each one after another.
      const T* g = static_cast<const T*>(grad_out.plane(c0).data);
      const int64_t* ix = static_cast<const int64_t*>(idx->plane(c0).data);
      float* acc = dense ? static_cast<float*>(grad_in.plane(c0).data) : scratch.data();
      const int64_t outputs = grad_out.H * grad_out.W;
      if (banded) {
        for (int64_t nc = c0; nc < c1; ++nc, g += grad_out.sc, ix += idx->sc, acc += area) {
          int64_t zeroed = 0;
          for (int64_t oh = 0, o = 0; oh < grad_out.H; ++oh) {
            if (reach[oh] > zeroed) std::memset(acc + zeroed, 0, (reach[oh] - zeroed) * sizeof(float));
            zeroed = std::max(zeroed, reach[oh]);
            for (int64_t ow = 0; ow < grad_out.W; ++ow, ++o)
              if (const int64_t i = ix[o]; i >= 0) {
                if (i >= zeroed) {  // an index outside its window: clear the rest first
                  std::memset(acc + zeroed, 0, (area - zeroed) * sizeof(float));
                  zeroed = area;
                }
                acc[i] += static_cast<float>(g[o]);
              }
          }
          if (zeroed < area) std::memset(acc + zeroed, 0, (area - zeroed) * sizeof(float));
        }
        continue;
      }
      auto planes = [&](auto fixed) {  // fixed: the outputs per plane known when compiled, or 0
        const int64_t count = fixed ? fixed : outputs;
        for (int64_t nc = c0; nc < c1; ++nc, g += grad_out.sc, ix += idx->sc, acc += area)
          for (int64_t o = 0; o < count; ++o)
            if (const int64_t i = ix[o]; i >= 0) acc[i] += static_cast<float>(g[o]);
      };
      // The small CNNs' planes: 2x2 and 4x4 outputs.
      if (outputs == 4) planes(std::integral_constant<int64_t, 4>{});
      else if (outputs == 16) planes(std::integral_constant<int64_t, 16>{});
      else planes(std::integral_constant<int64_t, 0>{});
    } else {
      for (int64_t n = c0 / grad_in.C, c = c0 % grad_in.C, nc = c0; nc < c1; ++nc) {
        float* acc = in_place ? static_cast<float*>(grad_in.plane(n, c).data) : &scratch[(nc - c0) * area];
        if (in_place && !dense) std::memset(acc, 0, area * sizeof(float));
        const Plane ix = idx ? idx->plane(n, c) : Plane{};
        scatter_plane<T>(p, grad_out.plane(n, c), idx ? &ix : nullptr, acc, W, rows, cols);
        if (++c == grad_in.C) c = 0, ++n;
      }
    }
    if (!in_place && stacked) {  // the chunk's planes as one tall plane
      store_plane({grad_in.plane(c0).data, grad_in.dtype, W, 1, (c1 - c0) * H, W}, scratch.data());
    } else if (!in_place) {
      for (int64_t n = c0 / grad_in.C, c = c0 % grad_in.C, nc = c0; nc < c1; ++nc) {
        store_plane(grad_in.plane(n, c), &scratch[(nc - c0) * area]);
        if (++c == grad_in.C) c = 0, ++n;
      }
    }
  }
}

}  // namespace

namespace detail {
void plane_to_fp32(const Plane& in, float* dst) {
  const int64_t bytes = engine::dtype_bytes(in.dtype);
  char* out = reinterpret_cast<char*>(dst);
  if (in.dense())
    return move_run(out, engine::DType::F32, 1, static_cast<const char*>(in.data), in.dtype, 1, in.H * in.W);
  for (int64_t h = 0; h < in.H; ++h)
    move_run(out + h * in.W * sizeof(float), engine::DType::F32, 1,
             static_cast<const char*>(in.data) + h * in.sh * bytes, in.dtype, in.sw, in.W);
}

int64_t avg_divisor_at(const PoolSpec& p, int64_t oh, int64_t ow, int64_t H, int64_t W, bool* empty) {
  const Span h = avg_span(p, 0, oh, H), w = avg_span(p, 1, ow, W);
  *empty = h.start >= h.end || w.start >= w.end;
  return avg_divisor(p, h, w);
}

void forward_scalar(const PoolSpec& p, const Plane& in, const Plane& out, const Plane* idx, int64_t o0,
                    int64_t o1) {
  ACCEL_FLOAT_DISPATCH(in.dtype, "pool kernels", forward_typed, p, in, out, idx, o0, o1)
}
}  // namespace detail

void pool_backward(const PoolSpec& p, const WindowPlan& plan, const PlaneBatch& grad_out,
                   const PlaneBatch* idx, const PlaneBatch& grad_in, int64_t nc0, int64_t nc1) {
  if (nc0 >= nc1) return;
  if (plan.vector) return detail::avg_backward_blocks(plan, grad_out, grad_in, nc0, nc1);
  ACCEL_FLOAT_DISPATCH(grad_out.dtype, "pool kernels", backward_typed, p, grad_out, idx, grad_in, nc0, nc1)
}

}  // namespace accel::kernels
