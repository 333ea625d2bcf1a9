// Reduction and scan programs. The reduced dims become the inner tile axis
// and the cores split the kept outputs; when there are too few outputs to go
// round, the reduced axis is cut too and a combine step merges the partials.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/program.h"
#include "engine/tensor_ref.h"

namespace accel::engine {

enum class ReduceKind : int8_t {
  Sum, NanSum, Mean, Prod, Max, Min, ArgMax, ArgMin, Var, All, Any, Norm, LogSumExp
};

struct ReduceParams {
  double correction = 1;   // Var: divisor n - correction
  bool take_sqrt = false;  // Var: std
  double ord = 2;          // Norm
};

// Outputs carry the input's rank, size 1 on the reduced dims (keepdim view).
// `index` (ArgMax/ArgMin, int64) and `mean` (Var) are optional: data null.
struct ReduceOutputs {
  TensorRef value, index, mean;
};

// Reduces `in` over `dims` (distinct, in [0, in.dim())). `compute` is F32
// (also for bf16/fp16 data), F64 or I64 (integer and bool data).
ProgramRecord run_reduce(const chip::Arch& arch, const char* op, ReduceKind kind,
                         const TensorRef& in, const std::vector<int64_t>& dims,
                         const ReduceOutputs& out, DType compute, const ReduceParams& params = {});

enum class ScanKind : int8_t { Sum, Prod };

// out[..., i, ...] = op of in[..., 0..i, ...] along `dim`; out has in's sizes.
ProgramRecord run_scan(const chip::Arch& arch, const char* op, ScanKind kind, const TensorRef& in,
                       int64_t dim, const TensorRef& out, DType compute);

}  // namespace accel::engine
