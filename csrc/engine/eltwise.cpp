#include "engine/eltwise.h"

#include <c10/util/ArrayRef.h>
#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>
#include <c10/util/SmallVector.h>

#include <algorithm>
#include <cstring>

#include "engine/tile_grid.h"
#include "kernels/eltwise/simd.h"

namespace accel::engine {
namespace {

constexpr int64_t kTile = 32;
constexpr int64_t kTileElems = kTile * kTile;

template <class C, class S>
void load_typed(C* dst, const S* src, int64_t stride, int64_t n) {
  if constexpr (std::is_same_v<C, S>) {
    if (stride == 1) {
      std::memcpy(dst, src, n * sizeof(C));
      return;
    }
  }
  if (stride == 1) {
    for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<C>(src[i]);
  } else if (stride == 0) {  // a broadcast scalar: one conversion, then a fill
    std::fill_n(dst, n, static_cast<C>(src[0]));
  } else {
    for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<C>(src[i * stride]);
  }
}

// Reader: one tile row from DRAM into the L1 buffer, converted to the compute type.
template <class C>
void load_row(C* dst, const char* src, DType dt, int64_t stride, int64_t n) {
  if constexpr (std::is_same_v<C, float>) {
    if (stride == 1 && dt == DType::BF16) return kernels::simd_tile_math().bf16_to_float(src, dst, n);
    if (stride == 1 && dt == DType::F16) return kernels::simd_tile_math().half_to_float(src, dst, n);
  }
  switch (dt) {
    case DType::F32: return load_typed(dst, reinterpret_cast<const float*>(src), stride, n);
    case DType::F64: return load_typed(dst, reinterpret_cast<const double*>(src), stride, n);
    case DType::BF16: return load_typed(dst, reinterpret_cast<const c10::BFloat16*>(src), stride, n);
    case DType::F16: return load_typed(dst, reinterpret_cast<const c10::Half*>(src), stride, n);
    case DType::I8: return load_typed(dst, reinterpret_cast<const int8_t*>(src), stride, n);
    case DType::U8: return load_typed(dst, reinterpret_cast<const uint8_t*>(src), stride, n);
    case DType::I16: return load_typed(dst, reinterpret_cast<const int16_t*>(src), stride, n);
    case DType::I32: return load_typed(dst, reinterpret_cast<const int32_t*>(src), stride, n);
    case DType::I64: return load_typed(dst, reinterpret_cast<const int64_t*>(src), stride, n);
    case DType::Bool: return load_typed(dst, reinterpret_cast<const bool*>(src), stride, n);
  }
}

template <class D, class C>
void store_typed(D* dst, const C* src, int64_t stride, int64_t n) {
  if constexpr (std::is_same_v<D, C>) {
    if (stride == 1) {
      std::memcpy(dst, src, n * sizeof(C));
      return;
    }
  }
  if (stride == 1) {  // the common case, kept separate so it vectorizes
    for (int64_t i = 0; i < n; ++i) {
      if constexpr (std::is_same_v<D, bool>) dst[i] = src[i] != C(0);
      else dst[i] = static_cast<D>(src[i]);
    }
    return;
  }
  for (int64_t i = 0; i < n; ++i) {
    if constexpr (std::is_same_v<D, bool>) dst[i * stride] = src[i] != C(0);
    else dst[i * stride] = static_cast<D>(src[i]);
  }
}

// Writer: one tile row from L1 back to DRAM, packed to the output format.
template <class C>
void store_row(char* dst, DType dt, int64_t stride, const C* src, int64_t n) {
  if constexpr (std::is_same_v<C, float>) {
    if (stride == 1 && dt == DType::BF16) return kernels::simd_tile_math().float_to_bf16(src, dst, n);
    if (stride == 1 && dt == DType::F16) return kernels::simd_tile_math().float_to_half(src, dst, n);
  }
  switch (dt) {
    case DType::F32: return store_typed(reinterpret_cast<float*>(dst), src, stride, n);
    case DType::F64: return store_typed(reinterpret_cast<double*>(dst), src, stride, n);
    case DType::BF16: return store_typed(reinterpret_cast<c10::BFloat16*>(dst), src, stride, n);
    case DType::F16: return store_typed(reinterpret_cast<c10::Half*>(dst), src, stride, n);
    case DType::I8: return store_typed(reinterpret_cast<int8_t*>(dst), src, stride, n);
    case DType::U8: return store_typed(reinterpret_cast<uint8_t*>(dst), src, stride, n);
    case DType::I16: return store_typed(reinterpret_cast<int16_t*>(dst), src, stride, n);
    case DType::I32: return store_typed(reinterpret_cast<int32_t*>(dst), src, stride, n);
    case DType::I64: return store_typed(reinterpret_cast<int64_t*>(dst), src, stride, n);
    case DType::Bool: return store_typed(reinterpret_cast<bool*>(dst), src, stride, n);
  }
}

TileGrid grid_for(const TensorRef& out) { return tile_grid(out, out.dim() <= 1); }

// Element offset of (batch b, row r, col 0) in tensor t.
int64_t row_offset(const TensorRef& t, const TileGrid& g, int64_t b, int64_t r) {
  if (g.flat) return t.dim() == 0 ? 0 : r * kTile * t.strides[0];
  return batch_row_offset(t, b, r);
}

template <class C>
constexpr DType dtype_of() {
  if constexpr (std::is_same_v<C, float>) return DType::F32;
  else if constexpr (std::is_same_v<C, double>) return DType::F64;
  else return DType::I64;
}

// An operand wider than a 16-bit compute format (a float32 scalar in a
// bfloat16 op) is first rounded to that format, as ATen's TensorIterator
// casts operands to the common dtype; the math itself runs in float.
bool rounds_to_compute(DType in, DType compute) {
  return (compute == DType::BF16 || compute == DType::F16) && (in == DType::F32 || in == DType::F64);
}

template <class C>
void round_to(DType compute, C* v, int64_t n) {
  if constexpr (std::is_floating_point_v<C>) {
    for (int64_t i = 0; i < n; ++i)
      v[i] = compute == DType::BF16 ? static_cast<C>(static_cast<float>(c10::BFloat16(static_cast<float>(v[i]))))
                                    : static_cast<C>(static_cast<float>(c10::Half(static_cast<float>(v[i]))));
  }
}

template <class C>
void run_tiles(const TileGrid& g, TileFn<C> fn, const TensorRef& out,
               const std::vector<TensorRef>& inputs, const KernelParams& p, int64_t begin,
               int64_t end, DType compute) {
  const size_t n_in = inputs.size();
  // The core's circular buffers in L1: one tile per input and one for output.
  // Reused per host thread: a launch must not pay for allocating and zeroing it.
  thread_local std::vector<C> cb;
  if (cb.size() < static_cast<size_t>(kTileElems * (n_in + 1))) cb.resize(kTileElems * (n_in + 1));
  c10::SmallVector<const C*, 4> in_tiles(n_in);
  C* out_tile = cb.data() + n_in * kTileElems;
  const int64_t numel = out.numel();
  // A flat tile of an operand already in the compute format is one contiguous
  // run: the host reads and writes it in place, with the same numbers as a copy.
  auto in_place = [&](const TensorRef& t) {
    return g.flat && t.dtype == dtype_of<C>() && col_stride(t) == 1 && !rounds_to_compute(t.dtype, compute);
  };
  const bool out_in_place = in_place(out);

  for (int64_t t = begin; t < end; ++t) {
    const int64_t b = t / (g.row_tiles * g.col_tiles);
    const int64_t rt = (t / g.col_tiles) % g.row_tiles;
    const int64_t ct = t % g.col_tiles;
    const int64_t r0 = rt * kTile, c0 = ct * kTile;
    const int64_t nr = std::min(kTile, g.rows - r0);
    const int64_t nc = std::min(kTile, g.cols - c0);
    // Partial tiles are masked: only the valid rows and columns move. A flat
    // tile's rows are consecutive, so it moves as one run.
    const int64_t row_runs = g.flat ? 1 : nr;
    const int64_t run_width = g.flat ? std::min(kTileElems, numel - r0 * kTile) : nc;
    auto address = [&](const TensorRef& ref, int64_t r) {
      return static_cast<char*>(ref.data) +
             (row_offset(ref, g, b, r0 + r) + c0 * col_stride(ref)) * dtype_bytes(ref.dtype);
    };
    for (size_t i = 0; i < n_in; ++i) {
      const auto& in = inputs[i];
      if (in_place(in)) {
        in_tiles[i] = reinterpret_cast<const C*>(address(in, 0));
        continue;
      }
      C* tile = cb.data() + i * kTileElems;
      in_tiles[i] = tile;
      for (int64_t r = 0; r < row_runs; ++r)
        load_row(tile + r * run_width, address(in, r), in.dtype, col_stride(in), run_width);
      if (rounds_to_compute(in.dtype, compute)) round_to(compute, tile, row_runs * run_width);
    }
    const int64_t valid = row_runs * run_width;
    if (out_in_place) {
      fn(in_tiles.data(), reinterpret_cast<C*>(address(out, 0)), valid, p);
      continue;
    }
    fn(in_tiles.data(), out_tile, valid, p);
    for (int64_t r = 0; r < row_runs; ++r)
      store_row(address(out, r), out.dtype, col_stride(out), out_tile + r * run_width, run_width);
  }
}

const char* format_of(const std::vector<TensorRef>& inputs) {
  return inputs.empty() ? "" : dtype_name(inputs[0].dtype);
}

template <class C>
TileFn<C> fn_for(const TileKernel& kernel);
template <> TileFn<float> fn_for<float>(const TileKernel& k) { return k.f32; }
template <> TileFn<double> fn_for<double>(const TileKernel& k) { return k.f64; }
template <> TileFn<int64_t> fn_for<int64_t>(const TileKernel& k) { return k.i64; }

template <class F>
void dispatch_compute(DType compute, F&& body) {
  if (compute == DType::F64) body(double{});
  else if (is_floating(compute)) body(float{});
  else body(int64_t{});
}

// The buffers, split and traffic shared by the single and multi-tensor programs.
ProgramRecord plan_record(const chip::Arch& arch, const char* op, const TileKernel& kernel,
                          const std::vector<EltwiseJob>& jobs, c10::ArrayRef<TileGrid> grids,
                          const CoreSplit& split, int64_t l1) {
  static const perf::KernelRef reader("reader_tilize_interleaved");
  static const perf::KernelRef writer("writer_untilize_interleaved");
  const int64_t tile_area = arch.tile_rows * arch.tile_cols;
  ProgramRecord rec;
  rec.op = op;
  rec.reader = reader;
  rec.compute = *kernel.desc;
  rec.writer = writer;
  if (!jobs.empty()) {
    rec.input_format = format_of(jobs[0].inputs);
    rec.output_format = dtype_name(jobs[0].out.dtype);
  }
  for (size_t j = 0; j < jobs.size(); ++j) {
    const int64_t tiles = grids[j].tiles();
    rec.flops += jobs[j].out.numel() * kernel.desc->flops_per_element;
    for (const auto& in : jobs[j].inputs) rec.dram_read_bytes += tiles * tile_area * dtype_bytes(in.dtype);
    rec.dram_write_bytes += tiles * tile_area * dtype_bytes(jobs[j].out.dtype);
    rec.tiles += tiles;
  }
  rec.noc_bytes = rec.dram_read_bytes + rec.dram_write_bytes;
  rec.cores_used = split.cores_used;
  rec.max_tiles_per_core = split.max_tiles();
  rec.l1_bytes_per_core = l1;
  return rec;
}

// Double-buffered tiles of every operand. Summed without building the
// buffer list, which only the overflow message needs.
int64_t plan_l1(const chip::Arch& arch, const char* op, const EltwiseJob& job) {
  const int64_t tile_area = arch.tile_rows * arch.tile_cols;
  int64_t bytes = 2 * tile_area * dtype_bytes(job.out.dtype);
  for (const auto& in : job.inputs) bytes += 2 * tile_area * dtype_bytes(in.dtype);
  if (bytes <= arch.l1_bytes_per_core) return bytes;
  std::vector<CircularBuffer> cbs;
  for (size_t i = 0; i < job.inputs.size(); ++i)
    cbs.push_back({"in" + std::to_string(i), 2, tile_area * dtype_bytes(job.inputs[i].dtype)});
  cbs.push_back({"out", 2, tile_area * dtype_bytes(job.out.dtype)});
  return check_l1(arch, op, cbs);
}

}  // namespace

ProgramRecord run_eltwise(const chip::Arch& arch, const char* op, const TileKernel& kernel,
                          const TensorRef& out, const std::vector<TensorRef>& inputs,
                          DType compute, const KernelParams& params) {
  std::vector<EltwiseJob> jobs(1);
  jobs[0] = EltwiseJob{out, inputs, params};
  return run_eltwise_multi(arch, op, kernel, jobs, compute);
}

ProgramRecord run_eltwise_multi(const chip::Arch& arch, const char* op, const TileKernel& kernel,
                                const std::vector<EltwiseJob>& jobs, DType compute) {
  c10::SmallVector<TileGrid, 4> grids;
  c10::SmallVector<int64_t, 5> first_tile{0};  // of each job in the program's tile order
  int64_t l1 = 0;
  for (const auto& job : jobs) {
    grids.push_back(grid_for(job.out));
    first_tile.push_back(first_tile.back() + (job.out.numel() > 0 ? grids.back().tiles() : 0));
    l1 = std::max(l1, plan_l1(arch, op, job));
  }
  const CoreSplit split = split_tiles(first_tile.back(), arch.num_cores());
  const auto core_body = [&](int64_t begin, int64_t end) {
    dispatch_compute(compute, [&](auto tag) {
      using C = decltype(tag);
      const TileFn<C> fn = fn_for<C>(kernel);
      for (size_t j = 0; j < jobs.size(); ++j) {
        const int64_t lo = std::max(begin, first_tile[j]), hi = std::min(end, first_tile[j + 1]);
        if (lo < hi)
          run_tiles<C>(grids[j], fn, jobs[j].out, jobs[j].inputs, jobs[j].params,
                       lo - first_tile[j], hi - first_tile[j], compute);
      }
    });
  };
  // One captured reference fits std::function's inline buffer: no allocation per launch.
  run_on_cores(split, [&core_body](int64_t, int64_t begin, int64_t end) { core_body(begin, end); });
  return plan_record(arch, op, kernel, jobs, grids, split, l1);
}

}  // namespace accel::engine
