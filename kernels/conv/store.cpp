#include "kernels/conv/store.h"

#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "kernels/float_dispatch.h"
#include "kernels/matmul/epilogue.h"

namespace accel::kernels {
namespace {

// The per-channel part of the epilogue on n values: channel c's (per_channel)
// or one pixel's channels c, c+1, ... (else). Each step rounds to fp32 as the
// separate element-wise op would.
void affine_run(const FeatureOut& o, const float* src, float* v, int64_t n, int64_t c, bool per_channel) {
  if (per_channel) {
    // One pass (a channel's run is short: three passes cost more in loop
    // overhead than in arithmetic); still one fp32 rounding per step.
    const float b = o.bias ? o.bias[c] : 0.f, s = o.scale ? o.scale[c] : 1.f;
    const float t = o.shift ? o.shift[c] : 0.f;
    const bool with_bias = o.bias, with_scale = o.scale, with_shift = o.shift;
    for (int64_t i = 0; i < n; ++i) {
      float x = src[i];
      if (with_bias) x += b;
      if (with_scale) x *= s;
      if (with_shift) x += t;
      v[i] = x;
    }
    return;
  }
  if (o.bias) for (int64_t i = 0; i < n; ++i) v[i] = src[i] + o.bias[c + i];
  else std::copy(src, src + n, v);
  if (o.scale) for (int64_t i = 0; i < n; ++i) v[i] *= o.scale[c + i];
  if (o.shift) for (int64_t i = 0; i < n; ++i) v[i] += o.shift[c + i];
}

// v[i] += the residual's n values from res, `stride` elements apart.
void add_residual(const FeatureOut& o, float* v, int64_t n, const void* res, int64_t stride) {
  if (o.residual_dtype == engine::DType::F32) {
    const float* r = static_cast<const float*>(res);
    for (int64_t i = 0; i < n; ++i) v[i] += r[i * stride];
    return;
  }
  thread_local std::vector<float> widened;
  widened.resize(n);
  float* const r = widened.data();
  load_float_row(r, res, o.residual_dtype, stride, n);
  for (int64_t i = 0; i < n; ++i) v[i] += r[i];
}

// The element of the residual map at pixel p, channel c.
const void* residual_at(const FeatureOut& o, const Pixel& p, int64_t c) {
  const int64_t off = p.n * o.rn + c * o.rc + p.od * o.rd + p.oh * o.rh + p.ow * o.rw;
  return static_cast<const char*>(o.residual) + off * engine::dtype_bytes(o.residual_dtype);
}

// A block's runs of pixels of one image that are evenly spaced in the output
// (and the residual): f(first pixel m, run length, decoded pixel). Where the
// image's rows follow each other, a run spans the image, else one row.
template <class F>
void for_runs(const FeatureOut& o, int64_t m0, int64_t mb, F f) {
  const bool one_deep = o.OD == 1;  // a 2-D map: its depth stride is never stepped
  const bool flat = o.sh == o.OW * o.sw && (one_deep || o.sd == o.OH * o.sh) &&
                    (!o.residual || (o.rh == o.OW * o.rw && (one_deep || o.rd == o.OH * o.rh)));
  const int64_t span = flat ? o.OD * o.OH * o.OW : o.OW;
  for (int64_t m = m0; m < m0 + mb;) {
    const Pixel p = decode_pixel(m, o.OD, o.OH, o.OW);
    const int64_t at = flat ? (p.od * o.OH + p.oh) * o.OW + p.ow : p.ow;
    const int64_t run = std::min(m0 + mb - m, span - at);
    f(m - m0, run, p);
    m += run;
  }
}

// store_typed with the epilogue: the block goes through an fp32 buffer, the
// activation (the element-wise op's own tile kernel, matmul_epilogue_row)
// runs once over all of it.
void store_with_epilogue(const FeatureOut& o, const float* acc, bool channel_major, int64_t m0,
                         int64_t mb, int64_t n0, int64_t nb) {
  thread_local std::vector<float> buffer;
  buffer.resize(mb * nb);
  float* const v = buffer.data();  // once: each thread_local access is a call
  const int64_t elem = engine::dtype_bytes(o.dtype);
  char* base = static_cast<char*>(o.data);
  const int64_t c0 = o.c0 + n0;
  auto out_at = [&](const Pixel& p, int64_t c) {
    return base + (p.n * o.sn + c * o.sc + p.od * o.sd + p.oh * o.sh + p.ow * o.sw) * elem;
  };
  auto store = [&](char* dst, int64_t stride, const float* src, int64_t n) {
    if (o.dtype == engine::DType::F32 && stride == 1) std::memcpy(dst, src, n * sizeof(float));
    else store_float_row(dst, o.dtype, stride, src, n);
  };
  // A whole image of fp32 channel planes that follow each other: the epilogue
  // writes the output itself, with no buffer and no copy per channel run.
  const int64_t image = o.OD * o.OH * o.OW;
  if (channel_major && !o.residual && o.dtype == engine::DType::F32 && o.sw == 1 && o.sh == o.OW &&
      (o.OD == 1 || o.sd == o.OH * o.OW) && o.sc == image && mb == image && m0 % image == 0) {
    float* planes = static_cast<float*>(o.data) + (m0 / image) * o.sn + c0 * o.sc;
    for (int64_t j = 0; j < nb; ++j) affine_run(o, acc + j * mb, planes + j * mb, mb, c0 + j, true);
    matmul_epilogue_row(planes, nullptr, mb * nb, 1.f, 0.f, o.act);
    return;
  }
  if (channel_major) {
    for (int64_t j = 0; j < nb; ++j) affine_run(o, acc + j * mb, v + j * mb, mb, c0 + j, true);
    if (o.residual)
      for_runs(o, m0, mb, [&](int64_t i, int64_t run, const Pixel& p) {
        for (int64_t j = 0; j < nb; ++j) add_residual(o, v + j * mb + i, run, residual_at(o, p, c0 + j), o.rw);
      });
    matmul_epilogue_row(v, nullptr, mb * nb, 1.f, 0.f, o.act);
    for_runs(o, m0, mb, [&](int64_t i, int64_t run, const Pixel& p) {
      char* dst = out_at(p, c0);
      for (int64_t j = 0; j < nb; ++j) store(dst + j * o.sc * elem, o.sw, v + j * mb + i, run);
    });
    return;
  }
  for (int64_t i = 0; i < mb; ++i) affine_run(o, acc + i * nb, v + i * nb, nb, c0, false);
  if (o.residual)
    for (int64_t i = 0; i < mb; ++i)
      add_residual(o, v + i * nb, nb, residual_at(o, decode_pixel(m0 + i, o.OD, o.OH, o.OW), c0), o.rc);
  matmul_epilogue_row(v, nullptr, mb * nb, 1.f, 0.f, o.act);
  for (int64_t i = 0; i < mb; ++i)
    store(out_at(decode_pixel(m0 + i, o.OD, o.OH, o.OW), c0), o.sc, v + i * nb, nb);
}

template <class T>
void store_typed(const FeatureOut& o, const float* acc, bool channel_major, int64_t m0, int64_t mb,
                 int64_t n0, int64_t nb) {
  if (o.has_epilogue()) return store_with_epilogue(o, acc, channel_major, m0, mb, n0, nb);
  T* base = static_cast<T*>(o.data);
  auto bias_of = [&](int64_t j) { return o.bias ? o.bias[o.c0 + n0 + j] : 0.f; };
  if (channel_major) {
    // Runs of evenly spaced pixels (a whole image where its rows follow each
    // other), each decoded once for all the block's channels.
    for_runs(o, m0, mb, [&](int64_t i0, int64_t run, const Pixel& p) {
      T* at_pixel = base + p.n * o.sn + p.od * o.sd + p.oh * o.sh + p.ow * o.sw;
      for (int64_t j = 0; j < nb; ++j) {
        const float b = bias_of(j);
        const float* src = acc + j * mb + i0;
        T* dst = at_pixel + (o.c0 + n0 + j) * o.sc;
        if (o.sw == 1)  // a stride the compiler knows: the loop vectorizes
          for (int64_t i = 0; i < run; ++i) dst[i] = static_cast<T>(src[i] + b);
        else
          for (int64_t i = 0; i < run; ++i) dst[i * o.sw] = static_cast<T>(src[i] + b);
      }
    });
    return;
  }
  for (int64_t i = 0; i < mb; ++i) {
    const Pixel p = decode_pixel(m0 + i, o.OD, o.OH, o.OW);
    T* dst = base + p.n * o.sn + p.od * o.sd + p.oh * o.sh + p.ow * o.sw + (o.c0 + n0) * o.sc;
    const float* src = acc + i * nb;
    for (int64_t j = 0; j < nb; ++j) dst[j * o.sc] = static_cast<T>(src[j] + bias_of(j));
  }
}

template <class T>
void pack_typed(const engine::TensorRef& w, int64_t groups, bool dim0_is_col, const Im2col& cols,
                float* packed) {
  const T* base = static_cast<const T*>(w.data);
  const auto& st = w.strides;
  const int64_t per_group0 = w.sizes[0] / groups;
  const int64_t n_cols = dim0_is_col ? per_group0 : w.sizes[1];
  const int64_t K = cols.cols();
  for (int64_t g = 0; g < groups; ++g)
    for (int64_t j = 0; j < n_cols; ++j) {
      float* dst = packed + (g * n_cols + j) * K;
      for (int64_t k = 0; k < K; ++k) {
        int64_t c, t, r, s;
        decode_col(cols, k, c, t, r, s);
        const int64_t d0 = g * per_group0 + (dim0_is_col ? j : c);
        const int64_t d1 = dim0_is_col ? c : j;
        dst[k] = static_cast<float>(base[d0 * st[0] + d1 * st[1] + t * st[2] + r * st[3] + s * st[4]]);
      }
    }
}

template <class T>
void store_filter_typed(const engine::TensorRef& dw, int64_t a_base, const Im2col& cols,
                        const float* acc, int64_t a0, int64_t ma, int64_t k0, int64_t kb) {
  T* base = static_cast<T*>(dw.data);
  const auto& st = dw.strides;
  for (int64_t k = 0; k < kb; ++k) {
    int64_t c, t, r, s;
    decode_col(cols, k0 + k, c, t, r, s);
    T* dst = base + c * st[1] + t * st[2] + r * st[3] + s * st[4] + (a_base + a0) * st[0];
    for (int64_t a = 0; a < ma; ++a) dst[a * st[0]] = static_cast<T>(acc[a * kb + k]);
  }
}

}  // namespace

void store_block(const FeatureOut& o, const float* acc, bool channel_major, int64_t m0, int64_t mb,
                 int64_t n0, int64_t nb) {
  ACCEL_FLOAT_DISPATCH(o.dtype, "conv kernels", store_typed, o, acc, channel_major, m0, mb, n0, nb)
}

void pack_filter(const engine::TensorRef& w, int64_t groups, bool dim0_is_col, const Im2col& cols,
                 float* packed) {
  ACCEL_FLOAT_DISPATCH(w.dtype, "conv kernels", pack_typed, w, groups, dim0_is_col, cols, packed)
}

void store_filter_block(const engine::TensorRef& dw, int64_t a_base, const Im2col& cols,
                        const float* acc, int64_t a0, int64_t ma, int64_t k0, int64_t kb) {
  ACCEL_FLOAT_DISPATCH(dw.dtype, "conv kernels", store_filter_typed, dw, a_base, cols, acc, a0, ma, k0, kb)
}

}  // namespace accel::kernels
