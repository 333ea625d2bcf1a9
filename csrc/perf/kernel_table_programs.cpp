// Kernel table, compute kernels of the row, window and matrix programs
// (csrc/engine: reduce, scan, norm, softmax, matmul, conv, attention, pool,
// sort, random, fill, loss, optimizer steps).
//
// Their work depends on the program's options (reduced length, window size,
// sort passes, which gradients are wanted), so the programs count their own
// FLOPs and the FLOPs below are the nominal per-element figure. Vector-engine
// kernels here are priced from the record (kInstructionsFromFlops): one
// instruction per FLOP per element, one load per input tile and a store.
#include "perf/kernel_table.h"

namespace accel::perf {
namespace {

constexpr double kFromFlops = kInstructionsFromFlops;

constexpr KernelDesc sfpu(const char* name, int flops, const char* cls) {
  return {name, KernelRole::Compute, Engine::Sfpu, flops, kFromFlops, kAnyFormat, cls};
}
constexpr KernelDesc fpu(const char* name, int flops, const char* cls) {
  return {name, KernelRole::Compute, Engine::Fpu, flops, 0, kAnyFormat, cls};
}
// A vector-engine stage with a fixed instruction count per element.
constexpr KernelDesc sfpu_counted(const char* name, int flops, double instructions,
                                  const char* cls) {
  return {name, KernelRole::Compute, Engine::Sfpu, flops, instructions, kAnyFormat, cls};
}
// Matrix products: FLOPs are 2 per multiply-accumulate, counted by the program.
constexpr KernelDesc matrix(const char* name, const char* cls) {
  return {name, KernelRole::Compute, Engine::Matrix, 2, 0, kAnyFormat, cls};
}

constexpr KernelDesc kPrograms[] = {
    // Reductions: sums and max/min reduce on the FPU (reduce_tile), the rest
    // need compares, products or transcendentals on the SFPU.
    fpu("reduce_sum", 1, "reduction"),
    fpu("reduce_mean", 1, "reduction"),
    fpu("reduce_max", 1, "reduction"),
    fpu("reduce_min", 1, "reduction"),
    sfpu("reduce_nansum", 1, "reduction"),
    sfpu("reduce_prod", 1, "reduction"),
    sfpu("reduce_argmax", 1, "reduction"),
    sfpu("reduce_argmin", 1, "reduction"),
    sfpu("reduce_var", 4, "reduction"),
    sfpu("reduce_all", 1, "reduction"),
    sfpu("reduce_any", 1, "reduction"),
    sfpu("reduce_norm", 1, "reduction"),
    sfpu("reduce_logsumexp", 4, "reduction"),
    fpu("reduce_sum_fp32acc", 1, "reduction"),  // conv's bias gradient
    sfpu("scan_cumsum", 1, "scan"),
    sfpu("scan_cumprod", 1, "scan"),

    // Norms and softmax: row statistics then the normalisation.
    sfpu("layer_norm_sfpu", 7, "norm"),
    sfpu("rms_norm_sfpu", 5, "norm"),
    sfpu("layer_norm_bw_sfpu", 8, "norm"),
    sfpu("rms_norm_bw_sfpu", 8, "norm"),
    sfpu("group_norm_sfpu", 7, "norm"),
    sfpu("group_norm_bw_sfpu", 7, "norm"),
    sfpu("batch_norm_sfpu", 7, "norm"),
    sfpu("batch_norm_eval_sfpu", 2, "norm"),
    sfpu("batch_norm_bw_sfpu", 8, "norm"),
    // accel::batch_norm_act and its backward: the activation (or its
    // gradient) on the channel in L1; the record adds the activation's own
    // element-wise FLOPs.
    sfpu("batch_norm_act_sfpu", 8, "norm"),
    sfpu("batch_norm_act_bw_sfpu", 9, "norm"),
    sfpu("softmax_sfpu", 5, "softmax"),
    sfpu("log_softmax_sfpu", 5, "softmax"),
    sfpu("softmax_bw_sfpu", 4, "softmax"),
    sfpu("log_softmax_bw_sfpu", 4, "softmax"),
    // The compiler's fused rows (engine/norm_fused.h): the residual add (1)
    // ahead of the norm's statistics and normalisation; the scale (1) and
    // mask (1) ahead of the softmax.
    sfpu("add_layer_norm_sfpu", 8, "norm"),
    sfpu("add_rms_norm_sfpu", 6, "norm"),
    sfpu("add_layer_norm_bw_sfpu", 9, "norm"),  // and the residual's gradient added (1)
    sfpu("add_rms_norm_bw_sfpu", 9, "norm"),
    sfpu("scale_softmax_sfpu", 6, "softmax"),
    sfpu("scale_mask_softmax_sfpu", 7, "softmax"),

    // The torch.compile backend's fused element-wise program (engine/fused.h):
    // its record's FLOPs are the steps' vector-engine instructions.
    sfpu("fused_eltwise", 1, "fused"),

    // Matrix-engine programs, with the fused activations of linear_act.
    matrix("matmul_block", "matmul"),
    matrix("matmul_block_relu", "matmul"),
    matrix("matmul_block_gelu", "matmul"),
    matrix("matmul_block_gelu_tanh", "matmul"),
    matrix("matmul_block_silu", "matmul"),
    // accel::linear_act_saved: the writer also stores the pre-activation.
    matrix("matmul_block_relu_saved", "matmul"),
    matrix("matmul_block_gelu_saved", "matmul"),
    matrix("matmul_block_gelu_tanh_saved", "matmul"),
    matrix("matmul_block_silu_saved", "matmul"),
    // accel::mm_act_backward: the activation's gradient as the epilogue.
    matrix("matmul_block_relu_backward", "matmul"),
    matrix("matmul_block_gelu_backward", "matmul"),
    matrix("matmul_block_gelu_tanh_backward", "matmul"),
    matrix("matmul_block_silu_backward", "matmul"),
    // accel::mm_bias_grad: the weight gradient with the bias gradient as a
    // column of ones appended to the second operand.
    matrix("matmul_block_bias_grad", "matmul"),
    matrix("conv_implicit_gemm_fp32acc", "conv"),
    // accel::conv_act: the activation applied by the writer's epilogue.
    matrix("conv_implicit_gemm_relu", "conv"),
    matrix("conv_implicit_gemm_gelu", "conv"),
    matrix("conv_implicit_gemm_gelu_tanh", "conv"),
    matrix("conv_implicit_gemm_silu", "conv"),
    matrix("conv_wgrad_gemm_fp32acc", "conv"),
    matrix("sdpa_flash", "attention"),
    matrix("sdpa_flash_backward", "attention"),
    // Flash attention's online softmax, per score: scale (1 MAD), running row
    // max (compare + move, 2), subtract and exp (16, as sfpu_exp), row-sum
    // accumulate (1); the per-chunk rescale of the output is per row, not per score.
    sfpu_counted("sdpa_softmax", 5, 20, "attention"),
    // Backward, per score: recompute exp (16), P * (dP - rowsum(dO * O)) (3),
    // scale (1), load and store of dS (2).
    sfpu_counted("sdpa_softmax_backward", 6, 22, "attention"),

    // Pooling and resampling windows: averages sum on the FPU, maxima and
    // interpolation weights need the SFPU.
    sfpu("max_pool_window", 1, "pool"),
    fpu("avg_pool_window", 1, "pool"),
    fpu("adaptive_avg_pool_window", 1, "pool"),
    sfpu("adaptive_max_pool_window", 1, "pool"),
    sfpu("upsample_nearest", 1, "pool"),
    sfpu("upsample_bilinear", 8, "pool"),

    // Row sorts and selections: radix passes or ~2n compares per row.
    sfpu("sort_radix_rows", 2, "sort"),
    sfpu("topk_select_rows", 2, "sort"),
    sfpu("kthvalue_select_rows", 2, "sort"),
    sfpu("median_select_rows", 2, "sort"),
    // Histograms: a bin index (subtract, scale, compare) and an increment in L1.
    sfpu("sfpu_histogram_bins", 4, "reduction"),

    // Random numbers from counter-based words (reader_rng_words).
    sfpu("sfpu_rand_uniform", 3, "random"),
    sfpu("sfpu_rand_int_range", 2, "random"),
    sfpu("sfpu_rand_int_full", 0, "random"),
    sfpu("sfpu_rand_int", 2, "random"),
    sfpu("sfpu_bernoulli", 2, "random"),
    sfpu("sfpu_bernoulli_tensor", 2, "random"),
    sfpu("sfpu_dropout", 4, "random"),
    sfpu("sfpu_rand_exponential", 20, "random"),  // a log on the vector engine
    sfpu("sfpu_rand_geometric", 20, "random"),
    sfpu("sfpu_rand_cauchy", 20, "random"),        // a tan
    sfpu("sfpu_box_muller16", 60, "random"),       // log, sqrt, sin and cos per pair
    sfpu("sfpu_box_muller16_cephes", 60, "random"),
    sfpu("sfpu_box_muller_pairs", 60, "random"),
    sfpu("sfpu_box_muller16_exp", 80, "random"),   // log_normal: and an exp
    sfpu("sfpu_box_muller16_cephes_exp", 80, "random"),
    sfpu("sfpu_box_muller_pairs_exp", 80, "random"),
    sfpu("sfpu_randperm_swaps", 4, "random"),
    sfpu("sfpu_multinomial_cumsum_search", 3, "random"),

    // Generated values, written without reading an input.
    sfpu("sfpu_logspace", 20, "fill"),
    sfpu("sfpu_eye", 0, "fill"),
    sfpu("sfpu_triangle_indices", 4, "fill"),

    // Losses gathered by class, optimizer and gradient-scaling steps.
    sfpu("sfpu_nll_forward", 3, "loss"),
    sfpu("sfpu_nll_backward", 3, "loss"),
    sfpu("sfpu_fused_adam", 16, "optimizer"),
    sfpu("sfpu_fused_adamw", 16, "optimizer"),
    sfpu("sfpu_unscale_check", 2, "optimizer"),
    sfpu("sfpu_update_scale", 4, "optimizer"),
};

}  // namespace

std::span<const KernelDesc> program_kernels() { return kPrograms; }

}  // namespace accel::perf
