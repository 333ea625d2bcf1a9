// Registrations of the reductions and scans. Each resolves dims, dtypes and
// output shapes with ATen's own rules and errors, then launches one reduction
// or scan program. The functional forms of the structured ops reach the out=
// kernels registered here through ATen's generated wrappers.
#include <ATen/WrapDimUtils.h>
#include <ATen/native/ReduceOpsUtils.h>
#include <ATen/native/Resize.h>
#include <ATen/ops/empty.h>
#include <torch/library.h>

#include <cmath>
#include <stdexcept>

#include "aten/engine_bridge.h"
#include "aten/fallback.h"
#include "engine/reduce.h"
#include "glue/glue.h"

namespace accel::aten {
namespace {

using engine::ReduceKind;
using engine::ReduceParams;
using Dims = std::vector<int64_t>;

const chip::Arch& arch() {
  auto& runtime = chip::Runtime::get();
  return glue::chip_call([&]() -> const chip::Arch& { return runtime.arch(); });
}

engine::TensorRef ref_of(const at::Tensor& t) {
  return {t.data_ptr(), engine_dtype(t.scalar_type()), t.sizes().vec(), t.strides().vec()};
}

engine::DType compute_for(at::ScalarType t) {
  if (t == at::kDouble) return engine::DType::F64;
  return at::isFloatingType(t) ? engine::DType::F32 : engine::DType::I64;
}

bool complex(const at::Tensor& t) { return at::isComplexType(t.scalar_type()); }

// ATen's dim list rules: none or empty means every dim; wrapped, no repeats.
Dims reduce_dims(const at::Tensor& self, at::OptionalIntArrayRef dim) {
  const auto mask = at::native::make_dim_mask(dim, self.dim());
  Dims dims;
  for (int64_t d = 0; d < self.dim(); ++d)
    if (mask[d]) dims.push_back(d);
  return dims;
}

std::vector<int64_t> reduced_shape(const at::Tensor& self, const Dims& dims, bool keepdim) {
  std::vector<int64_t> shape;
  for (int64_t d = 0, i = 0; d < self.dim(); ++d) {
    const bool reduced = i < static_cast<int64_t>(dims.size()) && dims[i] == d;
    if (reduced) ++i;
    if (!reduced) shape.push_back(self.size(d));
    else if (keepdim) shape.push_back(1);
  }
  return shape;
}

// The output as the engine wants it: the input's rank, size 1 where reduced.
engine::TensorRef keepdim_ref(const at::Tensor& out, const Dims& dims, int64_t ndim) {
  engine::TensorRef r{out.data_ptr(), engine_dtype(out.scalar_type()), {}, {}};
  if (out.dim() == ndim) {
    r.sizes = out.sizes().vec();
    r.strides = out.strides().vec();
    return r;
  }
  for (int64_t d = 0, i = 0, o = 0; d < ndim; ++d) {
    if (i < static_cast<int64_t>(dims.size()) && dims[i] == d) {
      ++i;
      r.sizes.push_back(1);
      r.strides.push_back(0);
    } else {
      r.sizes.push_back(out.size(o));
      r.strides.push_back(out.stride(o));
      ++o;
    }
  }
  return r;
}

void launch(const char* op, ReduceKind kind, const at::Tensor& self, const Dims& dims,
            const at::Tensor& value, const at::Tensor& index, const at::Tensor& mean,
            engine::DType compute, const ReduceParams& prm = {}) {
  engine::ReduceOutputs outs;
  if (value.defined()) outs.value = keepdim_ref(value, dims, self.dim());
  if (index.defined()) outs.index = keepdim_ref(index, dims, self.dim());
  if (mean.defined()) outs.mean = keepdim_ref(mean, dims, self.dim());
  engine::ProgramRecord rec;
  try {
    rec = engine::run_reduce(arch(), op, kind, ref_of(self), dims, outs, compute, prm);
  } catch (const engine::L1OverflowError& e) {
    TORCH_CHECK(false, e.what());
  } catch (const std::domain_error& e) {
    TORCH_CHECK(false, e.what());
  }
  rec.device = self.device().index();
  engine::record(std::move(rec));
}

void check_out_dtype(const at::Tensor& out, at::ScalarType expected) {
  TORCH_CHECK(out.scalar_type() == expected, "Expected out tensor to have dtype ", expected,
              ", but got ", out.scalar_type(), " instead");
}

// sum / nansum / mean into `out`, which takes the requested dtype.
at::Tensor& sum_like(const char* op, ReduceKind kind, const at::Tensor& self,
                     at::OptionalIntArrayRef dim, bool keepdim, std::optional<at::ScalarType> dtype,
                     at::Tensor& out) {
  if (dtype) check_out_dtype(out, *dtype);
  const Dims dims = reduce_dims(self, dim);
  at::native::resize_output(out, reduced_shape(self, dims, keepdim));
  launch(op, kind, self, dims, out, {}, {}, compute_for(out.scalar_type()));
  return out;
}

at::Tensor& sum_out(const at::Tensor& self, at::OptionalIntArrayRef dim, bool keepdim,
                    std::optional<at::ScalarType> dtype, at::Tensor& out) {
  if (complex(self)) {
    fallback_call("aten::sum", "IntList_out", {self, dim, keepdim, dtype, out});
    return out;
  }
  return sum_like("aten::sum", ReduceKind::Sum, self, dim, keepdim, dtype, out);
}

at::Tensor& nansum_out(const at::Tensor& self, at::OptionalIntArrayRef dim, bool keepdim,
                       std::optional<at::ScalarType> dtype, at::Tensor& out) {
  TORCH_CHECK(!complex(self), "nansum does not support complex inputs");
  const auto kind = at::isFloatingType(self.scalar_type()) ? ReduceKind::NanSum : ReduceKind::Sum;
  return sum_like("aten::nansum", kind, self, dim, keepdim, dtype, out);
}

at::Tensor nansum(const at::Tensor& self, at::OptionalIntArrayRef dim, bool keepdim,
                  std::optional<at::ScalarType> dtype) {
  at::Tensor out = at::empty({0}, self.options().dtype(at::native::get_dtype_from_self(self, dtype, true)));
  return nansum_out(self, dim, keepdim, dtype, out);
}

at::Tensor& mean_out(const at::Tensor& self, at::OptionalIntArrayRef dim, bool keepdim,
                     std::optional<at::ScalarType> dtype, at::Tensor& out) {
  const auto in_t = self.scalar_type();
  TORCH_CHECK(at::isFloatingType(in_t) || at::isComplexType(in_t) || dtype,
              "mean(): could not infer output dtype. Input dtype must be either a floating point "
              "or complex dtype. Got: ", in_t);
  if (dtype)
    TORCH_CHECK(at::isFloatingType(*dtype) || at::isComplexType(*dtype),
                "mean(): could not infer output dtype. Optional dtype must be either a floating "
                "point or complex dtype. Got: ", *dtype);
  if (complex(self) || complex(out)) {
    fallback_call("aten::mean", "out", {self, dim, keepdim, dtype, out});
    return out;
  }
  return sum_like("aten::mean", ReduceKind::Mean, self, dim, keepdim, dtype, out);
}

void check_same_dtype(const at::Tensor& self, const at::Tensor& out) {
  TORCH_CHECK(self.scalar_type() == out.scalar_type(), "Expected the dtype for input and out to "
              "match, but got ", self.scalar_type(), " for input's dtype and ", out.scalar_type(),
              " for out's dtype.");
}

// amax / amin: values only, NaN propagating; empty dims raise IndexError.
at::Tensor& extreme_out(const char* op, const char* fn, bool is_max, const at::Tensor& self,
                        at::IntArrayRef dim, bool keepdim, at::Tensor& out) {
  TORCH_CHECK_NOT_IMPLEMENTED(!complex(self), "\"", op, "\" not implemented for '", self.scalar_type(), "'");
  check_same_dtype(self, out);
  if (self.numel() == 0) at::native::zero_numel_check_dims(self, dim, fn);
  const Dims dims = reduce_dims(self, dim);
  at::native::resize_output(out, reduced_shape(self, dims, keepdim));
  launch(op, is_max ? ReduceKind::Max : ReduceKind::Min, self, dims, out, {}, {},
         compute_for(self.scalar_type()));
  return out;
}

// max() / min() over every element.
at::Tensor& full_extreme_out(bool is_max, const at::Tensor& self, at::Tensor& out) {
  TORCH_CHECK_NOT_IMPLEMENTED(!complex(self), "\"", is_max ? "max_all" : "min_all",
                              "\" not implemented for '", self.scalar_type(), "'");
  TORCH_CHECK(self.numel() > 0, is_max ? "max()" : "min()",
              ": Expected reduction dim to be specified for input.numel() == 0. Specify the "
              "reduction dim with the 'dim' argument.");
  check_same_dtype(self, out);
  const Dims dims = reduce_dims(self, std::nullopt);
  at::native::resize_output(out, {});
  launch(is_max ? "aten::max" : "aten::min", is_max ? ReduceKind::Max : ReduceKind::Min, self,
         dims, out, {}, {}, compute_for(self.scalar_type()));
  return out;
}

at::Tensor full_extreme(bool is_max, const at::Tensor& self) {
  at::Tensor out = at::empty({}, self.options());
  return full_extreme_out(is_max, self, out);
}

// aminmax: the minimum and the maximum, each its own reduction program.
std::tuple<at::Tensor&, at::Tensor&> aminmax_out(const at::Tensor& self, std::optional<int64_t> dim, bool keepdim,
                                                 at::Tensor& min, at::Tensor& max) {
  if (dim) {
    const int64_t d = at::maybe_wrap_dim(*dim, self.dim());
    TORCH_CHECK_INDEX(self.dim() == 0 || self.size(d) != 0, "aminmax: Expected reduction dim ", *dim,
                      " to have non-zero size.");
  } else {
    TORCH_CHECK(self.numel() > 0,
                "aminmax(): cannot compute aminmax over an empty dimension as the operation has no identity.");
  }
  const std::vector<int64_t> dims = dim ? std::vector<int64_t>{*dim} : std::vector<int64_t>{};
  extreme_out("aten::aminmax", "aminmax()", false, self, dims, keepdim, min);
  extreme_out("aten::aminmax", "aminmax()", true, self, dims, keepdim, max);
  return {min, max};
}

// max.dim / min.dim: values and first indices.
std::tuple<at::Tensor&, at::Tensor&> extreme_dim_out(bool is_max, const at::Tensor& self,
                                                     int64_t dim, bool keepdim, at::Tensor& values,
                                                     at::Tensor& indices) {
  const char* fn = is_max ? "max()" : "min()";
  if (self.numel() == 0) at::native::zero_numel_check_dims(self, dim, fn);
  check_same_dtype(self, values);
  TORCH_CHECK(indices.scalar_type() == at::kLong, "Expected out tensor to have dtype Long, but got ",
              indices.scalar_type(), " instead");
  const int64_t d = at::maybe_wrap_dim(dim, self.dim());
  const Dims dims = self.dim() == 0 ? Dims{} : Dims{d};
  const auto shape = reduced_shape(self, dims, keepdim);
  at::native::resize_output(values, shape);
  at::native::resize_output(indices, shape);
  launch(is_max ? "aten::max.dim" : "aten::min.dim", is_max ? ReduceKind::ArgMax : ReduceKind::ArgMin,
         self, dims, values, indices, {}, compute_for(self.scalar_type()));
  return {values, indices};
}

at::Tensor& arg_out(bool is_max, const at::Tensor& self, std::optional<int64_t> dim, bool keepdim,
                    at::Tensor& out) {
  const char* fn = is_max ? "argmax()" : "argmin()";
  TORCH_CHECK(self.scalar_type() != at::kBool, "\"", is_max ? "argmax_cpu" : "argmin_cpu",
              "\" not implemented for 'Bool'");
  Dims dims;
  std::vector<int64_t> shape;
  if (dim) {
    if (self.numel() == 0) at::native::zero_numel_check_dims(self, *dim, fn);
    if (self.dim() > 0) dims = {at::maybe_wrap_dim(*dim, self.dim())};
    shape = reduced_shape(self, dims, keepdim);
  } else {
    TORCH_CHECK(self.numel() != 0, fn, ": Expected reduction dim to be specified for input.numel() == 0.");
    dims = reduce_dims(self, std::nullopt);
    if (keepdim) shape.assign(self.dim(), 1);
  }
  at::native::resize_output(out, shape);
  launch(is_max ? "aten::argmax" : "aten::argmin", is_max ? ReduceKind::ArgMax : ReduceKind::ArgMin,
         self, dims, {}, out, {}, compute_for(self.scalar_type()));
  return out;
}

at::Tensor& prod_out_impl(const at::Tensor& self, at::OptionalIntArrayRef dim, bool keepdim,
                          std::optional<at::ScalarType> dtype, at::Tensor& out) {
  if (dtype) check_out_dtype(out, *dtype);
  const Dims dims = reduce_dims(self, dim);
  at::native::resize_output(out, reduced_shape(self, dims, keepdim));
  launch("aten::prod", ReduceKind::Prod, self, dims, out, {}, {}, compute_for(out.scalar_type()));
  return out;
}

at::Tensor prod(const at::Tensor& self, std::optional<at::ScalarType> dtype) {
  if (complex(self)) return fallback_call("aten::prod", "", {self, dtype});
  at::Tensor out = at::empty({}, self.options().dtype(at::native::get_dtype_from_self(self, dtype, true)));
  return prod_out_impl(self, std::nullopt, false, dtype, out);
}

// var / std (and their means): float outputs; complex runs on the CPU.
void var_impl(const char* op, bool take_sqrt, const at::Tensor& self, at::OptionalIntArrayRef dim,
              const std::optional<at::Scalar>& correction, bool keepdim, at::Tensor& out,
              const at::Tensor& mean) {
  TORCH_CHECK(at::isFloatingType(self.scalar_type()),
              "std and var only support floating point and complex dtypes");
  const Dims dims = reduce_dims(self, dim);
  const auto shape = reduced_shape(self, dims, keepdim);
  at::native::resize_output(out, shape);
  if (mean.defined()) at::native::resize_output(const_cast<at::Tensor&>(mean), shape);
  ReduceParams prm;
  prm.correction = correction ? correction->toDouble() : 1.0;
  prm.take_sqrt = take_sqrt;
  launch(op, ReduceKind::Var, self, dims, out, {}, mean, compute_for(out.scalar_type()), prm);
}

at::Tensor var_like(const char* name, bool take_sqrt, const at::Tensor& self,
                    at::OptionalIntArrayRef dim, const std::optional<at::Scalar>& correction,
                    bool keepdim) {
  if (complex(self)) return fallback_call(name, "correction", {self, dim, correction, keepdim});
  at::Tensor out = at::empty({0}, self.options());
  var_impl(name, take_sqrt, self, dim, correction, keepdim, out, {});
  return out;
}

std::tuple<at::Tensor, at::Tensor> var_mean_like(const char* name, bool take_sqrt,
                                                 const at::Tensor& self, at::OptionalIntArrayRef dim,
                                                 const std::optional<at::Scalar>& correction,
                                                 bool keepdim) {
  TORCH_CHECK_TYPE(!complex(self), name, ": complex inputs are not supported on accel");
  at::Tensor out = at::empty({0}, self.options()), mean = at::empty({0}, self.options());
  var_impl(name, take_sqrt, self, dim, correction, keepdim, out, mean);
  return {out, mean};
}

at::Tensor& vector_norm_out(const at::Tensor& self, const at::Scalar& ord, at::OptionalIntArrayRef dim,
                            bool keepdim, std::optional<at::ScalarType> dtype, at::Tensor& out) {
  if (complex(self) || complex(out)) {
    fallback_call("aten::linalg_vector_norm", "out", {self, ord, dim, keepdim, dtype, out});
    return out;
  }
  TORCH_CHECK(at::isFloatingType(self.scalar_type()),
              "linalg.vector_norm: Expected a floating point or complex tensor as input. Got ",
              self.scalar_type());
  const double p = ord.toDouble();
  if (self.numel() == 0 && (p < 0 || p == INFINITY)) {
    TORCH_CHECK(dim.has_value(), "linalg.vector_norm cannot compute the ", ord,
                " norm on an empty tensor because the operation does not have an identity");
    for (int64_t d : *dim)
      TORCH_CHECK(self.size(d) != 0, "linalg.vector_norm cannot compute the ", ord,
                  " norm on the dimension ", d,
                  "because this dimension is empty and the operation does not have an identity");
  }
  if (dtype) check_out_dtype(out, *dtype);
  const Dims dims = reduce_dims(self, dim);
  at::native::resize_output(out, reduced_shape(self, dims, keepdim));
  ReduceParams prm;
  prm.ord = p;
  launch("aten::linalg_vector_norm", ReduceKind::Norm, self, dims, out, {}, {},
         compute_for(out.scalar_type()), prm);
  return out;
}

at::Tensor& logsumexp_out(const at::Tensor& self, at::IntArrayRef dim, bool keepdim, at::Tensor& out) {
  TORCH_CHECK(!complex(self), "logsumexp(): Expected floating point type for result tensor, but got: ",
              out.scalar_type());
  TORCH_CHECK(at::isFloatingType(out.scalar_type()),
              "logsumexp(): Expected floating point type for result tensor, but got: ", out.scalar_type());
  const Dims dims = reduce_dims(self, dim);
  at::native::resize_output(out, reduced_shape(self, dims, keepdim));
  launch("aten::logsumexp", ReduceKind::LogSumExp, self, dims, out, {}, {}, compute_for(out.scalar_type()));
  return out;
}

at::Tensor logsumexp(const at::Tensor& self, at::IntArrayRef dim, bool keepdim) {
  const auto t = at::isIntegralType(self.scalar_type(), true) ? c10::typeMetaToScalarType(c10::get_default_dtype())
                                                              : self.scalar_type();
  at::Tensor out = at::empty({0}, self.options().dtype(t));
  return logsumexp_out(self, dim, keepdim, out);
}

at::Tensor& logical_out(bool is_all, const at::Tensor& self, at::OptionalIntArrayRef dim,
                        bool keepdim, at::Tensor& out) {
  if (complex(self)) {
    fallback_call(is_all ? "aten::all" : "aten::any", "dims_out", {self, dim, keepdim, out});
    return out;
  }
  TORCH_CHECK(out.scalar_type() == at::kBool || out.scalar_type() == at::kByte,
              is_all ? "all" : "any", " only supports bool tensor for result, got: ", out.scalar_type());
  const Dims dims = reduce_dims(self, dim);
  at::native::resize_output(out, reduced_shape(self, dims, keepdim));
  launch(is_all ? "aten::all" : "aten::any", is_all ? ReduceKind::All : ReduceKind::Any, self, dims,
         out, {}, {}, compute_for(self.scalar_type()));
  return out;
}

at::Tensor& scan_out(const char* op, engine::ScanKind kind, const at::Tensor& self, int64_t dim,
                     std::optional<at::ScalarType> dtype, at::Tensor& out) {
  if (complex(self) || complex(out)) {
    fallback_call(kind == engine::ScanKind::Sum ? "aten::cumsum" : "aten::cumprod", "out",
                  {self, dim, dtype, out});
    return out;
  }
  if (dtype) check_out_dtype(out, *dtype);
  const int64_t d = at::maybe_wrap_dim(dim, self.dim());
  at::native::resize_output(out, self.sizes());
  engine::ProgramRecord rec;
  try {
    rec = engine::run_scan(arch(), op, kind, ref_of(self), d, ref_of(out), compute_for(out.scalar_type()));
  } catch (const engine::L1OverflowError& e) {
    TORCH_CHECK(false, e.what());
  }
  rec.device = self.device().index();
  engine::record(std::move(rec));
  return out;
}

}  // namespace

TORCH_LIBRARY_IMPL(aten, PrivateUse1, m) {
  m.impl("sum.IntList_out", sum_out);
  m.impl("sum.out", [](const at::Tensor& self, std::optional<at::ScalarType> dtype, at::Tensor& out) -> at::Tensor& {
    return sum_out(self, std::nullopt, false, dtype, out);
  });
  m.impl("nansum", nansum);
  m.impl("nansum.out", nansum_out);
  m.impl("mean.out", mean_out);
  m.impl("mean.dtype_out", [](const at::Tensor& self, std::optional<at::ScalarType> dtype, at::Tensor& out) -> at::Tensor& {
    return mean_out(self, std::nullopt, false, dtype, out);
  });
  m.impl("amax.out", [](const at::Tensor& self, at::IntArrayRef dim, bool keepdim, at::Tensor& out) -> at::Tensor& {
    return extreme_out("aten::amax", "amax()", true, self, dim, keepdim, out);
  });
  m.impl("amin.out", [](const at::Tensor& self, at::IntArrayRef dim, bool keepdim, at::Tensor& out) -> at::Tensor& {
    return extreme_out("aten::amin", "amin()", false, self, dim, keepdim, out);
  });
  m.impl("aminmax", [](const at::Tensor& self, std::optional<int64_t> dim, bool keepdim) {
    at::Tensor min = at::empty({0}, self.options()), max = at::empty({0}, self.options());
    aminmax_out(self, dim, keepdim, min, max);
    return std::make_tuple(min, max);
  });
  m.impl("aminmax.out", aminmax_out);
  m.impl("max", [](const at::Tensor& self) { return full_extreme(true, self); });
  m.impl("min", [](const at::Tensor& self) { return full_extreme(false, self); });
  m.impl("max.unary_out", [](const at::Tensor& self, at::Tensor& out) -> at::Tensor& {
    return full_extreme_out(true, self, out);
  });
  m.impl("min.unary_out", [](const at::Tensor& self, at::Tensor& out) -> at::Tensor& {
    return full_extreme_out(false, self, out);
  });
  m.impl("max.dim_max", [](const at::Tensor& self, int64_t dim, bool keepdim, at::Tensor& v, at::Tensor& i) {
    return extreme_dim_out(true, self, dim, keepdim, v, i);
  });
  m.impl("min.dim_min", [](const at::Tensor& self, int64_t dim, bool keepdim, at::Tensor& v, at::Tensor& i) {
    return extreme_dim_out(false, self, dim, keepdim, v, i);
  });
  m.impl("argmax.out", [](const at::Tensor& self, std::optional<int64_t> dim, bool keepdim, at::Tensor& out) -> at::Tensor& {
    return arg_out(true, self, dim, keepdim, out);
  });
  m.impl("argmin.out", [](const at::Tensor& self, std::optional<int64_t> dim, bool keepdim, at::Tensor& out) -> at::Tensor& {
    return arg_out(false, self, dim, keepdim, out);
  });
  m.impl("prod", prod);
  m.impl("prod.out", [](const at::Tensor& self, std::optional<at::ScalarType> dtype, at::Tensor& out) -> at::Tensor& {
    return prod_out_impl(self, std::nullopt, false, dtype, out);
  });
  m.impl("prod.int_out", [](const at::Tensor& self, int64_t dim, bool keepdim, std::optional<at::ScalarType> dtype, at::Tensor& out) -> at::Tensor& {
    if (complex(self)) {
      fallback_call("aten::prod", "int_out", {self, dim, keepdim, dtype, out});
      return out;
    }
    return prod_out_impl(self, at::IntArrayRef{dim}, keepdim, dtype, out);
  });
  m.impl("var.correction", [](const at::Tensor& self, at::OptionalIntArrayRef dim, const std::optional<at::Scalar>& c, bool keepdim) {
    return var_like("aten::var", false, self, dim, c, keepdim);
  });
  m.impl("std.correction", [](const at::Tensor& self, at::OptionalIntArrayRef dim, const std::optional<at::Scalar>& c, bool keepdim) {
    return var_like("aten::std", true, self, dim, c, keepdim);
  });
  m.impl("var.correction_out", [](const at::Tensor& self, at::OptionalIntArrayRef dim, const std::optional<at::Scalar>& c, bool keepdim, at::Tensor& out) -> at::Tensor& {
    var_impl("aten::var.out", false, self, dim, c, keepdim, out, {});
    return out;
  });
  m.impl("std.correction_out", [](const at::Tensor& self, at::OptionalIntArrayRef dim, const std::optional<at::Scalar>& c, bool keepdim, at::Tensor& out) -> at::Tensor& {
    var_impl("aten::std.out", true, self, dim, c, keepdim, out, {});
    return out;
  });
  m.impl("var_mean.correction", [](const at::Tensor& self, at::OptionalIntArrayRef dim, const std::optional<at::Scalar>& c, bool keepdim) {
    return var_mean_like("aten::var_mean", false, self, dim, c, keepdim);
  });
  m.impl("std_mean.correction", [](const at::Tensor& self, at::OptionalIntArrayRef dim, const std::optional<at::Scalar>& c, bool keepdim) {
    return var_mean_like("aten::std_mean", true, self, dim, c, keepdim);
  });
  m.impl("linalg_vector_norm.out", vector_norm_out);
  m.impl("logsumexp", logsumexp);
  m.impl("logsumexp.out", logsumexp_out);
  m.impl("all.all_out", [](const at::Tensor& self, at::Tensor& out) -> at::Tensor& {
    return logical_out(true, self, std::nullopt, false, out);
  });
  m.impl("any.all_out", [](const at::Tensor& self, at::Tensor& out) -> at::Tensor& {
    return logical_out(false, self, std::nullopt, false, out);
  });
  m.impl("all.out", [](const at::Tensor& self, int64_t dim, bool keepdim, at::Tensor& out) -> at::Tensor& {
    return logical_out(true, self, at::IntArrayRef{dim}, keepdim, out);
  });
  m.impl("any.out", [](const at::Tensor& self, int64_t dim, bool keepdim, at::Tensor& out) -> at::Tensor& {
    return logical_out(false, self, at::IntArrayRef{dim}, keepdim, out);
  });
  m.impl("all.dims_out", [](const at::Tensor& self, at::OptionalIntArrayRef dim, bool keepdim, at::Tensor& out) -> at::Tensor& {
    return logical_out(true, self, dim, keepdim, out);
  });
  m.impl("any.dims_out", [](const at::Tensor& self, at::OptionalIntArrayRef dim, bool keepdim, at::Tensor& out) -> at::Tensor& {
    return logical_out(false, self, dim, keepdim, out);
  });
  m.impl("cumsum.out", [](const at::Tensor& self, int64_t dim, std::optional<at::ScalarType> dtype, at::Tensor& out) -> at::Tensor& {
    return scan_out("aten::cumsum", engine::ScanKind::Sum, self, dim, dtype, out);
  });
  m.impl("cumprod.out", [](const at::Tensor& self, int64_t dim, std::optional<at::ScalarType> dtype, at::Tensor& out) -> at::Tensor& {
    return scan_out("aten::cumprod", engine::ScanKind::Prod, self, dim, dtype, out);
  });
}

}  // namespace accel::aten
