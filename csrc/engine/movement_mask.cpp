// Mask programs. masked_fill writes the value where the mask is set.
// Compactions (masked_select, nonzero, masked_scatter) run in two passes like
// a stream compaction on the chip: each core counts the set elements of its
// pages, the counts are prefix-summed, then each core writes from its offset.
#include <algorithm>
#include <cstring>

#include "engine/movement.h"
#include "engine/movement_layout.h"
#include "kernels/movement/convert.h"

namespace accel::engine {
namespace {

using layout::Pages;
using layout::Space;

inline bool set_at(const char* m, DType dt, int64_t off) {
  const int64_t e = dtype_bytes(dt);
  if (e == 1) return m[off] != 0;
  return kernels::is_nonzero(m + off * e, dt);
}

Pages pages_of(const Space& s) {
  const int64_t nd = s.dim();
  return Pages(nd >= 1 ? s.numel() / std::max<int64_t>(s.sizes.back(), 1) : 1, nd >= 1 ? s.sizes.back() : 1);
}

// Set elements of a run of a 1-byte mask (bool, uint8) read contiguously:
// the compare-and-add loop vectorizes.
inline int64_t count_bytes(const uint8_t* m, int64_t n) {
  int64_t c = 0;
  for (int64_t j = 0; j < n; ++j) c += m[j] != 0;
  return c;
}

inline bool byte_runs(const Space& s, const TensorRef& mask) {
  return dtype_bytes(mask.dtype) == 1 && s.dim() > 0 && s.strides[0].back() == 1;
}

// The two passes of a compaction. run(pos, limit, row, c0, c1, offsets)
// handles the set elements of one run of a page, writing positions from pos
// (never reaching limit, the next core's first) and returns the next position.
template <class Run>
CoreSplit compact_runs(const chip::Arch& arch, const Space& s, const TensorRef& mask, Run&& run) {
  const Pages pages = pages_of(s);
  const CoreSplit split = split_tiles(s.numel() == 0 ? 0 : pages.count, arch.num_cores());
  const char* m = static_cast<const char*>(mask.data);
  const int64_t last = s.dim() > 0 ? s.strides[0].back() : 0;
  const bool bytes = byte_runs(s, mask);
  std::vector<int64_t> start(split.cores_used + 1, 0);
  run_on_cores(split, [&](int64_t core, int64_t begin, int64_t end) {
    int64_t n = 0;
    for (int64_t u = begin; u < end; ++u)
      pages.for_runs(u, [&](int64_t row, int64_t c0, int64_t c1) {
        int64_t off[8];
        layout::row_offsets(s, row, off);
        if (bytes) return void(n += count_bytes(reinterpret_cast<const uint8_t*>(m) + off[0] + c0, c1 - c0));
        for (int64_t j = c0; j < c1; ++j) n += set_at(m, mask.dtype, off[0] + j * last);
      });
    start[core + 1] = n;
  });
  for (int64_t c = 0; c < split.cores_used; ++c) start[c + 1] += start[c];
  run_on_cores(split, [&](int64_t core, int64_t begin, int64_t end) {
    int64_t pos = start[core];
    const int64_t limit = start[core + 1];
    for (int64_t u = begin; u < end && pos < limit; ++u)
      pages.for_runs(u, [&](int64_t row, int64_t c0, int64_t c1) {
        int64_t off[8];
        layout::row_offsets(s, row, off);
        pos = run(pos, limit, row, c0, c1, off);
      });
  });
  return split;
}

// Calls hit(position, row, col, offsets) for each set element of operand 0,
// in row-major order, positions counted from 0.
template <class Hit>
CoreSplit compact(const chip::Arch& arch, const Space& s, const TensorRef& mask, Hit&& hit) {
  const char* m = static_cast<const char*>(mask.data);
  const int64_t last = s.dim() > 0 ? s.strides[0].back() : 0;
  return compact_runs(arch, s, mask, [&](int64_t pos, int64_t, int64_t row, int64_t c0, int64_t c1,
                                         const int64_t* off) {
    for (int64_t j = c0; j < c1; ++j)
      if (set_at(m, mask.dtype, off[0] + j * last)) hit(pos++, row, j, off);
    return pos;
  });
}

ProgramRecord mask_record(const char* op, const CoreSplit& split, const Pages& p, int64_t l1,
                          const char* compute) {
  return layout::base_record(op, split, p.count, l1, "reader_mask_tilize", compute,
                             "writer_compact");
}

}  // namespace

// masked_fill over a run with a 1-byte mask, elements of T's size: on
// contiguous runs a select the compiler vectorizes (every element rewritten,
// the set ones with the value), else a store per set element.
template <class T>
void fill_run(char* out, int64_t os, const uint8_t* mask, int64_t ms, int64_t n, const void* value) {
  T v;
  std::memcpy(&v, value, sizeof(T));
  T* o = reinterpret_cast<T*>(out);
  if (os == 1 && ms == 1) {
    for (int64_t j = 0; j < n; ++j) o[j] = mask[j] ? v : o[j];
    return;
  }
  for (int64_t j = 0; j < n; ++j)
    if (mask[j * ms]) o[j * os] = v;
}

using FillRun = void (*)(char*, int64_t, const uint8_t*, int64_t, int64_t, const void*);

FillRun fill_run_for(int64_t elem_bytes) {
  switch (elem_bytes) {
    case 1: return fill_run<uint8_t>;
    case 2: return fill_run<uint16_t>;
    case 4: return fill_run<uint32_t>;
    case 8: return fill_run<uint64_t>;
    default: return nullptr;
  }
}

ProgramRecord run_masked_fill(const chip::Arch& arch, const char* op, const TensorRef& out,
                              const TensorRef& mask, const void* value) {
  const Space s = layout::coalesce(out.sizes, {out.strides, mask.strides});
  const Pages pages = pages_of(s);
  const int64_t e = dtype_bytes(out.dtype);
  const int64_t l1 = check_l1(arch, op, {{"mask", 2, layout::kTileElems * dtype_bytes(mask.dtype)},
                                         {"data", 2, layout::kTileElems * e}});
  const CoreSplit split = split_tiles(out.numel() == 0 ? 0 : pages.count, arch.num_cores());
  char* o = static_cast<char*>(out.data);
  const char* m = static_cast<const char*>(mask.data);
  const int64_t os = s.dim() > 0 ? s.strides[0].back() : 0, ms = s.dim() > 0 ? s.strides[1].back() : 0;
  const FillRun fill = dtype_bytes(mask.dtype) == 1 ? fill_run_for(e) : nullptr;
  run_on_cores(split, [&](int64_t, int64_t begin, int64_t end) {
    for (int64_t u = begin; u < end; ++u)
      pages.for_runs(u, [&](int64_t row, int64_t c0, int64_t c1) {
        int64_t off[2];
        layout::row_offsets(s, row, off);
        if (fill)
          return fill(o + (off[0] + c0 * os) * e, os, reinterpret_cast<const uint8_t*>(m) + off[1] + c0 * ms, ms,
                      c1 - c0, value);
        for (int64_t j = c0; j < c1; ++j)
          if (set_at(m, mask.dtype, off[1] + j * ms)) std::memcpy(o + (off[0] + j * os) * e, value, e);
      });
  });
  ProgramRecord rec = mask_record(op, split, pages, l1, "where_tile");
  rec.input_format = rec.output_format = dtype_name(out.dtype);
  rec.flops = out.numel();
  rec.dram_read_bytes = out.numel() * (e + dtype_bytes(mask.dtype));
  rec.dram_write_bytes = out.numel() * e;
  rec.noc_bytes = rec.dram_read_bytes + rec.dram_write_bytes;
  return rec;
}

int64_t count_true(const chip::Arch& arch, const TensorRef& mask, ProgramRecord* rec) {
  const Space s = layout::coalesce(mask.sizes, {mask.strides});
  const Pages pages = pages_of(s);
  const CoreSplit split = split_tiles(mask.numel() == 0 ? 0 : pages.count, arch.num_cores());
  const char* m = static_cast<const char*>(mask.data);
  const int64_t last = s.dim() > 0 ? s.strides[0].back() : 0;
  std::vector<int64_t> counts(split.cores_used, 0);
  run_on_cores(split, [&](int64_t core, int64_t begin, int64_t end) {
    int64_t n = 0;
    for (int64_t u = begin; u < end; ++u)
      pages.for_runs(u, [&](int64_t row, int64_t c0, int64_t c1) {
        int64_t off[1];
        layout::row_offsets(s, row, off);
        for (int64_t j = c0; j < c1; ++j) n += set_at(m, mask.dtype, off[0] + j * last);
      });
    counts[core] = n;
  });
  int64_t total = 0;
  for (int64_t c : counts) total += c;
  if (rec) {
    const int64_t l1 = check_l1(arch, "count_nonzero", {{"mask", 2, layout::kTileElems * dtype_bytes(mask.dtype)}});
    *rec = mask_record("count_nonzero", split, pages, l1, "sfpu_count_nonzero");
    rec->input_format = dtype_name(mask.dtype);
    rec->output_format = dtype_name(DType::I64);
    rec->flops = mask.numel();
    rec->dram_read_bytes = mask.nbytes();
    rec->dram_write_bytes = 8;
    rec->noc_bytes = rec->dram_read_bytes + rec->dram_write_bytes + 8 * split.cores_used;
  }
  return total;
}

ProgramRecord run_masked_select(const chip::Arch& arch, const TensorRef& out, const TensorRef& src,
                                const TensorRef& mask) {
  const Space s = layout::coalesce(mask.sizes, {mask.strides, src.strides});
  const int64_t e = dtype_bytes(src.dtype);
  const int64_t l1 = check_l1(arch, "masked_select", {{"mask", 2, layout::kTileElems * dtype_bytes(mask.dtype)},
                                                      {"data", 2, layout::kTileElems * e}});
  char* o = static_cast<char*>(out.data);
  const char* i = static_cast<const char*>(src.data);
  const int64_t os = out.dim() ? out.strides[0] : 1;
  const int64_t ss = s.dim() > 0 ? s.strides[1].back() : 0;
  const CoreSplit split = compact(arch, s, mask, [&](int64_t pos, int64_t, int64_t j, const int64_t* off) {
    std::memcpy(o + pos * os * e, i + (off[1] + j * ss) * e, e);
  });
  ProgramRecord rec = mask_record("masked_select", split, pages_of(s), l1, "sfpu_compact");
  rec.input_format = rec.output_format = dtype_name(src.dtype);
  rec.dram_read_bytes = mask.numel() * (e + 2 * dtype_bytes(mask.dtype));
  rec.dram_write_bytes = out.nbytes();
  rec.noc_bytes = rec.dram_read_bytes + rec.dram_write_bytes;
  return rec;
}

ProgramRecord run_nonzero(const chip::Arch& arch, const TensorRef& out, const TensorRef& mask) {
  // Coordinates need the real dims, so only size-1 dims are left out.
  Space s;
  s.strides.resize(1);
  std::vector<int64_t> real_dim;
  for (int64_t d = 0; d < mask.dim(); ++d)
    if (mask.sizes[d] != 1) {
      s.sizes.push_back(mask.sizes[d]);
      s.strides[0].push_back(mask.strides[d]);
      real_dim.push_back(d);
    }
  const int64_t l1 = check_l1(arch, "nonzero", {{"mask", 2, layout::kTileElems * dtype_bytes(mask.dtype)},
                                                {"coords", 2, layout::kTileElems * 8}});
  auto* o = static_cast<int64_t*>(out.data);
  const int64_t r_stride = out.strides[0], c_stride = out.strides[1];
  const int64_t nd = s.dim();
  // A run's coordinates but the last are those of its row.
  auto row_coords = [&](int64_t* dst, int64_t row) {
    for (int64_t d = 0; d < mask.dim(); ++d) dst[d * c_stride] = 0;
    for (int64_t d = nd - 2; d >= 0; --d) {
      dst[real_dim[d] * c_stride] = row % s.sizes[d];
      row /= s.sizes[d];
    }
  };
  CoreSplit split;
  if (byte_runs(s, mask)) {
    // Branch-free compaction: every element's coordinates are written at pos
    // and pos advances only past set ones, so a random mask costs no
    // mispredicted branches. The write at pos stays below limit (the next
    // core's first), so cores never touch each other's rows.
    const auto* m = static_cast<const uint8_t*>(mask.data);
    const int64_t last_col = real_dim[nd - 1] * c_stride;
    split = compact_runs(arch, s, mask, [&](int64_t pos, int64_t limit, int64_t row, int64_t c0,
                                            int64_t c1, const int64_t* off) {
      if (pos >= limit) return pos;
      int64_t proto[16];
      const bool small = mask.dim() <= 16 && c_stride == 1;
      if (small) row_coords(proto, row);
      const uint8_t* mr = m + off[0];
      for (int64_t j = c0; j < c1; ++j) {
        int64_t* dst = o + pos * r_stride;
        if (small) std::memcpy(dst, proto, mask.dim() * sizeof(int64_t));
        else row_coords(dst, row);
        dst[last_col] = j;
        pos += mr[j] != 0;
        if (pos == limit) break;
      }
      return pos;
    });
  } else {
    split = compact(arch, s, mask, [&](int64_t pos, int64_t row, int64_t j, const int64_t*) {
      int64_t* dst = o + pos * r_stride;
      if (nd == 0) {
        for (int64_t d = 0; d < mask.dim(); ++d) dst[d * c_stride] = 0;
        return;
      }
      row_coords(dst, row);
      dst[real_dim[nd - 1] * c_stride] = j;
    });
  }
  ProgramRecord rec = mask_record("nonzero", split, pages_of(s), l1, "sfpu_compact");
  rec.input_format = dtype_name(mask.dtype);
  rec.output_format = dtype_name(DType::I64);
  rec.dram_read_bytes = 2 * mask.nbytes();
  rec.dram_write_bytes = out.nbytes();
  rec.noc_bytes = rec.dram_read_bytes + rec.dram_write_bytes;
  return rec;
}

ProgramRecord run_masked_scatter(const chip::Arch& arch, const TensorRef& dst,
                                 const TensorRef& source, const TensorRef& mask) {
  const Space s = layout::coalesce(mask.sizes, {mask.strides, dst.strides});
  const int64_t e = dtype_bytes(dst.dtype);
  const int64_t l1 = check_l1(arch, "masked_scatter", {{"mask", 2, layout::kTileElems * dtype_bytes(mask.dtype)},
                                                       {"data", 2, layout::kTileElems * e}});
  char* o = static_cast<char*>(dst.data);
  const char* i = static_cast<const char*>(source.data);
  const int64_t ds = s.dim() > 0 ? s.strides[1].back() : 0;
  const CoreSplit split = compact(arch, s, mask, [&](int64_t pos, int64_t, int64_t j, const int64_t* off) {
    std::memcpy(o + (off[1] + j * ds) * e, i + pos * e, e);
  });
  ProgramRecord rec = mask_record("masked_scatter", split, pages_of(s), l1, "sfpu_compact");
  rec.input_format = rec.output_format = dtype_name(dst.dtype);
  rec.dram_read_bytes = 2 * mask.nbytes() + mask.numel() * e;
  rec.dram_write_bytes = mask.numel() * e;
  rec.noc_bytes = rec.dram_read_bytes + rec.dram_write_bytes;
  return rec;
}

}  // namespace accel::engine
