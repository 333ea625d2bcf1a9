// Copy-shaped ops as copy programs (cat, flip, roll, tril/triu) and the mask
// ops (masked_fill, masked_select, masked_scatter, nonzero).
#include <ATen/ExpandUtils.h>
#include <ATen/MemoryOverlap.h>
#include <ATen/WrapDimUtils.h>
#include <ATen/WrapDimUtilsMulti.h>
#include <ATen/native/Resize.h>
#include <ATen/native/TypeProperties.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/empty_like.h>
#include <torch/library.h>

#include <bitset>

#include "aten/engine_bridge.h"
#include "aten/fallback.h"
#include "aten/movement_bridge.h"

namespace accel::aten {
namespace {

using Pairs = std::vector<std::pair<engine::TensorRef, engine::TensorRef>>;

// A (destination, source) pair moving bytes when the dtypes agree.
std::pair<engine::TensorRef, engine::TensorRef> pair_of(const at::Tensor& dst, const at::Tensor& src) {
  if (dst.scalar_type() == src.scalar_type()) return {byte_ref(dst), byte_ref(src)};
  return {typed_ref(dst), typed_ref(src)};
}

bool pairable(const at::Tensor& dst, const at::Tensor& src) {
  return dst.scalar_type() == src.scalar_type() ? movable_as_bytes(dst)
                                                 : tile_dtype_of(dst.scalar_type()) && tile_dtype_of(src.scalar_type());
}

void run_pairs(const at::Tensor& device_of, const char* op, const Pairs& pairs, engine::CopyOptions o = {}) {
  record_for(device_of, run_program([&] { return engine::run_copies(current_arch(), op, pairs, o); }));
}

// ---- cat ----
bool skipped(const at::Tensor& t) { return t.dim() == 1 && t.size(0) == 0; }  // legacy empty

at::Tensor& cat_out(const at::ITensorListRef& tensors, int64_t dim, at::Tensor& out) {
  const auto list = tensors.materialize();
  TORCH_CHECK(!list.empty(), "torch.cat(): expected a non-empty list of Tensors");
  const at::Tensor* ref = nullptr;
  for (const at::Tensor& t : list) {
    TORCH_CHECK(t.dim() > 0, "zero-dimensional tensor (at position ", &t - &list[0].get(), ") cannot be concatenated");
    if (!ref && !skipped(t)) ref = &t;
  }
  const at::ScalarType dtype = at::native::result_type(tensors);
  TORCH_CHECK(at::canCast(dtype, out.scalar_type()), "torch.cat(): input types can't be cast to the desired output type ",
              out.scalar_type());
  bool native = pairable(out, out);
  for (const at::Tensor& t : list) native = native && pairable(out, t);
  if (!native) return out = fallback_call("aten::cat", "out", {std::vector<at::Tensor>(list.begin(), list.end()), dim, out});
  if (!ref) {
    at::native::resize_output(out, {0});
    return out;
  }
  dim = at::maybe_wrap_dim(dim, ref->dim());
  auto sizes = ref->sizes().vec();
  sizes[dim] = 0;
  int64_t i = 0;
  for (const at::Tensor& t : list) {
    if (skipped(t)) { ++i; continue; }
    TORCH_CHECK(t.dim() == ref->dim(), "Tensors must have same number of dimensions: got ", ref->dim(), " and ", t.dim());
    for (int64_t d = 0; d < t.dim(); ++d)
      TORCH_CHECK(d == dim || t.size(d) == ref->size(d), "Sizes of tensors must match except in dimension ", dim,
                  ". Expected size ", ref->size(d), " but got size ", t.size(d), " for tensor number ", i, " in the list.");
    TORCH_CHECK(t.device() == out.device(), "Expected all tensors to be on the same device, but found at least two "
                "devices, ", out.device(), " and ", t.device(), "!");
    sizes[dim] += t.size(dim);
    ++i;
  }
  at::native::resize_output(out, sizes);
  Pairs pairs;
  int64_t offset = 0;
  for (const at::Tensor& t : list) {
    if (skipped(t)) continue;
    at::assert_no_overlap(out, t);
    if (t.numel() > 0) {
      // out's slab for t, as out's ref moved along dim: no view tensor per input.
      auto pair = pair_of(out, t);
      pair.first.data = static_cast<char*>(pair.first.data) + offset * out.stride(dim) * out.element_size();
      pair.first.sizes[dim] = t.size(dim);
      pairs.push_back(std::move(pair));
    }
    offset += t.size(dim);
  }
  run_pairs(out, "cat", pairs);
  return out;
}

at::Tensor cat_impl(const at::ITensorListRef& tensors, int64_t dim) {
  const auto list = tensors.materialize();
  TORCH_CHECK(!list.empty(), "torch.cat(): expected a non-empty list of Tensors");
  at::Tensor out = at::empty({0}, list[0].get().options().dtype(at::native::result_type(tensors)));
  return cat_out(tensors, dim, out);
}

// ---- flip, roll ----
at::Tensor flip_impl(const at::Tensor& self, at::IntArrayRef dims) {
  const auto flipped = at::dim_list_to_bitset(dims, self.dim());
  at::Tensor out = at::empty_like(self, at::MemoryFormat::Preserve);
  if (!movable_as_bytes(self)) return fallback_call("aten::flip", "", {self, dims});
  if (self.numel() == 0) return out;
  engine::TensorRef in = byte_ref(self);
  const int64_t elem = engine::dtype_bytes(in.dtype);
  for (int64_t d = 0; d < self.dim(); ++d) {
    if (!flipped[d] || self.size(d) <= 1) continue;
    const int64_t s = in.strides[d];
    in.data = static_cast<char*>(in.data) + (self.size(d) - 1) * s * elem;
    in.strides[d] = -s;
  }
  run_pairs(out, "flip", {{byte_ref(out), in}});
  return out;
}

at::Tensor roll_impl(const at::Tensor& self, at::IntArrayRef shifts, at::IntArrayRef dims) {
  if (dims.empty() && shifts.size() == 1) {
    at::Tensor flat = self.reshape({-1});
    return roll_impl(flat, shifts, {0}).view(self.sizes());
  }
  TORCH_CHECK(!shifts.empty(), "`shifts` required");
  TORCH_CHECK(shifts.size() == dims.size(), "shifts and dimensions must align. shifts: ", shifts.size(), ", dims:",
              dims.size());
  if (!movable_as_bytes(self)) return fallback_call("aten::roll", "", {self, shifts, dims});
  at::Tensor out = at::empty_like(self, at::MemoryFormat::Contiguous);
  if (self.numel() == 0) return out;
  // Each rolled dim splits into two blocks; every combination is one copy.
  Pairs pairs{{byte_ref(out), byte_ref(self)}};
  std::vector<std::pair<at::Tensor, at::Tensor>> views{{out, self}};
  for (size_t k = 0; k < dims.size(); ++k) {
    const int64_t d = at::maybe_wrap_dim(dims[k], self.dim());
    const int64_t n = self.size(d);
    const int64_t s = ((shifts[k] % n) + n) % n;
    if (s == 0) continue;
    std::vector<std::pair<at::Tensor, at::Tensor>> next;
    for (const auto& [o, i] : views) {
      next.emplace_back(o.narrow(d, s, n - s), i.narrow(d, 0, n - s));
      next.emplace_back(o.narrow(d, 0, s), i.narrow(d, n - s, s));
    }
    views = std::move(next);
  }
  pairs.clear();
  for (const auto& [o, i] : views) pairs.push_back({byte_ref(o), byte_ref(i)});
  run_pairs(out, "roll", pairs);
  return out;
}

// ---- tril, triu ----
at::Tensor& triangle_out(const char* name, engine::Triangle tri, const at::Tensor& self, int64_t diagonal, at::Tensor& out) {
  TORCH_CHECK(self.dim() >= 2, name, ": input tensor must have at least 2 dimensions");
  if (!out.is_same(self)) {
    TORCH_CHECK(out.scalar_type() == self.scalar_type(), "Expected out tensor to have dtype ", self.scalar_type(),
                ", but got ", out.scalar_type(), " instead");
    at::native::resize_output(out, self.sizes());
  }
  if (self.numel() == 0) return out;
  TORCH_CHECK(movable_as_bytes(self), name, ": unsupported element size");
  run_pairs(out, name, {{byte_ref(out), byte_ref(self)}}, {tri, diagonal});
  return out;
}

// ---- masks ----
// The scalar as one element of `dtype`, as the fill kernel writes it.
std::array<char, 16> scalar_bytes(const at::Scalar& value, at::ScalarType dtype) {
  std::array<char, 16> b{};
  AT_DISPATCH_V2(dtype, "masked_fill", AT_WRAP([&] {
    const scalar_t v = value.to<scalar_t>();
    std::memcpy(b.data(), &v, sizeof(v));
  }), AT_EXPAND(AT_ALL_TYPES_AND_COMPLEX), at::kHalf, at::kBFloat16, at::kBool);
  return b;
}

at::Tensor& masked_fill_scalar(at::Tensor& self, const at::Tensor& mask, const at::Scalar& value) {
  TORCH_CHECK(mask.scalar_type() == at::kBool, "masked_fill_ only supports boolean masks, but got mask with dtype ",
              mask.scalar_type());
  TORCH_CHECK(self.device() == mask.device(), "expected self and mask to be on the same device, but got mask on ",
              mask.device(), " and self on ", self.device());
  if (at::has_internal_overlap(self) == at::MemOverlap::Yes)
    TORCH_WARN("Use of masked_fill_ on expanded tensors is deprecated. Please clone() the tensor before performing "
               "this operation. This also applies to advanced indexing e.g. tensor[mask] = scalar");
  at::assert_no_partial_overlap(self, mask);
  const at::Tensor m = *at::expand_inplace(self, mask);
  if (self.numel() == 0) return self;
  const auto bytes = scalar_bytes(value, self.scalar_type());
  if (!movable_as_bytes(self) || self.element_size() > 8) {
    fallback_call("aten::masked_fill_", "Scalar", {self, mask, value});
    return self;
  }
  record_for(self, run_program([&] {
    return engine::run_masked_fill(current_arch(), "masked_fill", byte_ref(self), byte_ref(m), bytes.data());
  }));
  return self;
}

at::Tensor& masked_fill_tensor(at::Tensor& self, const at::Tensor& mask, const at::Tensor& value) {
  TORCH_CHECK(value.dim() == 0, "masked_fill_ only supports a 0-dimensional value tensor, but got tensor with ",
              value.dim(), " dimension(s).");
  return masked_fill_scalar(self, mask, value.item());
}

int64_t count(const at::Tensor& mask, const at::Tensor& device_of) {
  engine::ProgramRecord rec;
  const int64_t n = engine::count_true(current_arch(), byte_ref(mask), engine::recording() ? &rec : nullptr);
  if (engine::recording()) record_for(device_of, std::move(rec));
  return n;
}

at::Tensor& masked_select_out(const at::Tensor& self, const at::Tensor& mask, at::Tensor& out) {
  TORCH_CHECK(mask.scalar_type() == at::kBool, "masked_select: expected BoolTensor for mask");
  TORCH_CHECK(self.scalar_type() == out.scalar_type(), "masked_select(): self and result must have the same scalar type");
  at::assert_no_internal_overlap(out);
  auto [s, m] = at::expand_outplace(self, mask);
  if (!movable_as_bytes(self) || self.element_size() > 8)
    return out = fallback_call("aten::masked_select", "out", {self, mask, out});
  const int64_t n = count(*m, out);
  at::native::resize_output(out, {n});
  if (n == 0) return out;
  record_for(out, engine::run_masked_select(current_arch(), byte_ref(out), byte_ref(*s), byte_ref(*m)));
  return out;
}

at::Tensor masked_select_impl(const at::Tensor& self, const at::Tensor& mask) {
  at::Tensor out = at::empty({0}, self.options());
  return masked_select_out(self, mask, out);
}

at::Tensor& nonzero_out(const at::Tensor& self, at::Tensor& out) {
  TORCH_CHECK(out.scalar_type() == at::kLong, "nonzero: Expected out tensor to have scalar type Long but got scalar type",
              out.scalar_type());
  TORCH_CHECK(tile_dtype_of(self.scalar_type()), "nonzero: unsupported dtype ", self.scalar_type());
  const int64_t n = count(self, out);
  at::native::resize_output(out, {n, self.dim()});
  if (n == 0 || self.dim() == 0) return out;
  record_for(out, engine::run_nonzero(current_arch(), typed_ref(out), typed_ref(self)));
  return out;
}

at::Tensor nonzero_impl(const at::Tensor& self) {
  if (!tile_dtype_of(self.scalar_type())) return fallback_call("aten::nonzero", "", {self});
  at::Tensor out = at::empty({0}, self.options().dtype(at::kLong));
  return nonzero_out(self, out);
}

at::Tensor& masked_scatter_(at::Tensor& self, const at::Tensor& mask, const at::Tensor& source) {
  TORCH_CHECK(self.scalar_type() == source.scalar_type(), "masked_scatter_: expected self and source to have same dtypes but got",
              self.scalar_type(), " and ", source.scalar_type());
  TORCH_CHECK(mask.scalar_type() == at::kBool, "masked_scatter_ only supports boolean masks, but got mask with dtype ",
              mask.scalar_type());
  at::assert_no_internal_overlap(self);
  const at::Tensor m = *at::expand_inplace(self, mask);
  if (self.numel() == 0) return self;
  if (!movable_as_bytes(self) || self.element_size() > 8) {
    fallback_call("aten::masked_scatter_", "", {self, mask, source});
    return self;
  }
  const int64_t n = count(m, self);
  TORCH_CHECK(n <= source.numel(), "Number of elements of source < number of ones in mask");
  if (n == 0) return self;
  const at::Tensor src = source.contiguous();
  record_for(self, engine::run_masked_scatter(current_arch(), byte_ref(self), byte_ref(src), byte_ref(m)));
  return self;
}

}  // namespace

TORCH_LIBRARY_IMPL(aten, PrivateUse1, m) {
  m.impl("cat", cat_impl);
  m.impl("cat.out", cat_out);
  m.impl("flip", flip_impl);
  m.impl("roll", roll_impl);
  m.impl("tril", [](const at::Tensor& self, int64_t k) {
    at::Tensor out = at::empty_like(self, at::MemoryFormat::Contiguous);
    return triangle_out("tril", engine::Triangle::Lower, self, k, out);
  });
  m.impl("tril_", [](at::Tensor& self, int64_t k) -> at::Tensor& {
    return triangle_out("tril", engine::Triangle::Lower, self, k, self);
  });
  m.impl("tril.out", [](const at::Tensor& self, int64_t k, at::Tensor& out) -> at::Tensor& {
    return triangle_out("tril", engine::Triangle::Lower, self, k, out);
  });
  m.impl("triu", [](const at::Tensor& self, int64_t k) {
    at::Tensor out = at::empty_like(self, at::MemoryFormat::Contiguous);
    return triangle_out("triu", engine::Triangle::Upper, self, k, out);
  });
  m.impl("triu_", [](at::Tensor& self, int64_t k) -> at::Tensor& {
    return triangle_out("triu", engine::Triangle::Upper, self, k, self);
  });
  m.impl("triu.out", [](const at::Tensor& self, int64_t k, at::Tensor& out) -> at::Tensor& {
    return triangle_out("triu", engine::Triangle::Upper, self, k, out);
  });
  m.impl("masked_fill_.Scalar", masked_fill_scalar);
  m.impl("masked_fill_.Tensor", masked_fill_tensor);
  m.impl("masked_select", masked_select_impl);
  m.impl("masked_select.out", masked_select_out);
  m.impl("nonzero", nonzero_impl);
  m.impl("nonzero.out", nonzero_out);
  m.impl("masked_scatter_", masked_scatter_);
}

}  // namespace accel::aten
