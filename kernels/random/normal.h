// Normal samples of the RNG family, in CPU ATen's two Box-Muller schemes so
// the same seed gives the same values:
//  - per element (normal_distribution<double>): each pair of 64-bit words
//    gives a cosine sample and a sine sample; the sine one waits in the
//    generator for the next draw, so the reader hands over where the stream
//    of pairs starts and the host keeps the last unused sine;
//  - 16-wide fill (contiguous tensors of >= 16 elements): a block of 16
//    uniforms becomes 8 cosine and 8 sine samples (bfloat16 and half: in
//    float from torch 2.13 on, in the type itself before, cpu_sampling.h),
//    the last 16 outputs come from 16 extra words when the size is not a
//    multiple of 16.
#pragma once

#include <cstdint>

#include "engine/tensor_ref.h"

namespace accel::kernels {

struct NormalParams {
  double mean = 0, std = 1;
  bool log = false;    // log_normal_: exp of the sample
  bool fused = true;   // CPU's AVX2/AVX512 builds fuse sample * std + mean into one FMA
  bool cached = false;  // per-element: element 0 takes `cache` (a raw N(0, 1) sample)
  double cache = 0;
  bool avx2 = false;   // 16-wide fill of float/bf16/half: AVX2 Cephes log/sincos
};

// Raw N(0, 1) sample of a word pair: r * cos(theta) or r * sin(theta).
double box_muller_pair(uint64_t w1, uint64_t w2, bool sine);

// Words the per-element scheme draws (64-bit) for n outputs.
int64_t normal_pair_words(int64_t n, const NormalParams& p);
// Outputs [first, first + n) of the per-element scheme into dst (contiguous).
void normal_pairs(const uint64_t* words, int64_t first, int64_t n, void* dst, engine::DType out,
                  const NormalParams& p);

// Words the 16-wide fill draws for `size` outputs (64-bit for double, else
// 32-bit): from torch 2.13 on, bfloat16/half draw no words for the partial
// last block.
int64_t normal_fill_words(int64_t size, engine::DType out);
// Outputs [first, first + n) of a `size`-element 16-wide fill into dst.
void normal_fill(const uint64_t* words, int64_t size, int64_t first, int64_t n, void* dst,
                 engine::DType out, const NormalParams& p);

// The AVX2 Box-Muller of 16 float uniforms in place (normal_avx2.cpp);
// returns false when the host lacks AVX2/FMA.
bool box_muller16_avx2(float* data, float mean, float std);

}  // namespace accel::kernels
