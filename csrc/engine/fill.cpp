#include "engine/fill.h"

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

namespace accel::engine {

ProgramRecord run_fill(const chip::Arch& arch, const char* op, const TensorRef& out,
                       const kernels::FillParams& params) {
  const int64_t tile = arch.tile_rows * arch.tile_cols;
  const int64_t width = dtype_bytes(out.dtype);
  const int64_t numel = out.numel();
  const int64_t tiles = (numel + tile - 1) / tile;
  const int64_t l1 = check_l1(arch, op, {{"out", 2, tile * width}});
  const bool contiguous = out.is_contiguous();
  const CoreSplit split = split_tiles(tiles, arch.num_cores());

  run_on_cores(split, [&](int64_t, int64_t begin, int64_t end) {
    const int64_t first = begin * tile;
    const int64_t count = std::min(end * tile, numel) - first;
    if (contiguous) {
      // Writer: generates straight into its pages of the output.
      kernels::generate(static_cast<char*>(out.data) + first * width, out.dtype, first, count, params);
      return;
    }
    std::vector<char> page(tile * width);
    for (int64_t t0 = first; t0 < first + count; t0 += tile) {
      const int64_t n = std::min(tile, first + count - t0);
      kernels::generate(page.data(), out.dtype, t0, n, params);
      for (int64_t i = 0; i < n; ++i)
        std::memcpy(static_cast<char*>(out.data) + out.offset_of(t0 + i) * width, page.data() + i * width,
                    width);
    }
  });

  ProgramRecord rec;
  rec.op = op;
  rec.reader = "";
  rec.compute = "";
  rec.writer = params.kind == kernels::FillKind::Constant ? "writer_fill_constant" : "writer_fill_sequence";
  rec.output_format = dtype_name(out.dtype);
  rec.flops = params.kind == kernels::FillKind::Constant ? 0 : 2 * numel;
  rec.dram_write_bytes = tiles * tile * width;
  rec.noc_bytes = rec.dram_write_bytes;
  rec.tiles = tiles;
  rec.cores_used = split.cores_used;
  rec.max_tiles_per_core = split.max_tiles();
  rec.l1_bytes_per_core = l1;
  return rec;
}

}  // namespace accel::engine

namespace accel::engine {
namespace {

template <class T>
void store_as(const double* v, int64_t n, void* dst) {
  T* out = static_cast<T*>(dst);
  for (int64_t i = 0; i < n; ++i) {
    if constexpr (std::is_same_v<T, bool>) out[i] = v[i] != 0;
    else out[i] = static_cast<T>(v[i]);
  }
}

void store(const double* v, int64_t n, DType dt, void* dst) {
  switch (dt) {
    case DType::F32: return store_as<float>(v, n, dst);
    case DType::F64: return store_as<double>(v, n, dst);
    case DType::BF16: return store_as<c10::BFloat16>(v, n, dst);
    case DType::F16: return store_as<c10::Half>(v, n, dst);
    case DType::I8: return store_as<int8_t>(v, n, dst);
    case DType::U8: return store_as<uint8_t>(v, n, dst);
    case DType::I16: return store_as<int16_t>(v, n, dst);
    case DType::I32: return store_as<int32_t>(v, n, dst);
    case DType::I64: return store_as<int64_t>(v, n, dst);
    case DType::Bool: return store_as<bool>(v, n, dst);
  }
}

}  // namespace

ProgramRecord run_sequence(const chip::Arch& arch, const char* op, const TensorRef& out,
                           const SequenceFn& values, const char* writer, int64_t flops_per_element) {
  const int64_t tile = arch.tile_rows * arch.tile_cols;
  const int64_t width = dtype_bytes(out.dtype);
  const int64_t numel = out.numel();
  const int64_t tiles = (numel + tile - 1) / tile;
  const int64_t l1 = check_l1(arch, op, {{"dest", 1, tile * 8}, {"out", 2, tile * width}});
  const bool contiguous = out.is_contiguous();
  const CoreSplit split = split_tiles(tiles, arch.num_cores());

  run_on_cores(split, [&](int64_t, int64_t begin, int64_t end) {
    std::vector<double> dest(tile);
    std::vector<char> page(contiguous ? 0 : tile * width);
    for (int64_t t = begin; t < end; ++t) {
      const int64_t first = t * tile, n = std::min(tile, numel - first);
      values(first, n, dest.data());
      if (contiguous) {
        store(dest.data(), n, out.dtype, static_cast<char*>(out.data) + first * width);
        continue;
      }
      store(dest.data(), n, out.dtype, page.data());
      for (int64_t i = 0; i < n; ++i)
        std::memcpy(static_cast<char*>(out.data) + out.offset_of(first + i) * width, page.data() + i * width,
                    width);
    }
  });

  ProgramRecord rec;
  rec.op = op;
  rec.compute = writer;
  rec.writer = "writer_unary";
  rec.sfpu_function = writer;
  rec.output_format = dtype_name(out.dtype);
  rec.flops = flops_per_element * numel;
  rec.dram_write_bytes = tiles * tile * width;
  rec.noc_bytes = rec.dram_write_bytes;
  rec.tiles = tiles;
  rec.cores_used = split.cores_used;
  rec.max_tiles_per_core = split.max_tiles();
  rec.l1_bytes_per_core = l1;
  return rec;
}

}  // namespace accel::engine
