// Indexed ops as gather/scatter programs: index_select, gather, scatter and
// its reductions, index_add, advanced indexing (index, index_put) and the
// embedding backward. Each checks its arguments as CPU ATen does, then lays
// the index tensors over the iteration space for the engine.
#include <ATen/ExpandUtils.h>
#include <ATen/WrapDimUtils.h>
#include <ATen/native/IndexingUtils.h>
#include <ATen/native/ReductionType.h>
#include <ATen/native/Resize.h>
#include <ATen/native/ScatterGatherChecks.h>
#include <ATen/native/TensorAdvancedIndexingUtils.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/ones_like.h>
#include <ATen/ops/scalar_tensor.h>
#include <ATen/ops/zeros.h>
#include <torch/library.h>

#include "aten/device_check.h"
#include "aten/engine_bridge.h"
#include "aten/fallback.h"
#include "aten/movement_bridge.h"

namespace accel::aten {
namespace {

using engine::IndexOperand;
using engine::Reduce;

std::vector<int64_t> strides_of(const at::Tensor& t) { return {t.strides().begin(), t.strides().end()}; }

// t's strides with the one at `dim` replaced.
std::vector<int64_t> with_stride(const at::Tensor& t, int64_t dim, int64_t s) {
  auto v = strides_of(t);
  if (!v.empty()) v[dim] = s;
  return v;
}

// A 0-dim tensor as 1-D, as ATen's dim-wise ops treat it.
// Gathers move elements of up to 8 bytes; wider ones (complex128) fall back.
bool gatherable(const at::Tensor& t) { return t.element_size() <= 8; }

at::Tensor at_least_1d(const at::Tensor& t) { return t.dim() == 0 ? t.view({1}) : t; }

IndexOperand operand(const at::Tensor& index, c10::IntArrayRef sizes, std::vector<int64_t> strides,
                     int64_t bound, int64_t stride, bool wrap = false) {
  IndexOperand ix;
  ix.index = restrided(typed_ref(index), sizes, std::move(strides));
  ix.bound = bound;
  ix.stride = stride;
  ix.wrap_negative = wrap;
  return ix;
}

// Runs an indexed program; an out-of-range index raises with the op's wording.
template <class F, class Msg>
void run_indexed(const at::Tensor& device_of, F&& f, Msg&& message) {
  try {
    record_for(device_of, run_program(f));
  } catch (const engine::IndexOutOfRange& e) {
    message(e);
  }
}

[[noreturn]] void out_of_self(const engine::IndexOutOfRange&) {
  TORCH_CHECK_INDEX(false, "index out of range in self");
}

auto bounds_message(int64_t dim, bool index_error) {
  return [dim, index_error](const engine::IndexOutOfRange& e) {
    if (index_error)
      TORCH_CHECK_INDEX(false, "index ", e.value, " is out of bounds for dimension ", dim, " with size ", e.bound);
    TORCH_CHECK(false, "index ", e.value, " is out of bounds for dimension ", dim, " with size ", e.bound);
  };
}

// ---- index_select ----
at::Tensor& index_select_out(const at::Tensor& self, int64_t dim, const at::Tensor& index, at::Tensor& out) {
  if (!gatherable(self)) return out = fallback_call("aten::index_select", "out", {self, dim, index, out});
  check_same_device(self, index);
  dim = at::maybe_wrap_dim(dim, self.dim());
  TORCH_CHECK_INDEX(index.dim() <= 1, "index_select(): Index is supposed to be a vector");
  TORCH_CHECK(!(self.dim() == 0 && index.numel() != 1), "index_select(): Index to scalar can have only 1 value, got ",
              index.numel(), " value(s)");
  TORCH_CHECK(index.scalar_type() == at::kLong || index.scalar_type() == at::kInt,
              "index_select(): Expected dtype int32 or int64 for index");
  TORCH_CHECK(self.scalar_type() == out.scalar_type(), "index_select(): self and result must have the same scalar type");
  if (self.dim() > 1 && index.numel() > 0 && self.numel() == 0) {
    // Nothing to gather, but the CPU still checks the indices.
    TORCH_CHECK(self.size(dim) > 0, "index_select(): self indexing axis dim should be positive");
    const int64_t lo = index.min().item<int64_t>(), hi = index.max().item<int64_t>();
    TORCH_CHECK(lo >= 0 && hi < self.size(dim), "index_select(): index ", lo < 0 ? lo : hi,
                " is out of bounds for dimension ", dim, " with size ", self.size(dim));
  }
  auto sizes = self.sizes().vec();
  if (self.dim() > 0) sizes[dim] = index.numel();
  at::native::resize_output(out, sizes);
  if (out.numel() == 0) return out;
  const at::Tensor src = at_least_1d(self), dst = at_least_1d(out), idx = at_least_1d(index);
  std::vector<int64_t> istr(dst.dim(), 0);
  istr[dim] = idx.stride(0);
  const std::vector<IndexOperand> ix{operand(idx, dst.sizes(), istr, src.size(dim), src.stride(dim))};
  const auto in = restrided(byte_ref(src), dst.sizes(), with_stride(src, dim, 0));
  run_indexed(out, [&] { return engine::run_index_gather(current_arch(), "index_select", byte_ref(dst), in, ix); },
              out_of_self);
  return out;
}

at::Tensor index_select_impl(const at::Tensor& self, int64_t dim, const at::Tensor& index) {
  at::Tensor out = at::empty({0}, self.options());
  return index_select_out(self, dim, index, out);
}

// ---- gather ----
at::Tensor& gather_out(const at::Tensor& self, int64_t dim, const at::Tensor& index, bool sparse_grad, at::Tensor& out) {
  if (!gatherable(self)) return out = fallback_call("aten::gather", "out", {self, dim, index, sparse_grad, out});
  check_same_device(self, index);
  dim = at::maybe_wrap_dim(dim, self.dim());
  if (index.numel() != 0) {
    at::native::scatter_gather_dtype_check("gather", self, index);
    at::native::gather_shape_check(self, dim, index);
  }
  TORCH_CHECK(out.scalar_type() == self.scalar_type(), "gather(): Expected out tensor to have dtype ",
              self.scalar_type(), ", but got ", out.scalar_type(), " instead");
  at::native::resize_output(out, index.sizes());
  if (out.numel() == 0) return out;
  const at::Tensor src = at_least_1d(self), dst = at_least_1d(out), idx = at_least_1d(index);
  const std::vector<IndexOperand> ix{operand(idx, dst.sizes(), strides_of(idx), src.size(dim), src.stride(dim))};
  const auto in = restrided(byte_ref(src), dst.sizes(), with_stride(src, dim, 0));
  run_indexed(out, [&] { return engine::run_index_gather(current_arch(), "gather", byte_ref(dst), in, ix); },
              bounds_message(dim, false));
  return out;
}

at::Tensor gather_impl(const at::Tensor& self, int64_t dim, const at::Tensor& index, bool sparse_grad) {
  at::Tensor out = at::empty({0}, self.options());
  return gather_out(self, dim, index, sparse_grad, out);
}

// ---- scatter family ----
// A scalar as a one-element host buffer of self's dtype, read with stride 0.
at::Tensor scalar_buffer(const at::Scalar& value, const at::Tensor& self) {
  return at::scalar_tensor(value, self.options().device(at::kCPU));
}

// self[index] (reduce)= src along dim; src may be a scalar buffer (stride 0).
void scatter_into(const char* op, const at::Tensor& self, int64_t dim, const at::Tensor& index,
                  const at::Tensor& src, bool src_is_scalar, Reduce reduce) {
  if (index.numel() == 0) return;
  const at::Tensor dst = at_least_1d(self), idx = at_least_1d(index);
  const at::Tensor vals = src_is_scalar ? src : at_least_1d(src);
  std::vector<int64_t> vstr = src_is_scalar ? std::vector<int64_t>(idx.dim(), 0) : strides_of(vals);
  const std::vector<IndexOperand> ix{operand(idx, idx.sizes(), strides_of(idx), dst.size(dim), dst.stride(dim))};
  const auto d = restrided(typed_ref(dst), idx.sizes(), with_stride(dst, dim, 0));
  const auto v = restrided(typed_ref(vals), idx.sizes(), vstr);
  run_indexed(self, [&] { return engine::run_index_scatter(current_arch(), op, d, v, ix, reduce); },
              bounds_message(dim, false));
}

Reduce reduce_of(c10::string_view reduce) {
  if (reduce == "add") return Reduce::Add;
  TORCH_CHECK(reduce == "multiply", "reduce argument must be either add or multiply. Got ", reduce);
  return Reduce::Mul;
}

bool takes(const at::Tensor& t) { return tile_dtype_of(t.scalar_type()).has_value(); }

// Checks and prepares out for the scatter forms: out aliases self in place,
// else receives a copy of self first.
void scatter_prepare(const char* name, const at::Tensor& self, int64_t& dim, const at::Tensor& index,
                     const std::optional<at::Tensor>& src, const at::Tensor& out) {
  dim = at::maybe_wrap_dim(dim, self.dim());
  at::native::scatter_gather_dtype_check(name, self, index, src);
  at::native::scatter_shape_check(self, dim, index, src);
  if (!out.is_same(self)) {
    TORCH_CHECK(out.scalar_type() == self.scalar_type(), name, "(): Expected out tensor to have dtype ",
                self.scalar_type(), ", but got ", out.scalar_type(), " instead");
    at::native::resize_output(out, self.sizes());
    out.copy_(self);
  }
}

// The one body of scatter, scatter.value, scatter.reduce, scatter_add: out
// is self (in place), an out= tensor, or a fresh one (functional).
at::Tensor& scatter_impl(const char* name, const at::Tensor& self, int64_t dim, const at::Tensor& index,
                         const std::optional<at::Tensor>& src, const at::Scalar& value, Reduce reduce,
                         at::Tensor& out) {
  scatter_prepare(name, self, dim, index, src, out);
  if (src) scatter_into(name, out, dim, index, *src, false, reduce);
  else scatter_into(name, out, dim, index, scalar_buffer(value, self), true, reduce);
  return out;
}

at::Tensor fresh(const at::Tensor& self) { return at::empty({0}, self.options()); }

// scatter_reduce.two: sum/prod/mean/amax/amin with or without self's values.
at::Tensor& scatter_reduce_out(const at::Tensor& self, int64_t dim, const at::Tensor& index, const at::Tensor& src,
                               c10::string_view reduce, bool include_self, at::Tensor& out) {
  scatter_prepare("scatter_reduce", self, dim, index, src, out);
  const auto op = at::native::get_reduction_enum(reduce);
  using at::native::ReductionType;
  if (index.numel() == 0) return out;
  if (!include_self) {  // the reached positions start from the reduction's identity
    at::Scalar init = 0;
    if (op == ReductionType::PROD) init = 1;
    else if (op == ReductionType::MAX)
      init = at::isFloatingType(self.scalar_type()) ? at::Scalar(-std::numeric_limits<double>::infinity())
             : self.scalar_type() == at::kBool ? at::Scalar(false) : at::Scalar(std::numeric_limits<int64_t>::min());
    else if (op == ReductionType::MIN)
      init = at::isFloatingType(self.scalar_type()) ? at::Scalar(std::numeric_limits<double>::infinity())
             : self.scalar_type() == at::kBool ? at::Scalar(true) : at::Scalar(std::numeric_limits<int64_t>::max());
    if (!at::isFloatingType(self.scalar_type()) && (op == ReductionType::MAX || op == ReductionType::MIN)) {
      AT_DISPATCH_INTEGRAL_TYPES_AND(at::kBool, self.scalar_type(), "scatter_reduce_init", [&] {
        init = op == ReductionType::MAX ? std::numeric_limits<scalar_t>::lowest() : std::numeric_limits<scalar_t>::max();
      });
    }
    scatter_into("scatter_reduce", out, dim, index, scalar_buffer(init, self), true, Reduce::Assign);
  }
  const Reduce r = op == ReductionType::PROD ? Reduce::Mul
                   : op == ReductionType::MAX ? Reduce::Max
                   : op == ReductionType::MIN ? Reduce::Min
                                              : Reduce::Add;
  scatter_into("scatter_reduce", out, dim, index, src, false, r);
  if (op == ReductionType::MEAN) {
    at::Tensor count = include_self ? at::ones_like(out) : at::zeros(out.sizes(), out.options());
    scatter_into("scatter_reduce", count, at::maybe_wrap_dim(dim, self.dim()), index, at::ones_like(src), false, Reduce::Add);
    count.masked_fill_(count.eq(0), 1);
    if (at::isFloatingType(out.scalar_type())) out.div_(count);
    else out.div_(count, "floor");
  }
  return out;
}

// ---- index_add ----
at::Tensor& index_add_out(const at::Tensor& self, int64_t dim, const at::Tensor& index, const at::Tensor& source,
                          const at::Scalar& alpha, at::Tensor& out) {
  if (!takes(self)) return out = fallback_call("aten::index_add", "out", {self, dim, index, source, alpha, out});
  dim = at::maybe_wrap_dim(dim, self.dim());
  TORCH_CHECK_INDEX(index.dim() <= 1, "index_add_(): Index is supposed to be a vector");
  TORCH_CHECK(index.scalar_type() == at::kLong || index.scalar_type() == at::kInt,
              "index_add_(): Expected dtype int32/int64 for index");
  TORCH_CHECK(self.scalar_type() == source.scalar_type(), "index_add_(): self (", self.scalar_type(),
              ") and source (", source.scalar_type(), ") must have the same scalar type");
  TORCH_CHECK(dim == 0 || dim < source.dim(), "index_add_(): Indexing dim ", dim, " is out of bounds of tensor");
  TORCH_CHECK(index.numel() == (source.dim() == 0 ? 1 : source.size(dim)), "index_add_(): Number of indices (",
              index.numel(), ") should be equal to source.size(dim) (", (source.dim() == 0 ? 1 : source.size(dim)), ")");
  if (!out.is_same(self)) {
    at::native::resize_output(out, self.sizes());
    out.copy_(self);
  }
  if (index.numel() == 0) return out;
  const at::Tensor dst = at_least_1d(out), src = at_least_1d(source), idx = at_least_1d(index);
  TORCH_CHECK(dst.dim() == src.dim(), "index_add_(): self and source must have the same number of dimensions");
  std::vector<int64_t> istr(src.dim(), 0);
  istr[dim] = idx.stride(0);
  const std::vector<IndexOperand> ix{operand(idx, src.sizes(), istr, dst.size(dim), dst.stride(dim))};
  const auto d = restrided(typed_ref(dst), src.sizes(), with_stride(dst, dim, 0));
  run_indexed(out, [&] {
    return engine::run_index_scatter(current_arch(), "index_add", d, typed_ref(src), ix, Reduce::Add, alpha.toDouble());
  }, [&](const engine::IndexOutOfRange& e) {  // CPU words it by rank
    if (self.dim() <= 1) out_of_self(e);
    bounds_message(dim, false)(e);
  });
  return out;
}

// ---- advanced indexing ----
// self and its index tensors laid out like ATen's AdvancedIndex: the indexed
// dims adjacent, every index broadcast to one shape.
struct Advanced {
  at::Tensor self;
  std::vector<at::Tensor> indices;  // self.dim() entries, undefined where not indexed
  std::vector<int64_t> dim_of;      // original dim of each entry
  int64_t before = 0, count = 0;
  std::vector<int64_t> result_sizes;
};

Advanced advanced(const at::Tensor& self, const c10::List<std::optional<at::Tensor>>& orig) {
  TORCH_CHECK_INDEX(orig.size() <= static_cast<size_t>(self.dim()), "too many indices for tensor of dimension ",
                    self.dim(), " (got ", orig.size(), ")");
  at::native::checkIndexTensorTypes(orig, /*allow_int=*/true);
  auto indices = at::native::expandTensors(self, orig, /*ensure_same_device=*/true);
  try {
    indices = at::expand_outplace(indices);
  } catch (std::exception&) {
    TORCH_CHECK_INDEX(false, "shape mismatch: indexing tensors could not be broadcast together with shapes ",
                      at::native::shapes_as_str(indices));
  }
  while (indices.size() < static_cast<size_t>(self.dim())) indices.emplace_back();
  for (int64_t d = 0; d < self.dim(); ++d)
    TORCH_CHECK_INDEX(!indices[d].defined() || self.size(d) > 0 || indices[d].numel() == 0,
                      "index is out of bounds for dimension with size 0");
  Advanced a;
  a.self = self;
  for (int64_t d = 0; d < self.dim(); ++d) a.dim_of.push_back(d);
  if (!at::native::hasContiguousSubspace(indices)) {
    std::vector<int64_t> perm;
    for (int64_t d = 0; d < self.dim(); ++d) if (indices[d].defined()) perm.push_back(d);
    for (int64_t d = 0; d < self.dim(); ++d) if (!indices[d].defined()) perm.push_back(d);
    std::vector<at::Tensor> moved;
    for (int64_t d : perm) moved.push_back(indices[d]);
    a.self = self.permute(perm);
    a.dim_of = perm;
    indices = std::move(moved);
  }
  a.indices = std::move(indices);
  while (a.before < self.dim() && !a.indices[a.before].defined()) ++a.before;
  while (a.before + a.count < self.dim() && a.indices[a.before + a.count].defined()) ++a.count;
  for (int64_t d = 0; d < a.before; ++d) a.result_sizes.push_back(a.self.size(d));
  if (a.count > 0)
    for (int64_t s : a.indices[a.before].sizes()) a.result_sizes.push_back(s);
  for (int64_t d = a.before + a.count; d < self.dim(); ++d) a.result_sizes.push_back(a.self.size(d));
  return a;
}

// The data operand over the result's space (stride 0 on the index dims) and
// one IndexOperand per indexed dim.
std::pair<std::vector<int64_t>, std::vector<IndexOperand>> advanced_layout(const Advanced& a) {
  const int64_t idx_dims = a.count > 0 ? a.indices[a.before].dim() : 0;
  const int64_t rd = static_cast<int64_t>(a.result_sizes.size());
  std::vector<int64_t> data(rd, 0);
  for (int64_t d = 0; d < a.before; ++d) data[d] = a.self.stride(d);
  for (int64_t d = a.before + a.count; d < a.self.dim(); ++d) data[d - a.count + idx_dims] = a.self.stride(d);
  std::vector<IndexOperand> ops;
  for (int64_t k = 0; k < a.count; ++k) {
    const at::Tensor& idx = a.indices[a.before + k];
    std::vector<int64_t> st(rd, 0);
    for (int64_t j = 0; j < idx_dims; ++j) st[a.before + j] = idx.stride(j);
    ops.push_back(operand(idx, a.result_sizes, st, a.self.size(a.before + k),
                          a.self.stride(a.before + k), /*wrap=*/true));
  }
  return {data, ops};
}

auto advanced_message(const Advanced& a) {
  return [&a](const engine::IndexOutOfRange& e) {
    TORCH_CHECK_INDEX(false, "index ", e.value, " is out of bounds for dimension ", a.dim_of[a.before + e.operand],
                      " with size ", e.bound);
  };
}

at::Tensor& index_out(const at::Tensor& self, const c10::List<std::optional<at::Tensor>>& indices, at::Tensor& out) {
  if (!gatherable(self)) return out = fallback_call("aten::index", "Tensor_out", {self, indices, out});
  const Advanced a = advanced(self, indices);
  TORCH_CHECK(out.scalar_type() == self.scalar_type(), "index_out: self (", self.scalar_type(), ") and result (",
              out.scalar_type(), ") must have the same scalar type");
  at::native::resize_output(out, a.result_sizes);
  if (out.numel() == 0) return out;
  auto [data, ops] = advanced_layout(a);
  const auto in = restrided(byte_ref(a.self), a.result_sizes, data);
  run_indexed(out, [&] { return engine::run_index_gather(current_arch(), "index", byte_ref(out), in, ops); },
              advanced_message(a));
  return out;
}

at::Tensor index_impl(const at::Tensor& self, const c10::List<std::optional<at::Tensor>>& indices) {
  at::Tensor out = at::empty({0}, self.options());
  return index_out(self, indices, out);
}

at::Tensor& index_put_impl(at::Tensor& self, const c10::List<std::optional<at::Tensor>>& indices,
                           const at::Tensor& values, bool accumulate, bool unsafe) {
  if (!takes(self)) {
    fallback_call("aten::_index_put_impl_", "", {self, indices, values, accumulate, unsafe});
    return self;
  }
  TORCH_CHECK_INDEX(indices.size() <= static_cast<size_t>(self.dim()), "too many indices for tensor of dimension ",
                    self.dim(), " (got ", indices.size(), ")");
  TORCH_CHECK(values.scalar_type() == self.scalar_type(), "Index put requires the source and destination dtypes match, got ",
              self.scalar_type(), " for the destination and ", values.scalar_type(), " for the source.");
  const Advanced a = advanced(self, indices);
  at::Tensor vals = values.device() == self.device() ? values : values.to(self.device());
  TORCH_CHECK(at::is_expandable_to(vals.sizes(), a.result_sizes), "shape mismatch: value tensor of shape ",
              vals.sizes(), " cannot be broadcast to indexing result of shape ", c10::IntArrayRef(a.result_sizes));
  if (c10::multiply_integers(a.result_sizes) == 0) return self;
  vals = vals.expand(a.result_sizes);
  auto [data, ops] = advanced_layout(a);
  const auto d = restrided(typed_ref(a.self), a.result_sizes, data);
  run_indexed(self, [&] {
    return engine::run_index_scatter(current_arch(), "index_put", d, typed_ref(vals), ops,
                                     accumulate ? Reduce::Add : Reduce::Assign);
  }, advanced_message(a));
  return self;
}

// ---- embedding backward: a scatter-add of the gradient rows ----
at::Tensor embedding_dense_backward(const at::Tensor& grad_output, const at::Tensor& indices, c10::SymInt num_weights_,
                                    c10::SymInt padding_idx_, bool scale_grad_by_freq) {
  const int64_t num_weights = num_weights_.expect_int(), padding_idx = padding_idx_.expect_int();
  const at::Tensor idx = indices.reshape({-1});
  const int64_t dim = grad_output.size(-1);
  at::Tensor grad = grad_output.reshape({idx.numel(), dim});
  at::Tensor weight = at::zeros({num_weights, dim}, grad_output.options());
  if (idx.numel() == 0) return weight;
  if (scale_grad_by_freq) {
    at::Tensor counts = at::zeros({num_weights}, grad.options().dtype(at::kFloat));
    index_add_out(counts, 0, idx, at::ones({idx.numel()}, counts.options()), 1, counts);
    grad = grad.mul(index_select_impl(counts, 0, idx).reciprocal().unsqueeze(1).to(grad.scalar_type()));
  }
  index_add_out(weight, 0, idx, grad, 1, weight);
  if (padding_idx >= 0 && padding_idx < num_weights) weight.select(0, padding_idx).zero_();
  return weight;
}

}  // namespace

TORCH_LIBRARY_IMPL(aten, PrivateUse1, m) {
  m.impl("index_select", index_select_impl);
  m.impl("index_select.out", index_select_out);
  m.impl("gather", gather_impl);
  m.impl("gather.out", gather_out);

  m.impl("scatter.src_out", [](const at::Tensor& self, int64_t dim, const at::Tensor& index, const at::Tensor& src, at::Tensor& out) -> at::Tensor& {
    return scatter_impl("scatter", self, dim, index, src, 0, Reduce::Assign, out);
  });
  m.impl("scatter.src", [](const at::Tensor& self, int64_t dim, const at::Tensor& index, const at::Tensor& src) {
    at::Tensor out = fresh(self);
    return scatter_impl("scatter", self, dim, index, src, 0, Reduce::Assign, out);
  });
  m.impl("scatter_.src", [](at::Tensor& self, int64_t dim, const at::Tensor& index, const at::Tensor& src) -> at::Tensor& {
    return scatter_impl("scatter", self, dim, index, src, 0, Reduce::Assign, self);
  });
  m.impl("scatter.value_out", [](const at::Tensor& self, int64_t dim, const at::Tensor& index, const at::Scalar& v, at::Tensor& out) -> at::Tensor& {
    return scatter_impl("scatter", self, dim, index, std::nullopt, v, Reduce::Assign, out);
  });
  m.impl("scatter.value", [](const at::Tensor& self, int64_t dim, const at::Tensor& index, const at::Scalar& v) {
    at::Tensor out = fresh(self);
    return scatter_impl("scatter", self, dim, index, std::nullopt, v, Reduce::Assign, out);
  });
  m.impl("scatter_.value", [](at::Tensor& self, int64_t dim, const at::Tensor& index, const at::Scalar& v) -> at::Tensor& {
    return scatter_impl("scatter", self, dim, index, std::nullopt, v, Reduce::Assign, self);
  });
  m.impl("scatter.reduce_out", [](const at::Tensor& self, int64_t dim, const at::Tensor& index, const at::Tensor& src, c10::string_view r, at::Tensor& out) -> at::Tensor& {
    return scatter_impl("scatter", self, dim, index, src, 0, reduce_of(r), out);
  });
  m.impl("scatter.reduce", [](const at::Tensor& self, int64_t dim, const at::Tensor& index, const at::Tensor& src, c10::string_view r) {
    at::Tensor out = fresh(self);
    return scatter_impl("scatter", self, dim, index, src, 0, reduce_of(r), out);
  });
  m.impl("scatter_.reduce", [](at::Tensor& self, int64_t dim, const at::Tensor& index, const at::Tensor& src, c10::string_view r) -> at::Tensor& {
    return scatter_impl("scatter", self, dim, index, src, 0, reduce_of(r), self);
  });
  m.impl("scatter.value_reduce_out", [](const at::Tensor& self, int64_t dim, const at::Tensor& index, const at::Scalar& v, c10::string_view r, at::Tensor& out) -> at::Tensor& {
    return scatter_impl("scatter", self, dim, index, std::nullopt, v, reduce_of(r), out);
  });
  m.impl("scatter.value_reduce", [](const at::Tensor& self, int64_t dim, const at::Tensor& index, const at::Scalar& v, c10::string_view r) {
    at::Tensor out = fresh(self);
    return scatter_impl("scatter", self, dim, index, std::nullopt, v, reduce_of(r), out);
  });
  m.impl("scatter_.value_reduce", [](at::Tensor& self, int64_t dim, const at::Tensor& index, const at::Scalar& v, c10::string_view r) -> at::Tensor& {
    return scatter_impl("scatter", self, dim, index, std::nullopt, v, reduce_of(r), self);
  });
  m.impl("scatter_add.out", [](const at::Tensor& self, int64_t dim, const at::Tensor& index, const at::Tensor& src, at::Tensor& out) -> at::Tensor& {
    return scatter_impl("scatter_add", self, dim, index, src, 0, Reduce::Add, out);
  });
  m.impl("scatter_add", [](const at::Tensor& self, int64_t dim, const at::Tensor& index, const at::Tensor& src) {
    at::Tensor out = fresh(self);
    return scatter_impl("scatter_add", self, dim, index, src, 0, Reduce::Add, out);
  });
  m.impl("scatter_add_", [](at::Tensor& self, int64_t dim, const at::Tensor& index, const at::Tensor& src) -> at::Tensor& {
    return scatter_impl("scatter_add", self, dim, index, src, 0, Reduce::Add, self);
  });
  m.impl("scatter_reduce.two_out", scatter_reduce_out);
  m.impl("scatter_reduce.two", [](const at::Tensor& self, int64_t dim, const at::Tensor& index, const at::Tensor& src, c10::string_view r, bool include_self) {
    at::Tensor out = fresh(self);
    return scatter_reduce_out(self, dim, index, src, r, include_self, out);
  });
  m.impl("scatter_reduce_.two", [](at::Tensor& self, int64_t dim, const at::Tensor& index, const at::Tensor& src, c10::string_view r, bool include_self) -> at::Tensor& {
    return scatter_reduce_out(self, dim, index, src, r, include_self, self);
  });

  m.impl("index_add.out", index_add_out);
  m.impl("index_add", [](const at::Tensor& self, int64_t dim, const at::Tensor& index, const at::Tensor& source, const at::Scalar& alpha) {
    at::Tensor out = fresh(self);
    return index_add_out(self, dim, index, source, alpha, out);
  });
  m.impl("index_add_", [](at::Tensor& self, int64_t dim, const at::Tensor& index, const at::Tensor& source, const at::Scalar& alpha) -> at::Tensor& {
    return index_add_out(self, dim, index, source, alpha, self);
  });
  m.impl("index.Tensor", index_impl);
  m.impl("index.Tensor_out", index_out);
  m.impl("_index_put_impl_", index_put_impl);
  m.impl("embedding_dense_backward", embedding_dense_backward);
}

}  // namespace accel::aten
