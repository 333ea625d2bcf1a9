// Factory and RNG kernels. They write straight into device memory through a
// host view, and every random draw comes from the device's own generator.
#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>
#include <ATen/native/Resize.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/empty_like.h>
#include <ATen/ops/eye.h>
#include <ATen/ops/logspace.h>
#include <ATen/ops/mul.h>
#include <ATen/ops/multinomial.h>
#include <ATen/ops/normal.h>
#include <ATen/ops/randperm.h>
#include <ATen/ops/tril_indices.h>
#include <ATen/ops/triu_indices.h>
#include <torch/library.h>

#include <mutex>

#include "aten/host_view.h"
#include "glue/glue.h"

namespace accel::aten {
namespace {

using Gen = std::optional<at::Generator>;

// at::*_out takes its output by lvalue; a host view is a temporary that lives
// to the end of the full expression, which is all the call needs.
at::Tensor& as_out(at::Tensor&& t) { return t; }

template <class F>
void with_generator(const Gen& gen, const at::Tensor& like, F&& f) {
  auto* g = at::get_generator_or_default<glue::AccelGeneratorImpl>(
      gen, glue::default_generator(like.device().index()));
  std::lock_guard<std::mutex> lock(g->mutex_);
  f(g->host());
}

// Resizes `out` to the shape the meta kernel of `op` computes, so argument
// checks and shapes match CPU exactly.
void resize_like_meta(at::Tensor& out, const at::Tensor& meta) {
  at::native::resize_output(out, meta.sizes());
}

at::TensorOptions meta_like(const at::Tensor& t) { return t.options().device(at::kMeta); }
at::Tensor as_meta(const at::Tensor& t) { return at::empty(t.sizes(), meta_like(t)); }

at::Tensor& logspace_out(const at::Scalar& start, const at::Scalar& end, int64_t steps,
                         double base, at::Tensor& out) {
  resize_like_meta(out, at::logspace(start, end, steps, base, meta_like(out)));
  at::logspace_out(as_out(host_view(out)), start, end, steps, base);
  return out;
}

at::Tensor& eye_m_out(int64_t n, int64_t m, at::Tensor& out) {
  resize_like_meta(out, at::eye(n, m, meta_like(out)));
  at::eye_out(as_out(host_view(out)), n, m);
  return out;
}

at::Tensor& eye_out(int64_t n, at::Tensor& out) { return eye_m_out(n, n, out); }

template <at::Tensor (*Indices)(int64_t, int64_t, int64_t, std::optional<at::ScalarType>,
                                std::optional<at::Layout>, std::optional<at::Device>,
                                std::optional<bool>)>
at::Tensor triangle_indices(int64_t row, int64_t col, int64_t offset,
                            std::optional<at::ScalarType> dtype, std::optional<at::Layout> layout,
                            std::optional<at::Device> device, std::optional<bool> pin_memory) {
  at::Tensor host = Indices(row, col, offset, dtype, layout, at::kCPU, std::nullopt);
  at::Tensor out = at::empty(host.sizes(), host.options().device(device.value_or(glue::kAccel)));
  host_view(out).copy_(host);
  return out;
}

at::Tensor& random_from(at::Tensor& self, int64_t from, std::optional<int64_t> to, Gen gen) {
  with_generator(gen, self, [&](at::Generator& g) { host_view(self).random_(from, to, g); });
  return self;
}
at::Tensor& random_to(at::Tensor& self, int64_t to, Gen gen) {
  with_generator(gen, self, [&](at::Generator& g) { host_view(self).random_(to, g); });
  return self;
}
at::Tensor& random_full(at::Tensor& self, Gen gen) {
  with_generator(gen, self, [&](at::Generator& g) { host_view(self).random_(g); });
  return self;
}
at::Tensor& uniform(at::Tensor& self, double from, double to, Gen gen) {
  with_generator(gen, self, [&](at::Generator& g) { host_view(self).uniform_(from, to, g); });
  return self;
}
at::Tensor& normal(at::Tensor& self, double mean, double std, Gen gen) {
  with_generator(gen, self, [&](at::Generator& g) { host_view(self).normal_(mean, std, g); });
  return self;
}
at::Tensor& cauchy(at::Tensor& self, double median, double sigma, Gen gen) {
  with_generator(gen, self, [&](at::Generator& g) { host_view(self).cauchy_(median, sigma, g); });
  return self;
}
at::Tensor& log_normal(at::Tensor& self, double mean, double std, Gen gen) {
  with_generator(gen, self, [&](at::Generator& g) { host_view(self).log_normal_(mean, std, g); });
  return self;
}
at::Tensor& exponential(at::Tensor& self, double lambd, Gen gen) {
  with_generator(gen, self, [&](at::Generator& g) { host_view(self).exponential_(lambd, g); });
  return self;
}
at::Tensor& geometric(at::Tensor& self, double p, Gen gen) {
  with_generator(gen, self, [&](at::Generator& g) { host_view(self).geometric_(p, g); });
  return self;
}
at::Tensor& bernoulli_tensor(at::Tensor& self, const at::Tensor& p, Gen gen) {
  with_generator(gen, self, [&](at::Generator& g) { host_view(self).bernoulli_(host_side(p), g); });
  return self;
}
at::Tensor& bernoulli_float(at::Tensor& self, double p, Gen gen) {
  with_generator(gen, self, [&](at::Generator& g) { host_view(self).bernoulli_(p, g); });
  return self;
}
at::Tensor& bernoulli_out(const at::Tensor& self, Gen gen, at::Tensor& out) {
  at::native::resize_output(out, self.sizes());
  with_generator(gen, out, [&](at::Generator& g) { host_view(out).bernoulli_(host_view(self), g); });
  return out;
}

at::Tensor& normal_tensor_float_out(const at::Tensor& mean, double std, Gen gen, at::Tensor& out) {
  at::native::resize_output(out, mean.sizes());
  with_generator(gen, out, [&](at::Generator& g) { at::normal_out(as_out(host_view(out)), host_view(mean), std, g); });
  return out;
}
at::Tensor& normal_float_tensor_out(double mean, const at::Tensor& std, Gen gen, at::Tensor& out) {
  at::native::resize_output(out, std.sizes());
  with_generator(gen, out, [&](at::Generator& g) { at::normal_out(as_out(host_view(out)), mean, host_view(std), g); });
  return out;
}
at::Tensor& normal_tensor_tensor_out(const at::Tensor& mean, const at::Tensor& std, Gen gen,
                                     at::Tensor& out) {
  resize_like_meta(out, at::normal(as_meta(mean), as_meta(std)));
  with_generator(gen, out, [&](at::Generator& g) {
    at::normal_out(as_out(host_view(out)), host_view(mean), host_view(std), g);
  });
  return out;
}
at::Tensor normal_tensor_float(const at::Tensor& mean, double std, Gen gen) {
  at::Tensor out = at::empty({0}, mean.options());
  return normal_tensor_float_out(mean, std, gen, out);
}
at::Tensor normal_float_tensor(double mean, const at::Tensor& std, Gen gen) {
  at::Tensor out = at::empty({0}, std.options());
  return normal_float_tensor_out(mean, std, gen, out);
}
at::Tensor normal_tensor_tensor(const at::Tensor& mean, const at::Tensor& std, Gen gen) {
  at::Tensor out = at::empty({0}, mean.options());
  return normal_tensor_tensor_out(mean, std, gen, out);
}

at::Tensor& randperm_out(int64_t n, Gen gen, at::Tensor& out) {
  TORCH_CHECK(n >= 0, "n must be non-negative, got", n);
  at::native::resize_output(out, {n});
  with_generator(gen, out, [&](at::Generator& g) { at::randperm_out(as_out(host_view(out)), n, g); });
  return out;
}

at::Tensor& multinomial_out(const at::Tensor& self, int64_t n, bool replacement, Gen gen,
                            at::Tensor& out) {
  with_generator(gen, self, [&](at::Generator& g) {
    at::Tensor host = at::multinomial(host_view(self), n, replacement, g);
    at::native::resize_output(out, host.sizes());
    host_view(out).copy_(host);
  });
  return out;
}
at::Tensor multinomial(const at::Tensor& self, int64_t n, bool replacement, Gen gen) {
  at::Tensor out = at::empty({0}, self.options().dtype(at::kLong));
  return multinomial_out(self, n, replacement, gen, out);
}

std::tuple<at::Tensor, at::Tensor> native_dropout(const at::Tensor& input, double p,
                                                  std::optional<bool> train) {
  TORCH_CHECK(p >= 0 && p <= 1, "dropout probability has to be between 0 and 1, but got ", p);
  at::Tensor output = at::empty_like(input);
  at::Tensor mask = at::empty_like(input, input.options().dtype(at::kBool));
  if (input.numel() == 0) return {output, mask};
  if (train.has_value() && !*train) {
    host_view(output).copy_(host_view(input));
    host_view(mask).fill_(true);
    return {output, mask};
  }
  const double keep = 1.0 - p;
  const double scale = keep == 0 ? 0.0 : 1.0 / keep;
  with_generator(std::nullopt, input, [&](at::Generator& g) {
    at::Tensor kept = at::empty_like(host_view(input)).bernoulli_(keep, g);
    at::mul_out(as_out(host_view(output)), host_view(input), kept).mul_(scale);
    host_view(mask).copy_(kept);
  });
  return {output, mask};
}

}  // namespace

TORCH_LIBRARY_IMPL(aten, PrivateUse1, m) {
  m.impl("logspace.out", logspace_out);
  m.impl("eye.out", eye_out);
  m.impl("eye.m_out", eye_m_out);
  m.impl("tril_indices", triangle_indices<at::tril_indices>);
  m.impl("triu_indices", triangle_indices<at::triu_indices>);
  m.impl("random_.from", random_from);
  m.impl("random_.to", random_to);
  m.impl("random_", random_full);
  m.impl("uniform_", uniform);
  m.impl("normal_", normal);
  m.impl("cauchy_", cauchy);
  m.impl("log_normal_", log_normal);
  m.impl("exponential_", exponential);
  m.impl("geometric_", geometric);
  m.impl("bernoulli_.Tensor", bernoulli_tensor);
  m.impl("bernoulli_.float", bernoulli_float);
  m.impl("bernoulli.out", bernoulli_out);
  m.impl("normal.Tensor_float_out", normal_tensor_float_out);
  m.impl("normal.float_Tensor_out", normal_float_tensor_out);
  m.impl("normal.Tensor_Tensor_out", normal_tensor_tensor_out);
  m.impl("normal.Tensor_float", normal_tensor_float);
  m.impl("normal.float_Tensor", normal_float_tensor);
  m.impl("normal.Tensor_Tensor", normal_tensor_tensor);
  m.impl("randperm.generator_out", randperm_out);
  m.impl("multinomial.out", multinomial_out);
  m.impl("multinomial", multinomial);
  m.impl("native_dropout", native_dropout);
}

}  // namespace accel::aten
