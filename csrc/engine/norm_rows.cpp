// Layer norm and RMS norm over rows, forward and backward. A unit is a block
// of 32 rows (one tile row); gamma/beta are read once per core when the row
// is resident, once per block when it streams.
#include <algorithm>
#include <cmath>

#include "engine/norm.h"
#include "engine/norm_plan.h"
#include "kernels/norm/row_math.h"

namespace accel::engine {
namespace {

namespace k = kernels::norm;
using namespace norm_plan;

constexpr int64_t kTile = 32;

const float* f32_at(const TensorRef& t, int64_t i) { return static_cast<const float*>(t.data) + i; }
float* f32_at_w(const TensorRef& t, int64_t i) { return static_cast<float*>(t.data) + i; }


using k::Moments;

int64_t padded(const chip::Arch& arch, int64_t rows, int64_t cols, DType dt) {
  return ceil_div(rows, kTile) * ceil_div(cols, kTile) * arch.tile_rows * arch.tile_cols * dtype_bytes(dt);
}

}  // namespace

ProgramRecord run_row_norm(const chip::Arch& arch, const RowNormArgs& a) {
  const std::string op = a.rms ? "aten::_fused_rms_norm" : "aten::native_layer_norm";
  const int64_t n = a.cols, row_pages = ceil_div(n, kTile);
  std::vector<RowBuffer> rows{{"in", dtype_bytes(a.x.dtype)}};
  if (present(a.weight)) rows.push_back({"gamma", dtype_bytes(a.weight.dtype)});
  if (present(a.bias)) rows.push_back({"beta", dtype_bytes(a.bias.dtype)});
  const Plan p = plan(arch, op, n, row_pages, kTile, rows, {{"out", dtype_bytes(a.y.dtype)}},
                      {{"stats", 2, arch.tile_rows * arch.tile_cols * 4}});
  const CoreSplit split = split_tiles(ceil_div(a.rows, kTile), arch.num_cores());
  const float eps = static_cast<float>(a.eps);
  // fp32 rows are read (and written) where they lie: the L1 copy would hold
  // the same values.
  const bool x_f32 = a.x.dtype == DType::F32, y_f32 = a.y.dtype == DType::F32;
  if (a.rows > 0 && n > 0) {
    run_on_cores(split, [&](int64_t, int64_t u0, int64_t u1) {
      const float* w = load_param(a.weight, 2, n);
      const float* b = load_param(a.bias, 3, n);
      float* buf = scratch(0, p.resident ? n : p.chunk);
      for (int64_t r = u0 * kTile; r < std::min(u1 * kTile, a.rows); ++r) {
        const int64_t base = r * n;
        Moments mo;
        for (int64_t c = 0; c < n; c += p.chunk) {
          const int64_t len = std::min(p.chunk, n - c);
          if (x_f32) {
            mo.merge(f32_at(a.x, base + c), len, a.rms);
            continue;
          }
          float* dst = p.resident ? buf + c : buf;
          k::to_f32(dst, at(a.x, base + c), a.x.dtype, len);
          mo.merge(dst, len, a.rms);
        }
        const float mean = static_cast<float>(mo.mean);
        const float rstd = 1.f / std::sqrt(static_cast<float>(mo.m2 / n) + eps);
        for (int64_t c = 0; c < n; c += p.chunk) {
          const int64_t len = std::min(p.chunk, n - c);
          const float* wc = w ? w + c : nullptr;
          const float* bc = b ? b + c : nullptr;
          if (x_f32 && y_f32) {
            k::normalize_affine(f32_at_w(a.y, base + c), f32_at(a.x, base + c), len, mean, rstd, wc, bc);
            continue;
          }
          float* src = p.resident ? buf + c : buf;
          if (!p.resident || x_f32) k::to_f32(src, at(a.x, base + c), a.x.dtype, len);
          k::normalize_affine(src, src, len, mean, rstd, wc, bc);
          k::from_f32(at_w(a.y, base + c), a.y.dtype, src, len);
        }
        if (present(a.mean)) k::store_one(a.mean.data, a.mean.dtype, r, mean);
        k::store_one(a.rstd.data, a.rstd.dtype, r, rstd);
      }
    });
  }
  ProgramRecord rec = base_record(arch, op, a.rms ? "rms_norm_sfpu" : "layer_norm_sfpu", p, split,
                                  ceil_div(a.rows, kTile) * row_pages, row_pages, a.x.dtype, a.y.dtype);
  const int64_t param_reads = p.resident ? split.cores_used : ceil_div(a.rows, kTile);
  rec.flops = a.rows * n * (a.rms ? 5 : 7);
  rec.dram_read_bytes = padded(arch, a.rows, n, a.x.dtype) * (p.resident ? 1 : 2) +
                        param_reads * (bytes_of(a.weight) + bytes_of(a.bias));
  rec.dram_write_bytes = padded(arch, a.rows, n, a.y.dtype) + bytes_of(a.mean) + bytes_of(a.rstd);
  rec.noc_bytes = rec.dram_read_bytes + rec.dram_write_bytes;
  return rec;
}

ProgramRecord run_row_norm_backward(const chip::Arch& arch, const RowNormGradArgs& a) {
  const bool add = present(a.residual_grad);
  const std::string op = add ? (a.rms ? "accel::add_rms_norm_backward" : "accel::add_layer_norm_backward")
                             : (a.rms ? "aten::_fused_rms_norm_backward" : "aten::native_layer_norm_backward");
  const int64_t n = a.cols, row_pages = ceil_div(n, kTile);
  const bool want_dw = present(a.dweight), want_db = present(a.dbias), want_dx = present(a.dx);
  std::vector<RowBuffer> rows{{"grad", dtype_bytes(a.grad.dtype)}, {"x", dtype_bytes(a.x.dtype)}};
  if (present(a.weight)) rows.push_back({"gamma", dtype_bytes(a.weight.dtype)});
  if (want_dw) rows.push_back({"dgamma_acc", 4});
  if (want_db) rows.push_back({"dbeta_acc", 4});
  if (add) rows.push_back({"residual_grad", dtype_bytes(a.residual_grad.dtype)});
  const Plan p = plan(arch, op, n, row_pages, kTile, rows, {{"dx", dtype_bytes(a.x.dtype)}},
                      {{"stats", 2, arch.tile_rows * arch.tile_cols * 4}});
  const int64_t blocks = ceil_div(a.rows, kTile);
  const CoreSplit split = split_tiles(blocks, arch.num_cores());
  // Each core accumulates its rows' dgamma/dbeta; the partials are summed after.
  std::vector<float> dw_part(want_dw ? split.cores_used * n : 0, 0.f);
  std::vector<float> db_part(want_db ? split.cores_used * n : 0, 0.f);
  // fp32 operands are read where they lie, as in the forward; a = g * gamma is
  // recomputed where it is needed instead of kept (the same products).
  const bool x_f32 = a.x.dtype == DType::F32, g_f32 = a.grad.dtype == DType::F32;
  if (a.rows > 0 && n > 0) {
    run_on_cores(split, [&](int64_t core, int64_t u0, int64_t u1) {
      const float* w = load_param(a.weight, 2, n);
      const int64_t cap = p.resident ? n : p.chunk;
      float *g = scratch(0, cap), *x = scratch(1, cap);
      float* dwp = want_dw ? dw_part.data() + core * n : nullptr;
      float* dbp = want_db ? db_part.data() + core * n : nullptr;
      // Chunk c of the row in fp32: in place, or converted into the L1 buffer
      // (when `load`; a resident row's buffer keeps it for pass 2).
      const auto operand = [&](const TensorRef& t, bool in_place, float* buf, int64_t base, int64_t c,
                               int64_t len, bool load) -> const float* {
        if (in_place) return f32_at(t, base + c);
        float* dst = p.resident ? buf + c : buf;
        if (load) k::to_f32(dst, at(t, base + c), t.dtype, len);
        return dst;
      };
      for (int64_t r = u0 * kTile; r < std::min(u1 * kTile, a.rows); ++r) {
        const int64_t base = r * n;
        const float mean = present(a.mean) ? k::load_one(a.mean.data, a.mean.dtype, r) : 0.f;
        const float rstd = k::load_one(a.rstd.data, a.rstd.dtype, r);
        // Pass 1: weight/bias gradients and the two row sums of a = g * gamma.
        float sum_ax = 0, sum_a = 0;
        for (int64_t c = 0; c < n; c += p.chunk) {
          const int64_t len = std::min(p.chunk, n - c);
          const float* gc = operand(a.grad, g_f32, g, base, c, len, true);
          const float* xc = operand(a.x, x_f32, x, base, c, len, true);
          const k::NormGradSums sums = k::norm_grad_pass1(dwp ? dwp + c : nullptr, dbp ? dbp + c : nullptr,
                                                          gc, w ? w + c : nullptr, xc, len, mean, rstd, want_dx);
          sum_ax += sums.dot_dev;
          if (!a.rms) sum_a += sums.sum;
        }
        if (!want_dx) continue;
        // dx = rstd * (a - mean(a) - xhat * mean(a * xhat)) in affine form.
        const float c1 = rstd * sum_ax / n, c2 = sum_a / n;
        const float k2 = -rstd * rstd * c1, k3 = rstd * (rstd * c1 * mean - c2);
        for (int64_t c = 0; c < n; c += p.chunk) {
          const int64_t len = std::min(p.chunk, n - c);
          const float* gc = operand(a.grad, g_f32, g, base, c, len, !p.resident);
          const float* xc = operand(a.x, x_f32, x, base, c, len, !p.resident);
          if (a.dx.dtype == DType::F32 && !add) {
            k::lin2_scaled(f32_at_w(a.dx, base + c), gc, w ? w + c : nullptr, xc, len, rstd, k2, k3);
            continue;
          }
          float* out = p.resident ? g + c : g;  // gc's own buffer (or free when gc is in place)
          k::lin2_scaled(out, gc, w ? w + c : nullptr, xc, len, rstd, k2, k3);
          if (add) {
            // The norm's gradient rounded to dx's format first, as the separate
            // programs would store it, so the sum equals theirs; x's buffer is
            // free again (or unused, x read in place) for the residual gradient.
            if (a.dx.dtype != DType::F32) {
              k::from_f32(at_w(a.dx, base + c), a.dx.dtype, out, len);
              k::to_f32(out, at(a.dx, base + c), a.dx.dtype, len);
            }
            float* res = p.resident ? x + c : x;
            k::to_f32(res, at(a.residual_grad, base + c), a.residual_grad.dtype, len);
            k::acc_add(out, res, len);
          }
          k::from_f32(at_w(a.dx, base + c), a.dx.dtype, out, len);
        }
      }
    });
  }
  // Reduce the per-core partials, one column tile per unit.
  const CoreSplit cols = split_tiles(row_pages, arch.num_cores());
  if (want_dw || want_db) {
    run_on_cores(cols, [&](int64_t, int64_t t0, int64_t t1) {
      const int64_t c0 = t0 * kTile, len = std::min(t1 * kTile, n) - c0;
      float* acc = scratch(4, len);
      for (auto [part, out] : {std::pair{&dw_part, &a.dweight}, std::pair{&db_part, &a.dbias}}) {
        if (!present(*out)) continue;
        std::fill(acc, acc + len, 0.f);
        for (int64_t core = 0; core < split.cores_used; ++core) k::acc_add(acc, part->data() + core * n + c0, len);
        k::from_f32(at_w(*out, c0), out->dtype, acc, len);
      }
    });
  }
  const char* compute = add ? (a.rms ? "add_rms_norm_bw_sfpu" : "add_layer_norm_bw_sfpu")
                            : (a.rms ? "rms_norm_bw_sfpu" : "layer_norm_bw_sfpu");
  ProgramRecord rec = base_record(arch, op, compute, p, split,
                                  blocks * row_pages, row_pages, a.x.dtype, a.x.dtype);
  const int64_t passes = p.resident || !want_dx ? 1 : 2;
  const int64_t partial_bytes = split.cores_used * n * 4 * ((want_dw ? 1 : 0) + (want_db ? 1 : 0));
  rec.flops = a.rows * n * (8 + (want_dw ? 3 : 0) + (want_db ? 1 : 0) + (add ? 1 : 0));
  rec.dram_read_bytes = (padded(arch, a.rows, n, a.grad.dtype) + padded(arch, a.rows, n, a.x.dtype)) * passes +
                        (p.resident ? split.cores_used : blocks) * bytes_of(a.weight) + bytes_of(a.mean) +
                        bytes_of(a.rstd) + (add ? padded(arch, a.rows, n, a.residual_grad.dtype) : 0);
  rec.dram_write_bytes = (want_dx ? padded(arch, a.rows, n, a.dx.dtype) : 0) + bytes_of(a.dweight) + bytes_of(a.dbias);
  // The partial sums travel core to core over the NoC, not through DRAM.
  rec.noc_bytes = rec.dram_read_bytes + rec.dram_write_bytes + partial_bytes;
  return rec;
}

}  // namespace accel::engine
