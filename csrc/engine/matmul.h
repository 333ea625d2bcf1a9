// Matmul-class programs (mm, bmm, addmm, baddbmm, addbmm, mv, dot, linear):
// the output's 32x32 tiles are grouped into blocks of bm x bn tiles, the
// blocks divided over the cores; each core streams K through double-buffered
// operand buffers in blocks of bk tiles into the matrix engine, then runs the
// epilogue (alpha, beta * bias, activation) and writes its block back.
#pragma once

#include <optional>
#include <string>

#include "engine/activation.h"
#include "engine/compute_config.h"
#include "engine/program.h"
#include "engine/tensor_ref.h"
#include "perf/matmul_plan.h"

namespace accel::engine {

struct BlockFloatOperand;

// out[i] = act(alpha * a[i] @ b[i] + beta * bias[i]). Every operand is 3-D,
// [batch, rows, cols], with element strides (0 broadcasts); a and b share a
// float dtype. With reduce_batch, out has batch 1 and receives the sum over i.
struct MatmulArgs {
  TensorRef a, b, out;
  std::optional<TensorRef> bias;  // read only when beta != 0
  float alpha = 1, beta = 0;
  bool reduce_batch = false;
  Activation act = Activation::None;
  // When set, the writer also stores the pre-activation sums here (same
  // shape as out), and the activation reads them as stored, rounded to
  // pre's dtype: the numbers of a matmul followed by the separate op, whose
  // backward reads pre (accel::linear_act_saved).
  std::optional<TensorRef> pre;
  // When set, the epilogue is act's gradient instead of act: out = the
  // gradient of act at act_saved (same shape as out) times the product as
  // the separate mm would store it (accel::mm_act_backward).
  std::optional<TensorRef> act_saved;
  // When set ([1, 1, M], batch 1), also the sums of each row of a over K: a
  // linear's bias gradient beside its weight gradient (a = the output
  // gradient transposed). On the chip, b with a column of ones appended,
  // so the plan's N is one tile wider and a is read once for both
  // (accel::mm_bias_grad).
  std::optional<TensorRef> a_row_sums;
  ComputeConfig cfg;
  // An operand stored in a chip block-float format (engine/block_float.h):
  // a or b then gives its sizes and the dtype its tiles expand to (float32 or
  // bfloat16), and each core's unpacker expands the tiles of every block it
  // reads. DRAM, L1 and the record count the block-float bytes.
  const BlockFloatOperand* a_tiles = nullptr;
  const BlockFloatOperand* b_tiles = nullptr;
};

ProgramRecord run_matmul(const chip::Arch& arch, const char* op, const MatmulArgs& args);

// The record of the chip program (perf/matmul_plan.h) a matmul of `shape`
// runs as: kernels, cores, L1, DRAM and multicast traffic all come from the
// plan, never from how the host blocks its own computation. Conv and
// attention records start from it too.
ProgramRecord matmul_program_record(const chip::Arch& arch, const char* op,
                                    const perf::MatmulShape& shape, DType in0, DType in1,
                                    DType out, const ComputeConfig& cfg);
// The same by data-format name (perf/formats.cpp), for operands stored in chip formats.
ProgramRecord matmul_program_record(const chip::Arch& arch, const char* op,
                                    const perf::MatmulShape& shape, const std::string& in0,
                                    const std::string& in1, const std::string& out,
                                    const ComputeConfig& cfg);

}  // namespace accel::engine
