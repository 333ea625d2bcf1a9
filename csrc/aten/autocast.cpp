// torch.autocast("accel"): the op lists follow torch.cuda's. Matrix-engine ops
// (matmul, conv, attention) run in the autocast dtype, where the tile engine
// is fastest; ops whose range or accumulation suffers in 16 bits (exp/log/pow,
// reductions, norms, softmax, losses) run in float32; mixed-input ops promote.
#include <ATen/Operators.h>
#include <ATen/autocast_mode.h>
#include <torch/library.h>
#include <torch/version.h>

namespace accel::aten {
namespace {

// binary_cross_entropy on probabilities is unsafe in 16 bits; like CUDA,
// autocast refuses it and points at the logits form.
at::Tensor binary_cross_entropy_banned(const at::Tensor&, const at::Tensor&,
                                       const std::optional<at::Tensor>&, int64_t) {
  TORCH_CHECK(false,
              "torch.nn.functional.binary_cross_entropy and torch.nn.BCELoss are unsafe to "
              "autocast.\nMany models use a sigmoid layer right before the binary cross entropy "
              "layer.\nIn this case, combine the two layers using "
              "torch.nn.functional.binary_cross_entropy_with_logits\nor "
              "torch.nn.BCEWithLogitsLoss.  binary_cross_entropy_with_logits and BCEWithLogits "
              "are\nsafe to autocast.");
}

}  // namespace

// Ops without an autocast rule run unchanged.
TORCH_LIBRARY_IMPL(_, AutocastPrivateUse1, m) {
  m.fallback(torch::CppFunction::makeFallthrough());
}

TORCH_LIBRARY_IMPL(aten, AutocastPrivateUse1, m) {
  // The redispatch signatures in ATen's list name these unqualified (before
  // torch 2.13, whose list has no named-tensor overloads, also DimnameList).
#if TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR < 13
  using at::DimnameList;
#endif
  using at::IntArrayRef;
  using at::Scalar;
  using at::ScalarType;
  using at::Tensor;
#define ACCEL_LOWER(...) KERNEL_PRIVATEUSEONE(__VA_ARGS__, lower_precision_fp)
  AT_FORALL_LOWER_PRECISION_FP(ACCEL_LOWER)
#undef ACCEL_LOWER
#define ACCEL_FP32(...) KERNEL_PRIVATEUSEONE(__VA_ARGS__, fp32)
  AT_FORALL_FP32(ACCEL_FP32)
#undef ACCEL_FP32
#define ACCEL_FP32_OPT_DTYPE(...) KERNEL_PRIVATEUSEONE(__VA_ARGS__, fp32_set_opt_dtype)
  AT_FORALL_FP32_SET_OPT_DTYPE(ACCEL_FP32_OPT_DTYPE)
#undef ACCEL_FP32_OPT_DTYPE
  AT_FORALL_DIFFERENT_REDISPATCH_SIGNATURE(KERNEL_DIFFERENT_REDISPATCH_SIGNATURE_PRIVATEUSEONE)
#define ACCEL_PROMOTE(...) KERNEL_PRIVATEUSEONE(__VA_ARGS__, promote)
  AT_FORALL_PROMOTE(ACCEL_PROMOTE)
#undef ACCEL_PROMOTE
  m.impl(TORCH_SELECTIVE_NAME("aten::binary_cross_entropy"),
         TORCH_FN(binary_cross_entropy_banned));
}

}  // namespace accel::aten
