// scaled_dot_product_attention on accel: _fused_sdp_choice picks the
// "overrideable" backend for what the attention program takes, and its forward
// and backward ops run as tile programs (engine/attention.h). Dropout, grouped
// heads and other dtypes take ATen's math decomposition into native ops.
#include <ATen/SDPBackend.h>
#include <ATen/ExpandUtils.h>
#include <ATen/native/DispatchStub.h>
#include <ATen/native/transformers/attention.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/sum_to_size.h>
#include <torch/library.h>

#include <cmath>

#include "aten/engine_bridge.h"
#include "aten/matmul_launch.h"
#include "engine/attention.h"
#include "glue/glue.h"

namespace accel::aten {
namespace {

engine::TensorRef ref4(const at::Tensor& t) {
  return {t.data_ptr(), engine_dtype(t.scalar_type()), {t.size(0), t.size(1), t.size(2), t.size(3)},
          {t.stride(0), t.stride(1), t.stride(2), t.stride(3)}};
}

std::optional<engine::TensorRef> mask_ref(const at::Tensor& mask, const at::Tensor& q, const at::Tensor& k) {
  if (!mask.defined()) return std::nullopt;
  return ref4(mask.expand({q.size(0), q.size(1), q.size(2), k.size(2)}));
}

const chip::Arch& arch() {
  return glue::chip_call([]() -> const chip::Arch& { return chip::Runtime::get().arch(); });
}

void finish(engine::ProgramRecord rec, const at::Tensor& on) {
  rec.device = on.device().index();
  engine::record(std::move(rec));
}

float scale_of(std::optional<double> scale, const at::Tensor& q) {
  return scale ? static_cast<float>(*scale) : 1.0f / std::sqrt(static_cast<float>(q.size(-1)));
}

}  // namespace

int64_t fused_sdp_choice(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                         const std::optional<at::Tensor>& mask, double dropout_p, bool is_causal,
                         std::optional<double> scale, bool enable_gqa) {
  const bool takes = dropout_p == 0.0 && q.dim() == 4 && k.dim() == 4 && v.dim() == 4 &&
                     matmul_dtype(q.scalar_type()) && k.scalar_type() == q.scalar_type() &&
                     v.scalar_type() == q.scalar_type() && k.size(1) == q.size(1) &&
                     v.size(1) == q.size(1) &&
                     (!mask || !mask->defined() || mask->scalar_type() == at::kBool ||
                      matmul_dtype(mask->scalar_type()));
  return static_cast<int64_t>(takes ? at::SDPBackend::overrideable : at::SDPBackend::math);
}

namespace {

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor, c10::SymInt, c10::SymInt, at::Tensor,
           at::Tensor, at::Tensor>
attention_forward(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                  const std::optional<at::Tensor>& attn_bias, double dropout_p, bool is_causal,
                  bool return_debug_mask, std::optional<double> scale) {
  TORCH_CHECK(q.dim() == 4 && k.dim() == 4 && v.dim() == 4,
              "accel fused attention expects 4-D query, key and value, got ", q.dim(), "-D, ",
              k.dim(), "-D and ", v.dim(), "-D");
  TORCH_CHECK(dropout_p == 0.0, "accel fused attention takes dropout_p = 0, got ", dropout_p);
  TORCH_CHECK(k.size(1) == q.size(1) && v.size(1) == q.size(1) && k.size(2) == v.size(2) &&
                  k.size(3) == q.size(3) && k.size(0) == q.size(0) && v.size(0) == q.size(0),
              "accel fused attention: incompatible query ", q.sizes(), ", key ", k.sizes(),
              " and value ", v.sizes());
  // Laid out in q's dimension order, as the op's meta function (and so a
  // compiled graph's later views) assumes.
  std::array<int64_t, 4> order{0, 1, 2, 3}, inverse{};
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return q.stride(a) > q.stride(b); });
  const std::array<int64_t, 4> shape{q.size(0), q.size(1), q.size(2), v.size(3)};
  std::vector<int64_t> permuted;
  for (int64_t i = 0; i < 4; ++i) permuted.push_back(shape[order[i]]), inverse[order[i]] = i;
  at::Tensor out = at::empty(permuted, q.options()).permute(inverse);
  at::Tensor lse = at::empty({q.size(0), q.size(1), q.size(2)}, q.options().dtype(at::kFloat));
  engine::AttentionArgs x;
  x.q = ref4(q);
  x.k = ref4(k);
  x.v = ref4(v);
  x.out = ref4(out);
  x.mask = mask_ref(attn_bias.value_or(at::Tensor()), q, k);
  x.lse = lse.data_ptr<float>();
  x.scale = scale_of(scale, q);
  x.causal = is_causal;
  x.cfg = engine::current_compute_config();
  finish(engine::run_attention(arch(), "aten::_scaled_dot_product_fused_attention_overrideable", x), q);
  const at::Tensor none = at::empty({0}, q.options().dtype(at::kLong));
  return {out, lse, none, none, c10::SymInt(q.size(2)), c10::SymInt(k.size(2)), none, none,
          at::empty({0}, q.options())};
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> attention_backward(
    const at::Tensor& grad_out, const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
    const at::Tensor& attn_bias, std::array<bool, 4> grad_input_mask, const at::Tensor& out,
    const at::Tensor& lse, const at::Tensor&, const at::Tensor&, c10::SymInt, c10::SymInt,
    double dropout_p, bool is_causal, const at::Tensor&, const at::Tensor&, std::optional<double> scale) {
  TORCH_CHECK(dropout_p == 0.0, "accel fused attention takes dropout_p = 0, got ", dropout_p);
  at::Tensor gq = at::empty_like(q), gk = at::empty_like(k), gv = at::empty_like(v);
  const bool bias_grad = grad_input_mask[3] && attn_bias.defined() && attn_bias.is_floating_point();
  at::Tensor gmask = bias_grad ? at::empty({q.size(0), q.size(1), q.size(2), k.size(2)},
                                           q.options().dtype(at::kFloat))
                               : at::Tensor();
  const at::Tensor lse_c = lse.contiguous();
  engine::AttentionGradArgs x;
  x.q = ref4(q);
  x.k = ref4(k);
  x.v = ref4(v);
  x.out = ref4(out);
  x.grad_out = ref4(grad_out);
  x.mask = mask_ref(attn_bias, q, k);
  x.lse = lse_c.data_ptr<float>();
  x.grad_q = ref4(gq);
  x.grad_k = ref4(gk);
  x.grad_v = ref4(gv);
  x.grad_mask = bias_grad ? gmask.data_ptr<float>() : nullptr;
  x.scale = scale_of(scale, q);
  x.causal = is_causal;
  x.cfg = engine::current_compute_config();
  finish(engine::run_attention_backward(
             arch(), "aten::_scaled_dot_product_fused_attention_overrideable_backward", x), q);
  if (bias_grad) gmask = gmask.sum_to_size(attn_bias.sizes()).to(attn_bias.scalar_type());
  return {gq, gk, gv, gmask};
}

}  // namespace

}  // namespace accel::aten

namespace at::native {
// scaled_dot_product_attention asks the stub, not the op, which backend to run.
REGISTER_PRIVATEUSE1_DISPATCH(_fused_sdp_choice_stub, &accel::aten::fused_sdp_choice)
}  // namespace at::native

namespace accel::aten {

TORCH_LIBRARY_IMPL(aten, PrivateUse1, m) {
  m.impl("_fused_sdp_choice", fused_sdp_choice);
  m.impl("_scaled_dot_product_fused_attention_overrideable", attention_forward);
  m.impl("_scaled_dot_product_fused_attention_overrideable_backward", attention_backward);
}

}  // namespace accel::aten
