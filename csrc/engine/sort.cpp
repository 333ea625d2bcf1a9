#include "engine/sort.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/sort/row_sort.h"

namespace accel::engine {
namespace {

// Element offsets of row r of t: the rows enumerate every dim but `dim`, row-major.
int64_t row_offset(const TensorRef& t, int64_t dim, int64_t r) {
  int64_t offset = 0;
  for (int64_t d = t.dim() - 1; d >= 0 && r > 0; --d) {
    if (d == dim) continue;
    offset += (r % t.sizes[d]) * t.strides[d];
    r /= t.sizes[d];
  }
  return offset;
}

int64_t out_len(const SortParams& p, int64_t n) {
  switch (p.mode) {
    case SortMode::Sort: return n;
    case SortMode::TopK: return p.k;
    default: return 1;
  }
}

// Reader: the row, contiguous in the core's L1.
void read_row(const TensorRef& in, int64_t offset, int64_t stride, int64_t n, char* row) {
  const int64_t width = dtype_bytes(in.dtype);
  const char* src = static_cast<const char*>(in.data) + offset * width;
  if (stride == 1) {
    std::memcpy(row, src, n * width);
    return;
  }
  for (int64_t i = 0; i < n; ++i) std::memcpy(row + i * width, src + i * stride * width, width);
}

template <class K>
struct RowScratch {
  std::vector<char> row;
  std::vector<K> keys;
  std::vector<uint64_t> radix;
};

// Compute: orders the row's keys so the outputs are its first entries.
void order(RowScratch<uint64_t>& s, int64_t n, const SortParams& p) {
  if (p.mode == SortMode::Sort) kernels::sort_keys(s.keys.data(), s.radix.data(), n);
  else kernels::select_smallest(s.keys.data(), n, p.k, p.sorted);
}
void order(RowScratch<kernels::WideKey>& s, int64_t n, const SortParams& p) {
  if (p.mode == SortMode::Sort) kernels::sort_keys(s.keys.data(), n);
  else kernels::select_smallest(s.keys.data(), n, p.k, p.sorted);
}

template <class K>
void run_rows(const TensorRef& in, int64_t dim, const TensorRef& values, const TensorRef& indices,
              const SortParams& p, int64_t begin, int64_t end) {
  const int64_t n = in.dim() == 0 ? 1 : in.sizes[dim];
  const int64_t in_stride = in.dim() == 0 ? 1 : in.strides[dim];
  const int64_t v_stride = values.dim() == 0 ? 1 : values.strides[dim];
  const int64_t i_stride = indices.dim() == 0 ? 1 : indices.strides[dim];
  const int64_t width = dtype_bytes(in.dtype);
  const int64_t m = out_len(p, n);
  RowScratch<K> s;
  s.row.resize(n * width);
  s.keys.resize(n);
  if constexpr (std::is_same_v<K, uint64_t>) s.radix.resize(n);
  SortParams rp = p;
  if (p.mode == SortMode::Kth || p.mode == SortMode::Median) rp.sorted = false;  // only the k-th counts
  for (int64_t r = begin; r < end; ++r) {
    read_row(in, row_offset(in, dim, r), in_stride, n, s.row.data());
    kernels::make_keys(s.row.data(), in.dtype, 1, n, p.descending, s.keys.data());
    const K* first = s.keys.data();
    if (p.mode == SortMode::Median) {
      // A row holding NaN has NaN for its median: its first NaN.
      const int64_t nans = std::count_if(s.keys.begin(), s.keys.end(),
                                         [&](const K& k) { return kernels::is_nan_key(k, in.dtype); });
      rp.k = nans > 0 ? n - nans + 1 : (n - 1) / 2 + 1;
    }
    order(s, n, rp);
    if (p.mode == SortMode::Kth || p.mode == SortMode::Median) first += rp.k - 1;
    char* v = static_cast<char*>(values.data) + row_offset(values, dim, r) * width;
    int64_t* idx = static_cast<int64_t*>(indices.data) + row_offset(indices, dim, r);
    kernels::write_row(first, m, s.row.data(), 1, in.dtype, v, v_stride, idx, i_stride);
  }
}

const char* compute_kernel(SortMode mode) {
  switch (mode) {
    case SortMode::Sort: return "sort_radix_rows";
    case SortMode::TopK: return "topk_select_rows";
    case SortMode::Kth: return "kthvalue_select_rows";
    case SortMode::Median: return "median_select_rows";
  }
  return "?";
}

}  // namespace

ProgramRecord run_sort(const chip::Arch& arch, const char* op, const TensorRef& in, int64_t dim,
                       const TensorRef& values, const TensorRef& indices, const SortParams& p) {
  const int64_t n = in.dim() == 0 ? 1 : in.sizes[dim];
  const int64_t rows = n == 0 ? 0 : in.numel() / n;
  const int64_t m = out_len(p, n);
  const int64_t width = dtype_bytes(in.dtype);
  const bool packed = kernels::packs_in_word(in.dtype);
  const int64_t key_bytes = packed ? 8 : 16;

  // A row that fits in L1 is read once; a longer one streams through tile
  // pages, each radix or selection pass a round trip to DRAM.
  const int64_t page = arch.tile_rows * arch.tile_cols;
  std::vector<CircularBuffer> whole = {{"row", 1, n * width},
                                       {"keys", packed ? 2 : 1, n * key_bytes},
                                       {"values", 1, m * width},
                                       {"indices", 1, m * 8}};
  int64_t whole_bytes = 0;
  for (const auto& cb : whole) whole_bytes += cb.bytes();
  const bool staged = whole_bytes > arch.l1_bytes_per_core;
  const int64_t l1 = staged ? check_l1(arch, op, {{"row", 2, page * width},
                                                 {"keys", 4, page * key_bytes},
                                                 {"values", 2, page * width},
                                                 {"indices", 2, page * 8}})
                            : check_l1(arch, op, whole);

  const CoreSplit split = split_tiles(rows, arch.num_cores());
  if (rows > 0 && m > 0) {
    run_on_cores(split, [&](int64_t, int64_t begin, int64_t end) {
      if (packed) run_rows<uint64_t>(in, dim, values, indices, p, begin, end);
      else run_rows<kernels::WideKey>(in, dim, values, indices, p, begin, end);
    });
  }

  ProgramRecord rec;
  rec.op = op;
  rec.reader = staged ? "reader_sort_rows_staged" : "reader_sort_rows";
  rec.compute = compute_kernel(p.mode);
  rec.writer = "writer_values_indices";
  rec.input_format = dtype_name(in.dtype);
  rec.output_format = dtype_name(in.dtype);
  // Radix passes over 8-bit digits, or ~2n compares for a selection.
  const int64_t passes = p.mode == SortMode::Sort ? key_bytes / 2 : 2;
  rec.flops = rows * n * passes;
  const int64_t spill = staged ? rows * n * key_bytes * passes : 0;
  rec.dram_read_bytes = rows * n * width + spill;
  rec.dram_write_bytes = rows * m * (width + 8) + spill;
  rec.noc_bytes = rec.dram_read_bytes + rec.dram_write_bytes;
  rec.tiles = (in.numel() + page - 1) / page;
  rec.cores_used = split.cores_used;
  rec.max_tiles_per_core = (split.max_tiles() * n + page - 1) / page;
  rec.l1_bytes_per_core = l1;
  return rec;
}

}  // namespace accel::engine
