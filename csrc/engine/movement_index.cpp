// Indexed moves: the reader fetches the index page, then each element (or a
// whole row, when the indices do not vary along it) from its computed address.
// Gathers and plain assignments split pages over all cores; reducing scatters
// keep every element that can reach one destination on one core.
#include <algorithm>
#include <cstring>

#include "engine/movement.h"
#include "engine/movement_layout.h"
#include "kernels/movement/convert.h"
#include "kernels/movement/reduce.h"

namespace accel::engine {
namespace {

using layout::Pages;
using layout::Space;
constexpr int kData = 2;  // operands 0 and 1 are data, then the indices

// Index value v of index operand k along its dim: a negative one wrapped where
// the op allows it, then checked against the bound.
inline int64_t checked_index(const IndexOperand& ix, int64_t v, int k) {
  if (v < 0 && ix.wrap_negative && v >= -ix.bound) v += ix.bound;
  if (v < 0 || v >= ix.bound) throw IndexOutOfRange(v, ix.bound, k);
  return v;
}

struct Indices {
  const std::vector<IndexOperand>* ops;
  // Element offset into the data tensor for the indices at offsets `off`.
  int64_t offset(const int64_t* off) const {
    int64_t sum = 0;
    for (size_t k = 0; k < ops->size(); ++k) {
      const IndexOperand& ix = (*ops)[k];
      const char* p = static_cast<const char*>(ix.index.data);
      const int64_t v = ix.index.dtype == DType::I32 ? reinterpret_cast<const int32_t*>(p)[off[k]]
                                                     : reinterpret_cast<const int64_t*>(p)[off[k]];
      sum += checked_index(ix, v, static_cast<int>(k)) * ix.stride;
    }
    return sum;
  }
};

Space make_space(const TensorRef& a, const TensorRef& b, const std::vector<IndexOperand>& ix) {
  c10::SmallVector<c10::ArrayRef<int64_t>, 6> strides{a.strides, b.strides};
  for (const auto& i : ix) strides.push_back(i.index.strides);
  return layout::coalesce(a.sizes, strides);
}

bool indices_vary_along_last(const Space& s) {
  for (size_t k = kData; k < s.strides.size(); ++k)
    if (s.dim() > 0 && s.strides[k].back() != 0) return true;
  return false;
}

int64_t index_bytes(const std::vector<IndexOperand>& ix, int64_t numel) {
  int64_t b = 0;
  for (const auto& i : ix) b += numel * dtype_bytes(i.index.dtype);
  return b;
}

// Walks the pages of [rows, cols] calling f(dst_off, src_off, n, stride_dst,
// stride_src) for runs with a fixed index sum, per element otherwise.
// `gather` reads data operand 1 at the index; else writes operand 0 there.
template <class F>
void walk_page(const Space& s, const Pages& pages, const Indices& ix, bool gather, int64_t u, F&& f) {
  const size_t nops = s.strides.size();
  const int64_t nd = s.dim();
  const bool vary = indices_vary_along_last(s);
  const int at = gather ? 1 : 0;
  pages.for_runs(u, [&](int64_t row, int64_t c0, int64_t c1) {
    int64_t off[16];
    layout::row_offsets(s, row, off);
    const int64_t* cs = nullptr;
    int64_t zero_cs[16] = {};
    int64_t last[16];
    for (size_t k = 0; k < nops; ++k) last[k] = nd > 0 ? s.strides[k].back() : 0;
    cs = nd > 0 ? last : zero_cs;
    if (!vary) {
      off[at] += ix.offset(off + kData);
      f(off[0] + c0 * cs[0], off[1] + c0 * cs[1], c1 - c0, cs[0], cs[1]);
      return;
    }
    for (int64_t j = c0; j < c1; ++j) {
      int64_t e[16];
      for (size_t k = 0; k < nops; ++k) e[k] = off[k] + j * cs[k];
      e[at] += ix.offset(e + kData);
      f(e[0], e[1], 1, 0, 0);
    }
  });
}

// One index operand varying along the row (gather, take_along_dim): the
// common case, with the element and index types fixed at compile time.
template <class E, class I>
void gather_row(E* o, int64_t os, const E* src, int64_t ss, const I* idx, int64_t is, const IndexOperand& ix,
                int64_t n) {
  for (int64_t j = 0; j < n; ++j) o[j * os] = src[j * ss + checked_index(ix, idx[j * is], 0) * ix.stride];
}

template <class E>
void gather_row_typed(char* o, int64_t os, const char* src, int64_t ss, const IndexOperand& ix,
                      int64_t ioff, int64_t is, int64_t n) {
  if (ix.index.dtype == DType::I32)
    gather_row(reinterpret_cast<E*>(o), os, reinterpret_cast<const E*>(src), ss,
               static_cast<const int32_t*>(ix.index.data) + ioff, is, ix, n);
  else
    gather_row(reinterpret_cast<E*>(o), os, reinterpret_cast<const E*>(src), ss,
               static_cast<const int64_t*>(ix.index.data) + ioff, is, ix, n);
}

void gather_one_index(const Space& s, const Pages& pages, const IndexOperand& ix, char* o, const char* i,
                      int64_t elem, int64_t u) {
  const int64_t os = s.strides[0].back(), ss = s.strides[1].back(), is = s.strides[2].back();
  pages.for_runs(u, [&](int64_t row, int64_t c0, int64_t c1) {
    int64_t off[3];
    layout::row_offsets(s, row, off);
    char* dst = o + (off[0] + c0 * os) * elem;
    const char* src = i + (off[1] + c0 * ss) * elem;
    const int64_t ioff = off[2] + c0 * is, n = c1 - c0;
    switch (elem) {
      case 1: return gather_row_typed<uint8_t>(dst, os, src, ss, ix, ioff, is, n);
      case 2: return gather_row_typed<uint16_t>(dst, os, src, ss, ix, ioff, is, n);
      case 4: return gather_row_typed<uint32_t>(dst, os, src, ss, ix, ioff, is, n);
      default: return gather_row_typed<uint64_t>(dst, os, src, ss, ix, ioff, is, n);
    }
  });
}

template <class T, Reduce R>
void reduce_run(T* d, int64_t ds, const T* v, int64_t vs, int64_t n, kernels::compute_t<T> alpha) {
  for (int64_t i = 0; i < n; ++i) kernels::reduce_into<T, R>(d + i * ds, v[i * vs], alpha);
}

// The reducing scatter: units are (outer free coords, chunk of the inner free
// dim); the dims where dst does not move (stride 0) run serially inside a unit.
struct ScatterPlan {
  Space s;                   // dims ordered [outer free..., bound..., inner free]
  int64_t n_outer = 0, n_bound = 0;
  bool has_inner = false;
  int64_t inner = 1, chunks = 1, units = 0;
};

ScatterPlan scatter_plan(const Space& in) {
  ScatterPlan p;
  const int64_t nd = in.dim();
  std::vector<int64_t> order;
  p.has_inner = nd > 0 && in.strides[0].back() != 0;
  for (int64_t d = 0; d < nd - (p.has_inner ? 1 : 0); ++d)
    if (in.strides[0][d] != 0) order.push_back(d);
  p.n_outer = static_cast<int64_t>(order.size());
  for (int64_t d = 0; d < nd; ++d)
    if (in.strides[0][d] == 0) order.push_back(d);
  p.n_bound = static_cast<int64_t>(order.size()) - p.n_outer;
  if (p.has_inner) order.push_back(nd - 1);
  p.s.strides.resize(in.strides.size());
  for (int64_t d : order) {
    p.s.sizes.push_back(in.sizes[d]);
    for (size_t k = 0; k < in.strides.size(); ++k) p.s.strides[k].push_back(in.strides[k][d]);
  }
  p.inner = p.has_inner ? p.s.sizes.back() : 1;
  p.chunks = (p.inner + layout::kTileElems - 1) / layout::kTileElems;
  int64_t lines = 1;
  for (int64_t d = 0; d < p.n_outer; ++d) lines *= p.s.sizes[d];
  p.units = in.numel() == 0 ? 0 : lines * p.chunks;
  return p;
}

// Elements [w0, w1) of a run along the last dim, one index tensor of type I:
// Indices::offset's reads and checked_index, with the three operands' offsets
// stepped instead of recomputed per element (the same order).
template <class T, Reduce R, class I>
void scatter_run(const ScatterPlan& p, const IndexOperand& io, T* d, const T* v, const int64_t* off,
                 int64_t w0, int64_t w1, kernels::compute_t<T> a) {
  const int64_t last = p.s.dim() - 1;
  const int64_t ds = p.s.strides[0][last], vs = p.s.strides[1][last], is = p.s.strides[kData][last];
  const I* index = static_cast<const I*>(io.index.data);
  int64_t de = off[0] + w0 * ds, ve = off[1] + w0 * vs, ie = off[kData] + w0 * is;
  for (int64_t w = w0; w < w1; ++w, de += ds, ve += vs, ie += is) {
    kernels::reduce_into<T, R>(d + de + checked_index(io, index[ie], 0) * io.stride, v[ve], a);
  }
}

template <class T, Reduce R>
void scatter_unit(const ScatterPlan& p, const Indices& ix, const TensorRef& dst,
                  const TensorRef& values, double alpha, int64_t u) {
  using C = kernels::compute_t<T>;
  const C a = static_cast<C>(alpha);
  const size_t nops = p.s.strides.size();
  int64_t line = u / p.chunks;
  const int64_t w0 = (u % p.chunks) * layout::kTileElems;
  const int64_t w1 = std::min(p.inner, w0 + layout::kTileElems);
  int64_t base[16] = {};
  for (int64_t d = p.n_outer - 1; d >= 0; --d) {
    const int64_t c = line % p.s.sizes[d];
    line /= p.s.sizes[d];
    for (size_t k = 0; k < nops; ++k) base[k] += c * p.s.strides[k][d];
  }
  int64_t bound_count = 1;
  for (int64_t d = p.n_outer; d < p.n_outer + p.n_bound; ++d) bound_count *= p.s.sizes[d];
  const int64_t last = p.s.dim() - 1;
  bool vary = false;
  for (size_t k = kData; k < nops && p.has_inner; ++k) vary |= p.s.strides[k][last] != 0;
  T* d = static_cast<T*>(dst.data);
  const T* v = static_cast<const T*>(values.data);
  int64_t coord[16] = {};
  int64_t off[16];
  for (int64_t b = 0; b < bound_count; ++b) {
    for (size_t k = 0; k < nops; ++k) {
      off[k] = base[k];
      for (int64_t j = 0; j < p.n_bound; ++j) off[k] += coord[j] * p.s.strides[k][p.n_outer + j];
    }
    for (int64_t j = p.n_bound - 1; j >= 0; --j) {  // odometer over the bound dims
      if (++coord[j] < p.s.sizes[p.n_outer + j]) break;
      coord[j] = 0;
    }
    if (!p.has_inner) {
      reduce_run<T, R>(d + off[0] + ix.offset(off + kData), 0, v + off[1], 0, 1, a);
      continue;
    }
    const int64_t ds = p.s.strides[0][last], vs = p.s.strides[1][last];
    if (!vary) {
      reduce_run<T, R>(d + off[0] + ix.offset(off + kData) + w0 * ds, ds, v + off[1] + w0 * vs, vs,
                       w1 - w0, a);
      continue;
    }
    if (ix.ops->size() == 1) {  // one index tensor: its offsets step along the run
      const IndexOperand& io = ix.ops->front();
      if (io.index.dtype == DType::I32) scatter_run<T, R, int32_t>(p, io, d, v, off, w0, w1, a);
      else scatter_run<T, R, int64_t>(p, io, d, v, off, w0, w1, a);
      continue;
    }
    for (int64_t w = w0; w < w1; ++w) {
      int64_t e[16];
      for (size_t k = 0; k < nops; ++k) e[k] = off[k] + w * p.s.strides[k][last];
      kernels::reduce_into<T, R>(d + e[0] + ix.offset(e + kData), v[e[1]], a);
    }
  }
}

template <class T>
void scatter_unit_typed(Reduce r, const ScatterPlan& p, const Indices& ix, const TensorRef& dst,
                        const TensorRef& values, double alpha, int64_t u) {
  switch (r) {
    case Reduce::Assign: return scatter_unit<T, Reduce::Assign>(p, ix, dst, values, alpha, u);
    case Reduce::Add: return scatter_unit<T, Reduce::Add>(p, ix, dst, values, alpha, u);
    case Reduce::Mul: return scatter_unit<T, Reduce::Mul>(p, ix, dst, values, alpha, u);
    case Reduce::Max: return scatter_unit<T, Reduce::Max>(p, ix, dst, values, alpha, u);
    case Reduce::Min: return scatter_unit<T, Reduce::Min>(p, ix, dst, values, alpha, u);
  }
}

void scatter_dispatch(Reduce r, const ScatterPlan& p, const Indices& ix, const TensorRef& dst,
                      const TensorRef& values, double alpha, int64_t u) {
  switch (dst.dtype) {
    case DType::F32: return scatter_unit_typed<float>(r, p, ix, dst, values, alpha, u);
    case DType::F64: return scatter_unit_typed<double>(r, p, ix, dst, values, alpha, u);
    case DType::BF16: return scatter_unit_typed<c10::BFloat16>(r, p, ix, dst, values, alpha, u);
    case DType::F16: return scatter_unit_typed<c10::Half>(r, p, ix, dst, values, alpha, u);
    case DType::I8: return scatter_unit_typed<int8_t>(r, p, ix, dst, values, alpha, u);
    case DType::U8: return scatter_unit_typed<uint8_t>(r, p, ix, dst, values, alpha, u);
    case DType::I16: return scatter_unit_typed<int16_t>(r, p, ix, dst, values, alpha, u);
    case DType::I32: return scatter_unit_typed<int32_t>(r, p, ix, dst, values, alpha, u);
    case DType::I64: return scatter_unit_typed<int64_t>(r, p, ix, dst, values, alpha, u);
    case DType::Bool: return scatter_unit_typed<bool>(r, p, ix, dst, values, alpha, u);
  }
}

void check_rank(const Space& s, const char* op) {
  if (s.dim() > 12 || s.strides.size() > 16)
    throw std::invalid_argument(std::string(op) + ": too many dims or index tensors for the accel movement engine");
}

ProgramRecord finish(ProgramRecord rec, const TensorRef& data_out, const TensorRef& data_in,
                     const std::vector<IndexOperand>& ix, int64_t numel) {
  const int64_t e = dtype_bytes(data_out.dtype);
  rec.input_format = dtype_name(data_in.dtype);
  rec.output_format = dtype_name(data_out.dtype);
  rec.dram_read_bytes = numel * dtype_bytes(data_in.dtype) + index_bytes(ix, numel);
  rec.dram_write_bytes = numel * e;
  rec.noc_bytes = rec.dram_read_bytes + rec.dram_write_bytes;
  return rec;
}

}  // namespace

ProgramRecord run_index_gather(const chip::Arch& arch, const char* op, const TensorRef& out,
                               const TensorRef& src, const std::vector<IndexOperand>& indices) {
  const Space s = make_space(out, src, indices);
  check_rank(s, op);
  const int64_t nd = s.dim();
  const Pages pages(nd >= 1 ? s.numel() / std::max<int64_t>(s.sizes.back(), 1) : 1,
                    nd >= 1 ? s.sizes.back() : 1);
  const int64_t elem = dtype_bytes(out.dtype);
  const int64_t l1 = check_l1(arch, op, {{"index", 2, layout::kTileElems * 8 * int64_t(indices.size())},
                                         {"data", 2, layout::kTileElems * elem}});
  const CoreSplit split = split_tiles(out.numel() == 0 ? 0 : pages.count, arch.num_cores());
  const Indices ix{&indices};
  char* o = static_cast<char*>(out.data);
  const char* i = static_cast<const char*>(src.data);
  const bool one_varying = indices.size() == 1 && indices_vary_along_last(s) && elem <= 8;
  run_on_cores(split, [&](int64_t, int64_t begin, int64_t end) {
    for (int64_t u = begin; u < end; ++u) {
      if (one_varying) {
        gather_one_index(s, pages, indices[0], o, i, elem, u);
        continue;
      }
      walk_page(s, pages, ix, true, u, [&](int64_t od, int64_t id, int64_t n, int64_t os, int64_t is) {
        kernels::move_bytes(o + od * elem, os, i + id * elem, is, n, elem);
      });
    }
  });
  ProgramRecord rec = layout::base_record(op, split, pages.count, l1, "reader_indexed_gather",
                                          "copy_tile", "writer_untilize_interleaved");
  return finish(std::move(rec), out, src, indices, out.numel());
}

ProgramRecord run_index_scatter(const chip::Arch& arch, const char* op, const TensorRef& dst,
                                const TensorRef& values, const std::vector<IndexOperand>& indices,
                                Reduce reduce, double alpha) {
  const Space s = make_space(dst, values, indices);
  check_rank(s, op);
  const int64_t elem = dtype_bytes(dst.dtype);
  const int64_t l1 = check_l1(arch, op, {{"index", 2, layout::kTileElems * 8 * int64_t(indices.size())},
                                         {"values", 2, layout::kTileElems * elem},
                                         {"dst", 2, layout::kTileElems * elem}});
  const Indices ix{&indices};
  const int64_t numel = dst.numel();
  ProgramRecord rec;
  if (reduce == Reduce::Assign) {
    const int64_t nd = s.dim();
    const Pages pages(nd >= 1 ? s.numel() / std::max<int64_t>(s.sizes.back(), 1) : 1,
                      nd >= 1 ? s.sizes.back() : 1);
    const CoreSplit split = split_tiles(numel == 0 ? 0 : pages.count, arch.num_cores());
    char* o = static_cast<char*>(dst.data);
    const char* i = static_cast<const char*>(values.data);
    run_on_cores(split, [&](int64_t, int64_t begin, int64_t end) {
      for (int64_t u = begin; u < end; ++u)
        walk_page(s, pages, ix, false, u, [&](int64_t od, int64_t id, int64_t n, int64_t os, int64_t is) {
          kernels::move_bytes(o + od * elem, os, i + id * elem, is, n, elem);
        });
    });
    rec = layout::base_record(op, split, pages.count, l1, "reader_interleaved_tilize", "copy_tile",
                              "writer_indexed_scatter");
  } else {
    const ScatterPlan p = scatter_plan(s);
    const CoreSplit split = split_tiles(p.units, arch.num_cores());
    run_on_cores(split, [&](int64_t, int64_t begin, int64_t end) {
      for (int64_t u = begin; u < end; ++u) scatter_dispatch(reduce, p, ix, dst, values, alpha, u);
    });
    rec = layout::base_record(op, split, (numel + layout::kTileElems - 1) / layout::kTileElems, l1,
                              "reader_indexed_gather", "sfpu_scatter_reduce", "writer_indexed_scatter");
    rec.flops = numel;
    rec.dram_read_bytes += numel * elem;  // the destination's old values
  }
  const int64_t extra_read = rec.dram_read_bytes;
  rec = finish(std::move(rec), dst, values, indices, numel);
  rec.dram_read_bytes += extra_read;
  rec.noc_bytes = rec.dram_read_bytes + rec.dram_write_bytes;
  return rec;
}

}  // namespace accel::engine
