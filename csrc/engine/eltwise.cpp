#include "engine/eltwise.h"

#include <ATen/Parallel.h>
#include <c10/util/ArrayRef.h>
#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>
#include <c10/util/SmallVector.h>

#include <algorithm>
#include <cstring>

#include "engine/plan_mode.h"
#include "engine/tile_grid.h"
#include "kernels/eltwise/simd.h"

namespace accel::engine {
namespace {

constexpr int64_t kTile = 32;
constexpr int64_t kTileElems = kTile * kTile;
// Tiles a host thread takes at least: ATen's grain (at::internal::GRAIN_SIZE) of 32768 elements.
constexpr int64_t kHostGrainTiles = 32768 / kTileElems;

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

// Likewise a result bound for another floating format (a bfloat16 add into a
// float32 out=) is the 16-bit result, widened or converted afterwards.
bool result_rounds_to_compute(DType out, DType compute) {
  return (compute == DType::BF16 || compute == DType::F16) && is_floating(out) && out != compute;
}

template <class C>
void round_to(DType compute, C* v, int64_t n) {
  if constexpr (std::is_floating_point_v<C>) {
    for (int64_t i = 0; i < n; ++i)
      v[i] = compute == DType::BF16 ? static_cast<C>(static_cast<float>(c10::BFloat16(static_cast<float>(v[i]))))
                                    : static_cast<C>(static_cast<float>(c10::Half(static_cast<float>(v[i]))));
  }
}

// An operand as the host walks the grid: element strides over its rows and
// columns, and whether it is already in the compute type.
struct Walk {
  char* data;
  DType dtype;
  int64_t elem_bytes, row_stride, col_stride;
  bool rounds;  // to the 16-bit compute format, after loading or before storing
  bool native;  // a contiguous run of it is used in place
  const TensorRef* ref;
  char* at(int64_t offset) const { return data + offset * elem_bytes; }
};

// A range of the grid's tiles, computed on the host. The cost record comes
// from the plan, so the host walks rows, not tiles, as TensorIterator would:
// it moves `rows` runs of `width` elements at a time (a chunk), a whole row
// where rows are wide, several where they are narrow. A contiguous operand in
// the compute type is used in place; a broadcast one (stride 0) is filled, and
// a run that repeats (a row broadcast over rows) is not loaded again.
template <class C>
class RangeWalker {
 public:
  static constexpr int64_t kChunk = kTileElems;

  RangeWalker(const TileGrid& g, TileFn<C> fn, const TensorRef& out,
             const std::vector<TensorRef>& inputs, const KernelParams& p, DType compute)
      : g_(g), fn_(fn), p_(p), compute_(compute), n_in_(inputs.size()) {
    walks_.push_back(walk_of(out, result_rounds_to_compute(out.dtype, compute)));
    for (const auto& in : inputs) walks_.push_back(walk_of(in, rounds_to_compute(in.dtype, compute)));
    first_.resize(walks_.size());
    offsets_.resize(walks_.size());
    loaded_.assign(walks_.size(), Loaded{});
    in_runs_.resize(n_in_);
    // One chunk buffer per input and one for the result, reused per host
    // thread: a launch must not pay for allocating and zeroing them.
    thread_local std::vector<C> cb;
    if (cb.size() < static_cast<size_t>(kChunk * (n_in_ + 1))) cb.resize(kChunk * (n_in_ + 1));
    buffers_ = cb.data();
  }

  void run(int64_t begin, int64_t end) {
    if (g_.flat) return run_flat(begin, end);
    const int64_t tiles_per_batch = g_.row_tiles * g_.col_tiles;
    for (int64_t t = begin; t < end;) {
      const int64_t b = t / tiles_per_batch, rt = (t % tiles_per_batch) / g_.col_tiles;
      const int64_t ct = t % g_.col_tiles;
      // Whole tile rows of one batch go as one block of full-width rows;
      // otherwise the tiles left in this tile row make a narrower span.
      const int64_t whole_tile_rows = ct == 0 ? std::min((end - t) / g_.col_tiles, g_.row_tiles - rt) : 0;
      const int64_t r0 = rt * kTile;
      if (whole_tile_rows > 0) {
        block(b, r0, std::min(g_.rows, (rt + whole_tile_rows) * kTile) - r0, 0, g_.cols);
        t += whole_tile_rows * g_.col_tiles;
      } else {
        const int64_t ct_end = std::min(g_.col_tiles, ct + (end - t));
        block(b, r0, std::min(kTile, g_.rows - r0), ct * kTile, std::min(ct_end * kTile, g_.cols) - ct * kTile);
        t += ct_end - ct;
      }
    }
  }

 private:
  // Which runs an input's buffer holds, so a repeated broadcast run is not
  // reloaded. It cannot go stale: an input the program writes to is the
  // output itself (TensorIterator rejects partial overlap), whose runs never repeat.
  struct Loaded {
    int64_t offset = -1, rows = 0, width = 0;
  };

  static Walk walk_of(const TensorRef& t, bool rounds) {
    const int64_t nd = t.dim();
    return Walk{static_cast<char*>(t.data), t.dtype, dtype_bytes(t.dtype),
                nd >= 2 ? t.strides[nd - 2] : 0, col_stride(t), rounds,
                t.dtype == dtype_of<C>() && !rounds, &t};
  }

  // Rows [r0, r0 + rows) x columns [c0, c0 + span) of batch b.
  void block(int64_t b, int64_t r0, int64_t rows, int64_t c0, int64_t span) {
    for (size_t k = 0; k < walks_.size(); ++k)
      first_[k] = batch_row_offset(*walks_[k].ref, b, r0) + c0 * walks_[k].col_stride;
    // Narrow spans pack several rows into a chunk, as a tile does.
    const int64_t rows_per_chunk = span * 4 <= kChunk ? kChunk / span : 1;
    for (int64_t r = 0; r < rows; r += rows_per_chunk) {
      for (int64_t c = 0; c < span; c += kChunk) {
        for (size_t k = 0; k < walks_.size(); ++k)
          offsets_[k] = first_[k] + r * walks_[k].row_stride + c * walks_[k].col_stride;
        chunk(std::min(rows_per_chunk, rows - r), std::min(kChunk, span - c));
      }
    }
  }

  void run_flat(int64_t begin, int64_t end) {
    const int64_t numel = walks_[0].ref->numel();
    for (int64_t t = begin; t < end; ++t) {
      const int64_t first = t * kTileElems;
      for (size_t k = 0; k < walks_.size(); ++k) offsets_[k] = first * walks_[k].col_stride;
      chunk(1, std::min(kTileElems, numel - first));
    }
  }

  // Whether the chunk's runs of w are one contiguous run.
  static bool one_run(const Walk& w, int64_t rows, int64_t width) {
    return w.col_stride == 1 && (rows == 1 || w.row_stride == width);
  }

  void chunk(int64_t rows, int64_t width) {
    const int64_t n = rows * width;
    for (size_t i = 0; i < n_in_; ++i) {
      const Walk& w = walks_[i + 1];
      const int64_t offset = offsets_[i + 1];
      const bool contiguous = one_run(w, rows, width);
      if (contiguous && w.native) {
        in_runs_[i] = reinterpret_cast<const C*>(w.at(offset));
        continue;
      }
      C* tile = buffers_ + i * kChunk;
      in_runs_[i] = tile;
      Loaded& held = loaded_[i + 1];
      if (held.offset == offset && held.rows == rows && held.width == width) continue;
      held = Loaded{offset, rows, width};
      if (contiguous || (w.col_stride == 0 && w.row_stride == 0)) {
        load_row(tile, w.at(offset), w.dtype, w.col_stride, n);
      } else {
        for (int64_t r = 0; r < rows; ++r)
          load_row(tile + r * width, w.at(offset + r * w.row_stride), w.dtype, w.col_stride, width);
      }
      if (w.rounds) round_to(compute_, tile, n);
    }
    const Walk& out = walks_[0];
    const bool contiguous = one_run(out, rows, width);
    if (contiguous && out.native) return fn_(in_runs_.data(), reinterpret_cast<C*>(out.at(offsets_[0])), n, p_);
    C* result = buffers_ + n_in_ * kChunk;
    fn_(in_runs_.data(), result, n, p_);
    if (out.rounds) round_to(compute_, result, n);
    if (contiguous) return store_row(out.at(offsets_[0]), out.dtype, 1, result, n);
    for (int64_t r = 0; r < rows; ++r)
      store_row(out.at(offsets_[0] + r * out.row_stride), out.dtype, out.col_stride, result + r * width, width);
  }

  const TileGrid& g_;
  TileFn<C> fn_;
  const KernelParams& p_;
  DType compute_;
  size_t n_in_;
  c10::SmallVector<Walk, 4> walks_;  // out, then the inputs
  c10::SmallVector<int64_t, 4> first_;    // of each walk's first element of the span
  c10::SmallVector<int64_t, 4> offsets_;  // of each walk's first element of the chunk
  c10::SmallVector<Loaded, 4> loaded_;
  c10::SmallVector<const C*, 4> in_runs_;
  C* buffers_;
};

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
  // The record prices the cores' split; the host needs only the same numbers,
  // so it shares the tiles among its own threads instead: a thread walking
  // one long range keeps whole rows together, where a core's few tiles would
  // cut them into narrow pieces.
  if (executing()) {
    at::parallel_for(0, first_tile.back(), kHostGrainTiles, [&](int64_t begin, int64_t end) {
      dispatch_compute(compute, [&](auto tag) {
        using C = decltype(tag);
        const TileFn<C> fn = fn_for<C>(kernel);
        for (size_t j = 0; j < jobs.size(); ++j) {
          const int64_t lo = std::max(begin, first_tile[j]), hi = std::min(end, first_tile[j + 1]);
          if (lo < hi)
            RangeWalker<C>(grids[j], fn, jobs[j].out, jobs[j].inputs, jobs[j].params, compute)
                .run(lo - first_tile[j], hi - first_tile[j]);
        }
      });
    });
  }
  return plan_record(arch, op, kernel, jobs, grids, split, l1);
}

}  // namespace accel::engine
