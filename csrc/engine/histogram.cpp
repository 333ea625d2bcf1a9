#include "engine/histogram.h"

#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "engine/plan_mode.h"
#include "kernels/histogram/bins.h"

namespace accel::engine {
namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Vector-engine instructions per element (the kernel table's sfpu_histogram_bins).
constexpr int64_t kBinFlops = 4;

// A histogram program's shape: tiles of input split over the cores, each
// with its own histogram in L1, or, when that does not fit, the bins split
// over the cores, each reading every tile.
struct Plan {
  CoreSplit split;
  int64_t pages = 0;
  bool by_bins = false;
  int64_t chunks = 1;  // by bins: the histogram's pieces, each a pass over the input
  int64_t l1 = 0;
};

Plan plan(const chip::Arch& arch, const char* op, const TensorRef& in, const TensorRef* weights,
          int64_t bins, int64_t acc_bytes) {
  Plan p;
  const int64_t area = arch.tile_rows * arch.tile_cols;
  p.pages = ceil_div(in.numel(), area);
  std::vector<CircularBuffer> cbs{{"in", 2, area * dtype_bytes(in.dtype)}};
  if (weights) cbs.push_back({"weights", 2, area * dtype_bytes(weights->dtype)});
  int64_t streams = 0;
  for (const auto& cb : cbs) streams += cb.bytes();
  const int64_t whole = bins * acc_bytes;
  p.by_bins = streams + whole > arch.l1_bytes_per_core;
  if (p.by_bins) {
    const int64_t share = arch.l1_bytes_per_core - streams;
    const int64_t per_core = std::max<int64_t>(1, share / std::max<int64_t>(acc_bytes, 1));
    cbs.push_back({"histogram", 1, std::min(bins, per_core) * acc_bytes});
    p.chunks = ceil_div(bins, per_core);
    p.split = split_tiles(p.chunks, arch.num_cores());
  } else {
    cbs.push_back({"histogram", 1, whole});
    p.split = split_tiles(p.pages, arch.num_cores());
  }
  p.l1 = check_l1(arch, op, cbs);
  return p;
}

ProgramRecord record_of(const char* op, const Plan& p, const TensorRef& in, const TensorRef* weights,
                        const TensorRef& out) {
  ProgramRecord rec;
  rec.op = op;
  rec.reader = weights ? "reader_multi_tensor" : "reader_interleaved_tilize";
  rec.compute = "sfpu_histogram_bins";
  rec.writer = "writer_interleaved";
  rec.input_format = dtype_name(in.dtype);
  rec.output_format = dtype_name(out.dtype);
  const int64_t passes = p.chunks;
  const int64_t in_bytes = in.nbytes() + (weights ? weights->nbytes() : 0);
  rec.flops = in.numel() * kBinFlops * passes;
  rec.dram_read_bytes = in_bytes * passes;
  // Each core's partial histogram crosses the NoC to the core that adds them.
  const int64_t partials = p.by_bins ? 0 : p.split.cores_used * out.nbytes();
  rec.dram_write_bytes = out.nbytes();
  rec.noc_bytes = rec.dram_read_bytes + rec.dram_write_bytes + partials;
  rec.tiles = p.pages * passes;
  rec.cores_used = p.split.cores_used;
  rec.max_tiles_per_core = p.by_bins ? p.pages * p.split.max_tiles() : p.split.max_tiles();
  rec.l1_bytes_per_core = p.l1;
  return rec;
}

// The cores' partial histograms, each over its tiles of the input, added in
// core order into one; `bin` adds elements [begin, end) to a partial.
template <class Acc, class Bin>
std::vector<Acc> binned(const Plan& p, int64_t numel, int64_t area, int64_t bins, Bin&& bin) {
  std::vector<std::vector<Acc>> partial(p.by_bins ? 1 : p.split.cores_used);
  if (p.by_bins) {
    // The host bins once: the split by bins changes what each core reads, not the sums.
    partial[0].assign(bins, Acc(0));
    bin(partial[0].data(), int64_t{0}, numel);
  } else {
    run_on_cores(p.split, [&](int64_t core, int64_t begin, int64_t end) {
      partial[core].assign(bins, Acc(0));
      bin(partial[core].data(), begin * area, std::min(numel, end * area));
    });
  }
  std::vector<Acc> total(bins, Acc(0));
  for (const auto& part : partial)
    for (int64_t b = 0; b < int64_t(part.size()); ++b) total[b] += part[b];
  return total;
}

// The writer: the totals converted to out's dtype.
template <class T, class Acc>
void store_as(const std::vector<Acc>& values, void* out) {
  T* dst = static_cast<T*>(out);
  for (size_t i = 0; i < values.size(); ++i) dst[i] = static_cast<T>(values[i]);
}

template <class Acc>
void store(const std::vector<Acc>& values, const TensorRef& out) {
  switch (out.dtype) {
    case DType::F32: return store_as<float>(values, out.data);
    case DType::F64: return store_as<double>(values, out.data);
    case DType::BF16: return store_as<c10::BFloat16>(values, out.data);
    case DType::F16: return store_as<c10::Half>(values, out.data);
    case DType::U8: return store_as<uint8_t>(values, out.data);
    case DType::I8: return store_as<int8_t>(values, out.data);
    case DType::I16: return store_as<int16_t>(values, out.data);
    case DType::I32: return store_as<int32_t>(values, out.data);
    case DType::I64: return store_as<int64_t>(values, out.data);
    default: throw std::domain_error("histogram: unsupported output dtype");
  }
}

}  // namespace

ProgramRecord run_histc(const chip::Arch& arch, const TensorRef& in, double lo, double hi,
                        const TensorRef& out) {
  const int64_t bins = out.numel();
  const Plan p = plan(arch, "aten::histc", in, nullptr, bins, 4);
  if (executing()) {
    const int64_t area = arch.tile_rows * arch.tile_cols, width = dtype_bytes(in.dtype);
    const kernels::HistcBins b{lo, hi, bins};
    const auto counts = binned<int64_t>(p, in.numel(), area, bins, [&](int64_t* acc, int64_t begin, int64_t end) {
      kernels::histc_count(static_cast<const char*>(in.data) + begin * width, in.dtype, end - begin, b, acc);
    });
    store(counts, out);
  }
  return record_of("aten::histc", p, in, nullptr, out);
}

ProgramRecord run_bincount(const chip::Arch& arch, const TensorRef& in, const TensorRef* weights,
                           const TensorRef& out) {
  const int64_t bins = out.numel();
  const int64_t acc_bytes = weights ? dtype_bytes(weights->dtype) : 4;
  const Plan p = plan(arch, "aten::bincount", in, weights, bins, acc_bytes);
  if (executing()) {
    const int64_t area = arch.tile_rows * arch.tile_cols, width = dtype_bytes(in.dtype);
    auto at_ = [&](int64_t i) { return static_cast<const char*>(in.data) + i * width; };
    if (!weights) {
      store(binned<int64_t>(p, in.numel(), area, bins, [&](int64_t* acc, int64_t begin, int64_t end) {
              kernels::bincount_add(at_(begin), in.dtype, end - begin, acc);
            }), out);
    } else {
      const int64_t wwidth = dtype_bytes(weights->dtype);
      auto add = [&](void* acc, int64_t begin, int64_t end) {
        kernels::bincount_add(at_(begin), in.dtype, end - begin,
                              static_cast<const char*>(weights->data) + begin * wwidth, weights->dtype, acc);
      };
      if (weights->dtype == DType::F32)
        store(binned<float>(p, in.numel(), area, bins, [&](float* acc, int64_t b, int64_t e) { add(acc, b, e); }), out);
      else
        store(binned<double>(p, in.numel(), area, bins, [&](double* acc, int64_t b, int64_t e) { add(acc, b, e); }), out);
    }
  }
  return record_of("aten::bincount", p, in, weights, out);
}

}  // namespace accel::engine
