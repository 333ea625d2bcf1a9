// Residual add + layer/RMS norm, and scale + mask + softmax, as single row
// programs. A unit is a block of 32 rows (one tile row), as in norm_rows.cpp
// and norm_softmax.cpp, whose row math (kernels/norm/row_math.h) they reuse:
// the neighbours run on the row while it sits in L1, so their intermediates
// never reach DRAM.
#include "engine/norm_fused.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "engine/norm_plan.h"
#include "kernels/norm/row_math.h"

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define ACCEL_FUSED_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define ACCEL_FUSED_CLONES
#endif

namespace accel::engine {
namespace {

namespace k = kernels::norm;
using namespace norm_plan;

constexpr int64_t kTile = 32;



int64_t padded(const chip::Arch& arch, int64_t rows, int64_t cols, DType dt) {
  return ceil_div(rows, kTile) * ceil_div(cols, kTile) * arch.tile_rows * arch.tile_cols * dtype_bytes(dt);
}

using k::Moments;

// x[i] = keep[i] ? x[i] : fill, keep[i] = (mask[i] != 0) == keep_when.
ACCEL_FUSED_CLONES void fill_masked(float* x, const uint8_t* mask, int64_t n, bool keep_when, float fill) {
  for (int64_t i = 0; i < n; ++i) x[i] = ((mask[i] != 0) == keep_when) ? x[i] : fill;
}

// sum = buf = x + y in one pass: fp32 operands need no copy into L1 first.
ACCEL_FUSED_CLONES void add_store(float* sum, float* buf, const float* x, const float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i] + y[i];
    buf[i] = v;
    sum[i] = v;
  }
}

// The sum row [c, c + len) of row r into buf (fp32), stored to DRAM in sum's
// format; buf then holds the stored (rounded) values the norm and the
// backward both see.
void add_chunk(const AddRowNormArgs& a, float* buf, float* other, int64_t base, int64_t len) {
  if (a.x.dtype == DType::F32 && a.sum.dtype == DType::F32) {
    return add_store(reinterpret_cast<float*>(at_w(a.sum, base)), buf, reinterpret_cast<const float*>(at(a.x, base)),
                     reinterpret_cast<const float*>(at(a.residual, base)), len);
  }
  k::to_f32(buf, at(a.x, base), a.x.dtype, len);
  k::to_f32(other, at(a.residual, base), a.residual.dtype, len);
  k::acc_add(buf, other, len);
  k::from_f32(at_w(a.sum, base), a.sum.dtype, buf, len);
  if (a.sum.dtype != DType::F32) k::to_f32(buf, at(a.sum, base), a.sum.dtype, len);
}

// Row r's scores [c, c + len) scaled and masked into buf.
void load_scores(const ScaleMaskSoftmaxArgs& a, float* buf, float* mrow, int64_t r, int64_t c, int64_t len) {
  k::to_f32(buf, at(a.in, r * a.cols + c), a.in.dtype, len);
  if (a.scale != 1.f) k::axpb(buf, buf, len, a.scale, 0.f);
  if (a.mask_kind == SoftmaxMask::None) return;
  const int64_t m0 = a.mask_row_offsets[r] + c * a.mask_col_stride;
  if (a.mask_kind == SoftmaxMask::Add) {
    if (a.mask_col_stride == 0) return k::axpb(buf, buf, len, 1.f, k::load_one(a.mask.data, a.mask.dtype, m0));
    k::to_f32(mrow, at(a.mask, m0), a.mask.dtype, len);
    return k::acc_add(buf, mrow, len);
  }
  const bool keep_when = a.mask_kind == SoftmaxMask::FillWhereFalse;
  const auto* bits = reinterpret_cast<const uint8_t*>(at(a.mask, m0));
  if (a.mask_col_stride == 0) {
    if ((bits[0] != 0) != keep_when) std::fill(buf, buf + len, a.fill);
    return;
  }
  fill_masked(buf, bits, len, keep_when, a.fill);
}

void softmax_rows(const ScaleMaskSoftmaxArgs& a, const Plan& p, int64_t r0, int64_t r1) {
  const int64_t n = a.cols;
  float* buf = scratch(0, p.resident ? n : p.chunk);
  float* mrow = scratch(1, p.resident ? n : p.chunk);
  for (int64_t r = r0; r < r1; ++r) {
    if (p.resident) {
      load_scores(a, buf, mrow, r, 0, n);
      const float m = k::row_max(buf, n);
      const float s = k::exp_shift_sum(buf, buf, n, m);
      k::axpb(buf, buf, n, 1.f / s, 0.f);
      k::from_f32(at_w(a.out, r * n), a.out.dtype, buf, n);
      continue;
    }
    // Streamed: the online max/sum over chunks, then a second pass.
    float m = -std::numeric_limits<float>::infinity(), s = 0;
    for (int64_t c = 0; c < n; c += p.chunk) {
      const int64_t len = std::min(p.chunk, n - c);
      load_scores(a, buf, mrow, r, c, len);
      const float cm = k::row_max(buf, len);
      if (cm != cm) {
        m = cm;
      } else if (cm > m) {
        s = s * std::exp(m - cm);
        m = cm;
      }
      s += k::exp_shift_sum_only(buf, len, m);
    }
    for (int64_t c = 0; c < n; c += p.chunk) {
      const int64_t len = std::min(p.chunk, n - c);
      load_scores(a, buf, mrow, r, c, len);
      k::exp_shift_sum(buf, buf, len, m);
      k::axpb(buf, buf, len, 1.f / s, 0.f);
      k::from_f32(at_w(a.out, r * n + c), a.out.dtype, buf, len);
    }
  }
}

}  // namespace

ProgramRecord run_add_row_norm(const chip::Arch& arch, const AddRowNormArgs& a) {
  const std::string op = a.rms ? "accel::add_rms_norm" : "accel::add_layer_norm";
  const int64_t n = a.cols, row_pages = ceil_div(n, kTile);
  std::vector<RowBuffer> rows{{"in", dtype_bytes(a.x.dtype)}, {"residual", dtype_bytes(a.residual.dtype)}};
  if (present(a.weight)) rows.push_back({"gamma", dtype_bytes(a.weight.dtype)});
  if (present(a.bias)) rows.push_back({"beta", dtype_bytes(a.bias.dtype)});
  const Plan p = plan(arch, op, n, row_pages, kTile, rows,
                      {{"sum", dtype_bytes(a.sum.dtype)}, {"out", dtype_bytes(a.y.dtype)}},
                      {{"stats", 2, arch.tile_rows * arch.tile_cols * 4}});
  const CoreSplit split = split_tiles(ceil_div(a.rows, kTile), arch.num_cores());
  const float eps = static_cast<float>(a.eps);
  if (a.rows > 0 && n > 0) {
    run_on_cores(split, [&](int64_t, int64_t u0, int64_t u1) {
      const float* w = load_param(a.weight, 2, n);
      const float* b = load_param(a.bias, 3, n);
      float* buf = scratch(0, p.resident ? n : p.chunk);
      float* other = scratch(1, p.resident ? n : p.chunk);
      for (int64_t r = u0 * kTile; r < std::min(u1 * kTile, a.rows); ++r) {
        const int64_t base = r * n;
        Moments mo;
        for (int64_t c = 0; c < n; c += p.chunk) {
          const int64_t len = std::min(p.chunk, n - c);
          float* dst = p.resident ? buf + c : buf;
          add_chunk(a, dst, other, base + c, len);
          mo.merge(dst, len, a.rms);
        }
        const float mean = static_cast<float>(mo.mean);
        const float rstd = 1.f / std::sqrt(static_cast<float>(mo.m2 / n) + eps);
        for (int64_t c = 0; c < n; c += p.chunk) {
          const int64_t len = std::min(p.chunk, n - c);
          float* src = p.resident ? buf + c : buf;
          // Streamed rows read the stored sum back: it no longer fits in L1.
          if (!p.resident) k::to_f32(src, at(a.sum, base + c), a.sum.dtype, len);
          // An fp32 output is written straight from the row, without a copy.
          float* dst = a.y.dtype == DType::F32 ? reinterpret_cast<float*>(at_w(a.y, base + c)) : src;
          k::normalize_affine(dst, src, len, mean, rstd, w ? w + c : nullptr, b ? b + c : nullptr);
          if (dst == src) k::from_f32(at_w(a.y, base + c), a.y.dtype, src, len);
        }
        if (present(a.mean)) k::store_one(a.mean.data, a.mean.dtype, r, mean);
        k::store_one(a.rstd.data, a.rstd.dtype, r, rstd);
      }
    });
  }
  ProgramRecord rec = base_record(arch, op, a.rms ? "add_rms_norm_sfpu" : "add_layer_norm_sfpu", p, split,
                                  ceil_div(a.rows, kTile) * row_pages, row_pages, a.x.dtype, a.y.dtype);
  const int64_t param_reads = p.resident ? split.cores_used : ceil_div(a.rows, kTile);
  rec.flops = a.rows * n * (a.rms ? 6 : 8);
  rec.dram_read_bytes = padded(arch, a.rows, n, a.x.dtype) + padded(arch, a.rows, n, a.residual.dtype) +
                        (p.resident ? 0 : padded(arch, a.rows, n, a.sum.dtype)) +
                        param_reads * (bytes_of(a.weight) + bytes_of(a.bias));
  rec.dram_write_bytes = padded(arch, a.rows, n, a.sum.dtype) + padded(arch, a.rows, n, a.y.dtype) +
                         bytes_of(a.mean) + bytes_of(a.rstd);
  rec.noc_bytes = rec.dram_read_bytes + rec.dram_write_bytes;
  return rec;
}

ProgramRecord run_scale_mask_softmax(const chip::Arch& arch, const ScaleMaskSoftmaxArgs& a) {
  const std::string op = "accel::scale_mask_softmax";
  const bool masked = a.mask_kind != SoftmaxMask::None;
  if (masked && static_cast<int64_t>(a.mask_row_offsets.size()) != a.rows)
    throw std::domain_error("scale_mask_softmax: expected one mask offset per row");
  const int64_t n = a.cols, row_pages = ceil_div(n, kTile);
  std::vector<RowBuffer> rows{{"in", dtype_bytes(a.in.dtype)}};
  if (masked) rows.push_back({"mask", dtype_bytes(a.mask.dtype)});
  const Plan p = plan(arch, op, n, row_pages, kTile, rows, {{"out", dtype_bytes(a.out.dtype)}},
                      {{"stats", 2, arch.tile_rows * arch.tile_cols * 4}});
  const CoreSplit split = split_tiles(ceil_div(a.rows, kTile), arch.num_cores());
  if (a.rows > 0 && n > 0) {
    run_on_cores(split, [&](int64_t, int64_t u0, int64_t u1) {
      softmax_rows(a, p, u0 * kTile, std::min(u1 * kTile, a.rows));
    });
  }
  ProgramRecord rec = base_record(arch, op, masked ? "scale_mask_softmax_sfpu" : "scale_softmax_sfpu", p, split,
                                  ceil_div(a.rows, kTile) * row_pages, row_pages, a.in.dtype, a.out.dtype);
  const int64_t passes = p.resident ? 1 : 2;
  rec.flops = a.rows * n * (masked ? 7 : 6);
  // The mask is read as the element-wise add reads a broadcast operand: a
  // tile per tile of the scores.
  rec.dram_read_bytes = (padded(arch, a.rows, n, a.in.dtype) + (masked ? padded(arch, a.rows, n, a.mask.dtype) : 0)) *
                        passes;
  rec.dram_write_bytes = padded(arch, a.rows, n, a.out.dtype);
  rec.noc_bytes = rec.dram_read_bytes + rec.dram_write_bytes;
  return rec;
}

}  // namespace accel::engine
