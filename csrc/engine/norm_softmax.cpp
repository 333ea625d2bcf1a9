// Softmax and log-softmax, forward and backward. Reduced dim last (inner == 1):
// a unit is a block of 32 rows. Otherwise a unit is one column tile: the
// reduced dim down the rows, 32 neighbouring inner elements across, so the
// vector lanes run along contiguous memory.
#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/norm.h"
#include "engine/norm_plan.h"
#include "kernels/norm/row_math.h"

namespace accel::engine {
namespace {

namespace k = kernels::norm;
using namespace norm_plan;

constexpr int64_t kTile = 32;

const char* elem(const TensorRef& t, int64_t i) {
  return static_cast<const char*>(t.data) + i * dtype_bytes(t.dtype);
}
char* elem_w(const TensorRef& t, int64_t i) {
  return static_cast<char*>(t.data) + i * dtype_bytes(t.dtype);
}

// The layout's units and tiles.
struct Layout {
  int64_t outer, dim, inner;
  bool rows() const { return inner == 1; }
  int64_t col_tiles() const { return ceil_div(inner, kTile); }
  int64_t units() const { return rows() ? ceil_div(outer, kTile) : outer * col_tiles(); }
  int64_t tiles_per_unit() const { return ceil_div(dim, kTile); }
  int64_t tiles() const { return units() * tiles_per_unit(); }
};

// Online max/sum merge of one chunk's statistics into the running ones.
inline void merge_max_sum(float& m, float& s, float cm) {
  if (cm != cm) m = cm;
  else if (cm > m) {
    s = s * std::exp(m - cm);
    m = cm;
  }
}

void softmax_rows(const SoftmaxArgs& a, const Plan& p, int64_t r0, int64_t r1) {
  const int64_t n = a.dim;
  float* buf = scratch(0, p.resident ? n : p.chunk);
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t base = r * n;
    float m = -std::numeric_limits<float>::infinity(), s = 0;
    if (p.resident) {
      // Host shortcut: an fp32 row is worked in its output's memory instead of
      // being copied through the L1 buffer and back (the same values).
      char* out_row = elem_w(a.out, base);
      const bool in_out = a.out.dtype == DType::F32 && out_row != elem(a.in, base);
      float* v = in_out ? reinterpret_cast<float*>(out_row) : buf;
      k::to_f32(v, elem(a.in, base), a.in.dtype, n);
      m = k::row_max(v, n);
      if (a.log) {  // (x - max) - log(sum), as ATen: max + log(sum) would round away small outputs
        k::axpb(v, v, n, 1.f, -m);  // shifted once: the sum's exps read the shifted row
        s = k::exp_shift_sum_only(v, n, 0.f);
        k::axpb(v, v, n, 1.f, -std::log(s));
      } else {
        s = k::exp_shift_sum(v, v, n, m);
        k::axpb(v, v, n, 1.f / s, 0.f);
      }
      if (!in_out) k::from_f32(out_row, a.out.dtype, v, n);
      continue;
    }
    for (int64_t c = 0; c < n; c += p.chunk) {
      const int64_t len = std::min(p.chunk, n - c);
      k::to_f32(buf, elem(a.in, base + c), a.in.dtype, len);
      merge_max_sum(m, s, k::row_max(buf, len));
      s += k::exp_shift_sum_only(buf, len, m);
    }
    const float log_sum = std::log(s), inv = 1.f / s;
    for (int64_t c = 0; c < n; c += p.chunk) {
      const int64_t len = std::min(p.chunk, n - c);
      k::to_f32(buf, elem(a.in, base + c), a.in.dtype, len);
      if (a.log) {
        k::axpb(buf, buf, len, 1.f, -m);
        k::axpb(buf, buf, len, 1.f, -log_sum);
      } else {
        k::exp_shift_sum(buf, buf, len, m);
        k::axpb(buf, buf, len, inv, 0.f);
      }
      k::from_f32(elem_w(a.out, base + c), a.out.dtype, buf, len);
    }
  }
}

// One column tile: rows [0, dim) of `w` columns starting at element base,
// rows `inner` apart in DRAM, kTile apart in L1.
void softmax_cols(const SoftmaxArgs& a, const Plan& p, int64_t base, int64_t w) {
  const int64_t rows_in_l1 = p.resident ? a.dim : p.chunk;
  float* buf = scratch(0, rows_in_l1 * kTile);
  float* m = scratch(1, 3 * kTile);
  float *s = m + kTile, *cm = m + 2 * kTile;
  auto load = [&](int64_t r0, int64_t nr) {
    for (int64_t r = 0; r < nr; ++r)
      k::to_f32(buf + r * kTile, elem(a.in, base + (r0 + r) * a.inner), a.in.dtype, w);
  };
  auto finish = [&](int64_t r0, int64_t nr) {
    for (int64_t r = 0; r < nr; ++r) {
      float* row = buf + r * kTile;
      if (a.log) {
        k::sub_v(row, row, m, w);
        k::sub_v(row, row, s, w);
      } else {
        k::mul_v(row, row, s, w);
      }
      k::from_f32(elem_w(a.out, base + (r0 + r) * a.inner), a.out.dtype, row, w);
    }
  };
  std::fill(s, s + kTile, 0.f);
  if (p.resident) {
    load(0, a.dim);
    k::col_max(m, buf, a.dim, w, kTile);
    k::col_exp_sum(s, buf, m, a.dim, w, kTile, !a.log);
  } else {
    std::fill(m, m + kTile, -std::numeric_limits<float>::infinity());
    for (int64_t r0 = 0; r0 < a.dim; r0 += p.chunk) {
      const int64_t nr = std::min(p.chunk, a.dim - r0);
      load(r0, nr);
      k::col_max(cm, buf, nr, w, kTile);
      for (int64_t j = 0; j < w; ++j) merge_max_sum(m[j], s[j], cm[j]);
      k::col_exp_sum(s, buf, m, nr, w, kTile, false);
    }
  }
  // s becomes what finish() applies: log(sum) to subtract after the max, or 1/sum.
  for (int64_t j = 0; j < w; ++j) s[j] = a.log ? std::log(s[j]) : 1.f / s[j];
  if (p.resident) return finish(0, a.dim);
  for (int64_t r0 = 0; r0 < a.dim; r0 += p.chunk) {
    const int64_t nr = std::min(p.chunk, a.dim - r0);
    load(r0, nr);
    if (!a.log) k::col_exp_sum(cm, buf, m, nr, w, kTile, true);
    finish(r0, nr);
  }
}

void softmax_grad_rows(const SoftmaxGradArgs& a, const Plan& p, int64_t r0, int64_t r1) {
  const int64_t n = a.dim;
  const int64_t cap = p.resident ? n : p.chunk;
  float *g = scratch(0, cap), *y = scratch(1, cap);
  auto load = [&](int64_t at, int64_t len) {
    k::to_f32(g, elem(a.grad, at), a.grad.dtype, len);
    k::to_f32(y, elem(a.output, at), a.output.dtype, len);
  };
  auto apply = [&](int64_t at, int64_t len, float s) {
    if (a.log) k::log_softmax_grad(g, g, y, len, s);
    else k::softmax_grad(g, g, y, len, s);
    k::from_f32(elem_w(a.grad_in, at), a.grad_in.dtype, g, len);
  };
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t base = r * n;
    if (p.resident) {
      load(base, n);
      apply(base, n, a.log ? k::row_sum(g, n) : k::row_dot(g, y, n));
      continue;
    }
    float s = 0;
    for (int64_t c = 0; c < n; c += p.chunk) {
      const int64_t len = std::min(p.chunk, n - c);
      load(base + c, len);
      s += a.log ? k::row_sum(g, len) : k::row_dot(g, y, len);
    }
    for (int64_t c = 0; c < n; c += p.chunk) {
      const int64_t len = std::min(p.chunk, n - c);
      load(base + c, len);
      apply(base + c, len, s);
    }
  }
}

void softmax_grad_cols(const SoftmaxGradArgs& a, const Plan& p, int64_t base, int64_t w) {
  const int64_t rows_in_l1 = p.resident ? a.dim : p.chunk;
  float *g = scratch(0, rows_in_l1 * kTile), *y = scratch(1, rows_in_l1 * kTile);
  float* s = scratch(2, kTile);
  std::fill(s, s + kTile, 0.f);
  auto load = [&](int64_t r0, int64_t nr) {
    for (int64_t r = 0; r < nr; ++r) {
      const int64_t at = base + (r0 + r) * a.inner;
      k::to_f32(g + r * kTile, elem(a.grad, at), a.grad.dtype, w);
      k::to_f32(y + r * kTile, elem(a.output, at), a.output.dtype, w);
    }
  };
  auto apply = [&](int64_t r0, int64_t nr) {
    for (int64_t r = 0; r < nr; ++r) {
      float *gr = g + r * kTile, *yr = y + r * kTile;
      if (a.log) k::log_softmax_grad_v(gr, gr, yr, s, w);
      else k::softmax_grad_v(gr, gr, yr, s, w);
      k::from_f32(elem_w(a.grad_in, base + (r0 + r) * a.inner), a.grad_in.dtype, gr, w);
    }
  };
  for (int64_t r0 = 0; r0 < a.dim; r0 += rows_in_l1) {
    const int64_t nr = std::min(rows_in_l1, a.dim - r0);
    load(r0, nr);
    k::col_dot_acc(s, g, a.log ? nullptr : y, nr, w, kTile);
  }
  if (p.resident) return apply(0, a.dim);
  for (int64_t r0 = 0; r0 < a.dim; r0 += p.chunk) {
    const int64_t nr = std::min(p.chunk, a.dim - r0);
    load(r0, nr);
    apply(r0, nr);
  }
}

// Runs body(unit_range) over the cores; a unit is a row block or a column tile.
template <class Rows, class Cols>
CoreSplit launch(const chip::Arch& arch, const Layout& l, int64_t numel, Rows rows, Cols cols) {
  const CoreSplit split = split_tiles(l.units(), arch.num_cores());
  if (numel == 0) return split;
  run_on_cores(split, [&](int64_t, int64_t u0, int64_t u1) {
    if (l.rows()) return rows(u0 * kTile, std::min(u1 * kTile, l.outer));
    for (int64_t u = u0; u < u1; ++u) {
      const int64_t o = u / l.col_tiles(), jt = u % l.col_tiles();
      cols(o * l.dim * l.inner + jt * kTile, std::min(kTile, l.inner - jt * kTile));
    }
  });
  return split;
}

int64_t padded_bytes(const chip::Arch& arch, const Layout& l, DType dt) {
  return l.tiles() * arch.tile_rows * arch.tile_cols * dtype_bytes(dt);
}

}  // namespace

ProgramRecord run_softmax(const chip::Arch& arch, const SoftmaxArgs& a) {
  const Layout l{a.outer, a.dim, a.inner};
  const std::string op = a.log ? "aten::_log_softmax" : "aten::_softmax";
  const Plan p = plan(arch, op, a.dim, l.tiles_per_unit(), kTile, {{"in", dtype_bytes(a.in.dtype)}},
                      {{"out", dtype_bytes(a.out.dtype)}}, {{"stats", 2, arch.tile_rows * arch.tile_cols * 4}});
  const CoreSplit split = launch(
      arch, l, a.in.numel(), [&](int64_t r0, int64_t r1) { softmax_rows(a, p, r0, r1); },
      [&](int64_t base, int64_t w) { softmax_cols(a, p, base, w); });
  ProgramRecord rec = base_record(arch, op, a.log ? "log_softmax_sfpu" : "softmax_sfpu", p, split,
                                  l.tiles(), l.tiles_per_unit(), a.in.dtype, a.out.dtype);
  rec.flops = a.in.numel() * 5;
  rec.dram_read_bytes = padded_bytes(arch, l, a.in.dtype) * (p.resident ? 1 : 2);
  rec.dram_write_bytes = padded_bytes(arch, l, a.out.dtype);
  rec.noc_bytes = rec.dram_read_bytes + rec.dram_write_bytes;
  return rec;
}

ProgramRecord run_softmax_backward(const chip::Arch& arch, const SoftmaxGradArgs& a) {
  const Layout l{a.outer, a.dim, a.inner};
  const std::string op = a.log ? "aten::_log_softmax_backward_data" : "aten::_softmax_backward_data";
  const Plan p = plan(arch, op, a.dim, l.tiles_per_unit(), kTile,
                      {{"grad", dtype_bytes(a.grad.dtype)}, {"output", dtype_bytes(a.output.dtype)}},
                      {{"grad_in", dtype_bytes(a.grad_in.dtype)}}, {{"stats", 2, arch.tile_rows * arch.tile_cols * 4}});
  const CoreSplit split = launch(
      arch, l, a.grad.numel(), [&](int64_t r0, int64_t r1) { softmax_grad_rows(a, p, r0, r1); },
      [&](int64_t base, int64_t w) { softmax_grad_cols(a, p, base, w); });
  ProgramRecord rec = base_record(arch, op, a.log ? "log_softmax_bw_sfpu" : "softmax_bw_sfpu", p, split,
                                  l.tiles(), l.tiles_per_unit(), a.grad.dtype, a.grad_in.dtype);
  rec.flops = a.grad.numel() * 4;
  rec.dram_read_bytes =
      (padded_bytes(arch, l, a.grad.dtype) + padded_bytes(arch, l, a.output.dtype)) * (p.resident ? 1 : 2);
  rec.dram_write_bytes = padded_bytes(arch, l, a.grad_in.dtype);
  rec.noc_bytes = rec.dram_read_bytes + rec.dram_write_bytes;
  return rec;
}

}  // namespace accel::engine
