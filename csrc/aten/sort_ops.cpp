// Registrations of the sort family: sort (stable or not, either direction,
// any dim), and through it argsort and msort; topk; kthvalue; median. Each
// checks its arguments as CPU ATen does and runs one sort program.
#include <ATen/WrapDimUtils.h>
#include <ATen/core/Tensor.h>
#include <ATen/native/ReduceOpsUtils.h>
#include <ATen/native/Resize.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/mode.h>
#include <torch/library.h>

#include "aten/engine_bridge.h"
#include "aten/out_arg.h"
#include "engine/sort.h"
#include "glue/glue.h"

namespace accel::aten {
namespace {

using engine::SortMode;
using engine::SortParams;
using Pair = std::tuple<at::Tensor&, at::Tensor&>;

engine::TensorRef ref_of(const at::Tensor& t) {
  return {t.data_ptr(), engine_dtype(t.scalar_type()), t.sizes().vec(), t.strides().vec()};
}

void check_out(const at::Tensor& out, at::ScalarType expected) {
  TORCH_CHECK(out.scalar_type() == expected, "Expected out tensor to have dtype ", expected,
              ", but got ", out.scalar_type(), " instead");
}

// Sizes of self with its `dim` entry set to `len` (or dropped).
std::vector<int64_t> out_sizes(const at::Tensor& self, int64_t dim, int64_t len, bool keep) {
  std::vector<int64_t> sizes = self.sizes().vec();
  if (self.dim() == 0) return sizes;
  if (keep) sizes[dim] = len;
  else sizes.erase(sizes.begin() + dim);
  return sizes;
}

void launch(const char* op, const at::Tensor& self, int64_t dim, const at::Tensor& values,
            const at::Tensor& indices, const SortParams& params) {
  TORCH_CHECK(!self.is_complex(), op, "(): does not support complex dtypes");
  check_out(values, self.scalar_type());
  check_out(indices, at::kLong);
  if (self.numel() == 0) return;
  // Reductions without keepdim still see their dim, of size 1.
  const bool reduced = values.dim() < self.dim();
  const at::Tensor v = reduced ? values.unsqueeze(dim) : values;
  const at::Tensor i = reduced ? indices.unsqueeze(dim) : indices;
  auto& runtime = chip::Runtime::get();
  const chip::Arch& arch = glue::chip_call([&]() -> const chip::Arch& { return runtime.arch(); });
  engine::ProgramRecord rec;
  try {
    rec = engine::run_sort(arch, op, ref_of(self), dim, ref_of(v), ref_of(i), params);
  } catch (const engine::L1OverflowError& e) {
    TORCH_CHECK(false, e.what());
  }
  rec.device = self.device().index();
  engine::record(std::move(rec));
}

Pair sort_out(const at::Tensor& self, std::optional<bool> stable, int64_t dim, bool descending,
              at::Tensor& values, at::Tensor& indices) {
  TORCH_CHECK(!self.is_complex(), " Sort does not support complex dtypes on CPU");
  dim = at::maybe_wrap_dim(dim, self.dim());
  check_out(values, self.scalar_type());
  check_out(indices, at::kLong);
  at::native::resize_output(values, self.sizes());
  at::native::resize_output(indices, self.sizes());
  // Keys carry their index, so every sort is stable: that also answers stable=False.
  launch("sort", self, dim, values, indices, {SortMode::Sort, descending, 0, true});
  return {values, indices};
}

std::tuple<at::Tensor, at::Tensor> sort(const at::Tensor& self, std::optional<bool> stable,
                                        int64_t dim, bool descending) {
  at::Tensor values = at::empty({0}, self.options());
  at::Tensor indices = at::empty({0}, self.options().dtype(at::kLong));
  sort_out(self, stable, dim, descending, values, indices);
  return {values, indices};
}

Pair topk_out(const at::Tensor& self, int64_t k, int64_t dim, bool largest, bool sorted,
              at::Tensor& values, at::Tensor& indices) {
  dim = at::maybe_wrap_dim(dim, self.dim(), true);
  TORCH_CHECK(k >= 0 && k <= (self.dim() > 0 ? self.size(dim) : 1), "selected index k out of range");
  check_out(values, self.scalar_type());
  check_out(indices, at::kLong);
  const auto sizes = out_sizes(self, dim, k, true);
  at::native::resize_output(values, sizes);
  at::native::resize_output(indices, sizes);
  if (k > 0) launch("topk", self, dim, values, indices, {SortMode::TopK, largest, k, sorted});
  return {values, indices};
}

std::tuple<at::Tensor, at::Tensor> topk(const at::Tensor& self, int64_t k, int64_t dim, bool largest,
                                        bool sorted) {
  at::Tensor values = at::empty({0}, self.options());
  at::Tensor indices = at::empty({0}, self.options().dtype(at::kLong));
  topk_out(self, k, dim, largest, sorted, values, indices);
  return {values, indices};
}

// kthvalue and median(dim): one selected entry per row.
Pair select_out(const char* op, SortMode mode, const at::Tensor& self, int64_t k, int64_t dim,
                bool keepdim, at::Tensor& values, at::Tensor& indices) {
  dim = at::maybe_wrap_dim(dim, self.dim(), true);
  at::native::zero_numel_check_dims(self, dim, (std::string(op) + "()").c_str());
  const int64_t n = self.dim() > 0 ? self.size(dim) : 1;
  if (mode == SortMode::Kth)
    TORCH_CHECK(k >= 1 && k <= n, "kthvalue(): selected number k out of range for dimension ", dim);
  check_out(values, self.scalar_type());
  check_out(indices, at::kLong);
  const auto sizes = out_sizes(self, dim, 1, keepdim);
  at::native::resize_output(values, sizes);
  at::native::resize_output(indices, sizes);
  launch(op, self, dim, values, indices, {mode, false, k, false});
  return {values, indices};
}

Pair kthvalue_out(const at::Tensor& self, int64_t k, int64_t dim, bool keepdim, at::Tensor& values,
                  at::Tensor& indices) {
  return select_out("kthvalue", SortMode::Kth, self, k, dim, keepdim, values, indices);
}

Pair median_dim_out(const at::Tensor& self, int64_t dim, bool keepdim, at::Tensor& values,
                    at::Tensor& indices) {
  return select_out("median", SortMode::Median, self, 0, dim, keepdim, values, indices);
}

at::Tensor median(const at::Tensor& self) {
  TORCH_CHECK(!self.is_complex(), "median() does not support complex inputs");
  at::Tensor values = at::empty({}, self.options());
  if (self.numel() == 0) return values.fill_(std::numeric_limits<double>::quiet_NaN());
  at::Tensor indices = at::empty({}, self.options().dtype(at::kLong));
  const at::Tensor flat = self.reshape({-1});
  launch("median", flat, 0, values.unsqueeze(0), indices.unsqueeze(0), {SortMode::Median, false, 0, false});
  return values;
}

// ATen's composite mode.values accepts only CPU, CUDA and XPU tensors; the values
// come from aten::mode (the CPU fallback, counted) and land in the given tensors.
std::tuple<at::Tensor&, at::Tensor&> mode_out(const at::Tensor& self, int64_t dim, bool keepdim,
                                              at::Tensor& values, at::Tensor& indices) {
  auto [v, i] = at::mode(self, dim, keepdim);
  return {assign_out(values, v), assign_out(indices, i)};
}

}  // namespace

TORCH_LIBRARY_IMPL(aten, PrivateUse1, m) {
  m.impl("mode.values", mode_out);
  m.impl("sort.stable", sort);
  m.impl("sort.values_stable", sort_out);
  m.impl("topk", topk);
  m.impl("topk.values", topk_out);
  m.impl("kthvalue.values", kthvalue_out);
  m.impl("median.dim_values", median_dim_out);
  m.impl("median", median);
}

}  // namespace accel::aten
