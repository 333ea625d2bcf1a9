#include "kernels/eltwise/binary.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <functional>
#include <stdexcept>
#include <type_traits>

#include <ATen/native/Math.h>  // ATen's special functions, no Tensor
#include <c10/util/BFloat16-math.h>
#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include "kernels/eltwise/simd.h"
#include "kernels/eltwise/tile_kernel.h"

namespace accel::kernels {
namespace {

template <class C>
constexpr bool is_int = std::is_integral_v<C>;

template <class C>
C checked_divisor(C b) {
  if constexpr (is_int<C>)
    if (b == 0) throw std::domain_error("ZeroDivisionError");
  return b;
}

struct AddOp { KernelParams p; template <class C> C operator()(C a, C b) const { return a + static_cast<C>(p.alpha) * b; } };
struct SubOp { KernelParams p; template <class C> C operator()(C a, C b) const { return a - static_cast<C>(p.alpha) * b; } };
struct MulOp { KernelParams p; template <class C> C operator()(C a, C b) const { return a * b; } };
struct DivOp { KernelParams p; template <class C> C operator()(C a, C b) const { return a / checked_divisor(b); } };
struct DivTruncOp {
  KernelParams p;
  template <class C> C operator()(C a, C b) const {
    if constexpr (is_int<C>) return a / checked_divisor(b);
    else return std::trunc(a / b);
  }
};
// Matches ATen's div_floor: Python semantics, sign of the divisor.
struct DivFloorOp {
  KernelParams p;
  template <class C> C operator()(C a, C b) const {
    if constexpr (is_int<C>) {
      checked_divisor(b);
      C q = a / b;
      if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
      return q;
    } else {
      if (b == 0) return a / b;
      C mod = std::fmod(a, b);
      C div = (a - mod) / b;
      if (mod != 0 && (b < 0) != (mod < 0)) div -= C(1);
      C floordiv;
      if (div != 0) {
        floordiv = std::floor(div);
        if (div - floordiv > C(0.5)) floordiv += C(1);
      } else {
        floordiv = std::copysign(C(0), a / b);
      }
      return floordiv;
    }
  }
};
struct MaximumOp {
  KernelParams p;
  template <class C> C operator()(C a, C b) const {
    if constexpr (!is_int<C>) if (std::isnan(a) || std::isnan(b)) return std::isnan(a) ? a : b;
    return a > b ? a : b;
  }
};
struct MinimumOp {
  KernelParams p;
  template <class C> C operator()(C a, C b) const {
    if constexpr (!is_int<C>) if (std::isnan(a) || std::isnan(b)) return std::isnan(a) ? a : b;
    return a < b ? a : b;
  }
};
struct PowOp {
  KernelParams p;
  template <class C> C operator()(C a, C b) const {
    if constexpr (is_int<C>) {
      if (b < 0) {
        if (a == 1) return 1;
        if (a == -1) return (b % 2 == 0) ? 1 : -1;
        return 0;  // as ATen's powi, 0 included (a scalar exponent is refused before the kernel)
      }
      C result = 1, base = a;
      for (C e = b; e > 0; e >>= 1) {
        if (e & 1) result *= base;
        base *= base;
      }
      return result;
    } else {
      return std::pow(a, b);
    }
  }
};
struct RemainderOp {
  KernelParams p;
  template <class C> C operator()(C a, C b) const {
    if constexpr (is_int<C>) {
      C r = a % checked_divisor(b);
      return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
    } else {
      C mod = std::fmod(a, b);
      return (mod != 0 && ((b < 0) != (mod < 0))) ? mod + b : mod;
    }
  }
};
struct FmodOp {
  KernelParams p;
  template <class C> C operator()(C a, C b) const {
    if constexpr (is_int<C>) return a % checked_divisor(b);
    else return std::fmod(a, b);
  }
};
struct Atan2Op { KernelParams p; template <class C> C operator()(C a, C b) const { return static_cast<C>(std::atan2(a, b)); } };
struct EqOp { KernelParams p; template <class C> C operator()(C a, C b) const { return a == b; } };
struct NeOp { KernelParams p; template <class C> C operator()(C a, C b) const { return a != b; } };
struct LtOp { KernelParams p; template <class C> C operator()(C a, C b) const { return a < b; } };
struct LeOp { KernelParams p; template <class C> C operator()(C a, C b) const { return a <= b; } };
struct GtOp { KernelParams p; template <class C> C operator()(C a, C b) const { return a > b; } };
struct GeOp { KernelParams p; template <class C> C operator()(C a, C b) const { return a >= b; } };
struct LogicalAndOp { KernelParams p; template <class C> C operator()(C a, C b) const { return a != 0 && b != 0; } };
struct LogicalOrOp { KernelParams p; template <class C> C operator()(C a, C b) const { return a != 0 || b != 0; } };
struct LogicalXorOp { KernelParams p; template <class C> C operator()(C a, C b) const { return (a != 0) != (b != 0); } };
template <class F>
struct BitwiseOp {
  KernelParams p;
  template <class C> C operator()(C a, C b) const {
    if constexpr (is_int<C>) return F{}(a, b);
    else throw std::domain_error("bitwise ops need integer or bool tensors");
  }
};

// The float-only ops (ATen dispatches them on floating types alone; the
// registrations reject integer inputs before any kernel runs).
template <class C>
C float_only() {
  throw std::domain_error("this op needs floating-point tensors");
}
struct XlogyOp {
  KernelParams p;
  template <class C> C operator()(C x, C y) const {
    if constexpr (is_int<C>) return float_only<C>();
    else {
      if (std::isnan(y)) return std::numeric_limits<C>::quiet_NaN();
      return x == 0 ? C(0) : x * std::log(y);
    }
  }
};
struct Xlog1pyOp {
  KernelParams p;
  template <class C> C operator()(C x, C y) const {
    if constexpr (is_int<C>) return float_only<C>();
    else {
      if (std::isnan(y)) return std::numeric_limits<C>::quiet_NaN();
      return x == 0 ? C(0) : x * std::log1p(y);
    }
  }
};
// ATen's logaddexp: equal infinities pass through; otherwise max + log1p(exp(-|a - b|)).
struct LogaddexpOp {
  KernelParams p;
  template <class C> C operator()(C a, C b) const {
    if constexpr (is_int<C>) return float_only<C>();
    else {
      if (std::isinf(a) && a == b) return a;
      return std::max(a, b) + std::log1p(std::exp(-std::abs(a - b)));
    }
  }
};
struct Logaddexp2Op {
  KernelParams p;
  template <class C> C operator()(C a, C b) const {
    if constexpr (is_int<C>) return float_only<C>();
    else {
      if (std::isinf(a) && a == b) return a;
      return std::max(a, b) + std::log1p(std::exp2(-std::abs(a - b))) * C(1 / M_LN2);
    }
  }
};
struct HypotOp {
  KernelParams p;
  template <class C> C operator()(C a, C b) const {
    if constexpr (is_int<C>) return float_only<C>();
    else return std::hypot(a, b);
  }
};
struct CopysignOp {
  KernelParams p;
  template <class C> C operator()(C a, C b) const {
    if constexpr (is_int<C>) return float_only<C>();
    else return std::copysign(a, b);
  }
};
// ATen's heaviside: `values` at zero, else the step (NaN counts as not positive).
struct HeavisideOp {
  KernelParams p;
  template <class C> C operator()(C a, C b) const { return a == 0 ? b : static_cast<C>(a > 0); }
};
// The next representable value in the data's own format, so a bfloat16 steps
// by a bfloat16 ulp although it is computed in float.
struct NextafterOp {
  KernelParams p;
  template <class C> C operator()(C a, C b) const {
    if constexpr (is_int<C>) return float_only<C>();
    else {
      if (p.mode == 1) return static_cast<C>(std::nextafter(c10::BFloat16(a), c10::BFloat16(b)));
      if (p.mode == 2) return static_cast<C>(std::nextafter(c10::Half(a), c10::Half(b)));
      return std::nextafter(a, b);
    }
  }
};
// fmax/fmin ignore a NaN when the other operand is a number.
struct FmaxOp {
  KernelParams p;
  template <class C> C operator()(C a, C b) const {
    if constexpr (is_int<C>) return a > b ? a : b;
    else return std::fmax(a, b);
  }
};
struct FminOp {
  KernelParams p;
  template <class C> C operator()(C a, C b) const {
    if constexpr (is_int<C>) return a < b ? a : b;
    else return std::fmin(a, b);
  }
};

// torch.special's functions of two floating operands, by ATen's own formulas.
#define ACCEL_SPECIAL_BINARY_OP(Name, fn)                         \
  struct Name {                                                   \
    KernelParams p;                                               \
    template <class C> C operator()(C a, C b) const {             \
      if constexpr (is_int<C>) return float_only<C>();            \
      else return fn(a, b);                                       \
    }                                                             \
  };
ACCEL_SPECIAL_BINARY_OP(ChebyshevTOp, ::chebyshev_polynomial_t_forward)
ACCEL_SPECIAL_BINARY_OP(ChebyshevUOp, ::chebyshev_polynomial_u_forward)
ACCEL_SPECIAL_BINARY_OP(ChebyshevVOp, ::chebyshev_polynomial_v_forward)
ACCEL_SPECIAL_BINARY_OP(ChebyshevWOp, ::chebyshev_polynomial_w_forward)
ACCEL_SPECIAL_BINARY_OP(ShiftedChebyshevTOp, ::shifted_chebyshev_polynomial_t_forward)
ACCEL_SPECIAL_BINARY_OP(ShiftedChebyshevUOp, ::shifted_chebyshev_polynomial_u_forward)
ACCEL_SPECIAL_BINARY_OP(ShiftedChebyshevVOp, ::shifted_chebyshev_polynomial_v_forward)
ACCEL_SPECIAL_BINARY_OP(ShiftedChebyshevWOp, ::shifted_chebyshev_polynomial_w_forward)
ACCEL_SPECIAL_BINARY_OP(HermiteHOp, ::hermite_polynomial_h_forward)
ACCEL_SPECIAL_BINARY_OP(HermiteHeOp, ::hermite_polynomial_he_forward)
ACCEL_SPECIAL_BINARY_OP(LaguerreLOp, ::laguerre_polynomial_l_forward)
ACCEL_SPECIAL_BINARY_OP(LegendrePOp, ::legendre_polynomial_p_forward)
ACCEL_SPECIAL_BINARY_OP(ZetaOp, ::zeta)
#undef ACCEL_SPECIAL_BINARY_OP

struct PreluOp { KernelParams p; template <class C> C operator()(C x, C w) const { return x > 0 ? x : w * x; } };
struct PreluGradInputOp { KernelParams p; template <class C> C operator()(C x, C w, C g) const { return x > 0 ? g : w * g; } };
struct PreluGradWeightOp { KernelParams p; template <class C> C operator()(C x, C w, C g) const { return x > 0 ? C(0) : x * g; } };

struct WhereOp { KernelParams p; template <class C> C operator()(C cond, C a, C b) const { return cond != 0 ? a : b; } };
// ATen's lerp: the two-sided form keeps accuracy near both ends.
struct LerpOp {
  KernelParams p;
  template <class C> C operator()(C a, C b, C w) const {
    if constexpr (is_int<C>) return a + w * (b - a);
    else return std::abs(w) < C(0.5) ? a + w * (b - a) : b - (b - a) * (C(1) - w);
  }
};
// ATen's clamp(Tensor, Tensor): a NaN bound gives NaN, a NaN input stays NaN.
struct ClampOp {
  KernelParams p;
  template <class C> C operator()(C a, C lo, C hi) const {
    if constexpr (!is_int<C>)
      if (std::isnan(lo) || std::isnan(hi)) return std::numeric_limits<C>::quiet_NaN();
    return std::min(std::max(a, lo), hi);
  }
};
struct AddcmulOp { KernelParams p; template <class C> C operator()(C a, C b, C c) const { return a + static_cast<C>(p.alpha) * b * c; } };
struct AddcdivOp { KernelParams p; template <class C> C operator()(C a, C b, C c) const { return a + static_cast<C>(p.alpha) * (b / checked_divisor(c)); } };

}  // namespace

const engine::TileKernel& binary_kernel(Binary op) {
  static const engine::TileKernel portable[] = {
      tile_kernel<AddOp, 2>("eltwise_binary_add"),
      tile_kernel<SubOp, 2>("eltwise_binary_sub"),
      tile_kernel<MulOp, 2>("eltwise_binary_mul"),
      tile_kernel<DivOp, 2>("eltwise_binary_div"),
      tile_kernel<DivTruncOp, 2>("eltwise_binary_div_trunc"),
      tile_kernel<DivFloorOp, 2>("eltwise_binary_div_floor"),
      tile_kernel<MaximumOp, 2>("eltwise_binary_maximum"),
      tile_kernel<MinimumOp, 2>("eltwise_binary_minimum"),
      tile_kernel<PowOp, 2>("eltwise_binary_pow"),
      tile_kernel<RemainderOp, 2>("eltwise_binary_remainder"),
      tile_kernel<FmodOp, 2>("eltwise_binary_fmod"),
      tile_kernel<Atan2Op, 2>("eltwise_binary_atan2"),
      tile_kernel<EqOp, 2>("eltwise_binary_eq"),
      tile_kernel<NeOp, 2>("eltwise_binary_ne"),
      tile_kernel<LtOp, 2>("eltwise_binary_lt"),
      tile_kernel<LeOp, 2>("eltwise_binary_le"),
      tile_kernel<GtOp, 2>("eltwise_binary_gt"),
      tile_kernel<GeOp, 2>("eltwise_binary_ge"),
      tile_kernel<LogicalAndOp, 2>("eltwise_binary_logical_and"),
      tile_kernel<LogicalOrOp, 2>("eltwise_binary_logical_or"),
      tile_kernel<LogicalXorOp, 2>("eltwise_binary_logical_xor"),
      tile_kernel<BitwiseOp<std::bit_and<>>, 2>("eltwise_binary_bitwise_and"),
      tile_kernel<BitwiseOp<std::bit_or<>>, 2>("eltwise_binary_bitwise_or"),
      tile_kernel<BitwiseOp<std::bit_xor<>>, 2>("eltwise_binary_bitwise_xor"),
      tile_kernel<XlogyOp, 2>("eltwise_binary_xlogy"),
      tile_kernel<LogaddexpOp, 2>("eltwise_binary_logaddexp"),
      tile_kernel<Logaddexp2Op, 2>("eltwise_binary_logaddexp2"),
      tile_kernel<HypotOp, 2>("eltwise_binary_hypot"),
      tile_kernel<CopysignOp, 2>("eltwise_binary_copysign"),
      tile_kernel<HeavisideOp, 2>("eltwise_binary_heaviside"),
      tile_kernel<NextafterOp, 2>("eltwise_binary_nextafter"),
      tile_kernel<FmaxOp, 2>("eltwise_binary_fmax"),
      tile_kernel<FminOp, 2>("eltwise_binary_fmin"),
      tile_kernel<Xlog1pyOp, 2>("eltwise_binary_xlog1py"),
      tile_kernel<ChebyshevTOp, 2>("eltwise_binary_chebyshev_polynomial_t"),
      tile_kernel<ChebyshevUOp, 2>("eltwise_binary_chebyshev_polynomial_u"),
      tile_kernel<ChebyshevVOp, 2>("eltwise_binary_chebyshev_polynomial_v"),
      tile_kernel<ChebyshevWOp, 2>("eltwise_binary_chebyshev_polynomial_w"),
      tile_kernel<ShiftedChebyshevTOp, 2>("eltwise_binary_shifted_chebyshev_polynomial_t"),
      tile_kernel<ShiftedChebyshevUOp, 2>("eltwise_binary_shifted_chebyshev_polynomial_u"),
      tile_kernel<ShiftedChebyshevVOp, 2>("eltwise_binary_shifted_chebyshev_polynomial_v"),
      tile_kernel<ShiftedChebyshevWOp, 2>("eltwise_binary_shifted_chebyshev_polynomial_w"),
      tile_kernel<HermiteHOp, 2>("eltwise_binary_hermite_polynomial_h"),
      tile_kernel<HermiteHeOp, 2>("eltwise_binary_hermite_polynomial_he"),
      tile_kernel<LaguerreLOp, 2>("eltwise_binary_laguerre_polynomial_l"),
      tile_kernel<LegendrePOp, 2>("eltwise_binary_legendre_polynomial_p"),
      tile_kernel<ZetaOp, 2>("eltwise_binary_zeta"),
      tile_kernel<PreluOp, 2>("eltwise_binary_prelu"),
  };
  static_assert(std::size(portable) == kBinaryCount);
  static const auto table = with_simd(portable, simd_tile_math().binary);
  return table[static_cast<int>(op)];
}

const engine::TileKernel& ternary_kernel(Ternary op) {
  static const engine::TileKernel table[] = {
      tile_kernel<WhereOp, 3>("eltwise_ternary_where"),
      tile_kernel<LerpOp, 3>("eltwise_ternary_lerp"),
      tile_kernel<AddcmulOp, 3>("eltwise_ternary_addcmul"),
      tile_kernel<AddcdivOp, 3>("eltwise_ternary_addcdiv"),
      tile_kernel<ClampOp, 3>("eltwise_ternary_clamp"),
      tile_kernel<PreluGradInputOp, 3>("eltwise_ternary_prelu_grad_input"),
      tile_kernel<PreluGradWeightOp, 3>("eltwise_ternary_prelu_grad_weight"),
  };
  static_assert(std::size(table) == kTernaryCount);
  static const auto simd_table = with_simd(table, simd_tile_math().ternary);
  return simd_table[static_cast<int>(op)];
}

}  // namespace accel::kernels
