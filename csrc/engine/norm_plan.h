// What the normalisation programs share: the L1 plan that decides between a
// resident row (one DRAM read) and a streamed row (two), per-thread fp32
// scratch standing in for the L1 buffers, and the record's common fields.
#pragma once

#include <string>
#include <vector>

#include "engine/program.h"
#include "engine/tensor_ref.h"

namespace accel::engine::norm_plan {

// A buffer whose pages scale with the row (inputs, row-length parameters).
struct RowBuffer {
  std::string name;
  int64_t elem_bytes;
};

struct Plan {
  bool resident = true;
  int64_t chunk = 0;  // elements per chunk of one row (the whole row when resident)
  int64_t l1 = 0;
};

// row_pages: tiles one unit's row occupies; elems_per_page: elements of one
// row per page (32 for a block of 32 rows, 1024 for a flat unit). Resident:
// every row buffer holds the row; streaming: double-buffered chunks of up to
// 8 tiles. `fixed` (statistics, accumulators) are there in both.
Plan plan(const chip::Arch& arch, const std::string& op, int64_t row_elems, int64_t row_pages,
          int64_t elems_per_page, const std::vector<RowBuffer>& rows,
          const std::vector<RowBuffer>& outputs, const std::vector<CircularBuffer>& fixed);

// Per-thread fp32 buffer `slot`, at least n elements.
float* scratch(int slot, int64_t n);

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
inline bool present(const TensorRef& t) { return t.data != nullptr; }
inline int64_t bytes_of(const TensorRef& t) { return present(t) ? t.nbytes() : 0; }
// Element i of a dense tensor, to read or to write.
inline const char* at(const TensorRef& t, int64_t i) {
  return static_cast<const char*>(t.data) + i * dtype_bytes(t.dtype);
}
inline char* at_w(const TensorRef& t, int64_t i) { return static_cast<char*>(t.data) + i * dtype_bytes(t.dtype); }

// A parameter row (weight, bias) in fp32 in scratch `slot`, or null when absent.
const float* load_param(const TensorRef& t, int slot, int64_t n);

// The fields every normalisation record fills the same way.
ProgramRecord base_record(const chip::Arch& arch, const std::string& op, const std::string& compute,
                          const Plan& p, const CoreSplit& split, int64_t tiles, int64_t tiles_per_unit,
                          DType in, DType out);

}  // namespace accel::engine::norm_plan
