// Negative log-likelihood programs (nll_loss, nll_loss2d, and so cross_entropy).
// The input is viewed as [N, C, S] (S = 1 for nll_loss, H*W for nll_loss2d);
// each (n, s) is a row whose target class picks one input value. The cores
// split the rows in tiles of 32; a sum/mean loss combines the cores' partials.
#pragma once

#include <cstdint>

#include "engine/program.h"
#include "engine/tensor_ref.h"

namespace accel::engine {

enum class Reduction : int8_t { None = 0, Mean = 1, Sum = 2 };

struct NllShape {
  int64_t n, c, s;
  int64_t ignore_index;
  Reduction reduction;
};

// input [N, C, S] and target [N, S] (int64) contiguous; weight [C] or data null.
// None: out [N, S]; Mean/Sum: out and total_weight are scalars. A target
// outside [0, C) (and not ignore_index) stops the program: *bad_target names it.
ProgramRecord run_nll_forward(const chip::Arch& arch, const char* op, const NllShape& shape,
                              const TensorRef& input, const TensorRef& target,
                              const TensorRef& weight, const TensorRef& out,
                              const TensorRef& total_weight, bool* bad, int64_t* bad_target);

// grad_input [N, C, S] contiguous, written whole (zero except the target
// entries). grad_output: [N, S] for None, a scalar otherwise.
ProgramRecord run_nll_backward(const chip::Arch& arch, const char* op, const NllShape& shape,
                               const TensorRef& grad_output, const TensorRef& target,
                               const TensorRef& weight, const TensorRef& total_weight,
                               const TensorRef& grad_input, bool* bad, int64_t* bad_target);

}  // namespace accel::engine
