// RNG programs. The reader stage draws the generator's raw words serially,
// in the order CPU ATen consumes them (the row-major order of `out` as given:
// the caller permutes out's dims into that order), so the same seed gives
// the same stream. Then each core transforms its tiles' words into samples
// on the vector engine (kernels/random) and its writer stores them.
#pragma once

#include <functional>
#include <optional>

#include "engine/program.h"
#include "engine/tensor_ref.h"
#include "kernels/random/normal.h"
#include "kernels/random/transform.h"

namespace accel::engine {

// Fills dst[0, n) with generator words: 64-bit ones when `wide`, else 32-bit
// ones zero-extended.
using WordSource = std::function<void(uint64_t* dst, int64_t n, bool wide)>;

struct RandomJob {
  TensorRef out;
  TensorRef aux;   // p (BernoulliTensor) or the input (Dropout); data == nullptr when unused
  TensorRef mask;  // Dropout's keep mask (bool); data == nullptr when unused
  kernels::RandomParams params;
};

ProgramRecord run_random(const chip::Arch& arch, const char* op, const RandomJob& job,
                         const WordSource& words);

// normal_ / log_normal_. `fill` picks CPU's 16-wide scheme (contiguous out of
// >= 16 elements, normal_ only) over the per-element one; for the latter,
// `cache` carries the generator's pending sine sample in and out.
struct NormalJob {
  TensorRef out;
  kernels::NormalParams params;
  bool fill = false;
};

ProgramRecord run_normal(const chip::Arch& arch, const char* op, const NormalJob& job,
                         const WordSource& words, std::optional<double>& cache);

// randperm: the reader draws one word per swap, the cores turn words into
// swap offsets in parallel, one core replays the swaps (a serial chain) and
// the cores write the permutation in out's dtype.
ProgramRecord run_randperm(const chip::Arch& arch, const TensorRef& out, const WordSource& words);

// multinomial with replacement: each core builds the normalized cumulative
// distribution of its rows and binary-searches one 64-bit word per sample.
// Returns the first invalid row's error (0 when all rows are valid):
// 1 = an entry < 0, 2 = inf or NaN, 3 = sum <= 0.
struct MultinomialJob {
  TensorRef probs;  // [rows, categories]
  TensorRef out;    // [rows, samples] int64
};
ProgramRecord run_multinomial(const chip::Arch& arch, const MultinomialJob& job,
                              const WordSource& words, int& error);

}  // namespace accel::engine
