#include "kernels/conv/im2col.h"

#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <algorithm>
#include <cstring>

#include "kernels/float_dispatch.h"

namespace accel::kernels {
namespace {

// Source coordinate of (o, tap) or -1 when the window misses the map.
inline int64_t source(const Window& w, int64_t o, int64_t tap, int64_t extent) {
  int64_t num = o * w.stride + w.offset + tap * w.dilation;
  if (w.up != 1) {
    if (num < 0 || num % w.up != 0) return -1;
    num /= w.up;
  }
  return num >= 0 && num < extent ? num : -1;
}

template <class T>
inline void load(float* dst, const T* src, int64_t stride, int64_t n) {
  if constexpr (std::is_same_v<T, float>) {
    if (stride == 1 && n >= 32) {  // short runs (small maps) are cheaper inline
      std::memcpy(dst, src, n * sizeof(float));
      return;
    }
  }
  if (stride == 1) {
    for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<float>(src[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<float>(src[i * stride]);
  }
}

// Which columns j of a run ow0 + j along a source row hit it: [lo, hi), the
// first one reading source column `first`; the others are padding.
struct RunHits {
  int64_t lo, hi, first;
};
inline RunHits run_hits(const Window& w, int64_t W, int64_t ow0, int64_t run, int64_t s) {
  const int64_t a = ow0 * w.stride + w.offset + s * w.dilation;  // source of j = 0
  const int64_t st = w.stride;
  int64_t lo = a >= 0 ? 0 : (-a + st - 1) / st;
  int64_t hi = a > W - 1 ? 0 : std::min(run, (W - 1 - a) / st + 1);
  lo = std::min(lo, run);
  hi = std::max(hi, lo);
  return {lo, hi, a + lo * st};
}

// One run of output columns along a source row: zeros where the taps miss, a
// strided load where they hit.
template <class T>
void gather_run(const Im2col& g, const T* row, const RunHits& h, int64_t run, float* dst) {
  std::fill(dst, dst + h.lo, 0.f);
  load(dst + h.lo, row + h.first * g.sw, g.ww.stride * g.sw, h.hi - h.lo);
  std::fill(dst + h.hi, dst + run, 0.f);
}

// The same for a strided-up window (the input gradient), column by column.
template <class T>
void gather_run_up(const Im2col& g, const T* row, int64_t ow0, int64_t run, int64_t s, float* dst) {
  for (int64_t j = 0; j < run; ++j) {
    const int64_t iw = source(g.ww, ow0 + j, s, g.W);
    dst[j] = iw < 0 ? 0.f : static_cast<float>(row[iw * g.sw]);
  }
}

// Column k of the block walks the pixels row run by row run; the pixel
// counters advance without divisions, and a whole output row's hits are
// worked out once per column (small maps have many short rows).
template <class T>
void gather_tap_major(const Im2col& g, int64_t m0, int64_t mb, int64_t k0, int64_t kb, float* dst) {
  const T* base = static_cast<const T*>(g.data);
  for (int64_t k = k0; k < k0 + kb; ++k) {
    int64_t c, t, r, s;
    decode_col(g, k, c, t, r, s);
    const RunHits full_row = run_hits(g.ww, g.W, 0, g.OW, s);
    const T* channel = base + (g.c0 + c) * g.sc;
    float* out = dst + (k - k0) * mb;
    Pixel p = decode_pixel(m0, g.OD, g.OH, g.OW);
    for (int64_t m = m0; m < m0 + mb;) {
      const int64_t run = std::min(m0 + mb - m, g.OW - p.ow);
      const int64_t id = source(g.wd, p.od, t, g.D), ih = source(g.wh, p.oh, r, g.H);
      if (id < 0 || ih < 0) {
        std::fill(out, out + run, 0.f);
      } else {
        const T* row = channel + p.n * g.sn + id * g.sd + ih * g.sh;
        if (g.ww.up != 1) gather_run_up(g, row, p.ow, run, s, out);
        else if (p.ow == 0 && run == g.OW) gather_run(g, row, full_row, run, out);
        else gather_run(g, row, run_hits(g.ww, g.W, p.ow, run, s), run, out);
      }
      out += run;
      m += run;
      p.ow = 0;
      if (++p.oh == g.OH) {
        p.oh = 0;
        if (++p.od == g.OD) {
          p.od = 0;
          ++p.n;
        }
      }
    }
  }
}

template <class T>
void gather_pixel_major(const Im2col& g, int64_t m0, int64_t mb, int64_t k0, int64_t kb, float* dst) {
  const T* base = static_cast<const T*>(g.data);
  for (int64_t m = m0; m < m0 + mb; ++m) {
    const Pixel p = decode_pixel(m, g.OD, g.OH, g.OW);
    float* out = dst + (m - m0) * kb;
    int64_t k = k0;
    while (k < k0 + kb) {
      int64_t c, t, r, s;
      decode_col(g, k, c, t, r, s);
      const int64_t run = std::min(k0 + kb - k, g.C - c);
      const int64_t id = source(g.wd, p.od, t, g.D), ih = source(g.wh, p.oh, r, g.H);
      const int64_t iw = source(g.ww, p.ow, s, g.W);
      if (id < 0 || ih < 0 || iw < 0) std::fill(out, out + run, 0.f);
      else load(out, base + p.n * g.sn + id * g.sd + ih * g.sh + iw * g.sw + (g.c0 + c) * g.sc, g.sc, run);
      out += run;
      k += run;
    }
  }
}

template <class T>
void gather_typed(const Im2col& g, int64_t m0, int64_t mb, int64_t k0, int64_t kb, float* dst) {
  if (g.channels_inner) gather_pixel_major<T>(g, m0, mb, k0, kb, dst);
  else gather_tap_major<T>(g, m0, mb, k0, kb, dst);
}

}  // namespace

void gather_im2col(const Im2col& g, int64_t m0, int64_t mb, int64_t k0, int64_t kb, float* dst) {
  ACCEL_FLOAT_DISPATCH(g.dtype, "conv reader", gather_typed, g, m0, mb, k0, kb, dst)
}

}  // namespace accel::kernels
