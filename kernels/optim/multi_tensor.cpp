#include "kernels/optim/multi_tensor.h"

#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <algorithm>
#include <cstring>

#include "kernels/eltwise/simd.h"

namespace accel::kernels {

void read_floats(const engine::TensorRef& t, int64_t first, int64_t n, float* dst) {
  const char* base = static_cast<const char*>(t.data);
  switch (t.dtype) {
    case engine::DType::F32: std::memcpy(dst, base + first * 4, n * 4); return;
    case engine::DType::BF16: return simd_tile_math().bf16_to_float(base + first * 2, dst, n);
    case engine::DType::F16: return simd_tile_math().half_to_float(base + first * 2, dst, n);
    case engine::DType::F64: {
      const double* src = reinterpret_cast<const double*>(base) + first;
      for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<float>(src[i]);
      return;
    }
    default: throw std::domain_error("multi-tensor programs take floating data only");
  }
}

void write_floats(const engine::TensorRef& t, int64_t first, int64_t n, const float* src) {
  char* base = static_cast<char*>(t.data);
  switch (t.dtype) {
    case engine::DType::F32: std::memcpy(base + first * 4, src, n * 4); return;
    case engine::DType::BF16: return simd_tile_math().float_to_bf16(src, base + first * 2, n);
    case engine::DType::F16: return simd_tile_math().float_to_half(src, base + first * 2, n);
    case engine::DType::F64: {
      double* dst = reinterpret_cast<double*>(base) + first;
      for (int64_t i = 0; i < n; ++i) dst[i] = src[i];
      return;
    }
    default: throw std::domain_error("multi-tensor programs take floating data only");
  }
}

engine::ProgramRecord run_flat_multi(const chip::Arch& arch, const FlatProgram& prog,
                                     const std::vector<int64_t>& jobs, engine::DType format,
                                     const std::function<void(int64_t, size_t, int64_t, int64_t)>& tile) {
  const int64_t eb = engine::dtype_bytes(format);
  std::vector<engine::CircularBuffer> cbs;
  for (int64_t i = 0; i < prog.operands_per_job; ++i)
    cbs.push_back({"operand" + std::to_string(i), 2, kFlatTile * 4});
  const int64_t l1 = engine::check_l1(arch, prog.op, cbs);

  std::vector<int64_t> first_tile{0};
  int64_t elements = 0;
  for (int64_t numel : jobs) {
    first_tile.push_back(first_tile.back() + (numel + kFlatTile - 1) / kFlatTile);
    elements += numel;
  }
  const engine::CoreSplit split = engine::split_tiles(first_tile.back(), arch.num_cores());
  engine::run_on_cores(split, [&](int64_t core, int64_t begin, int64_t end) {
    size_t job = std::upper_bound(first_tile.begin(), first_tile.end(), begin) - first_tile.begin() - 1;
    for (int64_t t = begin; t < end; ++t) {
      while (t >= first_tile[job + 1]) ++job;
      const int64_t first = (t - first_tile[job]) * kFlatTile;
      tile(core, job, first, std::min(kFlatTile, jobs[job] - first));
    }
  });

  engine::ProgramRecord rec;
  rec.op = prog.op;
  rec.reader = "reader_multi_tensor";
  rec.compute = prog.compute;
  rec.writer = "writer_multi_tensor";
  rec.input_format = rec.output_format = engine::dtype_name(format);
  rec.flops = elements * rec.compute.desc()->flops_per_element;
  const int64_t padded = first_tile.back() * kFlatTile;
  rec.dram_read_bytes = padded * eb * prog.read_operands;
  rec.dram_write_bytes = padded * eb * prog.written_operands;
  rec.noc_bytes = rec.dram_read_bytes + rec.dram_write_bytes;
  rec.tiles = first_tile.back();
  rec.cores_used = split.cores_used;
  for (int64_t c = 0; c < split.cores_used; ++c)
    rec.max_tiles_per_core = std::max(rec.max_tiles_per_core, split.tiles(c));
  rec.l1_bytes_per_core = l1;
  return rec;
}

}  // namespace accel::kernels
