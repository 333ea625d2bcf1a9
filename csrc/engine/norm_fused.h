// Row programs that absorb a norm's or a softmax's element-wise neighbours,
// so the row is read from DRAM once and the neighbours run on it in L1: the
// torch.compile backend's fusion targets (torch_accel/compile/norm_fusion.py).
// Every tensor is contiguous over [rows, cols] except the softmax mask.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include "engine/program.h"
#include "engine/tensor_ref.h"

namespace accel::engine {

// sum = x + residual (written in sum's format), then layer norm (rms = false)
// or RMS norm of the stored sum into y, with the statistics the backward
// saves (mean is absent for RMS norm).
struct AddRowNormArgs {
  TensorRef x, residual, sum, y, weight, bias, mean, rstd;
  int64_t rows = 0, cols = 0;
  double eps = 1e-5;
  bool rms = false;
};
ProgramRecord run_add_row_norm(const chip::Arch& arch, const AddRowNormArgs& a);

// How a mask meets the scaled scores before the softmax.
enum class SoftmaxMask : int8_t {
  None,
  Add,             // scores + mask (a float mask)
  FillWhereTrue,   // masked_fill(scores, mask, fill)
  FillWhereFalse,  // where(mask, scores, fill)
};

// out = softmax(in * scale (+ mask), last dim) over `rows` rows of `cols`,
// every step on the row in fp32, rounded once into out's format. The mask's
// row r starts at element mask_row_offsets[r]; its elements are
// mask_col_stride apart (0: one value for the whole row).
struct ScaleMaskSoftmaxArgs {
  TensorRef in, out, mask;
  SoftmaxMask mask_kind = SoftmaxMask::None;
  std::vector<int64_t> mask_row_offsets;
  int64_t mask_col_stride = 1;
  int64_t rows = 0, cols = 0;
  float scale = 1.f;
  float fill = -std::numeric_limits<float>::infinity();
};
ProgramRecord run_scale_mask_softmax(const chip::Arch& arch, const ScaleMaskSoftmaxArgs& a);

}  // namespace accel::engine
