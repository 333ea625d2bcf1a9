#include "kernels/pool/window.h"

#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

namespace accel::kernels {
namespace {

// A max/avg window along one axis: first tap, taps, and the padded extent
// avg_pool2d divides by.
struct Span {
  int64_t start, end, padded;
};

Span avg_span(const PoolSpec& p, int d, int64_t o, int64_t extent) {
  int64_t start = o * p.stride[d] - p.pad[d];
  int64_t end = std::min(start + p.kernel[d], extent + p.pad[d]);
  const int64_t padded = end - start;
  return {std::max<int64_t>(start, 0), std::min(end, extent), padded};
}

// max_pool2d a row of outputs at a time, tap by tap across the row: the
// iterations over ow are independent, so the compare-and-take compiles to
// selects (per output it is a chain whose branch mispredicts on random data).
// Taps are visited in the same (i, j) order per output as forward_typed's.
template <class T>
void max_rows(const PoolSpec& p, const Plane& in, const Plane& out, const Plane* idx, int64_t o0,
              int64_t o1) {
  const T* src = static_cast<const T*>(in.data);
  T* dst = static_cast<T*>(out.data);
  int64_t* ix = idx ? static_cast<int64_t*>(idx->data) : nullptr;
  thread_local std::vector<float> best;
  thread_local std::vector<int64_t> arg;
  for (int64_t o = o0; o < o1;) {
    const int64_t oh = o / out.W, a = o % out.W, b = std::min(out.W, a + (o1 - o));
    const int64_t n = b - a;
    best.assign(n, -std::numeric_limits<float>::infinity());
    arg.assign(n, -1);
    float* res = best.data();
    int64_t* at = arg.data();
    for (int64_t i = 0; i < p.kernel[0]; ++i) {
      const int64_t ih = oh * p.stride[0] - p.pad[0] + i * p.dil[0];
      if (ih < 0 || ih >= in.H) continue;
      const T* row = src + ih * in.sh;
      for (int64_t j = 0; j < p.kernel[1]; ++j) {
        // The outputs whose tap j lands inside the row: ow in [lo, hi).
        const int64_t off = j * p.dil[1] - p.pad[1], st = p.stride[1];
        int64_t lo = a, hi = b;
        while (lo < hi && lo * st + off < 0) ++lo;
        while (hi > lo && (hi - 1) * st + off >= in.W) --hi;
        for (int64_t ow = lo; ow < hi; ++ow) {
          const int64_t iw = ow * st + off;
          const float v = static_cast<float>(row[iw * in.sw]);
          const int64_t k = ow - a;
          // NaN wins, ties keep the first. Blended with masks: GCC keeps a
          // ternary as a branch, which mispredicts half the time on random data.
          const bool take = (at[k] < 0) | (v > res[k]) | (v != v);
          const uint32_t keep32 = uint32_t(take) - 1u;  // all ones: keep the old
          const uint64_t keep64 = uint64_t(take) - 1u;
          res[k] = std::bit_cast<float>((std::bit_cast<uint32_t>(res[k]) & keep32) |
                                        (std::bit_cast<uint32_t>(v) & ~keep32));
          at[k] = int64_t((uint64_t(at[k]) & keep64) | (uint64_t(ih * in.W + iw) & ~keep64));
        }
      }
    }
    for (int64_t k = 0; k < n; ++k) {
      dst[oh * out.sh + (a + k) * out.sw] = static_cast<T>(res[k]);
      if (ix) ix[oh * idx->sh + (a + k) * idx->sw] = at[k];
    }
    o += n;
  }
}

template <class T>
void forward_typed(const PoolSpec& p, const Plane& in, const Plane& out, const Plane* idx, int64_t o0,
                   int64_t o1) {
  if (p.kind == PoolKind::Max) return max_rows<T>(p, in, out, idx, o0, o1);
  const T* src = static_cast<const T*>(in.data);
  T* dst = static_cast<T*>(out.data);
  int64_t* ix = idx ? static_cast<int64_t*>(idx->data) : nullptr;
  for (int64_t o = o0; o < o1; ++o) {
    const int64_t oh = o / out.W, ow = o % out.W;
    float result = 0;
    int64_t arg = -1;
    switch (p.kind) {
      case PoolKind::Max: break;  // max_rows, above
      case PoolKind::AdaptiveMax: {
        result = -std::numeric_limits<float>::infinity();
        for (int64_t ih = p.axis[0].lo[oh]; ih < p.axis[0].hi[oh]; ++ih)
          for (int64_t iw = p.axis[1].lo[ow]; iw < p.axis[1].hi[ow]; ++iw) {
            const float v = static_cast<float>(src[ih * in.sh + iw * in.sw]);
            if (arg < 0 || v > result || std::isnan(v)) {  // ATen's rule: NaN wins, ties keep the first
              result = v;
              arg = ih * in.W + iw;
            }
          }
        break;
      }
      case PoolKind::Avg: {
        const Span h = avg_span(p, 0, oh, in.H), w = avg_span(p, 1, ow, in.W);
        float sum = 0;
        for (int64_t ih = h.start; ih < h.end; ++ih)
          for (int64_t iw = w.start; iw < w.end; ++iw) sum += static_cast<float>(src[ih * in.sh + iw * in.sw]);
        const int64_t div = p.divisor ? p.divisor
                            : p.count_include_pad ? h.padded * w.padded
                                                  : (h.end - h.start) * (w.end - w.start);
        result = h.start >= h.end || w.start >= w.end ? 0.f : sum / static_cast<float>(div);
        break;
      }
      case PoolKind::AdaptiveAvg: {
        const int64_t hs = p.axis[0].lo[oh], he = p.axis[0].hi[oh];
        const int64_t ws = p.axis[1].lo[ow], we = p.axis[1].hi[ow];
        float sum = 0;
        for (int64_t ih = hs; ih < he; ++ih)
          for (int64_t iw = ws; iw < we; ++iw) sum += static_cast<float>(src[ih * in.sh + iw * in.sw]);
        result = sum / static_cast<float>((he - hs) * (we - ws));
        break;
      }
      case PoolKind::Nearest:
        result = static_cast<float>(src[p.axis[0].lo[oh] * in.sh + p.axis[1].lo[ow] * in.sw]);
        break;
      case PoolKind::Bilinear: {
        const int64_t h0 = p.axis[0].lo[oh], h1 = p.axis[0].hi[oh];
        const int64_t w0 = p.axis[1].lo[ow], w1 = p.axis[1].hi[ow];
        const float lh = p.axis[0].w1[oh], lw = p.axis[1].w1[ow];
        auto at = [&](int64_t ih, int64_t iw) { return static_cast<float>(src[ih * in.sh + iw * in.sw]); };
        result = (1 - lh) * ((1 - lw) * at(h0, w0) + lw * at(h0, w1)) +
                 lh * ((1 - lw) * at(h1, w0) + lw * at(h1, w1));
        break;
      }
    }
    dst[oh * out.sh + ow * out.sw] = static_cast<T>(result);
    if (ix) ix[oh * idx->sh + ow * idx->sw] = arg;
  }
}

template <class T>
void backward_typed(const PoolSpec& p, const Plane& go, const Plane* idx, float* acc, int64_t H,
                    int64_t W) {
  const T* g = static_cast<const T*>(go.data);
  const int64_t* ix = idx ? static_cast<const int64_t*>(idx->data) : nullptr;
  for (int64_t oh = 0; oh < go.H; ++oh)
    for (int64_t ow = 0; ow < go.W; ++ow) {
      const int64_t at = oh * go.sh + ow * go.sw;
      const float v = static_cast<float>(g[at]);
      switch (p.kind) {
        case PoolKind::Max:
        case PoolKind::AdaptiveMax:
          if (const int64_t i = ix[oh * idx->sh + ow * idx->sw]; i >= 0) acc[i] += v;
          break;
        case PoolKind::Avg: {
          const Span h = avg_span(p, 0, oh, H), w = avg_span(p, 1, ow, W);
          const int64_t div = p.divisor ? p.divisor
                              : p.count_include_pad ? h.padded * w.padded
                                                    : (h.end - h.start) * (w.end - w.start);
          const float share = v / static_cast<float>(div);
          for (int64_t ih = h.start; ih < h.end; ++ih)
            for (int64_t iw = w.start; iw < w.end; ++iw) acc[ih * W + iw] += share;
          break;
        }
        case PoolKind::AdaptiveAvg: {
          const int64_t hs = p.axis[0].lo[oh], he = p.axis[0].hi[oh];
          const int64_t ws = p.axis[1].lo[ow], we = p.axis[1].hi[ow];
          const float share = v / static_cast<float>((he - hs) * (we - ws));
          for (int64_t ih = hs; ih < he; ++ih)
            for (int64_t iw = ws; iw < we; ++iw) acc[ih * W + iw] += share;
          break;
        }
        case PoolKind::Nearest:
          acc[p.axis[0].lo[oh] * W + p.axis[1].lo[ow]] += v;
          break;
        case PoolKind::Bilinear: {
          const int64_t h0 = p.axis[0].lo[oh], h1 = p.axis[0].hi[oh];
          const int64_t w0 = p.axis[1].lo[ow], w1 = p.axis[1].hi[ow];
          const float lh = p.axis[0].w1[oh], lw = p.axis[1].w1[ow];
          acc[h0 * W + w0] += (1 - lh) * (1 - lw) * v;
          acc[h0 * W + w1] += (1 - lh) * lw * v;
          acc[h1 * W + w0] += lh * (1 - lw) * v;
          acc[h1 * W + w1] += lh * lw * v;
          break;
        }
      }
    }
}

template <class T>
void store_typed(const Plane& dst, const float* acc) {
  T* d = static_cast<T*>(dst.data);
  for (int64_t h = 0; h < dst.H; ++h)
    for (int64_t w = 0; w < dst.W; ++w) d[h * dst.sh + w * dst.sw] = static_cast<T>(acc[h * dst.W + w]);
}

}  // namespace

#define ACCEL_POOL_DISPATCH(dt, fn, ...)                                 \
  switch (dt) {                                                          \
    case engine::DType::F32: return fn<float>(__VA_ARGS__);              \
    case engine::DType::BF16: return fn<c10::BFloat16>(__VA_ARGS__);     \
    case engine::DType::F16: return fn<c10::Half>(__VA_ARGS__);          \
    default: throw std::domain_error("pool kernels: unsupported dtype"); \
  }

void pool_forward(const PoolSpec& p, const Plane& in, const Plane& out, const Plane* idx, int64_t o0,
                  int64_t o1) {
  ACCEL_POOL_DISPATCH(in.dtype, forward_typed, p, in, out, idx, o0, o1)
}

void pool_backward(const PoolSpec& p, const Plane& grad_out, const Plane* idx, float* acc,
                   int64_t H, int64_t W) {
  ACCEL_POOL_DISPATCH(grad_out.dtype, backward_typed, p, grad_out, idx, acc, H, W)
}

void store_plane(const Plane& dst, const float* acc) {
  ACCEL_POOL_DISPATCH(dst.dtype, store_typed, dst, acc)
}

}  // namespace accel::kernels
