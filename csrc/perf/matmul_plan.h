// The chip program a matmul runs as. Like tt-metal's matmul, the program is
// chosen by shape: a 2D-multicast program for large M and N, 1D-multicast
// programs for tall and wide shapes, a DRAM-sharded program for skinny
// (decode) shapes, and a no-multicast program when both operands are batched.
// The plan is data-free: shapes, formats, accumulation and the arch give it,
// and the engine, estimate mode and the cost model all read the same plan.
#pragma once

#include <cstdint>
#include <string>

#include "chip/arch.h"

namespace accel::perf {

enum class MatmulProgram {
  Mcast2D,       // cores on a grid: in0 multicast along rows, in1 down columns
  Mcast1DIn0,    // wide: every core owns N columns, in0 multicast to all
  Mcast1DIn1,    // tall: every core owns M rows, in1 multicast to all
  DramSharded,   // skinny M: one core per DRAM bank streams its weight slice
  BatchedReuse,  // in1 differs per batch: blocks of outputs, no multicast
};
const char* matmul_program_name(MatmulProgram program);
// The reader kernel each program runs, as the profiler names it.
const char* matmul_reader_name(MatmulProgram program);

// A product batch x [m_tiles x k_tiles] @ [k_tiles x n_tiles] in tiles. When
// in1_batched is false, in1 is shared by every batch and the batch folds into M.
struct MatmulShape {
  int64_t batch = 1;
  int64_t m_tiles = 0, n_tiles = 0, k_tiles = 0;
  bool in1_batched = false;
};

struct MatmulPlan {
  MatmulProgram program = MatmulProgram::Mcast2D;
  int64_t cores_used = 0;
  int64_t rows_used = 0, cols_used = 0;       // the cores' rectangle on the grid
  int64_t core_m = 0, core_n = 0;             // busiest core's output tiles
  int64_t block_m = 0, block_n = 0;           // output block held in L1 per pass
  int64_t block_k = 0;                        // K tiles per reader step
  int64_t sub_h = 0, sub_w = 0;               // output subblock held in Dst
  int64_t passes_m = 0, passes_n = 0;         // blocks per core along M and N
  int64_t dram_read_bytes = 0, dram_write_bytes = 0;
  int64_t multicast_bytes = 0;                // bytes multicast senders send
  int64_t multicast_span = 0;                 // hops a multicast travels
  int64_t multicast_steps = 0;                // barrier-synchronised steps per core
  int64_t multicast_step_bytes = 0;           // bytes each step delivers to a core
  int64_t core_noc_in_bytes = 0;              // busiest core's NoC input
  double dram_hops = 0;                       // mean hops from a DRAM bank to its reader
  int64_t l1_bytes = 0;                       // busiest core's circular buffers
};

MatmulPlan plan_matmul(const MatmulShape& shape, const std::string& in0_format,
                       const std::string& in1_format, const std::string& out_format,
                       bool fp32_dest_acc, const chip::Arch& arch);

}  // namespace accel::perf
