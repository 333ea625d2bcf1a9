// Registrations of torch.special's element-wise functions: Bessel and Airy
// functions, orthogonal polynomials, zeta and the error-function family, each
// ATen's own formula (ATen/native/Math.h) in one tile kernel. Their scalar
// overloads are ATen composites over these.
#include <ATen/native/Resize.h>
#include <ATen/ops/can_cast.h>
#include <ATen/ops/mvlgamma.h>

#include "aten/eltwise_registration.h"

namespace accel::aten {
namespace {

using namespace eltwise;
using kernels::Binary;
using kernels::Unary;

}  // namespace

TORCH_LIBRARY_IMPL(aten, PrivateUse1, m) {
  ACCEL_UNARY_FUNCTIONAL_OUT(special_i1, float_op, Unary::I1)
  ACCEL_UNARY_FUNCTIONAL_OUT(special_i0e, float_op, Unary::I0e)
  ACCEL_UNARY_FUNCTIONAL_OUT(special_i1e, float_op, Unary::I1e)
  ACCEL_UNARY_FUNCTIONAL_OUT(special_ndtri, float_op, Unary::Ndtri)
  ACCEL_UNARY_FUNCTIONAL_OUT(special_erfcx, float_op, Unary::Erfcx)
  ACCEL_UNARY_FUNCTIONAL_OUT(special_log_ndtr, float_op, Unary::LogNdtr)
  ACCEL_UNARY_FUNCTIONAL_OUT(special_entr, float_op, Unary::Entr)
  ACCEL_UNARY_FUNCTIONAL_OUT(special_airy_ai, float_op, Unary::AiryAi)
  ACCEL_UNARY_FUNCTIONAL_OUT(special_bessel_j0, float_op, Unary::BesselJ0)
  ACCEL_UNARY_FUNCTIONAL_OUT(special_bessel_j1, float_op, Unary::BesselJ1)
  ACCEL_UNARY_FUNCTIONAL_OUT(special_bessel_y0, float_op, Unary::BesselY0)
  ACCEL_UNARY_FUNCTIONAL_OUT(special_bessel_y1, float_op, Unary::BesselY1)
  ACCEL_UNARY_FUNCTIONAL_OUT(special_modified_bessel_i0, float_op, Unary::ModifiedBesselI0)
  ACCEL_UNARY_FUNCTIONAL_OUT(special_modified_bessel_i1, float_op, Unary::ModifiedBesselI1)
  ACCEL_UNARY_FUNCTIONAL_OUT(special_modified_bessel_k0, float_op, Unary::ModifiedBesselK0)
  ACCEL_UNARY_FUNCTIONAL_OUT(special_modified_bessel_k1, float_op, Unary::ModifiedBesselK1)
  ACCEL_UNARY_FUNCTIONAL_OUT(special_scaled_modified_bessel_k0, float_op, Unary::ScaledModifiedBesselK0)
  ACCEL_UNARY_FUNCTIONAL_OUT(special_scaled_modified_bessel_k1, float_op, Unary::ScaledModifiedBesselK1)
  ACCEL_UNARY_FUNCTIONAL_OUT(special_spherical_bessel_j0, float_op, Unary::SphericalBesselJ0)

  // mvlgamma's functional form is ATen's composite of native ops (arange, add,
  // lgamma, sum); its out= form is that result copied, as ATen's CPU does it.
  m.impl("mvlgamma.out", [](const at::Tensor& a, int64_t p, at::Tensor& out) -> at::Tensor& {
    const at::Tensor result = at::mvlgamma(a, p);
    TORCH_CHECK(at::can_cast(result.scalar_type(), out.scalar_type()), "mvlgamma: result type ",
                result.scalar_type(), " can't be cast to the desired output type ", out.scalar_type());
    at::native::resize_output(out, result.sizes());
    return out.copy_(result);
  });
  ACCEL_BINARY_PLAIN(special_xlog1py, at::TensorIterator::binary_float_op, Binary::Xlog1py)
  ACCEL_BINARY_PLAIN(special_zeta, at::TensorIterator::binary_float_op, Binary::Zeta)
  ACCEL_BINARY_PLAIN(special_chebyshev_polynomial_t, at::TensorIterator::binary_float_op, Binary::ChebyshevT)
  ACCEL_BINARY_PLAIN(special_chebyshev_polynomial_u, at::TensorIterator::binary_float_op, Binary::ChebyshevU)
  ACCEL_BINARY_PLAIN(special_chebyshev_polynomial_v, at::TensorIterator::binary_float_op, Binary::ChebyshevV)
  ACCEL_BINARY_PLAIN(special_chebyshev_polynomial_w, at::TensorIterator::binary_float_op, Binary::ChebyshevW)
  ACCEL_BINARY_PLAIN(special_shifted_chebyshev_polynomial_t, at::TensorIterator::binary_float_op, Binary::ShiftedChebyshevT)
  ACCEL_BINARY_PLAIN(special_shifted_chebyshev_polynomial_u, at::TensorIterator::binary_float_op, Binary::ShiftedChebyshevU)
  ACCEL_BINARY_PLAIN(special_shifted_chebyshev_polynomial_v, at::TensorIterator::binary_float_op, Binary::ShiftedChebyshevV)
  ACCEL_BINARY_PLAIN(special_shifted_chebyshev_polynomial_w, at::TensorIterator::binary_float_op, Binary::ShiftedChebyshevW)
  ACCEL_BINARY_PLAIN(special_hermite_polynomial_h, at::TensorIterator::binary_float_op, Binary::HermiteH)
  ACCEL_BINARY_PLAIN(special_hermite_polynomial_he, at::TensorIterator::binary_float_op, Binary::HermiteHe)
  ACCEL_BINARY_PLAIN(special_laguerre_polynomial_l, at::TensorIterator::binary_float_op, Binary::LaguerreL)
  ACCEL_BINARY_PLAIN(special_legendre_polynomial_p, at::TensorIterator::binary_float_op, Binary::LegendreP)
}

}  // namespace accel::aten
