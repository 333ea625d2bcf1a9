// Copy programs: the reader fetches each page of the source (converting its
// format), the writer stores it at the destination's strides. A permuted
// source is read along its contiguous dim in 32x32 tiles and transposed in L1.
#include <algorithm>
#include <cstring>

#include "engine/movement.h"
#include "engine/movement_layout.h"
#include "kernels/movement/convert.h"

namespace accel::engine {
namespace {

using layout::Pages;
using layout::Space;
constexpr int64_t kTile = 32;

// One pair's plan: the coalesced space and how its units are cut.
struct CopyPlan {
  const TensorRef* out;
  const TensorRef* in;
  Space s;           // operand 0 = out, 1 = in
  bool transpose;    // 32x32 tiles moved through an L1 transpose
  int64_t batch, rows, cols, row_tiles, col_tiles;
  Pages pages{0, 0};
  int64_t units() const { return transpose ? batch * row_tiles * col_tiles : pages.count; }
};

CopyPlan plan(const TensorRef& out, const TensorRef& in, const CopyOptions& o) {
  CopyPlan p{&out, &in, {}, false, 1, 1, 1, 0, 0};
  const int64_t keep = o.triangle == Triangle::None ? 0 : 2;
  p.s = layout::coalesce(out.sizes, {out.strides, in.strides}, keep);
  const int64_t nd = p.s.dim();
  if (nd == 0) {  // one element
    p.pages = Pages(1, 1);
    return p;
  }
  p.cols = p.s.sizes[nd - 1];
  p.rows = nd >= 2 ? p.s.sizes[nd - 2] : 1;
  p.batch = nd >= 2 ? p.s.numel() / std::max<int64_t>(p.rows * p.cols, 1) : 1;
  if (nd >= 2 && out.dtype == in.dtype && o.triangle == Triangle::None) {
    const auto &os = p.s.strides[0], &is = p.s.strides[1];
    const bool a = is[nd - 2] == 1 && os[nd - 1] == 1;
    const bool b = os[nd - 2] == 1 && is[nd - 1] == 1;
    p.transpose = (a || b) && p.rows > 1 && p.cols > 1;
  }
  p.row_tiles = (p.rows + kTile - 1) / kTile;
  p.col_tiles = (p.cols + kTile - 1) / kTile;
  p.pages = Pages(p.batch * p.rows, p.cols);
  return p;
}

// Zeroes n elements of `elem` bytes at dst with a stride (tril/triu's outside band).
void zero_run(char* dst, int64_t stride, int64_t n, int64_t elem) {
  if (n <= 0) return;
  if (stride == 1) return void(std::memset(dst, 0, n * elem));
  for (int64_t i = 0; i < n; ++i) std::memset(dst + i * stride * elem, 0, elem);
}

void copy_unit(const CopyPlan& p, const CopyOptions& o, int64_t u) {
  const TensorRef &out = *p.out, &in = *p.in;
  const int64_t oe = dtype_bytes(out.dtype), ie = dtype_bytes(in.dtype);
  char* obase = static_cast<char*>(out.data);
  const char* ibase = static_cast<const char*>(in.data);
  const int64_t nd = p.s.dim();
  if (nd == 0) return kernels::move_run(obase, out.dtype, 1, ibase, in.dtype, 1, 1);
  const auto &os = p.s.strides[0], &is = p.s.strides[1];

  if (p.transpose) {
    const int64_t b = u / (p.row_tiles * p.col_tiles);
    const int64_t r0 = (u / p.col_tiles) % p.row_tiles * kTile, c0 = u % p.col_tiles * kTile;
    const int64_t nr = std::min(kTile, p.rows - r0), nc = std::min(kTile, p.cols - c0);
    int64_t off[2];
    layout::row_offsets(p.s, b * p.rows, off);
    char* dst = obase + (off[0] + r0 * os[nd - 2] + c0 * os[nd - 1]) * oe;
    const char* src = ibase + (off[1] + r0 * is[nd - 2] + c0 * is[nd - 1]) * ie;
    if (is[nd - 2] == 1 && os[nd - 1] == 1)
      kernels::transpose_block(dst, os[nd - 2], src, is[nd - 1], nc, nr, oe);
    else
      kernels::transpose_block(dst, os[nd - 1], src, is[nd - 2], nr, nc, oe);
    return;
  }

  const bool in_place = out.data == in.data && os == is && out.dtype == in.dtype;
  // A page's rows are consecutive: the cursor decodes the first and steps to the next.
  layout::RowCursor rows(p.s);
  // Whole short rows of one format, contiguous on both sides: a page is a
  // strided 2-D copy, its rows one memcpy each in one loop (a call per row
  // through for_runs cost more than the bytes).
  if (out.dtype == in.dtype && os[nd - 1] == 1 && is[nd - 1] == 1 && !in_place &&
      o.triangle == Triangle::None && p.pages.cols < layout::kTileElems && nd >= 2) {
    const int64_t r0 = u * p.pages.rows_per_page, r1 = std::min(p.pages.rows, r0 + p.pages.rows_per_page);
    const size_t bytes = p.pages.cols * oe;
    rows.seek(r0);
    for (int64_t r = r0; r < r1; ++r, rows.next())
      std::memcpy(obase + rows.off[0] * oe, ibase + rows.off[1] * ie, bytes);
    return;
  }
  int64_t next_row = -1;
  p.pages.for_runs(u, [&](int64_t row, int64_t c0, int64_t c1) {
    if (row != next_row) rows.seek(row);
    const int64_t* off = rows.off;
    char* dst = obase + off[0] * oe;
    const char* src = ibase + off[1] * ie;
    const int64_t ocs = os[nd - 1], ics = is[nd - 1];
    int64_t k0 = c0, k1 = c1;  // the kept band of this row
    if (o.triangle != Triangle::None) {
      const int64_t r = row % p.rows;
      if (o.triangle == Triangle::Upper) k0 = std::clamp(r + o.diagonal, c0, c1);
      else k1 = std::clamp(r + o.diagonal + 1, c0, c1);
      if (k1 < k0) k1 = k0;
      zero_run(dst + c0 * ocs * oe, ocs, k0 - c0, oe);
      zero_run(dst + k1 * ocs * oe, ocs, c1 - k1, oe);
    }
    if (!in_place && k1 > k0)
      kernels::move_run(dst + k0 * ocs * oe, out.dtype, ocs, src + k0 * ics * ie, in.dtype, ics,
                        k1 - k0);
    next_row = rows.next() ? row + 1 : -1;
  });
}

}  // namespace

ProgramRecord run_copies(const chip::Arch& arch, const char* op,
                         const std::vector<std::pair<TensorRef, TensorRef>>& pairs,
                         const CopyOptions& opts) {
  c10::SmallVector<CopyPlan, 2> plans;
  c10::SmallVector<int64_t, 3> first{0};  // first unit of each pair
  plans.reserve(pairs.size());
  int64_t in_tile = 0, out_tile = 0;
  bool transpose = false;
  ProgramRecord bytes;
  for (const auto& [out, in] : pairs) {
    if (out.numel() == 0) continue;
    plans.push_back(plan(out, in, opts));
    first.push_back(first.back() + plans.back().units());
    in_tile = std::max(in_tile, layout::kTileElems * dtype_bytes(in.dtype));
    out_tile = std::max(out_tile, layout::kTileElems * dtype_bytes(out.dtype));
    transpose |= plans.back().transpose;
    bytes.dram_read_bytes += out.numel() * dtype_bytes(in.dtype);
    bytes.dram_write_bytes += out.numel() * dtype_bytes(out.dtype);
  }
  const int64_t l1 = check_l1(arch, op, {{"in", 2, in_tile}, {"out", 2, out_tile}});
  const CoreSplit split = split_tiles(first.back(), arch.num_cores());
  const auto core_body = [&](int64_t begin, int64_t end) {
    size_t k = std::upper_bound(first.begin(), first.end(), begin) - first.begin() - 1;
    for (int64_t u = begin; u < end; ++u) {
      while (u >= first[k + 1]) ++k;
      copy_unit(plans[k], opts, u - first[k]);
    }
  };
  // One captured reference fits std::function's inline buffer: no allocation per launch.
  run_on_cores(split, [&core_body](int64_t, int64_t begin, int64_t end) { core_body(begin, end); });

  const char* compute = opts.triangle != Triangle::None ? "copy_tile_masked"
                        : transpose                     ? "transpose_wh_tile"
                                                        : "copy_tile";
  ProgramRecord rec = layout::base_record(op, split, first.back(), l1, "reader_strided_tilize",
                                          compute, "writer_strided_untilize");
  rec.dram_read_bytes = bytes.dram_read_bytes;
  rec.dram_write_bytes = bytes.dram_write_bytes;
  rec.noc_bytes = rec.dram_read_bytes + rec.dram_write_bytes;
  if (!pairs.empty()) {
    rec.input_format = dtype_name(pairs[0].second.dtype);
    rec.output_format = dtype_name(pairs[0].first.dtype);
  }
  return rec;
}

}  // namespace accel::engine
