// A fused element-wise program: a short list of vector-engine steps that a
// core runs on each tile while the tile stays in its destination registers,
// so intermediates never leave the core. Each step is one of the existing
// tile kernels (kernels/eltwise), computed in fp32 as the chip's Dst holds
// it; only the program's outputs are packed to their formats.
//
// The program is text so the compiler, the profiler and the dump show one
// thing. Values are numbered: the inputs first, then one per step.
//   "add %0 %1 alpha=1;gelu %2;mul %3 #0.5;to_bfloat16 %4 | %5:bfloat16,%2:float32"
// Steps are ';'-separated `name operand... [alpha= beta= gamma= mode=]`; an
// operand is `%value` or `#constant`; after '|' come the outputs `%value:dtype`.
#pragma once

#include <string>
#include <vector>

#include "engine/eltwise.h"

namespace accel::kernels::fused {

struct Operand {
  int value = -1;      // index into the program's values; -1: a constant
  float constant = 0;
};

enum class Rounding : int8_t { None, BFloat16, Half };

struct Step {
  std::string name;
  const engine::TileKernel* kernel = nullptr;  // nullptr: a rounding step
  Rounding rounding = Rounding::None;
  engine::KernelParams params;
  std::vector<Operand> operands;
};

struct Output {
  int value;
  engine::DType dtype;
};

struct Program {
  std::string text;
  int num_inputs = 0;
  std::vector<Step> steps;
  std::vector<Output> outputs;
  std::vector<float> constants;  // one tile each, after the values

  int num_values() const { return num_inputs + static_cast<int>(steps.size()); }
  // Vector-engine instructions per element, not counting the loads of the
  // inputs and the store of the first output (the cost model adds those).
  double arithmetic_instructions() const;
  // The op names the program absorbed, '+'-joined: "add+gelu+mul".
  std::string absorbed() const;
};

// Parses (and caches) a program of `num_inputs` inputs; bad text throws
// std::invalid_argument naming it.
const Program& parse_program(const std::string& text, int num_inputs);
// How many outputs a program's text names (0 when it has no '|').
int count_outputs(const std::string& text);

// Runs every step over n elements of one tile. values[v] is the fp32 tile of
// value v (inputs filled, step results written), then the constants' tiles.
void run_tile(const Program& program, float* const* values, int64_t n);

}  // namespace accel::kernels::fused
