// The dtypes CPU ATen's element-wise kernels refuse, so that accel refuses the
// same calls with the same exception type (NotImplementedError from ATen's
// dispatch macros, RuntimeError from its explicit checks), instead of
// computing a result CPU and CUDA would not give. Only eltwise_ops.cpp uses it.
#pragma once

#include <c10/core/ScalarType.h>
#include <c10/util/Exception.h>

#include "kernels/eltwise/binary.h"
#include "kernels/eltwise/unary.h"

namespace accel::aten::dtype_checks {

inline void not_implemented_for(const char* op, c10::ScalarType dtype) {
  TORCH_CHECK_NOT_IMPLEMENTED(false, "\"", op, "\" not implemented for '", c10::toString(dtype), "'");
}

// `dtype`: the input's dtype (these kernels do not promote integers to float).
inline void check_unary(const char* op, kernels::Unary k, c10::ScalarType dtype) {
  using kernels::Unary;
  if (c10::isComplexType(dtype) && k != Unary::Relu && k != Unary::Clamp) not_implemented_for(op, dtype);
  switch (k) {
    case Unary::Gelu: case Unary::GeluTanh: case Unary::Silu: case Unary::Mish:
    case Unary::Hardswish: case Unary::Hardsigmoid: case Unary::Elu: case Unary::Softplus:
    case Unary::LeakyRelu:
      if (!c10::isFloatingType(dtype)) not_implemented_for(op, dtype);
      return;
    case Unary::Abs: case Unary::Floor: case Unary::Ceil: case Unary::Round: case Unary::Trunc:
      if (dtype == c10::kBool) not_implemented_for(op, dtype);
      return;
    case Unary::Neg:
      TORCH_CHECK(dtype != c10::kBool, "Negation, the `-` operator, on a bool tensor is not "
                  "supported. If you are trying to invert a mask, use the `~` or `logical_not()` "
                  "operator instead.");
      return;
    case Unary::Relu:
      TORCH_CHECK(dtype != c10::kBool, "Boolean inputs not supported for relu");
      TORCH_CHECK_NOT_IMPLEMENTED(!c10::isComplexType(dtype), "clamp is not supported for complex types");
      return;
    case Unary::Clamp:
      TORCH_CHECK_NOT_IMPLEMENTED(!c10::isComplexType(dtype), "clamp is not supported for complex types");
      return;
    default:
      return;
  }
}

// `dtype`: the operands' promoted dtype.
inline void check_binary(const char* op, kernels::Binary k, c10::ScalarType dtype) {
  using kernels::Binary;
  switch (k) {
    case Binary::BitwiseAnd: case Binary::BitwiseOr: case Binary::BitwiseXor:
      if (c10::isFloatingType(dtype)) not_implemented_for(op, dtype);
      return;
    case Binary::Pow: case Binary::Remainder: case Binary::Fmod:
      if (dtype == c10::kBool) not_implemented_for(op, dtype);
      return;
    default:
      return;
  }
}

inline void check_ternary(const char* op, kernels::Ternary k, c10::ScalarType dtype) {
  using kernels::Ternary;
  if ((k == Ternary::Addcmul || k == Ternary::Addcdiv) && dtype == c10::kBool) not_implemented_for(op, dtype);
  if (k == Ternary::Lerp && !c10::isFloatingType(dtype)) not_implemented_for(op, dtype);
}

}  // namespace accel::aten::dtype_checks
