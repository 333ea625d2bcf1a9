#include "engine/norm_plan.h"

#include <algorithm>

#include "engine/compute_config.h"
#include "kernels/norm/row_math.h"

namespace accel::engine::norm_plan {
namespace {

int64_t tile_bytes(const chip::Arch& arch, int64_t elem_bytes) {
  return arch.tile_rows * arch.tile_cols * elem_bytes;
}

std::vector<CircularBuffer> buffers(const chip::Arch& arch, int64_t row_pages,
                                    const std::vector<RowBuffer>& rows,
                                    const std::vector<RowBuffer>& outputs,
                                    const std::vector<CircularBuffer>& fixed) {
  std::vector<CircularBuffer> cbs;
  for (const auto& r : rows) cbs.push_back({r.name, row_pages, tile_bytes(arch, r.elem_bytes)});
  for (const auto& o : outputs) cbs.push_back({o.name, 2, tile_bytes(arch, o.elem_bytes)});
  cbs.insert(cbs.end(), fixed.begin(), fixed.end());
  return cbs;
}

int64_t total(const std::vector<CircularBuffer>& cbs) {
  int64_t t = 0;
  for (const auto& cb : cbs) t += cb.bytes();
  return t;
}

}  // namespace

Plan plan(const chip::Arch& arch, const std::string& op, int64_t row_elems, int64_t row_pages,
          int64_t elems_per_page, const std::vector<RowBuffer>& rows,
          const std::vector<RowBuffer>& outputs, const std::vector<CircularBuffer>& fixed) {
  Plan p;
  auto resident = buffers(arch, std::max<int64_t>(row_pages, 1), rows, outputs, fixed);
  if (total(resident) <= arch.l1_bytes_per_core) {
    p.l1 = check_l1(arch, op, resident);
    p.chunk = std::max<int64_t>(row_elems, 1);
    return p;
  }
  // Too big to stay in L1: stream chunks twice, the largest chunk that fits.
  p.resident = false;
  for (int64_t k = 8; k >= 1; k /= 2) {
    auto streamed = buffers(arch, 2 * k, rows, outputs, fixed);
    if (total(streamed) <= arch.l1_bytes_per_core || k == 1) {
      p.l1 = check_l1(arch, op, streamed);  // throws only when one tile cannot fit
      p.chunk = k * elems_per_page;
      return p;
    }
  }
  return p;
}

const float* load_param(const TensorRef& t, int slot, int64_t n) {
  if (!present(t)) return nullptr;
  float* p = scratch(slot, n);
  kernels::norm::to_f32(p, t.data, t.dtype, n);
  return p;
}

float* scratch(int slot, int64_t n) {
  thread_local std::vector<float> buffers[8];
  auto& b = buffers[slot];
  if (static_cast<int64_t>(b.size()) < n) b.resize(n);
  return b.data();
}

ProgramRecord base_record(const chip::Arch& arch, const std::string& op, const std::string& compute,
                          const Plan& p, const CoreSplit& split, int64_t tiles, int64_t tiles_per_unit,
                          DType in, DType out) {
  ProgramRecord rec;
  rec.op = op;
  rec.reader = p.resident ? "reader_norm_row_resident" : "reader_norm_row_two_pass";
  rec.compute = compute;
  rec.writer = "writer_norm_untilize";
  rec.input_format = dtype_name(in);
  rec.output_format = dtype_name(out);
  const ComputeConfig cfg = current_compute_config();
  rec.math_fidelity = static_cast<int>(cfg.fidelity);
  rec.fp32_dest_acc = cfg.fp32_dest_acc;
  rec.tiles = tiles;
  rec.cores_used = split.cores_used;
  rec.max_tiles_per_core = split.max_tiles() * tiles_per_unit;
  rec.l1_bytes_per_core = p.l1;
  return rec;
}

}  // namespace accel::engine::norm_plan
