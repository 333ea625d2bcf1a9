// Vector-engine transforms of the RNG family: raw generator words become
// samples of a distribution. A sample is a function of its own word (and,
// for bernoulli with a tensor p or dropout, of its own input element) alone,
// so the cores transform their tiles in parallel once the reader has drawn
// the words in the order CPU ATen consumes them. Each formula follows CPU
// ATen's in its own arithmetic types, so the same seed gives the same values.
#pragma once

#include <cstdint>

#include "engine/tensor_ref.h"

namespace accel::kernels {

enum class RandomKind {
  Uniform,          // [a, b): 24-bit (53-bit for double) fraction scaled
  FromTo,           // base + word % range
  FullRange,        // the 64-bit word as int64
  IntDefault,       // random_(): [0, 2^mantissa] or [0, max]
  Bernoulli,        // fraction < a (double p)
  BernoulliTensor,  // fraction < p[i] (float or double p by p's dtype)
  Exponential,      // -log1p(-fraction) / a
  Geometric,        // ceil(log(fraction) / log1p(-a))
  Cauchy,           // a + b * tan(pi * (fraction - 1/2))
  Dropout,          // keep = fraction < a; out = in * keep * b, mask = keep
};

struct RandomParams {
  RandomKind kind = RandomKind::Uniform;
  double a = 0, b = 0;
  uint64_t range = 0;
  int64_t base = 0;
  // CPU ATen's kernels built for AVX2/AVX512 let the compiler fuse uniform's
  // x * (to - from) + from (and cauchy's median + sigma * t) into one FMA, one
  // rounding; its default build does not.
  bool fused_uniform = true;
};

// Whether the distribution consumes 64-bit words (random64) rather than
// 32-bit ones (random) for this output / probability dtype.
bool wide_words(const RandomParams& p, engine::DType out, engine::DType prob);

// dst[i] = sample(words[i]) for i < n, dst contiguous in `out`'s dtype.
// `aux` (contiguous, dtype aux_dt) is p for BernoulliTensor and the input for
// Dropout, whose keep mask also goes to `mask` (bool) when given.
void transform_words(const uint64_t* words, void* dst, engine::DType out, int64_t n,
                     const RandomParams& p, const void* aux = nullptr,
                     engine::DType aux_dt = engine::DType::F32, bool* mask = nullptr);

}  // namespace accel::kernels
