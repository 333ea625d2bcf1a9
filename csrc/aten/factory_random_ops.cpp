// Factory and RNG kernels. They write straight into device memory through a
// host view, and every random draw comes from the device's own generator.
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/ExpandUtils.h>
#include <ATen/Dispatch.h>
#include <ATen/TensorIterator.h>
#include <ATen/Version.h>
#include <ATen/core/Generator.h>
#include <ATen/native/DistributionTemplates.h>
#include <ATen/core/Tensor.h>
#include <ATen/native/Resize.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/empty_like.h>
#include <ATen/ops/ones_like.h>
#include <ATen/ops/eye.h>
#include <ATen/ops/logspace.h>
#include <ATen/ops/mul.h>
#include <ATen/ops/randperm.h>
#include <ATen/ops/argmax.h>
#include <ATen/ops/div.h>
#include <ATen/ops/topk.h>
#include <ATen/native/TensorFactories.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <mutex>

#include "aten/engine_bridge.h"
#include "chip/runtime.h"
#include "aten/fallback.h"
#include "engine/fill.h"
#include "engine/plan_mode.h"
#include "engine/random.h"
#include "glue/glue.h"

namespace accel::aten {
namespace {

using Gen = std::optional<at::Generator>;

// Resizes `out` to the shape the meta kernel of `op` computes, so argument
// checks and shapes match CPU exactly.
void resize_like_meta(at::Tensor& out, const at::Tensor& meta) {
  at::native::resize_output(out, meta.sizes());
}

at::TensorOptions meta_like(const at::Tensor& t) { return t.options().device(at::kMeta); }

engine::TensorRef row_major_ref(const at::Tensor& t) {
  return {t.data_ptr(), engine_dtype(t.scalar_type()), t.sizes().vec(), t.strides().vec()};
}

void launch_sequence(const char* op, const at::Tensor& out, const engine::SequenceFn& values,
                     const char* kernel, int64_t flops) {
  if (out.numel() == 0) return;
  auto& runtime = chip::Runtime::get();
  const chip::Arch& arch = glue::chip_call([&]() -> const chip::Arch& { return runtime.arch(); });
  engine::ProgramRecord rec;
  try {
    rec = engine::run_sequence(arch, op, row_major_ref(out), values, kernel, flops);
  } catch (const engine::L1OverflowError& e) {
    TORCH_CHECK(false, e.what());
  }
  rec.device = out.device().index();
  engine::record(std::move(rec));
}

// CPU ATen's logspace: base^(start + step * i) for the first half and
// base^(end - step * (steps - 1 - i)) for the second, with start and end
// first converted to the output dtype and the exponent in double.
template <class T>
void logspace_params(const at::Scalar& start, const at::Scalar& end, double& s, double& e) {
  s = static_cast<double>(start.to<T>());
  e = static_cast<double>(end.to<T>());
}

at::Tensor& logspace_out(const at::Scalar& start, const at::Scalar& end, int64_t steps,
                         double base, at::Tensor& out) {
  resize_like_meta(out, at::logspace(start, end, steps, base, meta_like(out)));
  if (steps == 0) return out;
  if (at::isComplexType(out.scalar_type())) {
    fallback_call("aten::logspace", "out", {start, end, steps, base, out});
    return out;
  }
  if (steps == 1) {
    const double v = std::pow(base, start.to<double>());
    launch_sequence("logspace", out, [v](int64_t, int64_t n, double* vals) { std::fill(vals, vals + n, v); },
                    "sfpu_logspace", 1);
    return out;
  }
  double s = 0, e = 0;
  AT_DISPATCH_ALL_TYPES_AND2(at::kBFloat16, at::kHalf, out.scalar_type(), "logspace_cpu",
                             [&] { logspace_params<scalar_t>(start, end, s, e); });
  const double step = (e - s) / (steps - 1);
  const int64_t halfway = steps / 2;
  launch_sequence("logspace", out, [=](int64_t first, int64_t n, double* vals) {
    for (int64_t j = 0; j < n; ++j) {
      const int64_t i = first + j;
      vals[j] = i < halfway ? std::pow(base, s + step * i) : std::pow(base, e - step * (steps - i - 1));
    }
  }, "sfpu_logspace", 20);
  return out;
}

at::Tensor& eye_m_out(int64_t n, int64_t m, at::Tensor& out) {
  resize_like_meta(out, at::eye(n, m, meta_like(out)));
  launch_sequence("eye", out, [m](int64_t first, int64_t count, double* vals) {
    for (int64_t j = 0; j < count; ++j) vals[j] = (first + j) / m == (first + j) % m ? 1.0 : 0.0;
  }, "sfpu_eye", 0);
  return out;
}

at::Tensor& eye_out(int64_t n, at::Tensor& out) { return eye_m_out(n, n, out); }

// tril_indices / triu_indices: a [2, N] tensor of the (row, col) pairs of the
// triangle in row-major order. Row r's first pair is at the prefix count of
// the rows above it, so any core finds its pairs by a search of that table.
template <bool Lower>
at::Tensor triangle_indices(int64_t row, int64_t col, int64_t offset,
                            std::optional<at::ScalarType> dtype, std::optional<at::Layout> layout,
                            std::optional<at::Device> device, std::optional<bool> pin_memory) {
  TORCH_CHECK(row >= 0, "row must be non-negative, got", row);
  TORCH_CHECK(col >= 0, "col must be non-negative, got", col);
  TORCH_CHECK(layout.value_or(at::kStrided) == at::kStrided, "only support layout=torch.strided, got",
              layout.value_or(at::kStrided));
  const at::ScalarType dt = dtype.value_or(at::kLong);
  const char* name = Lower ? "tril_indices" : "triu_indices";
  TORCH_CHECK_NOT_IMPLEMENTED(dt == at::kLong || dt == at::kInt, "\"", name, "\" not implemented for '",
                              at::toString(dt), "'");
  std::vector<int64_t> starts(row + 1, 0);
  for (int64_t r = 0; r < row; ++r) {
    const int64_t count = Lower ? std::clamp<int64_t>(r + offset + 1, 0, col)
                                : col - std::clamp<int64_t>(r + offset, 0, col);
    starts[r + 1] = starts[r] + count;
  }
  const int64_t total = starts[row];
  at::Tensor out = at::empty({2, total}, at::TensorOptions().dtype(dt).device(device.value_or(glue::kAccel)));
  launch_sequence(name, out, [&starts, total, offset, col](int64_t first, int64_t n, double* vals) {
    for (int64_t j = 0; j < n; ++j) {
      const bool is_col = first + j >= total;
      const int64_t k = is_col ? first + j - total : first + j;
      const int64_t r = std::upper_bound(starts.begin(), starts.end(), k) - starts.begin() - 1;
      const int64_t first_col = Lower ? 0 : std::clamp<int64_t>(r + offset, 0, col);
      vals[j] = static_cast<double>(is_col ? first_col + (k - starts[r]) : r);
    }
  }, "sfpu_triangle_indices", 4);
  return out;
}

// ---- RNG programs (engine/random.h) ----
// ATen's own argument checks and range arithmetic (native/DistributionTemplates.h)
// run first and hand these kernels a TensorIterator over the output; its
// dims, reversed, give the order CPU ATen's serial kernel draws in.

using kernels::RandomKind;
using kernels::RandomParams;

engine::TensorRef ordered_ref(const at::TensorIteratorBase& iter, int arg) {
  engine::TensorRef ref;
  ref.data = iter.data_ptr(arg);
  ref.dtype = engine_dtype(iter.dtype(arg));
  const int64_t w = iter.element_size(arg);
  for (int64_t d = iter.ndim() - 1; d >= 0; --d) {
    ref.sizes.push_back(iter.shape()[d]);
    ref.strides.push_back(iter.strides(arg)[d] / w);
  }
  return ref;
}

void launch_random(const char* op, const engine::RandomJob& job, const Gen& gen, int device) {
  auto* g = at::get_generator_or_default<glue::AccelGeneratorImpl>(gen, glue::default_generator(device));
  std::lock_guard<std::mutex> lock(g->mutex_);
  auto* engine_gen = at::check_generator<at::CPUGeneratorImpl>(g->host());
  const engine::WordSource words = [engine_gen](uint64_t* dst, int64_t n, bool wide) {
    if (wide) {
      for (int64_t i = 0; i < n; ++i) dst[i] = engine_gen->random64();
    } else {
      for (int64_t i = 0; i < n; ++i) dst[i] = engine_gen->random();
    }
  };
  auto& runtime = chip::Runtime::get();
  const chip::Arch& arch = glue::chip_call([&]() -> const chip::Arch& { return runtime.arch(); });
  engine::ProgramRecord rec;
  try {
    rec = engine::run_random(arch, op, job, words);
  } catch (const engine::L1OverflowError& e) {
    TORCH_CHECK(false, e.what());
  }
  rec.device = device;
  engine::record(std::move(rec));
}

void launch_nullary(const char* op, at::TensorIteratorBase& iter, const RandomParams& params, const Gen& gen) {
  engine::RandomJob job;
  job.out = ordered_ref(iter, 0);
  job.params = params;
  launch_random(op, job, gen, iter.device(0).index());
}

bool fused_kernels() {
  static const bool fused = at::get_cpu_capability() != "DEFAULT";
  return fused;
}

template <class RNG>
struct RandomFromToK {
  void operator()(at::TensorIteratorBase& iter, uint64_t range, int64_t base, Gen gen) {
    RandomParams p;
    p.kind = RandomKind::FromTo;
    p.range = range;
    p.base = base;
    launch_nullary("random_", iter, p, gen);
  }
  void operator()(at::TensorIteratorBase& iter, Gen gen) {
    const auto dt = iter.dtype();
    TORCH_CHECK(dt == at::kLong || dt == at::kDouble || dt == at::kFloat || dt == at::kBFloat16,
                "random_full_64_bits_range_kernel_cpu handles only int64, double, float and bfloat16");
    RandomParams p;
    p.kind = RandomKind::FullRange;
    launch_nullary("random_", iter, p, gen);
  }
};
template <class RNG>
struct RandomK {
  void operator()(at::TensorIteratorBase& iter, Gen gen) {
    RandomParams p;
    p.kind = RandomKind::IntDefault;
    launch_nullary("random_", iter, p, gen);
  }
};
template <class RNG>
struct UniformK {
  void operator()(at::TensorIteratorBase& iter, double from, double to, Gen gen) {
    RandomParams p;
    p.kind = RandomKind::Uniform;
    p.fused_uniform = fused_kernels();
    p.a = from;
    p.b = to;
    launch_nullary("uniform_", iter, p, gen);
  }
};
void check_floating(at::ScalarType dt, const char* name) {
  TORCH_CHECK_NOT_IMPLEMENTED(at::isFloatingType(dt), "\"", name, "\" not implemented for '",
                              at::toString(dt), "'");
}
template <class RNG>
struct ExponentialK {
  void operator()(at::TensorIteratorBase& iter, double lambda, Gen gen) {
    TORCH_CHECK(at::isFloatingType(iter.dtype()),
                "Exponential distribution is a continuous probability distribution. dtype must be a "
                "floating point but you specified ", iter.dtype());
    RandomParams p;
    p.kind = RandomKind::Exponential;
    p.a = lambda;
    launch_nullary("exponential_", iter, p, gen);
  }
};
template <class RNG>
struct GeometricK {
  void operator()(at::TensorIteratorBase& iter, double prob, Gen gen) {
    RandomParams p;
    p.kind = RandomKind::Geometric;
    p.a = prob;
    launch_nullary("geometric_", iter, p, gen);
  }
};
template <class RNG>
struct CauchyK {
  void operator()(at::TensorIteratorBase& iter, double median, double sigma, Gen gen) {
    check_floating(iter.dtype(), "cauchy_cpu");
    RandomParams p;
    p.kind = RandomKind::Cauchy;
    p.fused_uniform = fused_kernels();
    p.a = median;
    p.b = sigma;
    launch_nullary("cauchy_", iter, p, gen);
  }
};
template <class RNG>
struct BernoulliScalarK {
  void operator()(at::Tensor& self, double prob, Gen gen) {
    auto iter = at::TensorIterator::borrowing_nullary_op(self);
    RandomParams p;
    p.kind = RandomKind::Bernoulli;
    p.a = prob;
    launch_nullary("bernoulli_", iter, p, gen);
  }
};
template <class RNG>
struct BernoulliTensorK {
  void operator()(at::Tensor& self, const at::Tensor& p_, Gen gen) {
    TORCH_CHECK_NOT_IMPLEMENTED(at::isFloatingType(p_.scalar_type()),
                                "\"bernoulli_tensor_cpu_p_\" not implemented for '",
                                at::toString(p_.scalar_type()), "'");
    const at::Tensor prob = p_.device() == self.device() ? p_ : p_.to(self.device());
    auto expanded = at::expand_inplace(self, prob);
    auto iter = at::TensorIteratorConfig()
                    .add_output(self)
                    .add_const_input(*expanded)
                    .check_all_same_dtype(false)
                    .build();
    engine::RandomJob job;
    job.out = ordered_ref(iter, 0);
    job.aux = ordered_ref(iter, 1);
    job.params.kind = RandomKind::BernoulliTensor;
    launch_random("bernoulli_", job, gen, self.device().index());
  }
};

using RNG = glue::AccelGeneratorImpl*;

at::Tensor& random_from(at::Tensor& self, int64_t from, std::optional<int64_t> to, Gen gen) {
  return at::native::templates::random_from_to_impl<RandomFromToK, RNG>(self, from, to, gen);
}
at::Tensor& random_to(at::Tensor& self, int64_t to, Gen gen) {
  return random_from(self, 0, to, gen);
}
at::Tensor& random_full(at::Tensor& self, Gen gen) {
  return at::native::templates::random_impl<RandomK, RNG>(self, gen);
}
at::Tensor& uniform(at::Tensor& self, double from, double to, Gen gen) {
  return at::native::templates::uniform_impl_<UniformK, RNG>(self, from, to, gen);
}
at::Tensor& exponential(at::Tensor& self, double lambd, Gen gen) {
  return at::native::templates::exponential_impl_<ExponentialK, RNG>(self, lambd, gen);
}
at::Tensor& geometric(at::Tensor& self, double p, Gen gen) {
  return at::native::templates::geometric_impl_<GeometricK, RNG>(self, p, gen);
}
at::Tensor& cauchy(at::Tensor& self, double median, double sigma, Gen gen) {
  return at::native::templates::cauchy_impl_<CauchyK, RNG>(self, median, sigma, gen);
}
at::Tensor& bernoulli_tensor(at::Tensor& self, const at::Tensor& p, Gen gen) {
  return at::native::templates::bernoulli_impl_<BernoulliTensorK, RNG>(self, p, gen);
}
at::Tensor& bernoulli_float(at::Tensor& self, double p, Gen gen) {
  return at::native::templates::bernoulli_impl_<BernoulliScalarK, RNG>(self, p, gen);
}

at::Tensor& bernoulli_out(const at::Tensor& self, Gen gen, at::Tensor& out) {
  return at::native::templates::bernoulli_out_impl<BernoulliTensorK, RNG>(out, self, gen);
}

// normal_ and log_normal_: CPU's per-element Box-Muller keeps a pending sine
// sample in the generator, which the program takes and gives back.
void launch_normal(const char* op, const engine::NormalJob& job, const Gen& gen, int device) {
  auto* g = at::get_generator_or_default<glue::AccelGeneratorImpl>(gen, glue::default_generator(device));
  std::lock_guard<std::mutex> lock(g->mutex_);
  auto* engine_gen = at::check_generator<at::CPUGeneratorImpl>(g->host());
  const engine::WordSource words = [engine_gen](uint64_t* dst, int64_t n, bool wide) {
    if (wide) {
      for (int64_t i = 0; i < n; ++i) dst[i] = engine_gen->random64();
    } else {
      for (int64_t i = 0; i < n; ++i) dst[i] = engine_gen->random();
    }
  };
  auto& runtime = chip::Runtime::get();
  const chip::Arch& arch = glue::chip_call([&]() -> const chip::Arch& { return runtime.arch(); });
  std::optional<double> cache = engine_gen->next_double_normal_sample();
  engine::ProgramRecord rec;
  try {
    rec = engine::run_normal(arch, op, job, words, cache);
  } catch (const engine::L1OverflowError& e) {
    TORCH_CHECK(false, e.what());
  }
  engine_gen->set_next_double_normal_sample(cache);
  rec.device = device;
  engine::record(std::move(rec));
}

// CPU ATen's x86 builds run the AVX2 Box-Muller for float-like fills from
// both their AVX2 and AVX512 kernels; the default build runs libm's.
bool cephes_fill() {
  static const bool on = at::get_cpu_capability() != "DEFAULT";
  return on;
}

template <class RNG>
struct NormalK {
  void operator()(at::Tensor& self, double mean, double std, Gen gen) {
    check_floating(self.scalar_type(), "normal_kernel_cpu");
    engine::NormalJob job;
    job.params.mean = mean;
    job.params.std = std;
    job.params.fused = fused_kernels();
    job.params.avx2 = cephes_fill();
    job.fill = self.numel() >= 16 && self.is_contiguous();
    if (job.fill) {
      job.out = row_major_ref(self);
    } else {
      auto iter = at::TensorIterator::borrowing_nullary_op(self);
      job.out = ordered_ref(iter, 0);
    }
    launch_normal("normal_", job, gen, self.device().index());
  }
};
template <class RNG>
struct LogNormalK {
  void operator()(at::TensorIteratorBase& iter, double mean, double std, Gen gen) {
    check_floating(iter.dtype(), "log_normal_cpu");
    engine::NormalJob job;
    job.out = ordered_ref(iter, 0);
    job.params.mean = mean;
    job.params.std = std;
    job.params.log = true;
    job.params.fused = fused_kernels();
    launch_normal("log_normal_", job, gen, iter.device(0).index());
  }
};

at::Tensor& normal(at::Tensor& self, double mean, double std, Gen gen) {
  return at::native::templates::normal_impl_<NormalK, RNG>(self, mean, std, gen);
}
at::Tensor& log_normal(at::Tensor& self, double mean, double std, Gen gen) {
  return at::native::templates::log_normal_impl_<LogNormalK, RNG>(self, mean, std, gen);
}
at::Tensor& normal_tensor_float_out(const at::Tensor& mean, double std, Gen gen, at::Tensor& out) {
  return at::native::templates::normal_out_impl<NormalK, RNG>(out, mean, std, gen);
}
at::Tensor& normal_float_tensor_out(double mean, const at::Tensor& std, Gen gen, at::Tensor& out) {
  return at::native::templates::normal_out_impl<NormalK, RNG>(out, mean, std, gen);
}
at::Tensor& normal_tensor_tensor_out(const at::Tensor& mean, const at::Tensor& std, Gen gen,
                                     at::Tensor& out) {
  return at::native::templates::normal_out_impl<NormalK, RNG>(out, mean, std, gen);
}
at::Tensor normal_tensor_float(const at::Tensor& mean, double std, Gen gen) {
  return at::native::templates::normal_impl<NormalK, RNG>(mean, std, gen);
}
at::Tensor normal_float_tensor(double mean, const at::Tensor& std, Gen gen) {
  return at::native::templates::normal_impl<NormalK, RNG>(mean, std, gen);
}
at::Tensor normal_tensor_tensor(const at::Tensor& mean, const at::Tensor& std, Gen gen) {
  return at::native::templates::normal_impl<NormalK, RNG>(mean, std, gen);
}

template <class Run>
engine::ProgramRecord with_words(const Gen& gen, int device, Run&& run) {
  auto* g = at::get_generator_or_default<glue::AccelGeneratorImpl>(gen, glue::default_generator(device));
  std::lock_guard<std::mutex> lock(g->mutex_);
  auto* engine_gen = at::check_generator<at::CPUGeneratorImpl>(g->host());
  const engine::WordSource words = [engine_gen](uint64_t* dst, int64_t n, bool wide) {
    for (int64_t i = 0; i < n; ++i) dst[i] = wide ? engine_gen->random64() : engine_gen->random();
  };
  auto& runtime = chip::Runtime::get();
  const chip::Arch& arch = glue::chip_call([&]() -> const chip::Arch& { return runtime.arch(); });
  try {
    return run(arch, words);
  } catch (const engine::L1OverflowError& e) {
    TORCH_CHECK(false, e.what());
  }
}

at::Tensor& randperm_out(int64_t n, Gen gen, at::Tensor& out) {
  TORCH_CHECK(n >= 0, "n must be non-negative, got", n);
  TORCH_CHECK(!gen.has_value() || out.device() == gen->device(), "Expected a '", out.device(),
              "' generator device but found '", gen->device(), "'");
  at::native::check_supported_max_int_with_precision(n, out);
  out.resize_({n});
  TORCH_CHECK_NOT_IMPLEMENTED(out.scalar_type() != at::kBool && !at::isComplexType(out.scalar_type()),
                              "\"randperm\" not implemented for '", at::toString(out.scalar_type()), "'");
  if (n == 0) return out;
  engine::ProgramRecord rec = with_words(gen, out.device().index(), [&](const chip::Arch& arch, const auto& words) {
    return engine::run_randperm(arch, row_major_ref(out), words);
  });
  rec.device = out.device().index();
  engine::record(std::move(rec));
  return out;
}

at::Tensor& multinomial_out(const at::Tensor& self, int64_t n, bool replacement, Gen gen,
                            at::Tensor& out) {
  TORCH_CHECK(out.device() == self.device(), "multinomial arguments must have the same device");
  TORCH_CHECK(self.dim() > 0 && self.dim() <= 2, "prob_dist must be 1 or 2 dim");
  TORCH_CHECK(at::isFloatingType(self.scalar_type()),
              "multinomial only supports floating-point dtypes for input, got: ", self.scalar_type());
  TORCH_CHECK(out.scalar_type() == at::kLong, "multinomial expects Long tensor out, got: ", out.scalar_type());
  TORCH_CHECK(n > 0, "cannot sample n_sample <= 0 samples");
  const int64_t categories = self.size(-1);
  TORCH_CHECK(replacement || n <= categories,
              "cannot sample n_sample > prob_dist.size(-1) samples without replacement");
  TORCH_CHECK(categories <= (int64_t{1} << 24), "number of categories cannot exceed 2^24");
  if (self.dim() == 1) out.resize_({n});
  else out.resize_({self.size(0), n});
  if (out.numel() == 0) return out;
  if (!replacement || n == 1) {
    // CPU's Gumbel trick, as device programs: argmax / top-k of p / q with
    // q ~ Exp(1) drawn from the same stream.
    const bool valid = self.max().lt(INFINITY).logical_and(self.min().ge(0)).item().toBool();
    TORCH_CHECK(valid, "probability tensor contains either `inf`, `nan` or element < 0");
    const bool zero_row = self.dim() == 1 ? self.sum().eq(0).item().toBool()
                                          : self.sum(1).eq(0).sum().item().toBool();
    // An estimate's probabilities are zeros: its checks are planned, not judged.
    TORCH_CHECK(!zero_row || !engine::executing(), "invalid multinomial distribution (sum of probabilities <= 0)");
    at::Tensor q = at::empty_like(self).exponential_(1, gen);
    at::div_out(q, self, q);
    if (n == 1) {
      at::argmax_out(out, q, -1, true);
    } else {
      at::Tensor vals = at::empty(out.sizes(), self.options());
      at::topk_out(vals, out, q, n);
    }
    return out;
  }
  engine::MultinomialJob job;
  job.probs = row_major_ref(self.dim() == 1 ? self.unsqueeze(0) : self);
  job.out = row_major_ref(out.dim() == 1 ? out.unsqueeze(0) : out);
  int error = 0;
  engine::ProgramRecord rec = with_words(gen, self.device().index(), [&](const chip::Arch& arch, const auto& words) {
    return engine::run_multinomial(arch, job, words, error);
  });
  TORCH_CHECK(error != 1, "invalid multinomial distribution (encountering probability entry < 0)");
  TORCH_CHECK(error != 2, "invalid multinomial distribution (encountering probability entry = infinity or NaN)");
  TORCH_CHECK(error != 3, "invalid multinomial distribution (sum of probabilities <= 0)");
  rec.device = self.device().index();
  engine::record(std::move(rec));
  return out;
}
at::Tensor multinomial(const at::Tensor& self, int64_t n, bool replacement, Gen gen) {
  at::Tensor out = at::empty({0}, self.options().dtype(at::kLong));
  return multinomial_out(self, n, replacement, gen, out);
}

std::tuple<at::Tensor, at::Tensor> native_dropout(const at::Tensor& input, double p,
                                                  std::optional<bool> train) {
  TORCH_CHECK(p >= 0 && p <= 1, "dropout probability has to be between 0 and 1, but got ", p);
  if (input.numel() == 0) return {input, at::empty_like(input)};
  if (train.has_value() && !*train)
    return {input.clone(), at::ones_like(input, input.options().dtype(at::kBool))};
  // CPU draws a contiguous mask with bernoulli_(1 - p), so the words go in
  // the input's row-major order; one program applies mask and scale.
  const double keep = 1.0 - p;
  at::Tensor output = at::empty(input.sizes(), input.options());
  at::Tensor mask = at::empty(input.sizes(), input.options().dtype(at::kBool));
  engine::RandomJob job;
  job.out = row_major_ref(output);
  job.aux = row_major_ref(input);
  job.mask = row_major_ref(mask);
  job.params.kind = RandomKind::Dropout;
  job.params.a = keep;
  job.params.b = keep == 0 ? 0.0 : 1.0 / keep;
  TORCH_CHECK_NOT_IMPLEMENTED(at::isFloatingType(input.scalar_type()), "\"bernoulli_scalar_cpu_\" not implemented for '",
                              at::toString(input.scalar_type()), "'");
  launch_random("native_dropout", job, std::nullopt, input.device().index());
  return {output, mask};
}

}  // namespace

TORCH_LIBRARY_IMPL(aten, PrivateUse1, m) {
  m.impl("logspace.out", logspace_out);
  m.impl("eye.out", eye_out);
  m.impl("eye.m_out", eye_m_out);
  m.impl("tril_indices", triangle_indices<true>);
  m.impl("triu_indices", triangle_indices<false>);
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
