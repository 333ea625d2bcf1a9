// The scan program (cumsum, cumprod): cores split the lines along the scanned
// dim; a line too long for the few lines there are is cut into segments whose
// totals are scanned first (a two-pass, Blelloch-style carry). The running
// value is kept in fp64 / int64, as ATen's CPU kernel keeps it, since one
// fp32 carry over millions of elements drifts past float32 tolerances.
#include <algorithm>
#include <cstdlib>
#include <type_traits>

#include "engine/reduce.h"
#include "kernels/reduce/accumulators.h"
#include "kernels/reduce/tile_io.h"

namespace accel::engine {
namespace {

using namespace kernels::reduce;

struct LineDim {
  int64_t size, in, out;
};

struct ScanPlan {
  const char* in;
  char* out;
  DType in_dt, out_dt;
  int64_t L, si, so;
  std::vector<LineDim> lines;  // slowest first; the last is the column dim in column mode
  bool column = false;
  int64_t col_blocks = 1, units = 0, segments = 1, seg_len = 0;
};

struct LineGeom {
  int64_t in = 0, out = 0, w = 1;
};

LineGeom line_geom(const ScanPlan& p, int64_t u) {
  LineGeom g;
  const int64_t outer = static_cast<int64_t>(p.lines.size()) - (p.column ? 1 : 0);
  int64_t flat = p.column ? u / p.col_blocks : u;
  for (int64_t d = outer - 1; d >= 0; --d) {
    const int64_t i = flat % p.lines[d].size;
    flat /= p.lines[d].size;
    g.in += i * p.lines[d].in;
    g.out += i * p.lines[d].out;
  }
  if (p.column) {
    const int64_t c0 = (u % p.col_blocks) * kTileWidth;
    g.in += c0 * p.lines.back().in;
    g.out += c0 * p.lines.back().out;
    g.w = std::min(kTileWidth, p.lines.back().size - c0);
  }
  return g;
}

template <class A>
A apply(ScanKind k, A acc, A x) { return k == ScanKind::Sum ? acc + x : acc * x; }

// A tile's running sum as kChains independent chains, each later offset by
// the totals before it: one chain is bound by the add latency, several fill
// the vector engine's pipeline. Chain 0 starts from the carry, so its values
// are exactly the sequential ones; the others differ from them only by the
// association of fp64 adds, far below the output format's precision.
template <class A>
void scan_tile_sum(A* t, int64_t n, A& carry) {
  constexpr int64_t kChains = 8;
  if (n < kChains * 16) {
    for (int64_t i = 0; i < n; ++i) t[i] = carry += t[i];
    return;
  }
  const int64_t len = n / kChains;
  A acc[kChains] = {};
  acc[0] = carry;
  for (int64_t i = 0; i < len; ++i)
    for (int64_t c = 0; c < kChains; ++c) t[c * len + i] = acc[c] += t[c * len + i];
  for (int64_t i = kChains * len; i < n; ++i) t[i] = acc[kChains - 1] += t[i];
  A off = acc[0];
  for (int64_t c = 1; c < kChains; ++c) {
    const int64_t end = c + 1 < kChains ? (c + 1) * len : n;
    for (int64_t i = c * len; i < end; ++i) t[i] += off;
    off += acc[c];
  }
  carry = off;
}

// One segment [l0, l1) of a line, from `carry`: tilize, scan, untilize.
template <class A>
void scan_segment(const ScanPlan& p, ScanKind k, const LineGeom& g, int64_t l0, int64_t l1, A carry,
                  A* tile) {
  const int64_t ie = dtype_bytes(p.in_dt), oe = dtype_bytes(p.out_dt);
  for (int64_t l = l0; l < l1; l += kTileElems) {
    const int64_t n = std::min(kTileElems, l1 - l);
    load_run(tile, p.in + (g.in + l * p.si) * ie, p.in_dt, p.si, n);
    if (k == ScanKind::Sum) {
      scan_tile_sum(tile, n, carry);
    } else {
      for (int64_t i = 0; i < n; ++i) tile[i] = carry *= tile[i];
    }
    char* dst = p.out + (g.out + l * p.so) * oe;
    if constexpr (std::is_same_v<A, double>) {
      if (p.out_dt == DType::F32 && p.so == 1) {  // contiguous fp32: a vectorized pack
        auto* d = reinterpret_cast<float*>(dst);
        for (int64_t i = 0; i < n; ++i) d[i] = static_cast<float>(tile[i]);
        continue;
      }
    }
    store_run(dst, p.out_dt, p.so, tile, n);
  }
}

// A segment's total alone: independent lanes, no dependent chain or stores.
template <class A>
A segment_total(const ScanPlan& p, ScanKind k, const LineGeom& g, int64_t l0, int64_t l1, A* tile) {
  const int64_t ie = dtype_bytes(p.in_dt);
  const A identity = k == ScanKind::Sum ? A(0) : A(1);
  A lanes[8];
  std::fill(lanes, lanes + 8, identity);
  for (int64_t l = l0; l < l1; l += kTileElems) {
    const int64_t n = std::min(kTileElems, l1 - l);
    load_run(tile, p.in + (g.in + l * p.si) * ie, p.in_dt, p.si, n);
    int64_t i = 0;
    if (k == ScanKind::Sum) {  // the kind hoisted, so the lanes vectorize
      for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; ++j) lanes[j] += tile[i + j];
    }
    for (; i + 8 <= n; i += 8)
      for (int j = 0; j < 8; ++j) lanes[j] = apply(k, lanes[j], tile[i + j]);
    for (; i < n; ++i) lanes[0] = apply(k, lanes[0], tile[i]);
  }
  A total = identity;
  for (int j = 0; j < 8; ++j) total = apply(k, total, lanes[j]);
  return total;
}

template <class A>
void scan_columns(const ScanPlan& p, ScanKind k, const LineGeom& g, A* tile) {
  const int64_t ie = dtype_bytes(p.in_dt), oe = dtype_bytes(p.out_dt);
  A acc[kTileWidth];
  std::fill(acc, acc + g.w, k == ScanKind::Sum ? A(0) : A(1));
  for (int64_t l = 0; l < p.L; ++l) {
    load_run(tile, p.in + (g.in + l * p.si) * ie, p.in_dt, p.lines.back().in, g.w);
    for (int64_t j = 0; j < g.w; ++j) tile[j] = acc[j] = apply(k, acc[j], tile[j]);
    store_run(p.out + (g.out + l * p.so) * oe, p.out_dt, p.lines.back().out, tile, g.w);
  }
}

template <class A>
void execute_scan(const ScanPlan& p, ScanKind k, int64_t cores, const CoreSplit& split) {
  const A identity = k == ScanKind::Sum ? A(0) : A(1);
  const int64_t S = p.segments;
  std::vector<A> carries(p.units * S, identity);
  if (S > 1) {
    // Pass 1: each segment's total, then their exclusive scan per line.
    std::vector<A> totals(p.units * S, identity);
    run_on_cores(split, [&](int64_t, int64_t begin, int64_t end) {
      std::vector<A> tile(kTileElems);
      for (int64_t item = begin; item < end; ++item) {
        const int64_t s = item % S, l0 = s * p.seg_len, l1 = std::min(p.L, l0 + p.seg_len);
        if (s + 1 < S)
          totals[item] = segment_total<A>(p, k, line_geom(p, item / S), l0, l1, tile.data());
      }
    });
    for (int64_t u = 0; u < p.units; ++u)
      for (int64_t s = 1; s < S; ++s)
        carries[u * S + s] = apply(k, carries[u * S + s - 1], totals[u * S + s - 1]);
  }
  run_on_cores(split, [&](int64_t, int64_t begin, int64_t end) {
    std::vector<A> tile(kTileElems);
    for (int64_t item = begin; item < end; ++item) {
      const LineGeom g = line_geom(p, item / S);
      if (p.column) {
        scan_columns<A>(p, k, g, tile.data());
      } else {
        const int64_t s = item % S, l0 = s * p.seg_len, l1 = std::min(p.L, l0 + p.seg_len);
        scan_segment<A>(p, k, g, l0, l1, carries[item], tile.data());
      }
    }
  });
}

}  // namespace

ProgramRecord run_scan(const chip::Arch& arch, const char* op, ScanKind kind, const TensorRef& in,
                       int64_t dim, const TensorRef& out, DType compute) {
  ScanPlan p;
  p.in = static_cast<const char*>(in.data);
  p.out = static_cast<char*>(out.data);
  p.in_dt = in.dtype;
  p.out_dt = out.dtype;
  p.L = in.dim() == 0 ? 1 : in.sizes[dim];
  p.si = in.dim() == 0 ? 0 : in.strides[dim];
  p.so = out.dim() == 0 ? 0 : out.strides[dim];
  int64_t n_lines = 1;
  for (int64_t d = 0; d < in.dim(); ++d) {
    if (d == dim) continue;
    n_lines *= in.sizes[d];
    if (in.sizes[d] == 1) continue;
    const LineDim ld{in.sizes[d], in.strides[d], out.strides[d]};
    if (!p.lines.empty() && p.lines.back().in == ld.in * ld.size && p.lines.back().out == ld.out * ld.size)
      p.lines.back() = {p.lines.back().size * ld.size, ld.in, ld.out};
    else
      p.lines.push_back(ld);
  }
  p.column = !p.lines.empty() && p.lines.back().size >= 8 && std::abs(p.lines.back().in) < std::abs(p.si);
  if (p.column) {
    p.col_blocks = (p.lines.back().size + kTileWidth - 1) / kTileWidth;
    p.units = n_lines / p.lines.back().size * p.col_blocks;
  } else {
    p.units = n_lines;
  }
  const int64_t cores = arch.num_cores();
  if (!p.column && p.units > 0 && p.units < cores && p.L >= 4 * 8192)
    p.segments = std::min((cores + p.units - 1) / p.units, p.L / 8192);
  p.seg_len = (p.L + p.segments - 1) / p.segments;

  const int64_t tile_area = arch.tile_rows * arch.tile_cols;
  const int64_t l1 = check_l1(arch, op,
                              {{"in", 2, tile_area * dtype_bytes(in.dtype)},
                               {"carry", 1, tile_area * 4},
                               {"out", 2, tile_area * dtype_bytes(out.dtype)}});
  const CoreSplit split = split_tiles(p.units * p.segments, cores);
  if (p.units > 0 && p.L > 0) {
    if (is_floating(compute)) execute_scan<double>(p, kind, cores, split);
    else execute_scan<int64_t>(p, kind, cores, split);
  }

  ProgramRecord rec;
  rec.op = op;
  rec.reader = p.column ? "reader_scan_cols_tilize" : "reader_scan_rows_tilize";
  rec.compute = kind == ScanKind::Sum ? "scan_cumsum" : "scan_cumprod";
  rec.writer = "writer_untilize_interleaved";
  rec.input_format = dtype_name(in.dtype);
  rec.output_format = dtype_name(out.dtype);
  const int64_t numel = in.numel();
  const int64_t tiles = (numel + tile_area - 1) / tile_area;
  // Segmented lines are read twice: once for the totals, once for the scan.
  const int64_t passes = p.segments > 1 ? 2 : 1;
  rec.flops = numel * passes;
  rec.dram_read_bytes = passes * tiles * tile_area * dtype_bytes(in.dtype);
  rec.dram_write_bytes = tiles * tile_area * dtype_bytes(out.dtype);
  rec.noc_bytes = rec.dram_read_bytes + rec.dram_write_bytes + p.units * p.segments * 8;
  rec.tiles = tiles;
  rec.cores_used = split.cores_used;
  const int64_t per_item = std::max<int64_t>(1, tiles / std::max<int64_t>(1, p.units * p.segments));
  for (int64_t c = 0; c < split.cores_used; ++c)
    rec.max_tiles_per_core = std::max(rec.max_tiles_per_core, split.tiles(c) * per_item);
  rec.l1_bytes_per_core = l1;
  return rec;
}

}  // namespace accel::engine
