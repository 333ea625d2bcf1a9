// Vector-engine (SFPU) cost per element, keyed by compute kernel name.
//
// The SFPU has 32 lanes that each retire one instruction per cycle (ISA
// VectorUnit.md), so a 32x32 tile costs 32 cycles per instruction per element.
// Each figure below counts the instructions of the usual SFPU algorithm for the
// function: SFPLOAD of each operand from Dst, the arithmetic, SFPSTORE of the
// result. Polynomial degrees and Newton steps follow the approaches of
// tt-metal's ckernel_sfpu_*.h (read for the algorithm, not the code); they are
// estimates of instruction counts, not measurements.
#include <map>

#include "perf/cost.h"

namespace accel::perf {
namespace {

const std::map<std::string, double>& table() {
  static const std::map<std::string, double> t = {
      // Unary: load + store = 2 of every count.
      {"sfpu_relu", 4},        // compare with 0, conditional move
      {"sfpu_abs", 3},         // SFPABS
      {"sfpu_neg", 3},         // sign flip on move
      {"sfpu_sign", 6},        // two compares, two conditional moves
      {"sfpu_floor", 6},       // float->int cast, int->float, compare-and-fix (2)
      {"sfpu_ceil", 6},        // as floor
      {"sfpu_round", 6},       // as floor, with a half offset
      {"sfpu_trunc", 5},       // cast there and back, no fix-up
      {"sfpu_clamp", 6},       // two SFPSWAP-based min/max
      {"sfpu_leaky_relu", 4},  // compare, conditional multiply
      {"sfpu_hardsigmoid", 6}, // one MAD, two clamps
      {"sfpu_hardswish", 8},   // hardsigmoid + multiply
      {"sfpu_nan_to_num", 8},  // three class checks, conditional moves
      {"sfpu_exp", 16},        // x*log2e, split int/frac (SFPEXEXP/SFPEXMAN, 4),
                               // degree-3 Horner (3), exponent insert and fix-up (5)
      {"sfpu_expm1", 17},      // exp + subtract
      {"sfpu_log", 12},        // exponent extract, mantissa normalise (2), degree-3
                               // polynomial (3), exponent*ln2 MAD, int->float, specials (2)
      {"sfpu_log1p", 13},      // add + log
      {"sfpu_log2", 13},       // log + scale
      {"sfpu_sqrt", 11},       // magic-constant guess (2), two Newton steps (3 MADs each), scale
      {"sfpu_rsqrt", 10},      // as sqrt without the final multiply
      {"sfpu_reciprocal", 10}, // magic guess, three Newton steps (2 MADs each), sign fix
      {"sfpu_sigmoid", 25},    // exp (14 without load/store) + add + reciprocal (8) + 2
      {"sfpu_tanh", 26},       // 2*sigmoid(2x) - 1
      {"sfpu_silu", 26},       // x * sigmoid(x)
      {"sfpu_erf", 16},        // |x|, degree-6 polynomial, saturate, sign restore
      {"sfpu_gelu", 20},       // 0.5x(1 + erf(x/sqrt2)): erf + 3 MADs + scale
      {"sfpu_gelu_tanh", 32},  // tanh (24) + cubic term (3) + 0.5x(1+t) (3) + 2
      {"sfpu_elu", 20},        // exp, subtract, multiply, conditional select
      {"sfpu_sin", 12},        // range reduction (3), degree-7 odd Horner (5), sign fix (2)
      {"sfpu_cos", 12},        // as sin with a quarter-turn shift
      {"sfpu_erfinv", 40},     // log, sqrt and two rational polynomials
      {"sfpu_softplus", 30},   // exp + log1p, with a large-x bypass
      {"sfpu_mish", 58},       // softplus + tanh + multiply
      // Binary and ternary: one load per operand + store.
      {"eltwise_binary_div", 13},        // reciprocal (8) + multiply + 3 loads/stores + fix
      {"eltwise_binary_div_trunc", 17},  // div + trunc
      {"eltwise_binary_div_floor", 18},  // div + floor
      {"eltwise_binary_maximum", 5},     // SFPSWAP min/max pair
      {"eltwise_binary_minimum", 5},
      {"eltwise_binary_pow", 30},        // exp2(y * log2(x)) with sign handling
      {"eltwise_binary_remainder", 22},  // div + floor + MAD + sign fix
      {"eltwise_binary_fmod", 20},       // div + trunc + MAD
      {"eltwise_binary_atan2", 32},      // divide (10), degree-7 atan polynomial (8), quadrant (6)
      {"eltwise_binary_eq", 6},          // subtract, compare, conditional set
      {"eltwise_binary_ne", 6},
      {"eltwise_binary_lt", 6},
      {"eltwise_binary_le", 6},
      {"eltwise_binary_gt", 6},
      {"eltwise_binary_ge", 6},
      {"eltwise_binary_logical_and", 7}, // two compares, combine
      {"eltwise_binary_logical_or", 7},
      {"eltwise_binary_logical_xor", 7},
      {"eltwise_binary_bitwise_and", 4}, // one integer op
      {"eltwise_binary_bitwise_or", 4},
      {"eltwise_binary_bitwise_xor", 4},
      {"eltwise_ternary_where", 6},      // compare, conditional move
      {"eltwise_ternary_lerp", 6},       // two MADs
      {"eltwise_ternary_addcdiv", 14},   // reciprocal (8) + two MADs
  };
  return t;
}

}  // namespace

double sfpu_instructions_per_element(const std::string& kernel) {
  auto it = table().find(kernel);
  return it == table().end() ? -1 : it->second;
}

}  // namespace accel::perf
