// torch.histc and torch.bincount as histogram programs (engine/histogram.h).
// histc takes float inputs as CPU ATen does and, like CUDA, integer inputs
// too: Hugging Face's mixture-of-experts layers count tokens per expert with
// an integer histc on every device but the CPU.
#include <ATen/Dispatch.h>
#include <ATen/native/Resize.h>
#include <ATen/ops/aminmax.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/zeros.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <utility>

#include "aten/device_check.h"
#include "aten/fallback.h"
#include "aten/movement_bridge.h"
#include "engine/histogram.h"

namespace accel::aten {
namespace {

bool histc_takes(at::ScalarType t) {
  return t == at::kFloat || t == at::kDouble || t == at::kBFloat16 || t == at::kHalf ||
         at::isIntegralType(t, /*includeBool=*/false);
}

// The bins' outer edges, as ATen picks them: the arguments, else the
// input's extremes, widened by one each way when they coincide. Integer
// inputs take the arguments truncated to integers, as CUDA does.
std::pair<double, double> histc_range(const at::Tensor& self, const at::Scalar& min, const at::Scalar& max) {
  const bool integral = at::isIntegralType(self.scalar_type(), false);
  double lo = integral ? double(min.toLong()) : min.toDouble();
  double hi = integral ? double(max.toLong()) : max.toDouble();
  if (lo == hi && self.numel() > 0) {
    const auto [low, high] = at::aminmax(self);
    lo = low.item<double>();
    hi = high.item<double>();
  }
  if (lo == hi) {
    lo -= 1;
    hi += 1;
  }
  TORCH_CHECK(std::isfinite(lo) && std::isfinite(hi), "torch.histc: range of [", lo, ", ", hi, "] is not finite");
  TORCH_CHECK(lo < hi, "torch.histc: max must be larger than min");
  // The bins are computed in the input's type (kernels/histogram/bins.h), so
  // the edges must be two distinct finite values of it.
  if (!integral) {
    double elo = lo, ehi = hi;
    AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, self.scalar_type(), "histc", [&] {
      elo = static_cast<double>(static_cast<scalar_t>(lo));
      ehi = static_cast<double>(static_cast<scalar_t>(hi));
    });
    TORCH_CHECK(std::isfinite(elo) && std::isfinite(ehi), "torch.histc: range of [", lo, ", ", hi,
                "] does not fit in ", self.scalar_type());
    TORCH_CHECK(elo < ehi, "torch.histc: max must be larger than min in ", self.scalar_type(), ", but [", lo, ", ",
                hi, "] rounds to [", elo, ", ", ehi, "]");
  }
  return {lo, hi};
}

at::Tensor& histc_out(const at::Tensor& self, int64_t bins, const at::Scalar& min, const at::Scalar& max,
                      at::Tensor& out) {
  check_accel_operand(self);
  check_same_device(self, out);
  TORCH_CHECK(bins > 0, "torch.histc(): bins must be > 0, but got ", bins);
  TORCH_CHECK(out.scalar_type() == self.scalar_type(), "torch.histc: input tensor and hist tensor should have the same dtype, but got input ",
              self.scalar_type(), " and hist ", out.scalar_type());
  const auto [lo, hi] = histc_range(self, min, max);
  at::native::resize_output(out, {bins});
  const at::Tensor in = self.contiguous();
  const at::Tensor dst = out.is_contiguous() ? out : at::empty({bins}, out.options());
  record_for(dst, run_program([&] { return engine::run_histc(current_arch(), typed_ref(in), lo, hi, typed_ref(dst)); }));
  if (!dst.is_same(out)) out.copy_(dst);
  return out;
}

at::Tensor histc(const at::Tensor& self, int64_t bins, const at::Scalar& min, const at::Scalar& max) {
  if (!histc_takes(self.scalar_type())) return fallback_call("aten::histc", "", {self, bins, min, max});
  at::Tensor out = at::empty({0}, self.options());
  return histc_out(self, bins, min, max, out);
}

// CPU ATen's contract: float weights sum in float, any other weights in
// double; no weights count in int64, as does an empty input whatever the weights.
at::Tensor bincount(const at::Tensor& self, const std::optional<at::Tensor>& weights_opt, int64_t minlength) {
  check_accel_operand(self);
  TORCH_CHECK(at::isIntegralType(self.scalar_type(), /*includeBool=*/false),
              "bincount only supports 1-d non-negative integral inputs, got dtype ", self.scalar_type());
  TORCH_CHECK(minlength >= 0, "minlength should be >= 0");
  if (self.dim() == 1 && self.numel() == 0) return at::zeros({minlength}, self.options().dtype(at::kLong));
  TORCH_CHECK(self.dim() == 1, "bincount only supports 1-d non-negative integral inputs.");
  const auto [low, high] = at::aminmax(self);
  TORCH_CHECK(low.item<int64_t>() >= 0, "bincount only supports 1-d non-negative integral inputs.");
  const int64_t largest = high.item<int64_t>();
  TORCH_CHECK(largest < std::numeric_limits<int64_t>::max(), "maximum value of input overflowed, it should be < ",
              std::numeric_limits<int64_t>::max());
  const int64_t bins = std::max(largest + 1, minlength);
  at::Tensor weights;
  if (weights_opt && weights_opt->defined()) {
    weights = *weights_opt;
    check_accel_operand(weights);
    check_same_device(self, weights);
    TORCH_CHECK(weights.dim() == 1 && weights.size(0) == self.size(0),
                "weights should be 1-d and have the same length as input");
    weights = (weights.scalar_type() == at::kFloat ? weights : weights.to(at::kDouble)).contiguous();
  }
  const at::Tensor in = self.contiguous();
  at::Tensor out = at::empty({bins}, self.options().dtype(weights.defined() ? weights.scalar_type() : at::kLong));
  std::optional<engine::TensorRef> w;
  if (weights.defined()) w = typed_ref(weights);
  record_for(out, run_program([&] {
               return engine::run_bincount(current_arch(), typed_ref(in), w ? &*w : nullptr, typed_ref(out));
             }));
  return out;
}

}  // namespace

TORCH_LIBRARY_IMPL(aten, PrivateUse1, m) {
  m.impl("histc", histc);
  m.impl("histc.out", [](const at::Tensor& self, int64_t bins, const at::Scalar& min, const at::Scalar& max,
                         at::Tensor& out) -> at::Tensor& {
    if (!histc_takes(self.scalar_type())) {
      fallback_call("aten::histc", "out", {self, bins, min, max, out});
      return out;
    }
    return histc_out(self, bins, min, max, out);
  });
  m.impl("bincount", bincount);
}

}  // namespace accel::aten
