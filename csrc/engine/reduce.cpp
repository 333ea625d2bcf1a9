#include "engine/reduce.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <stdexcept>

#include "engine/compute_config.h"
#include "kernels/reduce/accumulators.h"
#include "kernels/reduce/tile_io.h"

namespace accel::engine {
namespace {

using namespace kernels::reduce;

constexpr int kOuts = 3;  // value, index, mean
using Offsets = std::array<int64_t, kOuts>;

struct KeptDim {
  int64_t size, in;
  Offsets out;
};
struct RedDim {
  int64_t size, in;
};

// Where a program's elements live: the reduced dims (slowest first; never
// empty) and the kept dims, whose last is the column dim in column mode.
struct Plan {
  const char* in_data;
  DType in_dtype;
  std::vector<RedDim> red;
  std::vector<KeptDim> kept;
  std::array<char*, kOuts> out_data{};
  std::array<DType, kOuts> out_dtype{};
  int64_t K = 1, R = 1;
  bool column = false;  // vectorize across a kept dim that is denser than the reduced axis
  int64_t col_blocks = 1;
  int64_t units = 0, splits = 1, r_chunk = 0;
};

// Walks the flat reduced index in runs along the innermost reduced dim.
struct RedWalk {
  const std::vector<RedDim>& dims;
  std::vector<int64_t> idx;
  int64_t offset = 0;
  explicit RedWalk(const std::vector<RedDim>& d) : dims(d), idx(d.size(), 0) {}
  void seek(int64_t r) {
    offset = 0;
    for (int64_t d = static_cast<int64_t>(dims.size()) - 1; d >= 0; --d) {
      idx[d] = r % dims[d].size;
      r /= dims[d].size;
      offset += idx[d] * dims[d].in;
    }
  }
  int64_t run_left() const { return dims.back().size - idx.back(); }
  void advance(int64_t n) {  // n <= run_left()
    const int64_t last = static_cast<int64_t>(dims.size()) - 1;
    idx[last] += n;
    offset += n * dims[last].in;
    for (int64_t d = last; d > 0 && idx[d] == dims[d].size; --d) {
      offset -= idx[d] * dims[d].in;
      idx[d] = 0;
      ++idx[d - 1];
      offset += dims[d - 1].in;
    }
  }
};

struct UnitGeom {
  int64_t in;
  Offsets out;
  int64_t w;
};

UnitGeom geom(const Plan& p, int64_t u) {
  const int64_t outer_dims = static_cast<int64_t>(p.kept.size()) - (p.column ? 1 : 0);
  int64_t flat = p.column ? u / p.col_blocks : u;
  UnitGeom g{0, {0, 0, 0}, 1};
  for (int64_t d = outer_dims - 1; d >= 0; --d) {
    const int64_t i = flat % p.kept[d].size;
    flat /= p.kept[d].size;
    g.in += i * p.kept[d].in;
    for (int o = 0; o < kOuts; ++o) g.out[o] += i * p.kept[d].out[o];
  }
  if (p.column) {
    const KeptDim& col = p.kept.back();
    const int64_t c0 = (u % p.col_blocks) * kTileWidth;
    g.in += c0 * col.in;
    for (int o = 0; o < kOuts; ++o) g.out[o] += c0 * col.out[o];
    g.w = std::min(kTileWidth, col.size - c0);
  }
  return g;
}

template <class C>
constexpr bool same_format(DType dt) {
  if constexpr (std::is_same_v<C, float>) return dt == DType::F32;
  else if constexpr (std::is_same_v<C, double>) return dt == DType::F64;
  else return dt == DType::I64;
}

// Reader + compute for one output: the reduced range [r0, r1) tilized into
// L1 (or, for unit-stride data already in the compute format, read in place).
template <class C, class Acc>
void fold_row(const Plan& p, const Acc& acc, typename Acc::State& st, int64_t base, int64_t r0,
              int64_t r1, C* tile) {
  if (r0 >= r1) return;
  RedWalk walk(p.red);
  walk.seek(r0);
  const int64_t stride = p.red.back().in, elem = dtype_bytes(p.in_dtype);
  const bool in_place = stride == 1 && same_format<C>(p.in_dtype);
  int64_t filled = 0, tile_r0 = r0;
  for (int64_t r = r0; r < r1;) {
    const int64_t n = std::min(walk.run_left(), r1 - r);
    const char* src = p.in_data + (base + walk.offset) * elem;
    if (in_place) {
      for (int64_t i = 0; i < n; i += kTileElems)
        acc.row(st, reinterpret_cast<const C*>(src) + i, std::min(kTileElems, n - i), r + i);
    } else {
      for (int64_t done = 0; done < n;) {
        const int64_t m = std::min(n - done, kTileElems - filled);
        load_run(tile + filled, src + done * stride * elem, p.in_dtype, stride, m);
        filled += m;
        done += m;
        if (filled == kTileElems) {
          acc.row(st, tile, filled, tile_r0);
          tile_r0 += filled;
          filled = 0;
        }
      }
    }
    r += n;
    if (r < r1) walk.advance(n);
  }
  if (filled) acc.row(st, tile, filled, tile_r0);
}

// Column mode over unit-stride columns already in the compute format, on rows
// one stride apart: tiles can be read in place (the same values, in the same
// order).
template <class C>
bool cols_in_place(const Plan& p) {
  return p.column && p.kept.back().in == 1 && p.red.size() == 1 && same_format<C>(p.in_dtype);
}

// Reader + compute for a block of w outputs along the column dim: tiles of
// 32 reduced rows x w columns.
template <class C, class Acc>
void fold_cols(const Plan& p, const Acc& acc, typename Acc::State* st, const UnitGeom& g,
               int64_t r0, int64_t r1, C* tile) {
  if (r0 >= r1) return;
  const int64_t elem = dtype_bytes(p.in_dtype), col_in = p.kept.back().in;
  RedWalk walk(p.red);
  walk.seek(r0);
  for (int64_t r = r0; r < r1;) {
    const int64_t rows = std::min(kTileWidth, r1 - r);
    for (int64_t i = 0; i < rows; ++i) {
      load_run(tile + i * g.w, p.in_data + (g.in + walk.offset) * elem, p.in_dtype, col_in, g.w);
      if (r + i + 1 < r1) walk.advance(1);
    }
    acc.cols(st, tile, rows, g.w, g.w, r);
    r += rows;
  }
}

// Writer: finished results of one unit, packed to each output's format.
template <class C, class Acc>
void write_unit(const Plan& p, const Acc& acc, const UnitGeom& g, const typename Acc::State* st) {
  char* dst[kOuts];
  int64_t step[kOuts];  // bytes between the unit's outputs
  for (int o = 0; o < kOuts; ++o) {
    if (!p.out_data[o]) continue;
    const int64_t elem = dtype_bytes(p.out_dtype[o]);
    dst[o] = p.out_data[o] + g.out[o] * elem;
    step[o] = (p.column ? p.kept.back().out[o] : 0) * elem;
  }
  // Values alone, stored in the compute format: no conversion to pick.
  if (p.out_data[0] && !p.out_data[1] && !p.out_data[2] && same_format<C>(p.out_dtype[0])) {
    for (int64_t j = 0; j < g.w; ++j)
      *reinterpret_cast<C*>(dst[0] + j * step[0]) = acc.finish(st[j], p.R).value;
    return;
  }
  for (int64_t j = 0; j < g.w; ++j) {
    const Result<C> res = acc.finish(st[j], p.R);
    if (p.out_data[0]) store_one(dst[0] + j * step[0], p.out_dtype[0], res.value);
    if (p.out_data[1]) store_one<int64_t>(dst[1] + j * step[1], p.out_dtype[1], res.index);
    if (p.out_data[2]) store_one(dst[2] + j * step[2], p.out_dtype[2], res.mean);
  }
}

// Each core's items (unit, piece of the reduced axis) one after another.
template <class C, class Acc, class Finish>
void run_items(const Plan& p, const Acc& acc, const CoreSplit& split, const Finish& finish_item) {
  using State = typename Acc::State;
  const int64_t S = p.splits;
  run_on_cores(split, [&](int64_t, int64_t begin, int64_t end) {
    std::vector<C> tile(kTileElems);  // the core's input circular buffer
    State st[kTileWidth];
    for (int64_t item = begin; item < end; ++item) {
      const int64_t u = item / S, s = item % S;
      const int64_t r0 = s * p.r_chunk, r1 = std::min(p.R, r0 + p.r_chunk);
      const UnitGeom g = geom(p, u);
      for (int64_t j = 0; j < g.w; ++j) st[j] = acc.init();
      if (p.column) fold_cols<C>(p, acc, st, g, r0, r1, tile.data());
      else if (r0 < r1) fold_row<C>(p, acc, st[0], g.in, r0, r1, tile.data());
      finish_item(item, g, st);
    }
  });
}

// The same items computed in a host-friendly order when the columns are read
// in place (cols_in_place): a panel is up to kPanelBlocks neighbouring column
// blocks of one outer index and one piece of the reduced axis, swept one tile
// row at a time, so the blocks' independent column chains overlap and the
// rows stream in memory order. Each column still folds its tiles in the same
// order, so the results are the items' own; only the host's loop order differs.
constexpr int64_t kPanelBlocks = 8;

template <class C, class Acc, class Finish>
void run_panels(const Plan& p, const Acc& acc, int64_t num_cores, const Finish& finish_item) {
  using State = typename Acc::State;
  const int64_t S = p.splits, blocks = p.col_blocks, ld = p.red[0].in;
  const int64_t groups = (blocks + kPanelBlocks - 1) / kPanelBlocks;
  const int64_t panels = p.units / blocks * groups * S;
  const C* in = reinterpret_cast<const C*>(p.in_data);
  run_on_cores(split_tiles(panels, num_cores), [&](int64_t, int64_t begin, int64_t end) {
    State st[kPanelBlocks * kTileWidth];
    UnitGeom gs[kPanelBlocks];
    for (int64_t panel = begin; panel < end; ++panel) {
      const int64_t s = panel % S, outer = panel / S / groups, b0 = panel / S % groups * kPanelBlocks;
      const int64_t nb = std::min(kPanelBlocks, blocks - b0);
      const int64_t r0 = s * p.r_chunk, r1 = std::min(p.R, r0 + p.r_chunk);
      for (int64_t b = 0; b < nb; ++b) {
        gs[b] = geom(p, outer * blocks + b0 + b);
        for (int64_t j = 0; j < gs[b].w; ++j) st[b * kTileWidth + j] = acc.init();
      }
      for (int64_t r = r0; r < r1; r += kTileWidth) {
        const int64_t rows = std::min(kTileWidth, r1 - r);
        for (int64_t b = 0; b < nb; ++b)
          acc.cols(st + b * kTileWidth, in + gs[b].in + r * ld, rows, gs[b].w, ld, r);
      }
      for (int64_t b = 0; b < nb; ++b)
        finish_item((outer * blocks + b0 + b) * S + s, gs[b], st + b * kTileWidth);
    }
  });
}

template <class C, class Acc>
void execute(const Plan& p, const Acc& acc, const CoreSplit& split, int64_t num_cores) {
  using State = typename Acc::State;
  const int64_t S = p.splits, width = p.column ? kTileWidth : 1;
  std::vector<State> partials(S > 1 ? p.units * S * width : 0);
  const auto finish_item = [&](int64_t item, const UnitGeom& g, const State* st) {
    if (S == 1) write_unit<C>(p, acc, g, st);
    else std::copy(st, st + g.w, partials.begin() + item * width);
  };
  if (cols_in_place<C>(p)) {
    run_panels<C>(p, acc, num_cores, finish_item);
  } else {
    run_items<C>(p, acc, split, finish_item);
  }
  if (S == 1) return;
  // Combine step: each unit's partials, in reduced-axis order, on one core.
  run_on_cores(split_tiles(p.units, num_cores), [&](int64_t, int64_t begin, int64_t end) {
    State st[kTileWidth];
    for (int64_t u = begin; u < end; ++u) {
      const UnitGeom g = geom(p, u);
      for (int64_t j = 0; j < g.w; ++j) {
        st[j] = partials[u * S * width + j];
        for (int64_t s = 1; s < S; ++s) acc.merge(st[j], partials[(u * S + s) * width + j]);
      }
      write_unit<C>(p, acc, g, st);
    }
  });
}

template <class C>
void dispatch(ReduceKind kind, const Plan& p, const ReduceParams& prm, const CoreSplit& split,
              int64_t cores) {
  switch (kind) {
    case ReduceKind::Sum: return execute<C>(p, SumAcc<C>{}, split, cores);
    case ReduceKind::NanSum: return execute<C>(p, SumAcc<C>{true, false}, split, cores);
    case ReduceKind::Mean: return execute<C>(p, SumAcc<C>{false, true}, split, cores);
    case ReduceKind::Prod: return execute<C>(p, ProdAcc<C>{}, split, cores);
    case ReduceKind::Max: return execute<C>(p, ExtremeAcc<C, true>{}, split, cores);
    case ReduceKind::Min: return execute<C>(p, ExtremeAcc<C, false>{}, split, cores);
    case ReduceKind::ArgMax: return execute<C>(p, ArgAcc<C, true>{}, split, cores);
    case ReduceKind::ArgMin: return execute<C>(p, ArgAcc<C, false>{}, split, cores);
    case ReduceKind::All: return execute<C>(p, LogicalAcc<C, true>{}, split, cores);
    case ReduceKind::Any: return execute<C>(p, LogicalAcc<C, false>{}, split, cores);
    default: break;
  }
  if constexpr (kFloat<C>) {
    switch (kind) {
      case ReduceKind::Var: return execute<C>(p, VarAcc<C>{prm.correction, prm.take_sqrt}, split, cores);
      case ReduceKind::Norm: return execute<C>(p, NormAcc<C>(prm.ord), split, cores);
      case ReduceKind::LogSumExp: return execute<C>(p, LogSumExpAcc<C>{}, split, cores);
      default: break;
    }
  }
  throw std::domain_error("reduction kind needs a floating compute type");
}

bool is_arg(ReduceKind k) { return k == ReduceKind::ArgMax || k == ReduceKind::ArgMin; }

const perf::KernelRef& kernel_name(ReduceKind k) {
  static const perf::KernelRef kernels[] = {
      "reduce_sum", "reduce_nansum", "reduce_mean", "reduce_prod", "reduce_max",
      "reduce_min", "reduce_argmax", "reduce_argmin", "reduce_var", "reduce_all",
      "reduce_any", "reduce_norm", "reduce_logsumexp"};
  return kernels[static_cast<int>(k)];
}

Plan make_plan(const TensorRef& in, const std::vector<int64_t>& dims, const ReduceOutputs& out,
               ReduceKind kind) {
  Plan p;
  p.in_data = static_cast<const char*>(in.data);
  p.in_dtype = in.dtype;
  const TensorRef* outs[kOuts] = {&out.value, &out.index, &out.mean};
  for (int o = 0; o < kOuts; ++o) {
    p.out_data[o] = static_cast<char*>(outs[o]->data);
    p.out_dtype[o] = outs[o]->dtype;
  }
  std::vector<bool> reduced(in.dim(), false);
  for (int64_t d : dims) reduced[d] = true;
  for (int64_t d = 0; d < in.dim(); ++d) {
    const int64_t size = in.sizes[d];
    if (reduced[d]) {
      p.R *= size;
      if (size != 1) p.red.push_back({size, in.strides[d]});
    } else {
      p.K *= size;
      Offsets o{};
      for (int i = 0; i < kOuts; ++i) o[i] = outs[i]->data ? outs[i]->strides[d] : 0;
      if (size != 1) p.kept.push_back({size, in.strides[d], o});
    }
  }
  // Memory order suits every reduction but the index ones, whose flat index
  // (and first-of-ties) follows the logical order.
  if (!is_arg(kind))
    std::stable_sort(p.red.begin(), p.red.end(),
                     [](const RedDim& a, const RedDim& b) { return std::abs(a.in) > std::abs(b.in); });
  std::vector<RedDim> red;
  for (const RedDim& d : p.red) {
    if (!red.empty() && red.back().in == d.in * d.size) red.back() = {red.back().size * d.size, d.in};
    else red.push_back(d);
  }
  p.red = red.empty() ? std::vector<RedDim>{{1, 0}} : red;
  std::vector<KeptDim> kept;
  for (const KeptDim& d : p.kept) {
    bool merge = !kept.empty() && kept.back().in == d.in * d.size;
    for (int o = 0; o < kOuts && merge; ++o) merge = kept.back().out[o] == d.out[o] * d.size;
    if (merge) {
      kept.back().size *= d.size;
      kept.back().in = d.in;
      kept.back().out = d.out;
    } else {
      kept.push_back(d);
    }
  }
  p.kept = kept;
  p.column = !p.kept.empty() && p.kept.back().size >= 8 &&
             (p.R == 1 || std::abs(p.kept.back().in) < std::abs(p.red.back().in));
  if (p.column) {
    p.col_blocks = (p.kept.back().size + kTileWidth - 1) / kTileWidth;
    p.units = p.K / p.kept.back().size * p.col_blocks;
  } else {
    p.units = p.K;
  }
  return p;
}

}  // namespace

ProgramRecord run_reduce(const chip::Arch& arch, const char* op, ReduceKind kind,
                         const TensorRef& in, const std::vector<int64_t>& dims,
                         const ReduceOutputs& out, DType compute, const ReduceParams& params) {
  Plan p = make_plan(in, dims, out, kind);
  const int64_t cores = arch.num_cores();
  // Too few outputs to occupy the cores: cut the reduced axis as well.
  if (p.units > 0 && p.units < cores && p.R > 0) {
    const int64_t min_piece = p.column ? 256 : 8192;
    p.splits = std::max<int64_t>(1, std::min((cores + p.units - 1) / p.units, p.R / min_piece));
  }
  p.r_chunk = p.R == 0 ? 0 : (p.R + p.splits - 1) / p.splits;
  if (p.column && p.splits > 1) p.r_chunk = (p.r_chunk + kTileWidth - 1) / kTileWidth * kTileWidth;
  if (p.R > 0) p.splits = (p.R + p.r_chunk - 1) / p.r_chunk;

  const int64_t tile_area = arch.tile_rows * arch.tile_cols;
  const DType out_dt = out.value.data ? out.value.dtype : DType::I64;
  const int64_t l1 = check_l1(arch, op,
                              {{"in", 2, tile_area * dtype_bytes(in.dtype)},
                               {"acc", 1, tile_area * 4},
                               {"out", 2, tile_area * dtype_bytes(out_dt)}});
  const CoreSplit split = split_tiles(p.units * p.splits, cores);
  if (p.units > 0) {
    if (compute == DType::F64) dispatch<double>(kind, p, params, split, cores);
    else if (is_floating(compute)) dispatch<float>(kind, p, params, split, cores);
    else dispatch<int64_t>(kind, p, params, split, cores);
  }

  const ComputeConfig cfg = current_compute_config();
  ProgramRecord rec;
  rec.op = op;
  rec.reader = p.column ? "reader_reduce_cols_tilize" : "reader_reduce_rows_tilize";
  rec.compute = kernel_name(kind);
  rec.writer = "writer_reduce";
  rec.input_format = dtype_name(in.dtype);
  rec.output_format = dtype_name(out_dt);
  rec.math_fidelity = static_cast<int>(cfg.fidelity);
  rec.fp32_dest_acc = cfg.fp32_dest_acc;
  const int64_t in_tiles = (p.K * p.R + tile_area - 1) / tile_area;
  const int64_t out_tiles = (p.K + tile_area - 1) / tile_area;
  const int64_t flops_per = kind == ReduceKind::Var || kind == ReduceKind::LogSumExp ? 4 : 1;
  rec.flops = p.K * p.R * flops_per;
  rec.dram_read_bytes = in_tiles * tile_area * dtype_bytes(in.dtype);
  for (const TensorRef* t : {&out.value, &out.index, &out.mean})
    if (t->data) rec.dram_write_bytes += out_tiles * tile_area * dtype_bytes(t->dtype);
  // Partials travel to the combining core as fp32 accumulator tiles.
  const int64_t partial_bytes = p.splits > 1 ? p.units * p.splits * (p.column ? kTileWidth : 1) * 4 : 0;
  rec.noc_bytes = rec.dram_read_bytes + rec.dram_write_bytes + partial_bytes;
  rec.tiles = in_tiles;
  rec.cores_used = split.cores_used;
  const int64_t tiles_per_item = (p.r_chunk * (p.column ? kTileWidth : 1) + tile_area - 1) / tile_area;
  rec.max_tiles_per_core = split.max_tiles() * tiles_per_item;
  rec.l1_bytes_per_core = l1;
  return rec;
}

}  // namespace accel::engine
