// Kernel table, element-wise tile kernels (kernels/eltwise, kernels/loss).
//
// Vector-engine instruction counts: the SFPU has 32 lanes that each retire one
// instruction per cycle (ISA VectorUnit.md), so a 32x32 tile costs 32 cycles
// per instruction per element. Each figure counts the instructions of the
// usual SFPU algorithm for the function: SFPLOAD of each operand from Dst, the
// arithmetic, SFPSTORE of the result. Polynomial degrees and Newton steps
// follow the approaches of tt-metal's ckernel_sfpu_*.h (read for the
// algorithm, not the code); they are estimates of instruction counts, not
// measurements. "flops + io" marks a kernel without a finer derivation: one
// instruction per FLOP, one load per operand and a store.
#include "perf/kernel_table.h"

namespace accel::perf {
namespace {

constexpr KernelDesc sfpu(const char* name, int flops, double instructions, const char* cls,
                          FormatSet formats = kAnyFormat) {
  return {name, KernelRole::Compute, Engine::Sfpu, flops, instructions, formats, cls};
}
constexpr KernelDesc fpu(const char* name, int flops, const char* cls) {
  return {name, KernelRole::Compute, Engine::Fpu, flops, 0, kAnyFormat, cls};
}

constexpr const char* kUnary = "eltwise_unary";
constexpr const char* kBinary = "eltwise_binary";
constexpr const char* kTernary = "eltwise_ternary";
constexpr const char* kLoss = "loss";

constexpr KernelDesc kEltwise[] = {
    // Unary: load + store = 2 of every count.
    sfpu("sfpu_relu", 1, 4, kUnary),          // compare with 0, conditional move
    sfpu("sfpu_abs", 1, 3, kUnary),           // SFPABS
    sfpu("sfpu_neg", 1, 3, kUnary),           // sign flip on move
    sfpu("sfpu_sign", 2, 6, kUnary),          // two compares, two conditional moves
    sfpu("sfpu_floor", 1, 6, kUnary),         // float->int cast, int->float, compare-and-fix (2)
    sfpu("sfpu_ceil", 1, 6, kUnary),          // as floor
    sfpu("sfpu_round", 1, 6, kUnary),         // as floor, with a half offset
    sfpu("sfpu_trunc", 1, 5, kUnary),         // cast there and back, no fix-up
    sfpu("sfpu_clamp", 2, 6, kUnary),         // two SFPSWAP-based min/max
    sfpu("sfpu_leaky_relu", 2, 4, kUnary),    // compare, conditional multiply
    sfpu("sfpu_hardsigmoid", 3, 6, kUnary),   // one MAD, two clamps
    sfpu("sfpu_hardswish", 4, 8, kUnary),     // hardsigmoid + multiply
    sfpu("sfpu_nan_to_num", 2, 8, kUnary),    // three class checks, conditional moves
    sfpu("sfpu_exp", 10, 16, kUnary),         // x*log2e, split int/frac (SFPEXEXP/SFPEXMAN, 4),
                                              // degree-3 Horner (3), exponent insert and fix-up (5)
    sfpu("sfpu_expm1", 11, 17, kUnary),       // exp + subtract
    sfpu("sfpu_log", 10, 12, kUnary),         // exponent extract, mantissa normalise (2), degree-3
                                              // polynomial (3), exponent*ln2 MAD, int->float, specials (2)
    sfpu("sfpu_log1p", 11, 13, kUnary),       // add + log
    sfpu("sfpu_log2", 10, 13, kUnary),        // log + scale
    sfpu("sfpu_sqrt", 6, 11, kUnary),         // magic-constant guess (2), two Newton steps (3 MADs each), scale
    sfpu("sfpu_rsqrt", 6, 10, kUnary),        // as sqrt without the final multiply
    sfpu("sfpu_reciprocal", 6, 10, kUnary),   // magic guess, three Newton steps (2 MADs each), sign fix
    sfpu("sfpu_sigmoid", 11, 25, kUnary),     // exp (14 without load/store) + add + reciprocal (8) + 2
    sfpu("sfpu_tanh", 12, 26, kUnary),        // 2*sigmoid(2x) - 1
    sfpu("sfpu_silu", 12, 26, kUnary),        // x * sigmoid(x)
    sfpu("sfpu_erf", 12, 16, kUnary),         // |x|, degree-6 polynomial, saturate, sign restore
    sfpu("sfpu_gelu", 12, 20, kUnary),        // 0.5x(1 + erf(x/sqrt2)): erf + 3 MADs + scale
    sfpu("sfpu_gelu_tanh", 14, 32, kUnary),   // tanh (24) + cubic term (3) + 0.5x(1+t) (3) + 2
    sfpu("sfpu_elu", 12, 20, kUnary),         // exp, subtract, multiply, conditional select
    sfpu("sfpu_sin", 12, 12, kUnary),         // range reduction (3), degree-7 odd Horner (5), sign fix (2)
    sfpu("sfpu_cos", 12, 12, kUnary),         // as sin with a quarter-turn shift
    sfpu("sfpu_erfinv", 30, 40, kUnary),      // log, sqrt and two rational polynomials
    sfpu("sfpu_softplus", 22, 30, kUnary),    // exp + log1p, with a large-x bypass
    sfpu("sfpu_mish", 24, 58, kUnary),        // softplus + tanh + multiply
    sfpu("sfpu_bitwise_not", 1, 3, kUnary, kIntFormats),  // one integer op

    // Binary and ternary: one load per operand + store. Add, sub, mul and
    // addcmul run on the FPU, one pass per pair of operands.
    fpu("eltwise_binary_add", 1, kBinary),
    fpu("eltwise_binary_sub", 1, kBinary),
    fpu("eltwise_binary_mul", 1, kBinary),
    sfpu("eltwise_binary_div", 4, 13, kBinary),         // reciprocal (8) + multiply + 3 loads/stores + fix
    sfpu("eltwise_binary_div_trunc", 5, 17, kBinary),   // div + trunc
    sfpu("eltwise_binary_div_floor", 8, 18, kBinary),   // div + floor
    sfpu("eltwise_binary_maximum", 1, 5, kBinary),      // SFPSWAP min/max pair
    sfpu("eltwise_binary_minimum", 1, 5, kBinary),
    sfpu("eltwise_binary_pow", 16, 30, kBinary),        // exp2(y * log2(x)) with sign handling
    sfpu("eltwise_binary_remainder", 6, 22, kBinary),   // div + floor + MAD + sign fix
    sfpu("eltwise_binary_fmod", 5, 20, kBinary),        // div + trunc + MAD
    sfpu("eltwise_binary_atan2", 20, 32, kBinary),      // divide (10), degree-7 atan polynomial (8), quadrant (6)
    sfpu("eltwise_binary_eq", 1, 6, kBinary),           // subtract, compare, conditional set
    sfpu("eltwise_binary_ne", 1, 6, kBinary),
    sfpu("eltwise_binary_lt", 1, 6, kBinary),
    sfpu("eltwise_binary_le", 1, 6, kBinary),
    sfpu("eltwise_binary_gt", 1, 6, kBinary),
    sfpu("eltwise_binary_ge", 1, 6, kBinary),
    sfpu("eltwise_binary_logical_and", 1, 7, kBinary),  // two compares, combine
    sfpu("eltwise_binary_logical_or", 1, 7, kBinary),
    sfpu("eltwise_binary_logical_xor", 1, 7, kBinary),
    sfpu("eltwise_binary_bitwise_and", 1, 4, kBinary, kIntFormats),  // one integer op
    sfpu("eltwise_binary_bitwise_or", 1, 4, kBinary, kIntFormats),
    sfpu("eltwise_binary_bitwise_xor", 1, 4, kBinary, kIntFormats),
    sfpu("eltwise_ternary_where", 1, 6, kTernary),      // compare, conditional move
    sfpu("eltwise_ternary_lerp", 3, 6, kTernary),       // two MADs
    fpu("eltwise_ternary_addcmul", 3, kTernary),
    sfpu("eltwise_ternary_addcdiv", 6, 14, kTernary),   // reciprocal (8) + two MADs

    // Activation gradients (grad_output, saved tensor): flops + io.
    sfpu("sfpu_threshold_backward", 1, 4, kUnary),
    sfpu("sfpu_gelu_backward", 18, 21, kUnary),
    sfpu("sfpu_gelu_tanh_backward", 20, 23, kUnary),
    sfpu("sfpu_silu_backward", 16, 19, kUnary),
    sfpu("sfpu_sigmoid_backward", 3, 6, kUnary),
    sfpu("sfpu_tanh_backward", 3, 6, kUnary),
    sfpu("sfpu_leaky_relu_backward", 2, 5, kUnary),
    sfpu("sfpu_hardtanh_backward", 2, 5, kUnary),     // two compares, conditional move
    sfpu("sfpu_hardswish_backward", 4, 7, kUnary),
    sfpu("sfpu_hardsigmoid_backward", 3, 6, kUnary),
    sfpu("sfpu_elu_backward", 14, 17, kUnary),
    sfpu("sfpu_softplus_backward", 14, 17, kUnary),
    sfpu("sfpu_mish_backward", 30, 33, kUnary),

    // Point-wise losses and their gradients: flops + io.
    sfpu("sfpu_mse", 2, 5, kLoss),
    sfpu("sfpu_smooth_l1", 5, 8, kLoss),
    sfpu("sfpu_huber", 5, 8, kLoss),
    sfpu("sfpu_bce", 8, 12, kLoss),
    sfpu("sfpu_log_sigmoid", 5, 7, kLoss),
    sfpu("sfpu_mse_backward", 3, 7, kLoss),
    sfpu("sfpu_smooth_l1_backward", 4, 8, kLoss),
    sfpu("sfpu_huber_backward", 4, 8, kLoss),
    sfpu("sfpu_bce_backward", 7, 12, kLoss),
    sfpu("sfpu_log_sigmoid_backward", 6, 9, kLoss),
};

}  // namespace

std::span<const KernelDesc> eltwise_kernels() { return kEltwise; }

}  // namespace accel::perf
