// Shared by the data-movement programs: the iteration space reduced to the
// fewest dims that still describe every operand, and the record's common part.
#pragma once

#include <c10/util/ArrayRef.h>
#include <c10/util/SmallVector.h>

#include <algorithm>
#include <string>
#include <vector>

#include "engine/program.h"
#include "engine/tensor_ref.h"

namespace accel::engine::layout {

constexpr int64_t kTileElems = 1024;  // one 32x32 tile per page

// sizes plus one stride vector per operand, slowest dim first. Inline, so
// planning a small copy allocates nothing.
struct Space {
  InlineDims sizes;
  c10::SmallVector<InlineDims, 3> strides;
  int64_t dim() const { return static_cast<int64_t>(sizes.size()); }
  int64_t numel() const {
    int64_t n = 1;
    for (int64_t s : sizes) n *= s;
    return n;
  }
};

// Drops size-1 dims and merges neighbours every operand walks contiguously
// (keep_last keeps the last `keep_last` dims as they are, for tril/triu).
inline Space coalesce(c10::ArrayRef<int64_t> sizes, c10::ArrayRef<c10::ArrayRef<int64_t>> strides,
                      int64_t keep_last = 0) {
  Space s;
  s.strides.resize(strides.size());
  const int64_t nd = static_cast<int64_t>(sizes.size());
  for (int64_t d = 0; d < nd; ++d) {
    const bool kept = d >= nd - keep_last;
    if (sizes[d] == 1 && !kept) continue;
    bool merge = !s.sizes.empty() && !kept;
    for (size_t k = 0; merge && k < strides.size(); ++k)
      merge = s.strides[k].back() == strides[k][d] * sizes[d];
    if (merge) {
      s.sizes.back() *= sizes[d];
      for (size_t k = 0; k < strides.size(); ++k) s.strides[k].back() = strides[k][d];
    } else {
      s.sizes.push_back(sizes[d]);
      for (size_t k = 0; k < strides.size(); ++k) s.strides[k].push_back(strides[k][d]);
    }
  }
  return s;
}

// Offsets of the row `row` (all dims but the last) for each operand.
inline void row_offsets(const Space& s, int64_t row, int64_t* out) {
  const size_t nops = s.strides.size();
  for (size_t k = 0; k < nops; ++k) out[k] = 0;
  for (int64_t d = s.dim() - 2; d >= 0 && row > 0; --d) {
    const int64_t c = row % s.sizes[d];
    row /= s.sizes[d];
    for (size_t k = 0; k < nops; ++k) out[k] += c * s.strides[k][d];
  }
}

// The offsets of a run of consecutive rows of a two-operand space: seek
// decodes one row (a division per dim), next steps to the following row as an
// odometer over the row dims, carrying where a dim wraps, and says whether
// there is one.
struct RowCursor {
  const Space& s;
  int64_t off[2] = {0, 0};
  c10::SmallVector<int64_t, 6> at;  // the row's index along dims 0 .. dim() - 2

  explicit RowCursor(const Space& space) : s(space), at(std::max<int64_t>(space.dim() - 1, 0)) {}

  void seek(int64_t row) {
    off[0] = off[1] = 0;
    for (int64_t d = s.dim() - 2; d >= 0; --d) {
      at[d] = row % s.sizes[d];
      row /= s.sizes[d];
      off[0] += at[d] * s.strides[0][d];
      off[1] += at[d] * s.strides[1][d];
    }
  }

  bool next() {
    for (int64_t d = s.dim() - 2; d >= 0; --d) {
      off[0] += s.strides[0][d];
      off[1] += s.strides[1][d];
      if (++at[d] < s.sizes[d]) return true;
      off[0] -= s.strides[0][d] * s.sizes[d];
      off[1] -= s.strides[1][d] * s.sizes[d];
      at[d] = 0;
    }
    return false;
  }
};

// Pages of about one tile over [rows, cols]: a page is `rows_per_page` whole
// rows, or one chunk of a row longer than a tile.
struct Pages {
  int64_t rows, cols, rows_per_page, chunks_per_row, count;
  Pages(int64_t rows_, int64_t cols_) : rows(rows_), cols(cols_) {
    rows_per_page = cols >= kTileElems ? 1 : std::max<int64_t>(1, kTileElems / std::max<int64_t>(cols, 1));
    chunks_per_row = cols >= kTileElems ? (cols + kTileElems - 1) / kTileElems : 1;
    count = rows == 0 || cols == 0 ? 0
            : (cols >= kTileElems ? rows * chunks_per_row : (rows + rows_per_page - 1) / rows_per_page);
  }
  // Calls f(row, col_begin, col_end) for each run of page p.
  template <class F>
  void for_runs(int64_t p, F&& f) const {
    if (cols >= kTileElems) {
      const int64_t row = p / chunks_per_row, c0 = (p % chunks_per_row) * kTileElems;
      f(row, c0, std::min(cols, c0 + kTileElems));
    } else {
      const int64_t r1 = std::min(rows, (p + 1) * rows_per_page);
      for (int64_t r = p * rows_per_page; r < r1; ++r) f(r, int64_t{0}, cols);
    }
  }
};

inline ProgramRecord base_record(const char* op, const CoreSplit& split, int64_t tiles,
                                 int64_t l1, const char* reader, const char* compute,
                                 const char* writer) {
  ProgramRecord rec;
  rec.op = op;
  rec.reader = reader;
  rec.compute = compute;
  rec.writer = writer;
  rec.tiles = tiles;
  rec.cores_used = split.cores_used;
  rec.max_tiles_per_core = split.max_tiles();
  rec.l1_bytes_per_core = l1;
  return rec;
}

}  // namespace accel::engine::layout
