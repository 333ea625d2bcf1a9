// Vector-engine math for the normalisation programs, on fp32 buffers in a
// core's L1. Each function is compiled for AVX-512, AVX2 and baseline x86 and
// picked at load time, so the host's widest lanes emulate the SFPU.
#pragma once

#include <cstdint>

#include "engine/tensor_ref.h"

namespace accel::kernels::norm {

using engine::DType;

// Reader/writer conversions between a DRAM format and the fp32 L1 copy.
// `src`/`dst` point at element 0 of a contiguous run of n elements.
void to_f32(float* dst, const void* src, DType dt, int64_t n);
void from_f32(void* dst, DType dt, const float* src, int64_t n);
// Strided gather/scatter of one value per element (stride in elements).
float load_one(const void* base, DType dt, int64_t index);
void store_one(void* base, DType dt, int64_t index, float v);

float row_max(const float* x, int64_t n);
float row_sum(const float* x, int64_t n);
// sum((x - c)^2)
float row_sq_dev(const float* x, int64_t n, float c);
// sum(x * y)
float row_dot(const float* x, const float* y, int64_t n);
// y = exp(x - shift); returns sum(y). x and y may alias.
float exp_shift_sum(float* y, const float* x, int64_t n, float shift);
// y = exp(x) (no sum). x and y may alias.
void exp_inplace(float* y, const float* x, int64_t n);
// sum(exp(x - shift)); a zero shift costs no pass
float exp_shift_sum_only(const float* x, int64_t n, float shift);
// sum(g * (x - c))
float row_dot_dev(const float* g, const float* x, int64_t n, float c);
// y = g * k1 + x * k2 + k3: every normalisation's input gradient in affine form.
void lin2(float* y, const float* g, const float* x, int64_t n, float k1, float k2, float k3);
// acc += g (partial sums of a bias gradient).
void acc_add(float* acc, const float* g, int64_t n);
// One row's pass 1 of the layer/RMS norm backward in one sweep: dw += g * ((x
// - mean) * rstd) and db += g (either may be null); with `sums`, a = g * w
// (w null: a = g) and the returned row sums of a * (x - mean) and of a, each
// in row_dot_dev's / row_sum's lane order (so bit for bit theirs).
struct NormGradSums {
  float dot_dev = 0, sum = 0;
};
NormGradSums norm_grad_pass1(float* dw, float* db, const float* g, const float* w, const float* x,
                             int64_t n, float mean, float rstd, bool sums);
// y = (g * w) * k1 + x * k2 + k3 (w null: lin2); y may alias g.
void lin2_scaled(float* y, const float* g, const float* w, const float* x, int64_t n, float k1,
                 float k2, float k3);
// y = x * a + b, elementwise scalars. x and y may alias.
void axpb(float* y, const float* x, int64_t n, float a, float b);
// y = ((x - mean) * rstd) * w + b with per-element w/b (either may be null).
void normalize_affine(float* y, const float* x, int64_t n, float mean, float rstd, const float* w,
                      const float* b);

// Softmax backward rows: gi = y * (g - s) (softmax) or gi = g - exp(y) * s (log).
void softmax_grad(float* gi, const float* g, const float* y, int64_t n, float s);
void log_softmax_grad(float* gi, const float* g, const float* y, int64_t n, float s);

// Column forms over a [rows, w] block with leading dimension ld (softmax over
// a non-last dim keeps 32 neighbouring columns of the inner dims per tile).
void col_max(float* m, const float* x, int64_t rows, int64_t w, int64_t ld);
// s[j] += sum over r of exp(x[r, j] - m[j]); with `write` x[r, j] becomes that exp.
void col_exp_sum(float* s, float* x, const float* m, int64_t rows, int64_t w, int64_t ld, bool write);
// s[j] += sum over r of x[r, j] * y[r, j] (y may be null: plain sum).
void col_dot_acc(float* s, const float* x, const float* y, int64_t rows, int64_t w, int64_t ld);
// Per-element forms with an array operand a (the column statistics of a row).
void mul_v(float* y, const float* x, const float* a, int64_t n);
void sub_v(float* y, const float* x, const float* a, int64_t n);
void softmax_grad_v(float* gi, const float* g, const float* y, const float* s, int64_t n);
void log_softmax_grad_v(float* gi, const float* g, const float* y, const float* s, int64_t n);

// Running mean and sum of squared deviations of a row met chunk by chunk,
// the chunks merged as Chan et al. merge them. about_zero: the row's centre
// is taken as 0 (RMS norm), so each chunk's own mean is not formed.
struct Moments {
  double n = 0, mean = 0, m2 = 0;
  void merge(const float* x, int64_t len, bool about_zero = false) {
    if (len == 0) return;
    const float mc = about_zero ? 0.f : row_sum(x, len) / static_cast<float>(len);
    const double m2c = row_sq_dev(x, len, mc);
    const double total = n + len, delta = mc - mean;
    mean += delta * len / total;
    m2 += m2c + delta * delta * n * len / total;
    n = total;
  }
};

}  // namespace accel::kernels::norm
