// Discrete RNG programs: randperm and multinomial with replacement.
#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <type_traits>
#include <vector>

#include "engine/plan_mode.h"
#include "engine/random.h"
#include "kernels/random/cpu_sampling.h"

namespace accel::engine {
namespace {

template <class T>
void store_index(void* base, int64_t offset, int64_t v) {
  if constexpr (std::is_same_v<T, bool>) static_cast<T*>(base)[offset] = v != 0;
  else static_cast<T*>(base)[offset] = static_cast<T>(v);
}

void store_index(const TensorRef& t, int64_t offset, int64_t v) {
  switch (t.dtype) {
    case DType::F32: return store_index<float>(t.data, offset, v);
    case DType::F64: return store_index<double>(t.data, offset, v);
    case DType::BF16: return store_index<c10::BFloat16>(t.data, offset, v);
    case DType::F16: return store_index<c10::Half>(t.data, offset, v);
    case DType::I8: return store_index<int8_t>(t.data, offset, v);
    case DType::U8: return store_index<uint8_t>(t.data, offset, v);
    case DType::I16: return store_index<int16_t>(t.data, offset, v);
    case DType::I32: return store_index<int32_t>(t.data, offset, v);
    case DType::I64: return store_index<int64_t>(t.data, offset, v);
    case DType::Bool: return store_index<bool>(t.data, offset, v);
  }
}

void fill_record(ProgramRecord& rec, const CoreSplit& split, int64_t tiles, int64_t l1) {
  rec.sfpu_function = rec.compute;
  rec.tiles = tiles;
  rec.cores_used = split.cores_used;
  rec.max_tiles_per_core = split.max_tiles();
  rec.l1_bytes_per_core = l1;
}

// Rows of the cumulative distribution in CPU's accumulation type: the
// input's own for float/double, float for bfloat16/half.
template <class T>
int sample_rows(const MultinomialJob& job, const uint64_t* words, int64_t row_begin, int64_t row_end,
                bool sample) {
  using Acc = std::conditional_t<std::is_same_v<T, double>, double, float>;
  const int64_t cats = job.probs.sizes[1], samples = job.out.sizes[1];
  const T* p = static_cast<const T*>(job.probs.data);
  int64_t* out = static_cast<int64_t*>(job.out.data);
  std::vector<Acc> cum(cats);
  for (int64_t r = row_begin; r < row_end; ++r) {
    Acc sum = 0;
    for (int64_t c = 0; c < cats; ++c) {
      const Acc v = static_cast<Acc>(p[r * job.probs.strides[0] + c * job.probs.strides[1]]);
      if (!(v >= 0)) return 1;
      if (!std::isfinite(v)) return 2;
      sum += v;
      cum[c] = sum;
    }
    if (!(sum > 0)) return 3;
    if (!sample) continue;
    for (int64_t c = 0; c < cats; ++c) cum[c] /= sum;
    cum[cats - 1] = 1;
    for (int64_t s = 0; s < samples; ++s) {
      const double u = kernels::fraction53(words[r * samples + s]);
      const int64_t slot = std::lower_bound(cum.begin(), cum.end(), u,
                                            [](Acc c, double x) { return c < x; }) - cum.begin();
      out[r * job.out.strides[0] + s * job.out.strides[1]] = slot;
    }
  }
  return 0;
}

int sample_rows(const MultinomialJob& job, const uint64_t* words, int64_t b, int64_t e, bool sample) {
  switch (job.probs.dtype) {
    case DType::F64: return sample_rows<double>(job, words, b, e, sample);
    case DType::BF16: return sample_rows<c10::BFloat16>(job, words, b, e, sample);
    case DType::F16: return sample_rows<c10::Half>(job, words, b, e, sample);
    default: return sample_rows<float>(job, words, b, e, sample);
  }
}

// Draws the swaps and writes the permutation.
void permute(const TensorRef& out, int64_t n, int64_t n_words, bool wide, int64_t tile, const CoreSplit& split,
             const WordSource& source) {
  std::unique_ptr<uint64_t[]> words(new uint64_t[std::max<int64_t>(n_words, 1)]);
  source(words.get(), n_words, wide);
  // Compute: word -> swap partner, independent per swap.
  run_on_cores(split, [&](int64_t, int64_t begin, int64_t end) {
    for (int64_t i = begin * tile; i < std::min(end * tile, n_words); ++i)
      words[i] = wide ? words[i] % static_cast<uint64_t>(i + 1) : i + words[i] % static_cast<uint64_t>(n - i);
  });
  // The swaps form one dependency chain: a single core replays them.
  std::vector<int64_t> perm(n);
  if (wide) {
    for (int64_t i = 0; i < n; ++i) {
      const int64_t z = static_cast<int64_t>(words[i]);
      perm[i] = perm[z];
      perm[z] = i;
    }
  } else {
    for (int64_t i = 0; i < n; ++i) perm[i] = i;
    for (int64_t i = 0; i < n_words; ++i) std::swap(perm[i], perm[static_cast<int64_t>(words[i])]);
  }
  const int64_t stride = out.strides.empty() ? 1 : out.strides[0];
  run_on_cores(split, [&](int64_t, int64_t begin, int64_t end) {
    for (int64_t i = begin * tile; i < std::min(end * tile, n); ++i) store_index(out, i * stride, perm[i]);
  });
}

}  // namespace

ProgramRecord run_randperm(const chip::Arch& arch, const TensorRef& out, const WordSource& source) {
  const int64_t n = out.numel();
  const int64_t tile = arch.tile_rows * arch.tile_cols;
  const int64_t tiles = (n + tile - 1) / tile;
  // CPU draws 32-bit words (n - 1 swaps) unless n is near 2^32, where the
  // modulo would skew and it shuffles inside-out with 64-bit words.
  const bool wide = n >= static_cast<int64_t>(std::numeric_limits<uint32_t>::max() / 20);
  const int64_t n_words = wide ? n : std::max<int64_t>(n - 1, 0);
  const int64_t l1 = check_l1(arch, "randperm", {{"words", 2, tile * 8}, {"perm", 2, tile * 8},
                                                  {"out", 2, tile * dtype_bytes(out.dtype)}});
  const CoreSplit split = split_tiles(tiles, arch.num_cores());
  if (executing()) permute(out, n, n_words, wide, tile, split, source);

  ProgramRecord rec;
  rec.op = "randperm";
  rec.reader = "reader_rng_words";
  rec.compute = "sfpu_randperm_swaps";
  rec.writer = "writer_unary";
  rec.input_format = wide ? "Int64" : "Int32";
  rec.output_format = dtype_name(out.dtype);
  rec.flops = 4 * n;
  rec.dram_read_bytes = 2 * n * 8;   // the swap chain reads and writes its index table
  rec.dram_write_bytes = tiles * tile * dtype_bytes(out.dtype) + 2 * n * 8;
  rec.noc_bytes = rec.dram_read_bytes + rec.dram_write_bytes + n_words * (wide ? 8 : 4);
  fill_record(rec, split, tiles, l1);
  return rec;
}

ProgramRecord run_multinomial(const chip::Arch& arch, const MultinomialJob& job, const WordSource& source,
                              int& error) {
  const int64_t rows = job.probs.sizes[0], cats = job.probs.sizes[1], samples = job.out.sizes[1];
  const int64_t tile = arch.tile_rows * arch.tile_cols;
  const int64_t in_w = dtype_bytes(job.probs.dtype);
  const int64_t l1 = check_l1(arch, "multinomial", {{"probs", 2, tile * in_w}, {"cumsum", 1, cats * 4},
                                                     {"words", 2, tile * 8}, {"out", 2, tile * 8}});
  // One core per row block; validation first so a bad row consumes no words.
  const CoreSplit split = split_tiles(rows, arch.num_cores());
  std::vector<int> errors(rows + 1, 0);
  run_on_cores(split, [&](int64_t, int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) errors[r] = sample_rows(job, nullptr, r, r + 1, false);
  });
  error = 0;
  for (int64_t r = 0; r < rows && !error; ++r) error = errors[r];
  ProgramRecord rec;
  if (error) return rec;

  if (executing()) {
    std::unique_ptr<uint64_t[]> words(new uint64_t[std::max<int64_t>(rows * samples, 1)]);
    source(words.get(), rows * samples, true);
    run_on_cores(split, [&](int64_t, int64_t begin, int64_t end) { sample_rows(job, words.get(), begin, end, true); });
  }

  const int64_t in_tiles = (rows * cats + tile - 1) / tile, out_tiles = (rows * samples + tile - 1) / tile;
  rec.op = "multinomial";
  rec.reader = "reader_rng_words_and_input";
  rec.compute = "sfpu_multinomial_cumsum_search";
  rec.writer = "writer_unary";
  rec.input_format = dtype_name(job.probs.dtype);
  rec.output_format = "Int64";
  // cumsum + normalize per category, a binary search per sample.
  rec.flops = 3 * rows * cats + rows * samples * static_cast<int64_t>(std::ceil(std::log2(cats + 1)));
  rec.dram_read_bytes = in_tiles * tile * in_w;
  rec.dram_write_bytes = out_tiles * tile * 8;
  rec.noc_bytes = rec.dram_read_bytes + rec.dram_write_bytes + rows * samples * 8;
  fill_record(rec, split, std::max(in_tiles, out_tiles), l1);
  return rec;
}

}  // namespace accel::engine
