// Group norm and batch norm on an [N, C, HxW] layout, forward and backward.
// Group norm's unit is one (n, group): D = C/groups channels of HxW, one
// contiguous run. Batch norm's unit is one channel: N runs of HxW, C*HxW apart.
#include <algorithm>
#include <cmath>

#include "engine/norm.h"
#include "engine/norm_plan.h"
#include "kernels/matmul/epilogue.h"
#include "kernels/norm/row_math.h"
#include "perf/kernel_table.h"

namespace accel::engine {
namespace {

namespace k = kernels::norm;
using namespace norm_plan;

constexpr int64_t kTileElems = 32 * 32;

float param(const TensorRef& t, int64_t i, float absent) {
  return present(t) ? k::load_one(t.data, t.dtype, i) : absent;
}

// The unit's row as pieces of at most `chunk` elements: f(segment, DRAM
// element index, position in the row, length).
template <class F>
void each_piece(int64_t segs, int64_t seg_len, int64_t seg_stride, int64_t first, int64_t chunk, F f) {
  for (int64_t s = 0; s < segs; ++s)
    for (int64_t off = 0; off < seg_len; off += chunk)
      f(s, first + s * seg_stride + off, s * seg_len + off, std::min(chunk, seg_len - off));
}

using k::Moments;

// One unit's pieces, read into L1 (at their row position when resident).
struct Unit {
  const Plan& p;
  int64_t segs, seg_len, seg_stride, first;
  float* slot(float* buf, int64_t pos) const { return p.resident ? buf + pos : buf; }
  template <class F>
  void pass(F f) const { each_piece(segs, seg_len, seg_stride, first, p.chunk, f); }
};

// Host shortcut for a resident channel of small planes (4x4, 8x8): its math
// runs once over the whole L1 copy instead of per plane, where each plane paid
// a lane reduction per 16 values. Large planes stay per plane, in the host's L1.
bool whole_row_math(const Plan& p, int64_t plane) { return p.resident && plane < kTileElems; }

int64_t padded(int64_t units, int64_t row, DType dt) {
  return units * ceil_div(row, kTileElems) * kTileElems * dtype_bytes(dt);
}

// v rounded to dt in place, as a tensor of dt stores it (scratch slot `slot` holds the stored form).
void round_through(float* v, DType dt, int64_t n, int slot) {
  if (dt == DType::F32) return;
  void* stored = scratch(slot, n);
  k::from_f32(stored, dt, v, n);
  k::to_f32(v, stored, dt, n);
}

// The vector-engine instructions per element the fused activation (or its
// gradient) adds: its element-wise kernel's own, less the loads and store
// that kernel pays and the batch-norm program already has. These records are
// priced from their FLOPs, one instruction each (kInstructionsFromFlops).
int64_t activation_instructions(Activation act, bool backward) {
  static const char* const forward_kernels[] = {"", "sfpu_relu", "sfpu_gelu", "sfpu_gelu_tanh", "sfpu_silu"};
  static const char* const backward_kernels[] = {"", "sfpu_threshold_backward", "sfpu_gelu_backward",
                                                 "sfpu_gelu_tanh_backward", "sfpu_silu_backward"};
  if (act == Activation::None) return 0;
  const auto& k = perf::kernel_desc((backward ? backward_kernels : forward_kernels)[static_cast<int>(act)]);
  if (k.sfpu_instructions == perf::kInstructionsFromFlops) return k.flops_per_element;
  const int io = backward ? 3 : 2;  // grad and saved in, one out; or one in, one out
  return std::max<int64_t>(1, static_cast<int64_t>(k.sfpu_instructions) - io);
}

// rows stay resident with the unit's row when it fits; streamed inputs (read
// once per pass as the row loads) are double-buffered like the output.
Plan unit_plan(const chip::Arch& arch, const std::string& op, int64_t row, std::vector<RowBuffer> rows,
               DType out, std::vector<RowBuffer> streamed = {}) {
  streamed.push_back({"out", dtype_bytes(out)});
  return plan(arch, op, row, ceil_div(row, kTileElems), kTileElems, rows, streamed,
              {{"params_stats", 4, arch.tile_rows * arch.tile_cols * 4}});
}

}  // namespace

ProgramRecord run_group_norm(const chip::Arch& arch, const GroupNormArgs& a) {
  const std::string op = "aten::native_group_norm";
  const int64_t d = a.c / a.groups, row = d * a.hxw, units = a.n * a.groups;
  const Plan p = unit_plan(arch, op, row, {{"in", dtype_bytes(a.x.dtype)}}, a.y.dtype);
  const CoreSplit split = split_tiles(units, arch.num_cores());
  if (row > 0) {
    run_on_cores(split, [&](int64_t, int64_t u0, int64_t u1) {
      float* buf = scratch(0, p.resident ? row : p.chunk);
      for (int64_t u = u0; u < u1; ++u) {
        const int64_t c0 = (u % a.groups) * d;
        const Unit unit{p, d, a.hxw, a.hxw, u * row};
        Moments mo;
        unit.pass([&](int64_t, int64_t src, int64_t pos, int64_t len) {
          float* dst = unit.slot(buf, pos);
          k::to_f32(dst, at(a.x, src), a.x.dtype, len);
          mo.merge(dst, len);
        });
        const float mean = static_cast<float>(mo.mean);
        const float rstd = 1.f / std::sqrt(static_cast<float>(mo.m2 / row) + static_cast<float>(a.eps));
        unit.pass([&](int64_t s, int64_t src, int64_t pos, int64_t len) {
          float* v = unit.slot(buf, pos);
          if (!p.resident) k::to_f32(v, at(a.x, src), a.x.dtype, len);
          const float scale = rstd * param(a.weight, c0 + s, 1.f);
          k::axpb(v, v, len, scale, param(a.bias, c0 + s, 0.f) - mean * scale);
          k::from_f32(at_w(a.y, src), a.y.dtype, v, len);
        });
        k::store_one(a.mean.data, a.mean.dtype, u, mean);
        k::store_one(a.rstd.data, a.rstd.dtype, u, rstd);
      }
    });
  }
  ProgramRecord rec = base_record(arch, op, "group_norm_sfpu", p, split, units * ceil_div(row, kTileElems),
                                  ceil_div(row, kTileElems), a.x.dtype, a.y.dtype);
  rec.flops = units * row * 7;
  rec.dram_read_bytes = padded(units, row, a.x.dtype) * (p.resident ? 1 : 2) +
                        split.cores_used * (bytes_of(a.weight) + bytes_of(a.bias));
  rec.dram_write_bytes = padded(units, row, a.y.dtype) + bytes_of(a.mean) + bytes_of(a.rstd);
  rec.noc_bytes = rec.dram_read_bytes + rec.dram_write_bytes;
  return rec;
}

ProgramRecord run_group_norm_backward(const chip::Arch& arch, const GroupNormGradArgs& a) {
  const std::string op = "aten::native_group_norm_backward";
  const int64_t d = a.c / a.groups, row = d * a.hxw, units = a.n * a.groups;
  const Plan p = unit_plan(arch, op, row, {{"grad", dtype_bytes(a.grad.dtype)}, {"x", dtype_bytes(a.x.dtype)}},
                           a.x.dtype);
  const CoreSplit split = split_tiles(units, arch.num_cores());
  // Per (n, channel): sum(g * x) and sum(g), kept for dgamma/dbeta.
  std::vector<float> ds(a.n * a.c, 0.f), db(a.n * a.c, 0.f);
  const bool want_dx = present(a.dx);
  if (row > 0) {
    run_on_cores(split, [&](int64_t, int64_t u0, int64_t u1) {
      const int64_t cap = p.resident ? row : p.chunk;
      float *g = scratch(0, cap), *x = scratch(1, cap);
      for (int64_t u = u0; u < u1; ++u) {
        const int64_t nc0 = u * d, c0 = (u % a.groups) * d;
        const Unit unit{p, d, a.hxw, a.hxw, u * row};
        const float mean = k::load_one(a.mean.data, a.mean.dtype, u);
        const float rstd = k::load_one(a.rstd.data, a.rstd.dtype, u);
        auto load = [&](int64_t src, int64_t pos, int64_t len) {
          k::to_f32(unit.slot(g, pos), at(a.grad, src), a.grad.dtype, len);
          k::to_f32(unit.slot(x, pos), at(a.x, src), a.x.dtype, len);
        };
        unit.pass([&](int64_t s, int64_t src, int64_t pos, int64_t len) {
          load(src, pos, len);
          ds[nc0 + s] += k::row_dot(unit.slot(g, pos), unit.slot(x, pos), len);
          db[nc0 + s] += k::row_sum(unit.slot(g, pos), len);
        });
        if (!want_dx) continue;
        float ds_g = 0, db_g = 0;
        for (int64_t s = 0; s < d; ++s) {
          const float w = param(a.weight, c0 + s, 1.f);
          ds_g += ds[nc0 + s] * w;
          db_g += db[nc0 + s] * w;
        }
        const float inv_m = 1.f / static_cast<float>(row);
        const float c2 = (db_g * mean - ds_g) * rstd * rstd * rstd * inv_m;
        const float c3 = -c2 * mean - db_g * rstd * inv_m;
        unit.pass([&](int64_t s, int64_t src, int64_t pos, int64_t len) {
          if (!p.resident) load(src, pos, len);
          float* gv = unit.slot(g, pos);
          k::lin2(gv, gv, unit.slot(x, pos), len, rstd * param(a.weight, c0 + s, 1.f), c2, c3);
          k::from_f32(at_w(a.dx, src), a.dx.dtype, gv, len);
        });
      }
    });
  }
  if (present(a.dweight) || present(a.dbias)) {
    const CoreSplit chans = split_tiles(a.c, arch.num_cores());
    run_on_cores(chans, [&](int64_t, int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        float dw = 0, dbias = 0;
        for (int64_t i = 0; i < a.n; ++i) {
          const int64_t u = i * a.groups + c / d;
          dw += (ds[i * a.c + c] - db[i * a.c + c] * k::load_one(a.mean.data, a.mean.dtype, u)) *
                k::load_one(a.rstd.data, a.rstd.dtype, u);
          dbias += db[i * a.c + c];
        }
        if (present(a.dweight)) k::store_one(a.dweight.data, a.dweight.dtype, c, dw);
        if (present(a.dbias)) k::store_one(a.dbias.data, a.dbias.dtype, c, dbias);
      }
    });
  }
  ProgramRecord rec = base_record(arch, op, "group_norm_bw_sfpu", p, split, units * ceil_div(row, kTileElems),
                                  ceil_div(row, kTileElems), a.x.dtype, a.x.dtype);
  rec.flops = units * row * (want_dx ? 7 : 3);
  rec.dram_read_bytes = (padded(units, row, a.grad.dtype) + padded(units, row, a.x.dtype)) *
                            (p.resident || !want_dx ? 1 : 2) +
                        split.cores_used * bytes_of(a.weight) + bytes_of(a.mean) + bytes_of(a.rstd);
  rec.dram_write_bytes = (want_dx ? padded(units, row, a.dx.dtype) : 0) + bytes_of(a.dweight) + bytes_of(a.dbias);
  rec.noc_bytes = rec.dram_read_bytes + rec.dram_write_bytes + a.n * a.c * 8;
  return rec;
}

ProgramRecord run_batch_norm(const chip::Arch& arch, const BatchNormArgs& a) {
  const bool fused = a.act != Activation::None;
  const std::string op = fused ? "accel::batch_norm_act"
                               : a.training ? "aten::native_batch_norm" : "aten::_native_batch_norm_legit_no_training";
  const int64_t row = a.n * a.hxw, stride = a.c * a.hxw;
  // Evaluation is element-wise: nothing needs to stay resident.
  const int64_t planned = a.training ? row : std::min<int64_t>(row, 8 * kTileElems);
  const Plan p = unit_plan(arch, op, planned, {{"in", dtype_bytes(a.x.dtype)}}, a.y.dtype);
  const CoreSplit split = split_tiles(a.c, arch.num_cores());
  const float eps = static_cast<float>(a.eps), mom = static_cast<float>(a.momentum);
  Plan walk = p;
  walk.resident = a.training && p.resident;
  const bool whole = whole_row_math(walk, a.hxw);
  if (row > 0) {
    run_on_cores(split, [&](int64_t, int64_t c0, int64_t c1) {
      float* buf = scratch(0, walk.resident ? row : walk.chunk);
      for (int64_t c = c0; c < c1; ++c) {
        const Unit unit{walk, a.n, a.hxw, stride, c * a.hxw};
        float mean, invstd;
        if (a.training) {
          Moments mo;
          unit.pass([&](int64_t, int64_t src, int64_t pos, int64_t len) {
            float* dst = unit.slot(buf, pos);
            k::to_f32(dst, at(a.x, src), a.x.dtype, len);
            if (!whole) mo.merge(dst, len);
          });
          if (whole) mo.merge(buf, row);
          mean = static_cast<float>(mo.mean);
          const float var = static_cast<float>(mo.m2 / row);
          invstd = 1.f / std::sqrt(var + eps);
          k::store_one(a.save_mean.data, a.save_mean.dtype, c, mean);
          k::store_one(a.save_invstd.data, a.save_invstd.dtype, c, invstd);
          if (present(a.running_mean))
            k::store_one(a.running_mean.data, a.running_mean.dtype, c,
                         (1 - mom) * param(a.running_mean, c, 0.f) + mom * mean);
          if (present(a.running_var))
            k::store_one(a.running_var.data, a.running_var.dtype, c,
                         (1 - mom) * param(a.running_var, c, 0.f) +
                             mom * static_cast<float>(mo.m2 / static_cast<double>(row - 1)));
        } else {
          mean = param(a.running_mean, c, 0.f);
          invstd = 1.f / std::sqrt(param(a.running_var, c, 1.f) + eps);
        }
        const float scale = invstd * param(a.weight, c, 1.f);
        const float shift = param(a.bias, c, 0.f) - mean * scale;
        auto normalise = [&](float* v, int64_t len) {
          k::axpb(v, v, len, scale, shift);
          if (!fused) return;
          round_through(v, a.y.dtype, len, 1);  // the activation reads the norm's output as stored
          kernels::matmul_activation_row(v, len, a.act);
        };
        if (whole) normalise(buf, row);
        unit.pass([&](int64_t, int64_t src, int64_t pos, int64_t len) {
          float* v = unit.slot(buf, pos);
          if (!walk.resident) k::to_f32(v, at(a.x, src), a.x.dtype, len);
          if (!whole) normalise(v, len);
          k::from_f32(at_w(a.y, src), a.y.dtype, v, len);
        });
      }
    });
  }
  const char* compute = fused ? "batch_norm_act_sfpu" : a.training ? "batch_norm_sfpu" : "batch_norm_eval_sfpu";
  ProgramRecord rec = base_record(arch, op, compute, p, split, a.c * ceil_div(row, kTileElems),
                                  ceil_div(row, kTileElems), a.x.dtype, a.y.dtype);
  rec.flops = a.c * row * ((a.training ? 7 : 2) + activation_instructions(a.act, false));
  rec.dram_read_bytes = padded(a.c, row, a.x.dtype) * (a.training && !p.resident ? 2 : 1) + bytes_of(a.weight) +
                        bytes_of(a.bias) + bytes_of(a.running_mean) + bytes_of(a.running_var);
  rec.dram_write_bytes = padded(a.c, row, a.y.dtype) + bytes_of(a.save_mean) + bytes_of(a.save_invstd) +
                         (a.training ? bytes_of(a.running_mean) + bytes_of(a.running_var) : 0);
  rec.noc_bytes = rec.dram_read_bytes + rec.dram_write_bytes;
  return rec;
}

ProgramRecord run_batch_norm_backward(const chip::Arch& arch, const BatchNormGradArgs& a) {
  const bool fused = a.act != Activation::None;
  const std::string op = fused ? "accel::batch_norm_act_backward" : "aten::native_batch_norm_backward";
  const int64_t row = a.n * a.hxw, stride = a.c * a.hxw;
  // The saved activation is read only as grad loads (the gradient through it
  // is what stays resident), so it streams.
  std::vector<RowBuffer> saved_stream;
  if (fused) saved_stream.push_back({"act_saved", dtype_bytes(a.act_saved.dtype)});
  const Plan p = unit_plan(arch, op, row, {{"grad", dtype_bytes(a.grad.dtype)}, {"x", dtype_bytes(a.x.dtype)}},
                           a.x.dtype, saved_stream);
  const CoreSplit split = split_tiles(a.c, arch.num_cores());
  const bool want_dx = present(a.dx);
  const float eps = static_cast<float>(a.eps);
  const bool whole = whole_row_math(p, a.hxw);
  if (row > 0 || present(a.dweight) || present(a.dbias)) {
    run_on_cores(split, [&](int64_t, int64_t c0, int64_t c1) {
      const int64_t cap = p.resident ? std::max<int64_t>(row, 1) : p.chunk;
      float *g = scratch(0, cap), *x = scratch(1, cap);
      float* saved = fused ? scratch(2, cap) : nullptr;  // a piece is at most cap long
      for (int64_t c = c0; c < c1; ++c) {
        const Unit unit{p, a.n, a.hxw, stride, c * a.hxw};
        const float mean = a.training ? param(a.save_mean, c, 0.f) : param(a.running_mean, c, 0.f);
        const float invstd = a.training ? param(a.save_invstd, c, 0.f)
                                        : 1.f / std::sqrt(param(a.running_var, c, 1.f) + eps);
        auto load = [&](int64_t src, int64_t pos, int64_t len) {
          float* gv = unit.slot(g, pos);
          k::to_f32(gv, at(a.grad, src), a.grad.dtype, len);
          k::to_f32(unit.slot(x, pos), at(a.x, src), a.x.dtype, len);
          if (!fused) return;
          // The activation's gradient, as its own op would store it.
          k::to_f32(saved, at(a.act_saved, src), a.act_saved.dtype, len);
          kernels::matmul_activation_backward_row(gv, saved, len, a.act);
          round_through(gv, a.grad.dtype, len, 3);
        };
        float sum_g = 0, sum_gx = 0;
        unit.pass([&](int64_t, int64_t src, int64_t pos, int64_t len) {
          load(src, pos, len);
          if (whole) return;
          sum_g += k::row_sum(unit.slot(g, pos), len);
          sum_gx += k::row_dot_dev(unit.slot(g, pos), unit.slot(x, pos), len, mean);
        });
        if (whole) {
          sum_g = k::row_sum(g, row);
          sum_gx = k::row_dot_dev(g, x, row, mean);
        }
        if (present(a.dweight)) k::store_one(a.dweight.data, a.dweight.dtype, c, sum_gx * invstd);
        if (present(a.dbias)) k::store_one(a.dbias.data, a.dbias.dtype, c, sum_g);
        if (!want_dx) continue;
        const float w = param(a.weight, c, 1.f), k1 = invstd * w;
        float k2 = 0, k3 = 0;
        if (a.training) {
          const float proj = sum_gx * invstd * invstd / row, gmean = sum_g / row;
          k2 = -proj * k1;
          k3 = (mean * proj - gmean) * k1;
        }
        if (whole) k::lin2(g, g, x, row, k1, k2, k3);
        unit.pass([&](int64_t, int64_t src, int64_t pos, int64_t len) {
          if (!p.resident) load(src, pos, len);
          if (!whole) k::lin2(unit.slot(g, pos), unit.slot(g, pos), unit.slot(x, pos), len, k1, k2, k3);
          k::from_f32(at_w(a.dx, src), a.dx.dtype, unit.slot(g, pos), len);
        });
      }
    });
  }
  ProgramRecord rec = base_record(arch, op, fused ? "batch_norm_act_bw_sfpu" : "batch_norm_bw_sfpu", p, split,
                                  a.c * ceil_div(row, kTileElems), ceil_div(row, kTileElems), a.x.dtype, a.x.dtype);
  rec.flops = a.c * row * ((want_dx ? 8 : 4) + activation_instructions(a.act, true));
  rec.dram_read_bytes = (padded(a.c, row, a.grad.dtype) + padded(a.c, row, a.x.dtype) +
                         (fused ? padded(a.c, row, a.act_saved.dtype) : 0)) *
                            (p.resident || !want_dx ? 1 : 2) +
                        bytes_of(a.weight) + bytes_of(a.save_mean) + bytes_of(a.save_invstd) +
                        bytes_of(a.running_mean) + bytes_of(a.running_var);
  rec.dram_write_bytes = (want_dx ? padded(a.c, row, a.dx.dtype) : 0) + bytes_of(a.dweight) + bytes_of(a.dbias);
  rec.noc_bytes = rec.dram_read_bytes + rec.dram_write_bytes;
  return rec;
}

}  // namespace accel::engine
