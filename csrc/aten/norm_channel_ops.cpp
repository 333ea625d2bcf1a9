// Registrations of group norm and the batch-norm family (native_batch_norm,
// the _native_batch_norm_legit forms, _batch_norm_with_update and both
// backwards): ATen's checks and output dtypes, then one program. Also the
// torch.compile backend's batch norm with its activation, forward and
// backward (accel::batch_norm_act, accel::batch_norm_act_backward): one
// program where eager runs two, no autograd (the compiler lowers forward and
// backward graphs separately).
#include <ATen/ops/empty.h>
#include <torch/library.h>

#include "aten/fallback.h"
#include "aten/norm_bridge.h"

namespace accel::aten {
namespace {

using namespace norm;
using OptT = std::optional<at::Tensor>;
using T3 = std::tuple<at::Tensor, at::Tensor, at::Tensor>;

bool reduced(at::ScalarType t) { return t == at::kBFloat16 || t == at::kHalf; }

// fp32 statistics when a reduced-precision input comes with fp32 parameters.
at::ScalarType param_dtype(const at::Tensor& input, std::initializer_list<const at::Tensor*> params) {
  bool mixed = false;
  for (const at::Tensor* p : params) {
    if (!p->defined() || p->scalar_type() == input.scalar_type()) continue;
    TORCH_CHECK(p->scalar_type() == at::kFloat && reduced(input.scalar_type()),
                "mixed dtype (CPU): expect parameter to have scalar type of Float");
    mixed = true;
  }
  return mixed ? at::kFloat : input.scalar_type();
}

// [N, C, HxW] of a batch-norm input.
std::array<int64_t, 3> nchw(const at::Tensor& x) {
  TORCH_CHECK(x.dim() >= 2, "batch_norm: expected input with at least 2 dimensions, got ", x.dim());
  const int64_t n = x.size(0), c = x.size(1);
  return {n, c, n * c == 0 ? 0 : x.numel() / (n * c)};
}

void check_channels(const at::Tensor& t, int64_t c, const char* name) {
  TORCH_CHECK(!t.defined() || t.numel() == c, name, " should contain ", c, " elements not ", t.numel());
}

// ---- group norm ----

void check_group_inputs(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, int64_t c, int64_t groups) {
  TORCH_CHECK(groups > 0 && c % groups == 0, "Expected number of channels in input to be divisible by "
              "num_groups, but got input of shape ", x.sizes(), " and num_groups=", groups);
  TORCH_CHECK(!w.defined() || (w.dim() == 1 && w.numel() == c), "Expected weight to be a vector of size equal to "
              "the number of channels in input, but got weight of shape ", w.sizes(), " and input of shape ", x.sizes());
  TORCH_CHECK(!b.defined() || (b.dim() == 1 && b.numel() == c), "Expected bias to be a vector of size equal to "
              "the number of channels in input, but got bias of shape ", b.sizes(), " and input of shape ", x.sizes());
}

T3 group_norm(const at::Tensor& input, const OptT& weight, const OptT& bias, int64_t n, int64_t c, int64_t hxw,
              int64_t groups, double eps) {
  const at::Tensor x = dense(input), w = dense(weight), b = dense(bias);
  check_group_inputs(x, w, b, c, groups);
  TORCH_CHECK(x.numel() == n * c * hxw, "Expected input of ", n * c * hxw, " elements, got ", x.sizes());
  const auto sd = param_dtype(x, {&w, &b});
  at::Tensor y = at::empty(x.sizes(), x.options());
  at::Tensor mean = at::empty({n, groups}, x.options().dtype(sd)), rstd = at::empty({n, groups}, x.options().dtype(sd));
  launch(x, [&](const chip::Arch& arch) {
    return engine::run_group_norm(arch, {ref_of(x), ref_of(y), ref_of(w), ref_of(b), ref_of(mean), ref_of(rstd),
                                         n, c, hxw, groups, eps});
  });
  return {y, mean, rstd};
}

T3 group_norm_backward(const at::Tensor& grad, const at::Tensor& input, const at::Tensor& mean, const at::Tensor& rstd,
                       const OptT& weight, int64_t n, int64_t c, int64_t hxw, int64_t groups, std::array<bool, 3> mask) {
  const at::Tensor x = dense(input), g = dense(grad), mu = dense(mean), rs = dense(rstd), w = dense(weight);
  check_group_inputs(x, w, at::Tensor(), c, groups);
  const auto pd = w.defined() ? w.scalar_type() : x.scalar_type();
  at::Tensor dx, dw, db;
  if (mask[0]) dx = at::empty(x.sizes(), x.options());
  if (mask[1]) dw = at::empty({c}, x.options().dtype(pd));
  if (mask[2]) db = at::empty({c}, x.options().dtype(pd));
  launch(x, [&](const chip::Arch& arch) {
    return engine::run_group_norm_backward(arch, {ref_of(g), ref_of(x), ref_of(mu), ref_of(rs), ref_of(w), ref_of(dx),
                                                  ref_of(dw), ref_of(db), n, c, hxw, groups});
  });
  return {dx, dw, db};
}

// ---- batch norm ----

engine::Activation activation(const char* op, std::string_view act) {
  const auto a = engine::activation_from_name(std::string(act));
  TORCH_CHECK_VALUE(a.has_value() && *a != engine::Activation::None, op,
                    ": act must be one of relu, gelu, gelu_tanh, silu, got '", act, "'");
  return *a;
}

// running_mean/var are updated in place: a non-contiguous one is updated
// through a contiguous copy written back. meta: shapes and checks only.
T3 batch_norm(const at::Tensor& input, const OptT& weight, const OptT& bias, const OptT& rmean_opt,
              const OptT& rvar_opt, bool training, double momentum, double eps,
              engine::Activation act = engine::Activation::None, bool meta = false) {
  const at::Tensor x = dense(input), w = dense(weight), b = dense(bias);
  const at::Tensor rm_in = rmean_opt ? *rmean_opt : at::Tensor(), rv_in = rvar_opt ? *rvar_opt : at::Tensor();
  const auto [n, c, hxw] = nchw(x);
  check_channels(w, c, "weight");
  check_channels(b, c, "bias");
  check_channels(rm_in, c, "running_mean");
  check_channels(rv_in, c, "running_var");
  TORCH_CHECK(training || (rm_in.defined() && rv_in.defined()),
              "running_mean and running_var must be defined in evaluation mode");
  const auto sd = param_dtype(x, {&w, &b, &rm_in, &rv_in});
  at::Tensor rm = dense(rm_in), rv = dense(rv_in);
  at::Tensor y = at::empty(x.sizes(), x.options());
  at::Tensor save_mean = at::empty({training ? c : 0}, x.options().dtype(sd));
  at::Tensor save_invstd = at::empty({training ? c : 0}, x.options().dtype(sd));
  if (meta) return {y, save_mean, save_invstd};
  launch(x, [&](const chip::Arch& arch) {
    engine::BatchNormArgs a{ref_of(x), ref_of(y), ref_of(w), ref_of(b), ref_of(rm), ref_of(rv),
                            training ? ref_of(save_mean) : engine::TensorRef{},
                            training ? ref_of(save_invstd) : engine::TensorRef{}, n, c, hxw, training, momentum, eps,
                            act};
    return engine::run_batch_norm(arch, a);
  });
  if (training && rm_in.defined() && !rm_in.is_same(rm)) const_cast<at::Tensor&>(rm_in).copy_(rm);
  if (training && rv_in.defined() && !rv_in.is_same(rv)) const_cast<at::Tensor&>(rv_in).copy_(rv);
  return {y, save_mean, save_invstd};
}

// With act, grad first goes through act's gradient at act_saved.
T3 batch_norm_backward(const at::Tensor& grad, const at::Tensor& input, const OptT& weight, const OptT& rmean,
                       const OptT& rvar, const OptT& smean, const OptT& sinvstd, bool train, double eps,
                       std::array<bool, 3> mask, engine::Activation act = engine::Activation::None,
                       const at::Tensor& act_saved = {}, bool meta = false) {
  const at::Tensor x = dense(input), g = dense(grad), w = dense(weight), saved = dense(act_saved);
  const at::Tensor rm = dense(rmean), rv = dense(rvar), sm = dense(smean), si = dense(sinvstd);
  const auto [n, c, hxw] = nchw(x);
  TORCH_CHECK(!train || (sm.defined() && si.defined()), "batch_norm_backward: save_mean and save_invstd must be "
              "defined in training mode");
  TORCH_CHECK(train || (rm.defined() && rv.defined()), "batch_norm_backward: running_mean and running_var must be "
              "defined in evaluation mode");
  const auto pd = w.defined() ? w.scalar_type() : (train ? sm.scalar_type() : rm.scalar_type());
  at::Tensor dx, dw, db;
  if (mask[0]) dx = at::empty(x.sizes(), x.options());
  if (mask[1]) dw = at::empty({c}, x.options().dtype(pd));
  if (mask[2]) db = at::empty({c}, x.options().dtype(pd));
  if (meta) return {dx, dw, db};
  launch(x, [&](const chip::Arch& arch) {
    engine::BatchNormGradArgs a{ref_of(g),  ref_of(x),  ref_of(w),  ref_of(rm), ref_of(rv), ref_of(sm), ref_of(si),
                                ref_of(dx), ref_of(dw), ref_of(db), n,          c,          hxw,        train,
                                eps,        act,        ref_of(saved)};
    return engine::run_batch_norm_backward(arch, a);
  });
  return {dx, dw, db};
}

// ---- accel::batch_norm_act, accel::batch_norm_act_backward ----

void check_act_operands(const char* op, const at::Tensor& x, std::initializer_list<const at::Tensor*> same_shape) {
  TORCH_CHECK_TYPE(norm::tile_float(x), op, ": expected a float32, bfloat16 or float16 input, got ", x.scalar_type());
  for (const at::Tensor* t : same_shape)
    TORCH_CHECK(t->sizes().equals(x.sizes()) && t->scalar_type() == x.scalar_type(), op,
                ": expected ", x.sizes(), " ", x.scalar_type(), " like the input, got ", t->sizes(), " ",
                t->scalar_type());
}

template <bool Meta>
T3 batch_norm_act(const at::Tensor& x, const OptT& w, const OptT& b, const OptT& rm, const OptT& rv, bool training,
                  double momentum, double eps, std::string_view act) {
  constexpr const char* op = "accel::batch_norm_act";
  const auto a = activation(op, act);
  check_act_operands(op, x, {});
  return batch_norm(x, w, b, rm, rv, training, momentum, eps, a, Meta);
}

template <bool Meta>
T3 batch_norm_act_backward(const at::Tensor& grad, const at::Tensor& act_saved, std::string_view act,
                           const at::Tensor& x, const OptT& w, const OptT& rm, const OptT& rv, const OptT& sm,
                           const OptT& si, bool train, double eps, std::array<bool, 3> mask) {
  constexpr const char* op = "accel::batch_norm_act_backward";
  const auto a = activation(op, act);
  check_act_operands(op, x, {&grad, &act_saved});
  return batch_norm_backward(grad, x, w, rm, rv, sm, si, train, eps, mask, a, act_saved, Meta);
}

bool tile_all(std::initializer_list<const OptT*> ts) {
  for (const OptT* t : ts)
    if (!tile_float(*t)) return false;
  return true;
}

template <class... A>
T3 fallback3(const char* name, const char* overload, A&&... args) {
  auto r = fallback_call_stack(name, overload, {c10::IValue(std::forward<A>(args))...});
  return {r[0].toTensor(), r[1].toTensor(), r[2].toTensor()};
}

std::vector<bool> mask_vec(std::array<bool, 3> m) { return {m[0], m[1], m[2]}; }

TORCH_LIBRARY_IMPL(aten, PrivateUse1, m) {
  m.impl("native_group_norm", [](const at::Tensor& x, const OptT& w, const OptT& b, c10::SymInt n, c10::SymInt c,
                                 c10::SymInt hxw, int64_t group, double eps) {
    const int64_t N = n.expect_int(), C = c.expect_int(), HxW = hxw.expect_int();
    if (!tile_float(x) || !tile_all({&w, &b}))
      return fallback3("aten::native_group_norm", "", x, w, b, N, C, HxW, group, eps);
    return group_norm(x, w, b, N, C, HxW, group, eps);
  });
  m.impl("native_group_norm_backward", [](const at::Tensor& g, const at::Tensor& x, const at::Tensor& mean,
                                          const at::Tensor& rstd, const OptT& w, c10::SymInt n, c10::SymInt c,
                                          c10::SymInt hxw, int64_t group, std::array<bool, 3> mask) {
    const int64_t N = n.expect_int(), C = c.expect_int(), HxW = hxw.expect_int();
    if (!tile_float(x) || !tile_float(g) || !tile_float(mean) || !tile_all({&w}))
      return fallback3("aten::native_group_norm_backward", "", g, x, mean, rstd, w, N, C, HxW, group, mask_vec(mask));
    return group_norm_backward(g, x, mean, rstd, w, N, C, HxW, group, mask);
  });
  m.impl("native_batch_norm", [](const at::Tensor& x, const OptT& w, const OptT& b, const OptT& rm, const OptT& rv,
                                 bool training, double momentum, double eps) {
    if (!tile_float(x) || !tile_all({&w, &b, &rm, &rv}))
      return fallback3("aten::native_batch_norm", "", x, w, b, rm, rv, training, momentum, eps);
    return batch_norm(x, w, b, rm, rv, training, momentum, eps);
  });
  m.impl("_native_batch_norm_legit", [](const at::Tensor& x, const OptT& w, const OptT& b, at::Tensor& rm,
                                        at::Tensor& rv, bool training, double momentum, double eps) {
    if (!tile_float(x) || !tile_all({&w, &b}) || !tile_float(rm) || !tile_float(rv))
      return fallback3("aten::_native_batch_norm_legit", "", x, w, b, rm, rv, training, momentum, eps);
    return batch_norm(x, w, b, rm, rv, training, momentum, eps);
  });
  m.impl("_native_batch_norm_legit.no_stats", [](const at::Tensor& x, const OptT& w, const OptT& b, bool training,
                                                 double momentum, double eps) {
    if (!tile_float(x) || !tile_all({&w, &b}))
      return fallback3("aten::_native_batch_norm_legit", "no_stats", x, w, b, training, momentum, eps);
    return batch_norm(x, w, b, {}, {}, training, momentum, eps);
  });
  m.impl("_native_batch_norm_legit_no_training", [](const at::Tensor& x, const OptT& w, const OptT& b,
                                                    const at::Tensor& rm, const at::Tensor& rv, double momentum,
                                                    double eps) {
    if (!tile_float(x) || !tile_all({&w, &b}) || !tile_float(rm) || !tile_float(rv))
      return fallback3("aten::_native_batch_norm_legit_no_training", "", x, w, b, rm, rv, momentum, eps);
    return batch_norm(x, w, b, rm, rv, false, momentum, eps);
  });
  m.impl("_batch_norm_with_update", [](const at::Tensor& x, const OptT& w, const OptT& b, at::Tensor& rm,
                                       at::Tensor& rv, double momentum, double eps) {
    if (!tile_float(x) || !tile_all({&w, &b}) || !tile_float(rm) || !tile_float(rv)) {
      auto r = fallback_call_stack("aten::_batch_norm_with_update", "", {x, w, b, rm, rv, momentum, eps});
      return std::make_tuple(r[0].toTensor(), r[1].toTensor(), r[2].toTensor(), r[3].toTensor());
    }
    auto [y, mean, invstd] = batch_norm(x, w, b, rm, rv, true, momentum, eps);
    // The reserve buffer is cuDNN's; like CPU, an empty byte tensor.
    return std::make_tuple(y, mean, invstd, at::empty({0}, x.options().dtype(at::kByte)));
  });
  m.impl("native_batch_norm_backward", [](const at::Tensor& g, const at::Tensor& x, const OptT& w, const OptT& rm,
                                          const OptT& rv, const OptT& sm, const OptT& si, bool train, double eps,
                                          std::array<bool, 3> mask) {
    if (!tile_float(x) || !tile_float(g) || !tile_all({&w, &rm, &rv, &sm, &si}))
      return fallback3("aten::native_batch_norm_backward", "", g, x, w, rm, rv, sm, si, train, eps, mask_vec(mask));
    return batch_norm_backward(g, x, w, rm, rv, sm, si, train, eps, mask);
  });
  m.impl("batch_norm_backward", [](const at::Tensor& g, const at::Tensor& x, const at::Tensor& w, const OptT& rm,
                                   const OptT& rv, const OptT& sm, const OptT& sv, bool update, double eps,
                                   std::array<bool, 3> mask, const at::Tensor& reserve) {
    if (!tile_float(x) || !tile_float(g) || !tile_float(w) || !tile_all({&rm, &rv, &sm, &sv}))
      return fallback3("aten::batch_norm_backward", "", g, x, w, rm, rv, sm, sv, update, eps, mask_vec(mask), reserve);
    return batch_norm_backward(g, x, w, rm, rv, sm, sv, update, eps, mask);
  });
}

TORCH_LIBRARY_FRAGMENT(accel, m) {
  m.def("batch_norm_act(Tensor input, Tensor? weight, Tensor? bias, Tensor(a!)? running_mean, "
        "Tensor(b!)? running_var, bool training, float momentum, float eps, str act) -> (Tensor, Tensor, Tensor)");
  m.def("batch_norm_act_backward(Tensor grad_out, Tensor act_saved, str act, Tensor input, Tensor? weight, "
        "Tensor? running_mean, Tensor? running_var, Tensor? save_mean, Tensor? save_invstd, bool train, float eps, "
        "bool[3] output_mask) -> (Tensor, Tensor, Tensor)");
}
TORCH_LIBRARY_IMPL(accel, PrivateUse1, m) {
  m.impl("batch_norm_act", batch_norm_act<false>);
  m.impl("batch_norm_act_backward", batch_norm_act_backward<false>);
}
TORCH_LIBRARY_IMPL(accel, Meta, m) {
  m.impl("batch_norm_act", batch_norm_act<true>);
  m.impl("batch_norm_act_backward", batch_norm_act_backward<true>);
}

}  // namespace
}  // namespace accel::aten
