// Scaled dot-product attention as a tile program: per (batch, head, block of
// query rows) a core streams key/value blocks through its L1, and the matrix
// engine forms Q K^T and P V; scale, mask, causal cut and an online softmax
// run on the score tiles in between (flash-attention style, no L x S matrix
// in DRAM). The backward recomputes P from the saved logsumexp.
#pragma once

#include <optional>

#include "engine/compute_config.h"
#include "engine/program.h"
#include "engine/tensor_ref.h"

namespace accel::engine {

// q [N,H,L,E], k [N,H,S,E], v [N,H,S,Ev], out [N,H,L,Ev]: 4-D with element
// strides. mask, when present, is [N,H,L,S] (strides 0 broadcast): Bool keeps
// where true, a float mask is added to the scores.
struct AttentionArgs {
  TensorRef q, k, v, out;
  std::optional<TensorRef> mask;
  float* lse = nullptr;  // [N*H*L] fp32, logsumexp of each score row
  float scale = 1;
  bool causal = false;
  ComputeConfig cfg;
};
ProgramRecord run_attention(const chip::Arch& arch, const char* op, const AttentionArgs& args);

struct AttentionGradArgs {
  TensorRef q, k, v, out, grad_out;
  std::optional<TensorRef> mask;
  const float* lse = nullptr;
  TensorRef grad_q, grad_k, grad_v;  // shaped like q, k, v
  float* grad_mask = nullptr;        // [N,H,L,S] fp32 contiguous, or null
  float scale = 1;
  bool causal = false;
  ComputeConfig cfg;
};
ProgramRecord run_attention_backward(const chip::Arch& arch, const char* op, const AttentionGradArgs& args);

}  // namespace accel::engine
