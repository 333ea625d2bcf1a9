// Kernel table, data movement: the reader and writer kernels of every
// program (the RISC-V movers on each side of compute, engine "noc"), and the
// compute kernels of layout, index and mask programs.
#include "perf/kernel_table.h"

namespace accel::perf {
namespace {

constexpr const char* kMovement = "data_movement";

constexpr KernelDesc reader(const char* name) {
  return {name, KernelRole::Reader, Engine::Noc, 0, 0, kAnyFormat, kMovement};
}
constexpr KernelDesc writer(const char* name, const char* cls = kMovement) {
  return {name, KernelRole::Writer, Engine::Noc, 0, 0, kAnyFormat, cls};
}

constexpr KernelDesc kMovementKernels[] = {
    // Tiles through the FPU's datacopy (unpack -> Dst -> pack); a transpose
    // swaps faces on the way; the masked copy zeroes a triangle.
    {"copy_tile", KernelRole::Compute, Engine::Fpu, 0, 0, kAnyFormat, kMovement},
    {"copy_tile_masked", KernelRole::Compute, Engine::Fpu, 0, 0, kAnyFormat, kMovement},
    {"transpose_wh_tile", KernelRole::Compute, Engine::Fpu, 0, 0, kAnyFormat, kMovement},
    // A datacopy whose packer converts Dst to a block-float format (shared
    // exponent per face row), or whose unpacker expands one (engine/block_float.h).
    {"pack_block_float_tile", KernelRole::Compute, Engine::Fpu, 0, 0, kFloatFormats, kMovement},
    {"unpack_block_float_tile", KernelRole::Compute, Engine::Fpu, 0, 0, kFloatFormats, kMovement},
    // Selections on the vector engine, priced from the record's FLOPs (one
    // compare or select per element) plus loads and a store.
    {"where_tile", KernelRole::Compute, Engine::Sfpu, 1, kInstructionsFromFlops, kAnyFormat,
     kMovement},
    {"sfpu_count_nonzero", KernelRole::Compute, Engine::Sfpu, 1, kInstructionsFromFlops,
     kAnyFormat, kMovement},
    {"sfpu_compact", KernelRole::Compute, Engine::Sfpu, 0, kInstructionsFromFlops, kAnyFormat,
     kMovement},
    {"sfpu_scatter_reduce", KernelRole::Compute, Engine::Sfpu, 1, kInstructionsFromFlops,
     kAnyFormat, kMovement},

    // Readers: DRAM (or generated words) -> L1 circular buffers.
    reader("reader_tilize_interleaved"),
    reader("reader_interleaved_tilize"),
    reader("reader_strided_tilize"),
    reader("reader_block_float_tiles"),
    reader("reader_indexed_gather"),
    reader("reader_mask_tilize"),
    // Matmul programs (perf/matmul_plan.h): operand blocks multicast over a
    // 2D grid or one row/column, DRAM-sharded weights, or batched reuse.
    reader("reader_matmul_2d_mcast"),
    reader("reader_matmul_1d_mcast_in0"),
    reader("reader_matmul_1d_mcast_in1"),
    reader("reader_matmul_dram_sharded"),
    reader("reader_matmul_batched"),
    reader("reader_attention_blocked"),
    reader("reader_im2col_gather"),
    reader("reader_im2col_gather_pair"),
    reader("reader_im2col_strided_up"),
    reader("reader_channel_plane"),
    reader("reader_window_gather"),
    reader("reader_reduce_rows_tilize"),
    reader("reader_reduce_cols_tilize"),
    reader("reader_scan_rows_tilize"),
    reader("reader_scan_cols_tilize"),
    reader("reader_norm_row_resident"),
    reader("reader_norm_row_two_pass"),
    reader("reader_sort_rows"),
    reader("reader_sort_rows_staged"),
    reader("reader_nll_gather"),
    reader("reader_rng_words"),
    reader("reader_rng_words_and_input"),
    reader("reader_multi_tensor"),
    reader("reader_scalars"),

    // Writers: L1 -> DRAM.
    writer("writer_untilize_interleaved"),
    writer("writer_strided_untilize"),
    writer("writer_interleaved"),
    writer("writer_indexed_scatter"),
    writer("writer_compact"),
    writer("writer_conv_bias"),
    writer("writer_conv_epilogue"),  // and a per-channel affine map and a residual read
    writer("writer_filter"),
    writer("writer_reduce"),
    writer("writer_norm_untilize"),
    writer("writer_values_indices"),
    writer("writer_nll"),
    writer("writer_unary"),
    writer("writer_unary_and_mask"),
    writer("writer_multi_tensor"),
    writer("writer_scalars"),
    // Fills with no compute kernel: the writer generates the pages itself.
    writer("writer_fill_constant", "fill"),
    writer("writer_fill_sequence", "fill"),
    // Collectives between chips: the Ethernet data movers send and receive
    // (priced by the record's link_s, not per tile).
    writer("writer_ethernet_collective", "collective"),
};

}  // namespace

std::span<const KernelDesc> movement_kernels() { return kMovementKernels; }

}  // namespace accel::perf
