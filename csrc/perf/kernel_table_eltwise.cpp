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
    sfpu("sfpu_hardshrink", 2, 6, kUnary),    // |x| (1), compare with lambda, conditional zero (2)
    sfpu("sfpu_softshrink", 3, 7, kUnary),    // two compares, add or subtract lambda, conditional zero
    sfpu("sfpu_signbit", 1, 4, kUnary),       // sign-bit test (SFPSETCC), conditional set
    sfpu("sfpu_angle", 2, 6, kUnary),         // NaN check, compare with 0, two conditional moves
    sfpu("sfpu_threshold", 2, 5, kUnary),     // compare, conditional move of the value
    sfpu("sfpu_frac", 2, 6, kUnary),          // trunc (3) + subtract
    sfpu("sfpu_round_decimals", 3, 8, kUnary),  // scale, round (4), unscale
    sfpu("sfpu_exp2", 9, 15, kUnary),         // exp without the log2e scale
    sfpu("sfpu_log10", 10, 13, kUnary),       // log + scale
    sfpu("sfpu_sinh", 13, 26, kUnary),        // exp (14), 1/e by reciprocal (8), subtract, halve, io
    sfpu("sfpu_cosh", 13, 26, kUnary),        // as sinh with a sum
    sfpu("sfpu_tan", 24, 28, kUnary),         // sin (10) + cos sharing its range reduction (7), divide (9), io
    sfpu("sfpu_atan", 14, 22, kUnary),        // |x| > 1: reciprocal (8) and select, degree-11 odd Horner (7), pi/2 fix (2), sign (2), io
    sfpu("sfpu_asin", 24, 40, kUnary),        // 1 - x^2 MAD, sqrt (9), divide (9), atan (20 without io), io
    sfpu("sfpu_acos", 25, 41, kUnary),        // asin + pi/2 subtract
    sfpu("sfpu_asinh", 18, 26, kUnary),       // x^2 + 1 MAD, sqrt (9), add, log (10), sign restore (3), io
    sfpu("sfpu_acosh", 18, 25, kUnary),       // as asinh without the sign restore, with x^2 - 1
    sfpu("sfpu_atanh", 20, 25, kUnary),       // (1 + x) / (1 - x): 2 adds + divide (10), log (10), halve, io
    sfpu("sfpu_erfc", 13, 17, kUnary),        // erf (14) + subtract from 1
    sfpu("sfpu_sinc", 15, 16, kUnary),        // pi*x, sin (10), divide-by reciprocal (2), zero select (2)
    sfpu("sfpu_lgamma", 30, 36, kUnary),      // shift to x >= 8 (6 MADs), Stirling series (6), log (10) x2, reflection check
    sfpu("sfpu_digamma", 30, 36, kUnary),     // recurrence to x >= 10 (6 reciprocals, 12), log (10), degree-6 series (6), io
    sfpu("sfpu_polygamma", 60, 70, kUnary),   // Hurwitz zeta: 9-term sum of powers (36), Euler-Maclaurin tail (12), exp/lgamma factor (20), io
    sfpu("sfpu_i0", 45, 56, kUnary),          // i0e (42) times exp (14)
    sfpu("sfpu_logit", 14, 26, kUnary),
    sfpu("sfpu_i1", 47, 58, kUnary),          // i1e (44) times exp (14)
    sfpu("sfpu_i0e", 32, 42, kUnary),         // |x|, Chebyshev recurrence (~30: 2 MADs a term), rsqrt (8) past 8, multiply, io
    sfpu("sfpu_i1e", 34, 44, kUnary),         // i0e with the odd coefficient set and a sign restore (2)
    sfpu("sfpu_ndtri", 40, 44, kUnary),       // Cephes: three rational branches of degree ~8 (18 MADs, 1 divide of 9), sqrt + log for tails (19), io
    sfpu("sfpu_erfcx", 36, 46, kUnary),       // range-table Chebyshev fit (24), continued fraction past 50 (6), exp (14) below 0, io
    sfpu("sfpu_log_ndtr", 30, 34, kUnary),    // erfc (16) or erfcx (for x < -1), log (10), scale (2), io
    sfpu("sfpu_entr", 12, 16, kUnary),        // log (10), multiply, sign and zero selects (3), io
    sfpu("sfpu_airy_ai", 40, 52, kUnary),  // Cephes: ratio of degree-8..10 polynomials per range (22), sin/cos of the phase (20) past 2.09, sqrt (9), io
    sfpu("sfpu_bessel_j0", 35, 48, kUnary),  // Cephes: rational fit below 5 (18, divide 9); above, two asymptotic fits (16), cos (10), rsqrt (8), io
    sfpu("sfpu_bessel_j1", 35, 48, kUnary),  // as bessel_j0 with the order-1 coefficients
    sfpu("sfpu_bessel_y0", 40, 56, kUnary),  // bessel_j0 plus log (10) of the small-x branch
    sfpu("sfpu_bessel_y1", 40, 56, kUnary),  // bessel_y0 with the order-1 coefficients
    sfpu("sfpu_modified_bessel_i0", 32, 44, kUnary),  // |x|, Chebyshev recurrence (~30), exp (14) folded with rsqrt past 8 (counted once), io
    sfpu("sfpu_modified_bessel_i1", 34, 46, kUnary),  // as modified_bessel_i0 with a sign restore
    sfpu("sfpu_modified_bessel_k0", 40, 56, kUnary),  // Chebyshev recurrence (~20), log (10) and i0 (12 shared) below 2, exp and rsqrt (22) above, io
    sfpu("sfpu_modified_bessel_k1", 40, 56, kUnary),  // as modified_bessel_k0 with the order-1 coefficients
    sfpu("sfpu_scaled_modified_bessel_k0", 36, 48, kUnary),  // modified_bessel_k0 without the exp, times exp(x) below 2
    sfpu("sfpu_scaled_modified_bessel_k1", 36, 48, kUnary),  // as scaled_modified_bessel_k0 with the order-1 coefficients
    sfpu("sfpu_spherical_bessel_j0", 14, 24, kUnary),  // sin (10) and reciprocal (8) = sin(x)/x, small-x Taylor select (4), io
       // clamp (2), 1 - x, divide (9), log (10), edge selects (2), io

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
    sfpu("eltwise_binary_xlogy", 12, 18, kBinary),      // log (10), multiply, zero and NaN selects (3), 3 io
    sfpu("eltwise_binary_logaddexp", 25, 32, kBinary),  // |a-b| (2), exp (14), log1p (11), max, add, io
    sfpu("eltwise_binary_logaddexp2", 26, 33, kBinary), // as logaddexp with exp2 and a 1/ln2 scale
    sfpu("eltwise_binary_hypot", 9, 16, kBinary),       // two squares as MADs (2), sqrt (9), 3 io and fix-up
    sfpu("eltwise_binary_copysign", 1, 5, kBinary),     // SFPSETSGN from b onto a, 3 io
    sfpu("eltwise_binary_heaviside", 2, 7, kBinary),    // two compares, two conditional moves, 3 io
    sfpu("eltwise_binary_nextafter", 3, 9, kBinary),    // compare, +-1 on the integer view, zero/equal fix-ups, 3 io
    sfpu("eltwise_binary_fmax", 1, 7, kBinary),         // SFPSWAP max + NaN select (2), 3 io
    sfpu("eltwise_binary_fmin", 1, 7, kBinary),
    sfpu("eltwise_binary_xlog1py", 13, 19, kBinary),    // xlogy with log1p (11)
    sfpu("eltwise_binary_chebyshev_polynomial_t", 12, 21, kBinary),  // three-term recurrence, 2 MADs a step for n up to ~6 (12), range and n checks (6), 3 io
    sfpu("eltwise_binary_chebyshev_polynomial_u", 12, 21, kBinary),
    sfpu("eltwise_binary_chebyshev_polynomial_v", 12, 21, kBinary),
    sfpu("eltwise_binary_chebyshev_polynomial_w", 12, 21, kBinary),
    sfpu("eltwise_binary_shifted_chebyshev_polynomial_t", 12, 21, kBinary),
    sfpu("eltwise_binary_shifted_chebyshev_polynomial_u", 12, 21, kBinary),
    sfpu("eltwise_binary_shifted_chebyshev_polynomial_v", 12, 21, kBinary),
    sfpu("eltwise_binary_shifted_chebyshev_polynomial_w", 12, 21, kBinary),
    sfpu("eltwise_binary_hermite_polynomial_h", 12, 21, kBinary),
    sfpu("eltwise_binary_hermite_polynomial_he", 12, 21, kBinary),
    sfpu("eltwise_binary_laguerre_polynomial_l", 12, 21, kBinary),
    sfpu("eltwise_binary_legendre_polynomial_p", 12, 21, kBinary),
    sfpu("eltwise_binary_prelu", 2, 6, kBinary),       // compare, multiply, conditional move, 3 io
    sfpu("eltwise_binary_zeta", 60, 68, kBinary),  // 9-term sum of powers (exp+log each, 36), Euler-Maclaurin tail (12 terms, 24), 3 io + checks
    sfpu("eltwise_ternary_where", 1, 6, kTernary),      // compare, conditional move
    sfpu("eltwise_ternary_lerp", 3, 6, kTernary),       // two MADs
    fpu("eltwise_ternary_addcmul", 3, kTernary),
    sfpu("eltwise_ternary_addcdiv", 6, 14, kTernary),   // reciprocal (8) + two MADs
    sfpu("eltwise_ternary_clamp", 2, 8, kTernary),      // two SFPSWAP min/max, NaN-bound select, 4 io
    sfpu("eltwise_ternary_prelu_grad_input", 2, 7, kTernary),   // compare, multiply, conditional move, 4 io
    sfpu("eltwise_ternary_prelu_grad_weight", 2, 7, kTernary),  // compare, multiply, conditional zero, 4 io

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
    sfpu("sfpu_logit_backward", 12, 15, kUnary),
    sfpu("sfpu_shrink_backward", 2, 5, kUnary),

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
