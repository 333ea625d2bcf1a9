// RNG programs. The reader stage draws the generator's raw words serially,
// in the order CPU ATen consumes them (the row-major order of `out` as given:
// the caller permutes out's dims into that order), so the same seed gives
// the same stream. Then each core transforms its tiles' words into samples
// on the vector engine (kernels/random) and its writer stores them.
#pragma once

#include <functional>

#include "engine/program.h"
#include "engine/tensor_ref.h"
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

}  // namespace accel::engine
