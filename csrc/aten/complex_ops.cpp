// complex64 multiply and torch.polar, for rotary embeddings written with
// complex numbers (Meta's Llama reference code, Hugging Face's Llama 4):
// freqs_cis = polar(1, angles); view_as_real(view_as_complex(q) * freqs_cis).
// The chip has no complex type; a complex tensor is interleaved fp32 (real,
// imaginary) pairs, and each op is one fused element-wise program over the
// real and imaginary planes (kernels/fused), whose two results are copied into
// the output's planes.
#include "aten/complex_ops.h"

#include <ATen/ExpandUtils.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/native/Resize.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/view_as_real.h>
#include <torch/library.h>

#include <optional>
#include <vector>

#include "aten/device_check.h"
#include "aten/fallback.h"

namespace accel::aten {
namespace {

std::vector<at::Tensor> run_fused(std::vector<at::Tensor> inputs, const char* program) {
  static const auto op = c10::Dispatcher::singleton()
                             .findSchemaOrThrow("accel::fused_eltwise", "")
                             .typed<std::vector<at::Tensor>(at::TensorList, c10::string_view,
                                                            at::OptionalIntArrayRef, std::optional<at::TensorList>)>();
  return op.call(inputs, program, std::nullopt, std::nullopt);
}

// The real and imaginary planes of a complex64 tensor (a conjugate view
// resolved first), or a real operand's values and no imaginary plane.
std::pair<at::Tensor, at::Tensor> planes(const at::Tensor& t) {
  if (!t.is_complex()) return {t.scalar_type() == at::kFloat ? t : t.to(at::kFloat), at::Tensor()};
  const at::Tensor pairs = at::view_as_real(t.resolve_conj());
  return {pairs.select(-1, 0), pairs.select(-1, 1)};
}

bool complex64_or_float(const at::Tensor& t) {
  // A Python number arrives as a 0-dim double or complex128 CPU tensor.
  const bool wrapped = t.unsafeGetTensorImpl()->is_wrapped_number();
  const auto s = t.scalar_type();
  return s == at::kComplexFloat || s == at::kFloat || (wrapped && (s == at::kDouble || s == at::kComplexDouble));
}

at::Tensor& write_planes(at::Tensor& out, const at::Tensor& re, const at::Tensor& im) {
  const at::Tensor pairs = at::view_as_real(out);
  pairs.select(-1, 0).copy_(re);
  pairs.select(-1, 1).copy_(im);
  return out;
}

}  // namespace

bool complex_mul_takes(const at::Tensor& a, const at::Tensor& b, const at::Tensor& out) {
  if (!a.is_complex() && !b.is_complex()) return false;
  if (!complex64_or_float(a) || !complex64_or_float(b)) return false;
  return !out.defined() || out.scalar_type() == at::kComplexFloat;
}

at::Tensor& complex_mul_into(at::Tensor& out, const at::Tensor& a, const at::Tensor& b) {
  // A Python complex number arrives as complex128.
  auto narrowed = [](const at::Tensor& t) { return t.scalar_type() == at::kComplexDouble ? t.to(at::kComplexFloat) : t; };
  const auto [ar, ai] = planes(narrowed(a));
  const auto [br, bi] = planes(narrowed(b));
  std::vector<at::Tensor> parts;
  if (ai.defined() && bi.defined())
    parts = run_fused({ar, ai, br, bi},
                      "mul %0 %2;mul %1 %3;sub %4 %5;mul %0 %3;mul %1 %2;add %7 %8 | %6:float32,%9:float32");
  else if (ai.defined())
    parts = run_fused({ar, ai, br}, "mul %0 %2;mul %1 %2 | %3:float32,%4:float32");
  else
    parts = run_fused({ar, br, bi}, "mul %0 %1;mul %0 %2 | %3:float32,%4:float32");
  const auto shape = at::infer_size(a.sizes(), b.sizes());
  if (!out.defined()) {
    out = at::empty(shape, parts[0].options().dtype(at::kComplexFloat));
  } else {
    check_same_device(out, parts[0]);
    TORCH_CHECK(!out.is_conj(), "mul: a conjugate view as out is not supported");
    at::native::resize_output(out, shape);
  }
  return write_planes(out, parts[0], parts[1]);
}

namespace {

at::Tensor& polar_out(const at::Tensor& abs, const at::Tensor& angle, at::Tensor& out) {
  check_accel_operand(abs);
  check_same_device(abs, angle);
  check_same_device(abs, out);
  const auto parts = run_fused({abs, angle}, "cos %1;mul %0 %2;sin %1;mul %0 %4 | %3:float32,%5:float32");
  at::native::resize_output(out, at::infer_size(abs.sizes(), angle.sizes()));
  return write_planes(out, parts[0], parts[1]);
}

}  // namespace

TORCH_LIBRARY_IMPL(aten, PrivateUse1, m) {
  m.impl("polar.out", [](const at::Tensor& abs, const at::Tensor& angle, at::Tensor& out) -> at::Tensor& {
    if (abs.scalar_type() != at::kFloat || angle.scalar_type() != at::kFloat || out.scalar_type() != at::kComplexFloat) {
      fallback_call("aten::polar", "out", {abs, angle, out});
      return out;
    }
    return polar_out(abs, angle, out);
  });
}

}  // namespace accel::aten
