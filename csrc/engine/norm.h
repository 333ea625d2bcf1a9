// Normalisation programs: softmax, layer/RMS norm, group norm and batch norm,
// forward and backward. Every tensor is contiguous; a TensorRef with a null
// data pointer is an absent optional. Each program keeps a whole row (the
// elements one statistic covers) resident in L1 when it fits, so the row is
// read from DRAM once; otherwise it streams the row twice ("two_pass").
#pragma once

#include <cstdint>

#include "engine/activation.h"
#include "engine/program.h"
#include "engine/tensor_ref.h"

namespace accel::engine {

// Softmax or log-softmax over the middle dim of an [outer, dim, inner] layout.
struct SoftmaxArgs {
  TensorRef in, out;
  int64_t outer = 1, dim = 1, inner = 1;
  bool log = false;
};
ProgramRecord run_softmax(const chip::Arch& arch, const SoftmaxArgs& a);

// grad_in from grad and the forward output, same layout.
struct SoftmaxGradArgs {
  TensorRef grad, output, grad_in;
  int64_t outer = 1, dim = 1, inner = 1;
  bool log = false;
};
ProgramRecord run_softmax_backward(const chip::Arch& arch, const SoftmaxGradArgs& a);

// Layer norm (rms = false) or RMS norm over the last `cols` elements of each
// of `rows` rows. mean is absent for RMS norm.
struct RowNormArgs {
  TensorRef x, y, weight, bias, mean, rstd;
  int64_t rows = 0, cols = 0;
  double eps = 1e-5;
  bool rms = false;
};
ProgramRecord run_row_norm(const chip::Arch& arch, const RowNormArgs& a);

// Any of dx, dweight, dbias may be absent (output_mask). With residual_grad
// present, dx gets it added on the row before it is stored (the backward of a
// residual add + norm, accel::add_layer_norm_backward).
struct RowNormGradArgs {
  TensorRef grad, x, mean, rstd, weight, dx, dweight, dbias;
  int64_t rows = 0, cols = 0;
  bool rms = false;
  TensorRef residual_grad;
};
ProgramRecord run_row_norm_backward(const chip::Arch& arch, const RowNormGradArgs& a);

// Group norm on [N, C, HxW]: statistics per (n, group), affine per channel.
struct GroupNormArgs {
  TensorRef x, y, weight, bias, mean, rstd;
  int64_t n = 0, c = 0, hxw = 0, groups = 1;
  double eps = 1e-5;
};
ProgramRecord run_group_norm(const chip::Arch& arch, const GroupNormArgs& a);

struct GroupNormGradArgs {
  TensorRef grad, x, mean, rstd, weight, dx, dweight, dbias;
  int64_t n = 0, c = 0, hxw = 0, groups = 1;
};
ProgramRecord run_group_norm_backward(const chip::Arch& arch, const GroupNormGradArgs& a);

// Batch norm on [N, C, HxW]: statistics per channel. Training computes batch
// statistics into save_mean/save_invstd and updates the running ones when
// present; evaluation normalises with the running statistics. With act, y is
// act(the normalised value as stored): the activation that follows runs on
// the channel while it is in L1 (accel::batch_norm_act).
struct BatchNormArgs {
  TensorRef x, y, weight, bias, running_mean, running_var, save_mean, save_invstd;
  int64_t n = 0, c = 0, hxw = 0;
  bool training = true;
  double momentum = 0.1, eps = 1e-5;
  Activation act = Activation::None;
};
ProgramRecord run_batch_norm(const chip::Arch& arch, const BatchNormArgs& a);

// With act, grad is first taken through act's gradient at act_saved (relu's
// output, or the activation's input), as the activation's backward op would
// store it (accel::batch_norm_act_backward).
struct BatchNormGradArgs {
  TensorRef grad, x, weight, running_mean, running_var, save_mean, save_invstd, dx, dweight, dbias;
  int64_t n = 0, c = 0, hxw = 0;
  bool training = true;
  double eps = 1e-5;
  Activation act = Activation::None;
  TensorRef act_saved;
};
ProgramRecord run_batch_norm_backward(const chip::Arch& arch, const BatchNormGradArgs& a);

}  // namespace accel::engine
