#include "engine/pool.h"

#include <algorithm>

namespace accel::engine {
namespace {

using kernels::Plane;
using kernels::PoolKind;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

Plane plane_of(const TensorRef& t, int64_t nc) {
  const int64_t n = nc / t.sizes[1], c = nc % t.sizes[1];
  Plane p;
  p.data = static_cast<char*>(t.data) + (n * t.strides[0] + c * t.strides[1]) * dtype_bytes(t.dtype);
  p.dtype = t.dtype;
  p.sh = t.strides[2];
  p.sw = t.strides[3];
  p.H = t.sizes[2];
  p.W = t.sizes[3];
  return p;
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
  run_on_cores(split, [&](int64_t, int64_t begin, int64_t end) {
    for (int64_t u = begin; u < end; ++u) {
      const int64_t nc = u / tpp, o0 = u % tpp * area;
      const Plane ix = indices ? plane_of(*indices, nc) : Plane{};
      kernels::pool_forward(spec, plane_of(in, nc), plane_of(out, nc), indices ? &ix : nullptr, o0,
                            std::min(per_plane, o0 + area));
    }
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
  run_on_cores(split, [&](int64_t, int64_t begin, int64_t end) {
    thread_local std::vector<float> acc;
    acc.assign(H * W, 0.f);
    for (int64_t nc = begin; nc < end; ++nc) {
      std::fill(acc.begin(), acc.end(), 0.f);
      const Plane ix = indices ? plane_of(*indices, nc) : Plane{};
      kernels::pool_backward(spec, plane_of(grad_out, nc), indices ? &ix : nullptr, acc.data(), H, W);
      kernels::store_plane(plane_of(grad_in, nc), acc.data());
    }
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
