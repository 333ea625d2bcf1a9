#include "kernels/conv/store.h"

#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <stdexcept>
#include <vector>

#include "kernels/matmul/epilogue.h"

namespace accel::kernels {
namespace {

// The epilogue on n values of one run: channel c's values (per_channel) or
// one pixel's channels c, c+1, ... (else), residual read with `res_stride`.
// Each step rounds to fp32 as the separate element-wise op would, and the
// activation is the element-wise op's own tile kernel (matmul_epilogue_row).
void epilogue_run(const FeatureOut& o, float* v, int64_t n, int64_t c, bool per_channel,
                  const void* res, int64_t res_stride) {
  if (o.scale) {
    if (per_channel) {
      const float s = o.scale[c];
      for (int64_t i = 0; i < n; ++i) v[i] *= s;
    } else {
      for (int64_t i = 0; i < n; ++i) v[i] *= o.scale[c + i];
    }
  }
  if (o.shift) {
    if (per_channel) {
      const float s = o.shift[c];
      for (int64_t i = 0; i < n; ++i) v[i] += s;
    } else {
      for (int64_t i = 0; i < n; ++i) v[i] += o.shift[c + i];
    }
  }
  if (res) {
    thread_local std::vector<float> r;
    r.resize(n);
    load_float_row(r.data(), res, o.residual_dtype, res_stride, n);
    for (int64_t i = 0; i < n; ++i) v[i] += r[i];
  }
  matmul_epilogue_row(v, nullptr, n, 1.f, 0.f, o.act);
}

// The element of the residual map at pixel p, channel c.
const void* residual_at(const FeatureOut& o, const Pixel& p, int64_t c) {
  const int64_t off = p.n * o.rn + c * o.rc + p.od * o.rd + p.oh * o.rh + p.ow * o.rw;
  return static_cast<const char*>(o.residual) + off * engine::dtype_bytes(o.residual_dtype);
}

// store_typed with the epilogue: each run goes through an fp32 buffer.
void store_with_epilogue(const FeatureOut& o, const float* acc, bool channel_major, int64_t m0,
                         int64_t mb, int64_t n0, int64_t nb) {
  thread_local std::vector<float> buf;
  const int64_t elem = engine::dtype_bytes(o.dtype);
  char* base = static_cast<char*>(o.data);
  auto bias_of = [&](int64_t c) { return o.bias ? o.bias[c] : 0.f; };
  if (channel_major) {
    buf.resize(std::min(mb, o.OW));
    for (int64_t j = 0; j < nb; ++j) {
      const int64_t c = o.c0 + n0 + j;
      const float b = bias_of(c);
      const float* src = acc + j * mb;
      int64_t m = m0;
      while (m < m0 + mb) {
        const Pixel p = decode_pixel(m, o.OD, o.OH, o.OW);
        const int64_t run = std::min(m0 + mb - m, o.OW - p.ow);
        if (static_cast<int64_t>(buf.size()) < run) buf.resize(run);
        for (int64_t i = 0; i < run; ++i) buf[i] = o.bias ? src[i] + b : src[i];
        epilogue_run(o, buf.data(), run, c, true, o.residual ? residual_at(o, p, c) : nullptr, o.rw);
        const int64_t at = p.n * o.sn + c * o.sc + p.od * o.sd + p.oh * o.sh + p.ow * o.sw;
        store_float_row(base + at * elem, o.dtype, o.sw, buf.data(), run);
        src += run;
        m += run;
      }
    }
    return;
  }
  buf.resize(nb);
  const int64_t c = o.c0 + n0;
  for (int64_t i = 0; i < mb; ++i) {
    const Pixel p = decode_pixel(m0 + i, o.OD, o.OH, o.OW);
    const float* src = acc + i * nb;
    for (int64_t j = 0; j < nb; ++j) buf[j] = o.bias ? src[j] + o.bias[c + j] : src[j];
    epilogue_run(o, buf.data(), nb, c, false, o.residual ? residual_at(o, p, c) : nullptr, o.rc);
    const int64_t at = p.n * o.sn + c * o.sc + p.od * o.sd + p.oh * o.sh + p.ow * o.sw;
    store_float_row(base + at * elem, o.dtype, o.sc, buf.data(), nb);
  }
}

template <class T>
void store_typed(const FeatureOut& o, const float* acc, bool channel_major, int64_t m0, int64_t mb,
                 int64_t n0, int64_t nb) {
  if (o.has_epilogue()) return store_with_epilogue(o, acc, channel_major, m0, mb, n0, nb);
  T* base = static_cast<T*>(o.data);
  auto bias_of = [&](int64_t j) { return o.bias ? o.bias[o.c0 + n0 + j] : 0.f; };
  if (channel_major) {
    for (int64_t j = 0; j < nb; ++j) {
      const float b = bias_of(j);
      const float* src = acc + j * mb;
      T* ch = base + (o.c0 + n0 + j) * o.sc;
      int64_t m = m0;
      while (m < m0 + mb) {
        const Pixel p = decode_pixel(m, o.OD, o.OH, o.OW);
        const int64_t run = std::min(m0 + mb - m, o.OW - p.ow);
        T* dst = ch + p.n * o.sn + p.od * o.sd + p.oh * o.sh + p.ow * o.sw;
        for (int64_t i = 0; i < run; ++i) dst[i * o.sw] = static_cast<T>(src[i] + b);
        src += run;
        m += run;
      }
    }
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

#define ACCEL_CONV_DISPATCH(dt, fn, ...)                                     \
  switch (dt) {                                                              \
    case engine::DType::F32: return fn<float>(__VA_ARGS__);                  \
    case engine::DType::BF16: return fn<c10::BFloat16>(__VA_ARGS__);         \
    case engine::DType::F16: return fn<c10::Half>(__VA_ARGS__);              \
    default: throw std::domain_error("conv kernels: unsupported dtype");     \
  }

void store_block(const FeatureOut& o, const float* acc, bool channel_major, int64_t m0, int64_t mb,
                 int64_t n0, int64_t nb) {
  ACCEL_CONV_DISPATCH(o.dtype, store_typed, o, acc, channel_major, m0, mb, n0, nb)
}

void pack_filter(const engine::TensorRef& w, int64_t groups, bool dim0_is_col, const Im2col& cols,
                 float* packed) {
  ACCEL_CONV_DISPATCH(w.dtype, pack_typed, w, groups, dim0_is_col, cols, packed)
}

void store_filter_block(const engine::TensorRef& dw, int64_t a_base, const Im2col& cols,
                        const float* acc, int64_t a0, int64_t ma, int64_t k0, int64_t kb) {
  ACCEL_CONV_DISPATCH(dw.dtype, store_filter_typed, dw, a_base, cols, acc, a0, ma, k0, kb)
}

}  // namespace accel::kernels
