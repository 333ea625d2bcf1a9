#include "engine/pool.h"

#include <algorithm>

#include "engine/plan_mode.h"

namespace accel::engine {
namespace {

using kernels::PlaneBatch;
using kernels::PoolKind;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

PlaneBatch batch_of(const TensorRef& t) {
  PlaneBatch b;
  b.data = t.data;
  b.dtype = t.dtype;
  b.N = t.sizes[0], b.C = t.sizes[1], b.H = t.sizes[2], b.W = t.sizes[3];
  b.sn = t.strides[0], b.sc = t.strides[1], b.sh = t.strides[2], b.sw = t.strides[3];
  return b;
}

// Input elements one output element's reader fetches.
int64_t taps(const kernels::PoolSpec& s, const TensorRef& in, const TensorRef& out) {
  switch (s.kind) {
    case PoolKind::Max:
    case PoolKind::Avg: return s.kernel[0] * s.kernel[1];
    case PoolKind::AdaptiveAvg:
    case PoolKind::AdaptiveMax:
      return std::max<int64_t>(1, ceil_div(in.sizes[2], out.sizes[2]) * ceil_div(in.sizes[3], out.sizes[3]));
    case PoolKind::Nearest: return 1;
    case PoolKind::Bilinear: return 4;
  }
  return 1;
}

const char* kernel_name(PoolKind k) {
  switch (k) {
    case PoolKind::Max: return "max_pool_window";
    case PoolKind::Avg: return "avg_pool_window";
    case PoolKind::AdaptiveAvg: return "adaptive_avg_pool_window";
    case PoolKind::AdaptiveMax: return "adaptive_max_pool_window";
    case PoolKind::Nearest: return "upsample_nearest";
    case PoolKind::Bilinear: return "upsample_bilinear";
  }
  return "";
}

ProgramRecord base_record(const char* op, const kernels::PoolSpec& spec, const TensorRef& in,
                          const TensorRef& out, int64_t l1, const CoreSplit& split, int64_t tiles,
                          int64_t tiles_per_unit) {
  ProgramRecord rec;
  rec.op = op;
  rec.reader = "reader_window_gather";
  rec.compute = kernel_name(spec.kind);
  rec.writer = "writer_interleaved";
  rec.input_format = dtype_name(in.dtype);
  rec.output_format = dtype_name(out.dtype);
  rec.tiles = tiles;
  rec.cores_used = split.cores_used;
  rec.max_tiles_per_core = split.max_tiles() * tiles_per_unit;
  rec.l1_bytes_per_core = l1;
  return rec;
}

}  // namespace

ProgramRecord pool2d_forward(const chip::Arch& arch, const char* op, const kernels::PoolSpec& spec,
                             const TensorRef& in, const TensorRef& out, const TensorRef* indices) {
  const int64_t area = arch.tile_rows * arch.tile_cols;
  std::vector<CircularBuffer> cbs{{"in0_window", 2 * std::min<int64_t>(taps(spec, in, out), 16), area * dtype_bytes(in.dtype)},
                                  {"out", 2, area * dtype_bytes(out.dtype)}};
  if (indices) cbs.push_back({"out_indices", 2, area * 8});
  const int64_t l1 = check_l1(arch, op, cbs);
  const int64_t planes = out.sizes[0] * out.sizes[1], per_plane = out.sizes[2] * out.sizes[3];
  const int64_t tpp = ceil_div(per_plane, area);
  const CoreSplit split = split_tiles(planes * tpp, arch.num_cores());
  // A core's tiles are a run of consecutive outputs (plane-major): the kernel
  // takes the run at once, its tables (the host's, not the chip's) built once.
  const PlaneBatch src = batch_of(in), dst = batch_of(out);
  const PlaneBatch ix = indices ? batch_of(*indices) : PlaneBatch{};
  const kernels::WindowPlan plan =
      executing() ? kernels::plan_window(spec, src, dst, indices ? &ix : nullptr) : kernels::WindowPlan{};
  auto first_output = [&](int64_t u) { return u / tpp * per_plane + std::min(per_plane, u % tpp * area); };
  run_on_cores(split, [&](int64_t, int64_t begin, int64_t end) {
    kernels::pool_forward(spec, plan, src, dst, indices ? &ix : nullptr, first_output(begin), first_output(end));
  });
  ProgramRecord rec = base_record(op, spec, in, out, l1, split, planes * tpp, 1);
  const int64_t t = taps(spec, in, out);
  rec.flops = out.numel() * (spec.kind == PoolKind::Bilinear ? 8 : t);
  rec.dram_read_bytes = out.numel() * t * dtype_bytes(in.dtype);
  rec.dram_write_bytes = out.nbytes() + (indices ? indices->nbytes() : 0);
  rec.noc_bytes = rec.dram_read_bytes + rec.dram_write_bytes;
  return rec;
}

ProgramRecord pool2d_backward(const chip::Arch& arch, const char* op, const kernels::PoolSpec& spec,
                              const TensorRef& grad_out, const TensorRef* indices,
                              const TensorRef& grad_in) {
  const int64_t area = arch.tile_rows * arch.tile_cols;
  const int64_t H = grad_in.sizes[2], W = grad_in.sizes[3];
  const int64_t in_tiles = ceil_div(H * W, area);
  std::vector<CircularBuffer> cbs{{"in0_grad", 2, area * dtype_bytes(grad_out.dtype)},
                                  {"acc_fp32", 2, area * 4},
                                  {"out", 2, area * dtype_bytes(grad_in.dtype)}};
  if (indices) cbs.push_back({"in1_indices", 2, area * 8});
  const int64_t l1 = check_l1(arch, op, cbs);
  const int64_t planes = grad_in.sizes[0] * grad_in.sizes[1];
  const CoreSplit split = split_tiles(planes, arch.num_cores());
  const PlaneBatch go = batch_of(grad_out), gi = batch_of(grad_in);
  const PlaneBatch ix = indices ? batch_of(*indices) : PlaneBatch{};
  const kernels::WindowPlan plan = executing() ? kernels::plan_backward(spec, go, gi) : kernels::WindowPlan{};
  run_on_cores(split, [&](int64_t, int64_t begin, int64_t end) {
    kernels::pool_backward(spec, plan, go, indices ? &ix : nullptr, gi, begin, end);
  });
  ProgramRecord rec = base_record(op, spec, grad_out, grad_in, l1, split, planes * in_tiles, in_tiles);
  const int64_t t = taps(spec, grad_in, grad_out);
  rec.flops = grad_out.numel() * t;
  rec.dram_read_bytes = grad_out.nbytes() + (indices ? indices->nbytes() : 0);
  rec.dram_write_bytes = grad_in.nbytes();
  rec.noc_bytes = rec.dram_read_bytes + rec.dram_write_bytes;
  return rec;
}

}  // namespace accel::engine
