#include "engine/random.h"

#include <algorithm>
#include <cstring>
#include <memory>

#include "engine/plan_mode.h"

namespace accel::engine {
namespace {


// Reader/writer helpers: a strided operand moves element by element between
// its DRAM pages and a contiguous L1 page; a contiguous one is used in place.
void gather(const TensorRef& t, int64_t first, int64_t n, char* page) {
  const int64_t w = dtype_bytes(t.dtype);
  for (int64_t i = 0; i < n; ++i)
    std::memcpy(page + i * w, static_cast<const char*>(t.data) + t.offset_of(first + i) * w, w);
}
void scatter(const TensorRef& t, int64_t first, int64_t n, const char* page) {
  const int64_t w = dtype_bytes(t.dtype);
  for (int64_t i = 0; i < n; ++i)
    std::memcpy(static_cast<char*>(t.data) + t.offset_of(first + i) * w, page + i * w, w);
}

const char* compute_name(kernels::RandomKind k) {
  switch (k) {
    case kernels::RandomKind::Uniform: return "sfpu_rand_uniform";
    case kernels::RandomKind::FromTo: return "sfpu_rand_int_range";
    case kernels::RandomKind::FullRange: return "sfpu_rand_int_full";
    case kernels::RandomKind::IntDefault: return "sfpu_rand_int";
    case kernels::RandomKind::Bernoulli: return "sfpu_bernoulli";
    case kernels::RandomKind::BernoulliTensor: return "sfpu_bernoulli_tensor";
    case kernels::RandomKind::Exponential: return "sfpu_rand_exponential";
    case kernels::RandomKind::Geometric: return "sfpu_rand_geometric";
    case kernels::RandomKind::Cauchy: return "sfpu_rand_cauchy";
    case kernels::RandomKind::Dropout: return "sfpu_dropout";
  }
  return "sfpu_rand";
}

}  // namespace

ProgramRecord run_random(const chip::Arch& arch, const char* op, const RandomJob& job,
                         const WordSource& source) {
  const TensorRef& out = job.out;
  const bool has_aux = job.aux.data != nullptr, has_mask = job.mask.data != nullptr;
  const int64_t tile = arch.tile_rows * arch.tile_cols;
  const int64_t numel = out.numel();
  const int64_t tiles = (numel + tile - 1) / tile;
  const int64_t out_w = dtype_bytes(out.dtype);
  const int64_t aux_w = has_aux ? dtype_bytes(job.aux.dtype) : 0;
  const bool wide = kernels::wide_words(job.params, out.dtype, has_aux ? job.aux.dtype : DType::F32);
  const int64_t word_w = wide ? 8 : 4;

  std::vector<CircularBuffer> cbs{{"words", 2, tile * word_w}, {"out", 2, tile * out_w}};
  if (has_aux) cbs.push_back({"in", 2, tile * aux_w});
  if (has_mask) cbs.push_back({"mask", 2, tile});
  const int64_t l1 = check_l1(arch, op, cbs);

  // Reader: the generator is one serial stream, so its words are drawn here,
  // in order, before the cores fan out over their tiles.
  std::unique_ptr<uint64_t[]> words;
  if (executing()) {  // an estimate draws nothing: the generator stays where it was
    words.reset(new uint64_t[numel]);
    source(words.get(), numel, wide);
  }

  const CoreSplit split = split_tiles(tiles, arch.num_cores());
  const bool out_dense = out.is_contiguous();
  const bool aux_dense = !has_aux || job.aux.is_contiguous();
  const bool mask_dense = !has_mask || job.mask.is_contiguous();
  run_on_cores(split, [&](int64_t, int64_t begin, int64_t end) {
    std::vector<char> out_page(out_dense ? 0 : tile * out_w), aux_page(aux_dense ? 0 : tile * aux_w);
    std::vector<char> mask_page(mask_dense ? 0 : tile);
    for (int64_t t = begin; t < end; ++t) {
      const int64_t first = t * tile, n = std::min(tile, numel - first);
      const void* aux = nullptr;
      if (has_aux) {
        if (aux_dense) {
          aux = static_cast<const char*>(job.aux.data) + first * aux_w;
        } else {
          gather(job.aux, first, n, aux_page.data());
          aux = aux_page.data();
        }
      }
      char* dst = out_dense ? static_cast<char*>(out.data) + first * out_w : out_page.data();
      bool* mask = nullptr;
      if (has_mask)
        mask = mask_dense ? static_cast<bool*>(job.mask.data) + first : reinterpret_cast<bool*>(mask_page.data());
      kernels::transform_words(words.get() + first, dst, out.dtype, n, job.params, aux,
                               has_aux ? job.aux.dtype : DType::F32, mask);
      if (!out_dense) scatter(out, first, n, out_page.data());
      if (has_mask && !mask_dense) scatter(job.mask, first, n, mask_page.data());
    }
  });

  ProgramRecord rec;
  rec.op = op;
  rec.reader = has_aux ? "reader_rng_words_and_input" : "reader_rng_words";
  rec.compute = compute_name(job.params.kind);
  rec.writer = has_mask ? "writer_unary_and_mask" : "writer_unary";
  rec.sfpu_function = rec.compute;
  rec.input_format = has_aux ? dtype_name(job.aux.dtype) : (wide ? "Int64" : "Int32");
  rec.output_format = dtype_name(out.dtype);
  rec.flops = rec.compute.desc()->flops_per_element * numel;
  rec.dram_read_bytes = tiles * tile * aux_w;
  rec.dram_write_bytes = tiles * tile * (out_w + (has_mask ? 1 : 0));
  rec.noc_bytes = rec.dram_read_bytes + rec.dram_write_bytes + tiles * tile * word_w;
  rec.tiles = tiles;
  rec.cores_used = split.cores_used;
  rec.max_tiles_per_core = split.max_tiles();
  rec.l1_bytes_per_core = l1;
  return rec;
}

ProgramRecord run_normal(const chip::Arch& arch, const char* op, const NormalJob& job,
                         const WordSource& source, std::optional<double>& cache) {
  const TensorRef& out = job.out;
  const int64_t tile = arch.tile_rows * arch.tile_cols;
  const int64_t numel = out.numel();
  const int64_t tiles = (numel + tile - 1) / tile;
  const int64_t out_w = dtype_bytes(out.dtype);
  kernels::NormalParams params = job.params;
  params.cached = !job.fill && cache.has_value();
  params.cache = params.cached ? *cache : 0.0;
  const bool wide = !job.fill || out.dtype == DType::F64;
  const int64_t word_w = wide ? 8 : 4;
  const int64_t n_words = job.fill ? kernels::normal_fill_words(numel, out.dtype) : kernels::normal_pair_words(numel, params);

  // A tile's outputs need the words of its own elements plus, for the fill's
  // extra block or the pairs' partners, at most one more tile of words.
  const int64_t l1 = check_l1(arch, op, {{"words", 2, 2 * tile * word_w}, {"out", 2, tile * out_w}});

  std::unique_ptr<uint64_t[]> words;
  if (executing()) {
    words.reset(new uint64_t[std::max<int64_t>(n_words, 1)]);
    source(words.get(), n_words, wide);
  }

  const CoreSplit split = split_tiles(tiles, arch.num_cores());
  const bool out_dense = out.is_contiguous();
  run_on_cores(split, [&](int64_t, int64_t begin, int64_t end) {
    std::vector<char> out_page(out_dense ? 0 : tile * out_w);
    for (int64_t t = begin; t < end; ++t) {
      const int64_t first = t * tile, n = std::min(tile, numel - first);
      char* dst = out_dense ? static_cast<char*>(out.data) + first * out_w : out_page.data();
      if (job.fill) kernels::normal_fill(words.get(), numel, first, n, dst, out.dtype, params);
      else kernels::normal_pairs(words.get(), first, n, dst, out.dtype, params);
      if (!out_dense) scatter(out, first, n, out_page.data());
    }
  });

  // The per-element scheme leaves the sine of its last pair pending when it
  // used an odd number of fresh samples; a pending one it used is gone.
  if (!job.fill && numel > 0 && executing()) {
    const int64_t fresh = numel - (params.cached ? 1 : 0);
    if (fresh % 2 == 1) cache = kernels::box_muller_pair(words[n_words - 2], words[n_words - 1], true);
    else cache.reset();
  }

  ProgramRecord rec;
  rec.op = op;
  rec.reader = "reader_rng_words";
  // [fill][avx2][log]: log_normal_ runs an exp after the transform.
  static const perf::KernelRef kernels[2][2][2] = {
      {{"sfpu_box_muller_pairs", "sfpu_box_muller_pairs_exp"},
       {"sfpu_box_muller_pairs", "sfpu_box_muller_pairs_exp"}},
      {{"sfpu_box_muller16", "sfpu_box_muller16_exp"},
       {"sfpu_box_muller16_cephes", "sfpu_box_muller16_cephes_exp"}}};
  rec.compute = kernels[job.fill][params.avx2][job.params.log];
  rec.writer = "writer_unary";
  rec.sfpu_function = rec.compute;
  rec.input_format = wide ? "Int64" : "Int32";
  rec.output_format = dtype_name(out.dtype);
  rec.flops = rec.compute.desc()->flops_per_element * numel;
  rec.dram_write_bytes = tiles * tile * out_w;
  rec.noc_bytes = rec.dram_write_bytes + n_words * word_w;
  rec.tiles = tiles;
  rec.cores_used = split.cores_used;
  rec.max_tiles_per_core = split.max_tiles();
  rec.l1_bytes_per_core = l1;
  return rec;
}

}  // namespace accel::engine
