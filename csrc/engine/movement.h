// Data-movement programs: reader/writer-heavy programs whose compute is a copy,
// a transpose within the tile, or a reduction of scattered elements. Each core
// walks its share of the output in pages of one tile (1024 elements) and the
// record charges DRAM and NoC bytes for the data and the indices it moves.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <utility>
#include <vector>

#include "engine/program.h"
#include "engine/tensor_ref.h"

namespace accel::engine {

// ---- copies (movement_copy.cpp) ----
enum class Triangle : int8_t { None, Lower, Upper };
struct CopyOptions {
  Triangle triangle = Triangle::None;  // tril/triu: zero outside the band
  int64_t diagonal = 0;
};

// out[p] = in[p] for each (out, in) pair, converting dtype in the reader; `in`
// carries out's sizes with any strides (0 expands, negative flips). All pairs
// run as one program (cat, roll).
ProgramRecord run_copies(const chip::Arch& arch, const char* op,
                         const std::vector<std::pair<TensorRef, TensorRef>>& pairs,
                         const CopyOptions& opts = {});

// ---- indexed moves (movement_index.cpp) ----
// An index tensor laid over the iteration space (stride 0 where it does not
// vary), and how one index unit steps in the data tensor.
struct IndexOperand {
  TensorRef index;  // I64 or I32
  int64_t bound;    // valid indices are [0, bound), or [-bound, bound) with wrap
  int64_t stride;   // in elements of the data tensor
  bool wrap_negative = false;
};

// An index outside its bound; the ATen layer words the error per op.
struct IndexOutOfRange : std::out_of_range {
  IndexOutOfRange(int64_t value, int64_t bound, int operand)
      : std::out_of_range("index out of range"), value(value), bound(bound), operand(operand) {}
  int64_t value, bound;
  int operand;
};

// out[p] = src[p + sum_k idx_k[p] * stride_k]; src carries the iteration
// sizes (= out's) with stride 0 on the indexed dims. Same dtype both sides.
ProgramRecord run_index_gather(const chip::Arch& arch, const char* op, const TensorRef& out,
                               const TensorRef& src, const std::vector<IndexOperand>& indices);

enum class Reduce : int8_t { Assign, Add, Mul, Max, Min };

// dst[p + sum_k idx_k[p] * stride_k] (reduce)= alpha * values[p] (alpha for
// Add only). dst carries the iteration sizes with stride 0 on the indexed
// dims; values has dst's dtype. Elements that can meet at one destination
// stay on one core, in order, so sums are deterministic.
ProgramRecord run_index_scatter(const chip::Arch& arch, const char* op, const TensorRef& dst,
                                const TensorRef& values, const std::vector<IndexOperand>& indices,
                                Reduce reduce, double alpha = 1.0);

// ---- masks (movement_mask.cpp) ----
// out[p] = value where mask[p]; value is one element of out's dtype (bytes).
ProgramRecord run_masked_fill(const chip::Arch& arch, const char* op, const TensorRef& out,
                              const TensorRef& mask, const void* value);

// Number of true elements of mask (any dtype: nonzero counts).
int64_t count_true(const chip::Arch& arch, const TensorRef& mask, ProgramRecord* rec);

// Compaction in row-major order over mask's sizes. `count` is count_true(mask).
// masked_select: out[j] = src[p_j]; src carries mask's sizes.
ProgramRecord run_masked_select(const chip::Arch& arch, const TensorRef& out, const TensorRef& src,
                                const TensorRef& mask);
// nonzero: out is [count, mask.dim()] int64, the coordinates of each true element.
ProgramRecord run_nonzero(const chip::Arch& arch, const TensorRef& out, const TensorRef& mask);
// masked_scatter: dst[p_j] = source[j] (source is flat and contiguous).
ProgramRecord run_masked_scatter(const chip::Arch& arch, const TensorRef& dst,
                                 const TensorRef& source, const TensorRef& mask);

}  // namespace accel::engine
