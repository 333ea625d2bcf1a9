// Registrations of the matmul-class ops. Each checks its operands as CPU ATen
// does, sees them as 3-D [batch, rows, cols] operands, and runs one matmul
// program; bias, alpha and beta go to the program's epilogue.
#include <ATen/MemoryOverlap.h>
#include <ATen/native/Resize.h>
#include <ATen/ops/empty.h>
#include <torch/library.h>

#include "aten/device_check.h"
#include "aten/engine_bridge.h"
#include "aten/fallback.h"
#include "aten/matmul_launch.h"
#include "glue/glue.h"

namespace accel::aten {

engine::TensorRef matmul_operand(const at::Tensor& t, std::array<int64_t, 3> sizes,
                                 std::array<int64_t, 3> strides) {
  check_accel_operand(t);
  engine::TensorRef r;
  r.data = t.data_ptr();
  r.dtype = engine_dtype(t.scalar_type());
  r.sizes.assign(sizes.begin(), sizes.end());
  r.strides.assign(strides.begin(), strides.end());
  return r;
}

bool matmul_dtype(at::ScalarType t) {
  return t == at::kFloat || t == at::kBFloat16 || t == at::kHalf;
}

void launch_matmul(const char* op, engine::MatmulArgs& args, const at::Tensor& out) {
  args.cfg = engine::current_compute_config();
  const chip::Arch& arch =
      glue::chip_call([&]() -> const chip::Arch& { return chip::Runtime::get().arch(); });
  engine::ProgramRecord rec;
  try {
    rec = engine::run_matmul(arch, op, args);
  } catch (const engine::L1OverflowError& e) {
    TORCH_CHECK(false, e.what());
  }
  rec.device = out.device().index();
  engine::record(std::move(rec));
}

namespace {

// 0-D -> [1,1,1], a vector -> a column [1,n,1], a matrix -> [1,M,N], 3-D as is.
engine::TensorRef as_operand(const at::Tensor& t) {
  switch (t.dim()) {
    case 0: return matmul_operand(t, {1, 1, 1}, {0, 0, 0});
    case 1: return matmul_operand(t, {1, t.size(0), 1}, {0, t.stride(0), 0});
    case 2: return matmul_operand(t, {1, t.size(0), t.size(1)}, {0, t.stride(0), t.stride(1)});
    default:
      return matmul_operand(t, {t.size(0), t.size(1), t.size(2)}, {t.stride(0), t.stride(1), t.stride(2)});
  }
}

bool native(std::initializer_list<const at::Tensor*> ts) {
  for (const at::Tensor* t : ts)
    if (t->defined() && !matmul_dtype(t->scalar_type())) return false;
  return true;
}

bool shares_memory(const at::Tensor& out, const at::Tensor& in) {
  return in.defined() && at::get_overlap_status(out, in) != at::MemOverlapStatus::No;
}

void check_out(const at::Tensor& out, const at::Tensor& like) {
  TORCH_CHECK(out.scalar_type() == like.scalar_type(), "Expected out tensor to have dtype ",
              like.scalar_type(), ", but got ", out.scalar_type(), " instead");
  TORCH_CHECK(out.device() == like.device(), "Expected out tensor to be on device ", like.device(),
              ", but got ", out.device());
  at::assert_no_internal_overlap(out);
}

// out = beta * self + alpha * a @ b, with `self` already expanded to out's
// shape (or undefined). An out that shares memory with a or b gets the result
// through a temporary, since the cores write blocks while others still read.
at::Tensor& run(const char* op, at::Tensor& out, engine::TensorRef a, engine::TensorRef b,
                const at::Tensor& a_t, const at::Tensor& b_t, const at::Tensor& self,
                const at::Scalar& beta, const at::Scalar& alpha, bool reduce_batch = false) {
  if (out.numel() == 0) return out;
  const bool via_temp = shares_memory(out, a_t) || shares_memory(out, b_t) ||
                        (self.defined() && at::get_overlap_status(out, self) == at::MemOverlapStatus::Partial);
  at::Tensor target = via_temp ? at::empty(out.sizes(), out.options()) : out;
  engine::MatmulArgs args;
  args.a = std::move(a);
  args.b = std::move(b);
  args.out = as_operand(target);
  args.alpha = alpha.to<float>();
  args.beta = self.defined() ? beta.to<float>() : 0.f;
  if (self.defined()) args.bias = as_operand(self);
  args.reduce_batch = reduce_batch;
  launch_matmul(op, args, target);
  if (via_temp) out.copy_(target);
  return out;
}

const at::Scalar kOne(1), kZero(0);

void check_same_dtype(const at::Tensor& a, const at::Tensor& b) {
  check_same_device(a, b);  // before the dtype, as CUDA's wrappers check
  TORCH_CHECK(a.scalar_type() == b.scalar_type(), "expected m1 and m2 to have the same dtype, but got: ",
              a.scalar_type(), " != ", b.scalar_type());
}

void check_mm(const at::Tensor& a, const at::Tensor& b) {
  TORCH_CHECK(a.dim() == 2, "self must be a matrix");
  TORCH_CHECK(b.dim() == 2, "mat2 must be a matrix");
  TORCH_CHECK(a.size(1) == b.size(0), "mat1 and mat2 shapes cannot be multiplied (", a.size(0), "x",
              a.size(1), " and ", b.size(0), "x", b.size(1), ")");
  check_same_dtype(a, b);
}

void check_bmm(const at::Tensor& a, const at::Tensor& b) {
  TORCH_CHECK(a.dim() == 3, "batch1 must be a 3D tensor");
  TORCH_CHECK(b.dim() == 3, "batch2 must be a 3D tensor");
  TORCH_CHECK(b.size(0) == a.size(0) && b.size(1) == a.size(2),
              "Expected size for first two dimensions of batch2 tensor to be: [", a.size(0), ", ",
              a.size(2), "] but got: [", b.size(0), ", ", b.size(1), "].");
  check_same_dtype(a, b);
}

void check_mv(const at::Tensor& a, const at::Tensor& v) {
  TORCH_CHECK(a.dim() == 2 && v.dim() == 1, "vector + matrix @ vector expected, got 1, ", a.dim(),
              ", ", v.dim());
  TORCH_CHECK(a.size(1) == v.size(0), "size mismatch, got input (", a.size(0), "), mat (", a.size(0),
              "x", a.size(1), "), vec (", v.size(0), ")");
  check_same_dtype(a, v);
}

// self for the epilogue: broadcast to out's shape; in place, it must be out's shape.
at::Tensor expanded(const at::Tensor& self, at::IntArrayRef shape, bool in_place) {
  if (in_place)
    TORCH_CHECK(self.sizes() == shape, "The input tensor must have size ", shape, " for an in-place ",
                "update, but got ", self.sizes());
  return self.expand(shape);
}

// --- mm / addmm -------------------------------------------------------------

at::Tensor& addmm_into(const char* op, at::Tensor& out, const at::Tensor& self, const at::Tensor& a,
                       const at::Tensor& b, const at::Scalar& beta, const at::Scalar& alpha,
                       bool in_place = false) {
  check_mm(a, b);
  const std::vector<int64_t> shape{a.size(0), b.size(1)};
  const at::Tensor bias = self.defined() ? expanded(self, shape, in_place) : at::Tensor();
  if (bias.defined()) check_same_dtype(bias, a);
  if (!in_place) {
    check_out(out, a);
    at::native::resize_output(out, shape);
  }
  return run(op, out, as_operand(a), as_operand(b), a, b, bias, beta, alpha);
}

at::Tensor mm(const at::Tensor& a, const at::Tensor& b) {
  if (!native({&a, &b})) return fallback_call("aten::mm", "", {a, b});
  check_mm(a, b);
  at::Tensor out = at::empty({a.size(0), b.size(1)}, a.options());
  return addmm_into("aten::mm", out, {}, a, b, kZero, kOne);
}

at::Tensor& mm_out(const at::Tensor& a, const at::Tensor& b, at::Tensor& out) {
  if (!native({&a, &b, &out})) { fallback_call("aten::mm", "out", {a, b, out}); return out; }
  return addmm_into("aten::mm.out", out, {}, a, b, kZero, kOne);
}

at::Tensor addmm(const at::Tensor& self, const at::Tensor& a, const at::Tensor& b,
                 const at::Scalar& beta, const at::Scalar& alpha) {
  if (!native({&self, &a, &b})) return fallback_call("aten::addmm", "", {self, a, b, beta, alpha});
  check_mm(a, b);
  at::Tensor out = at::empty({a.size(0), b.size(1)}, a.options());
  return addmm_into("aten::addmm", out, self, a, b, beta, alpha);
}

at::Tensor& addmm_out(const at::Tensor& self, const at::Tensor& a, const at::Tensor& b,
                      const at::Scalar& beta, const at::Scalar& alpha, at::Tensor& out) {
  if (!native({&self, &a, &b, &out})) { fallback_call("aten::addmm", "out", {self, a, b, beta, alpha, out}); return out; }
  return addmm_into("aten::addmm.out", out, self, a, b, beta, alpha);
}

at::Tensor& addmm_(at::Tensor& self, const at::Tensor& a, const at::Tensor& b,
                   const at::Scalar& beta, const at::Scalar& alpha) {
  if (!native({&self, &a, &b})) { fallback_call("aten::addmm_", "", {self, a, b, beta, alpha}); return self; }
  return addmm_into("aten::addmm_", self, self, a, b, beta, alpha, true);
}

// --- bmm / baddbmm / addbmm -------------------------------------------------

at::Tensor& baddbmm_into(const char* op, at::Tensor& out, const at::Tensor& self, const at::Tensor& a,
                         const at::Tensor& b, const at::Scalar& beta, const at::Scalar& alpha,
                         bool in_place = false) {
  check_bmm(a, b);
  const std::vector<int64_t> shape{a.size(0), a.size(1), b.size(2)};
  const at::Tensor bias = self.defined() ? expanded(self, shape, in_place) : at::Tensor();
  if (bias.defined()) check_same_dtype(bias, a);
  if (!in_place) {
    check_out(out, a);
    at::native::resize_output(out, shape);
  }
  return run(op, out, as_operand(a), as_operand(b), a, b, bias, beta, alpha);
}

at::Tensor bmm(const at::Tensor& a, const at::Tensor& b) {
  if (!native({&a, &b})) return fallback_call("aten::bmm", "", {a, b});
  check_bmm(a, b);
  at::Tensor out = at::empty({a.size(0), a.size(1), b.size(2)}, a.options());
  return baddbmm_into("aten::bmm", out, {}, a, b, kZero, kOne);
}

at::Tensor& bmm_out(const at::Tensor& a, const at::Tensor& b, at::Tensor& out) {
  if (!native({&a, &b, &out})) { fallback_call("aten::bmm", "out", {a, b, out}); return out; }
  return baddbmm_into("aten::bmm.out", out, {}, a, b, kZero, kOne);
}

at::Tensor baddbmm(const at::Tensor& self, const at::Tensor& a, const at::Tensor& b,
                   const at::Scalar& beta, const at::Scalar& alpha) {
  if (!native({&self, &a, &b})) return fallback_call("aten::baddbmm", "", {self, a, b, beta, alpha});
  check_bmm(a, b);
  at::Tensor out = at::empty({a.size(0), a.size(1), b.size(2)}, a.options());
  return baddbmm_into("aten::baddbmm", out, self, a, b, beta, alpha);
}

at::Tensor& baddbmm_out(const at::Tensor& self, const at::Tensor& a, const at::Tensor& b,
                        const at::Scalar& beta, const at::Scalar& alpha, at::Tensor& out) {
  if (!native({&self, &a, &b, &out})) { fallback_call("aten::baddbmm", "out", {self, a, b, beta, alpha, out}); return out; }
  return baddbmm_into("aten::baddbmm.out", out, self, a, b, beta, alpha);
}

at::Tensor& baddbmm_(at::Tensor& self, const at::Tensor& a, const at::Tensor& b,
                     const at::Scalar& beta, const at::Scalar& alpha) {
  if (!native({&self, &a, &b})) { fallback_call("aten::baddbmm_", "", {self, a, b, beta, alpha}); return self; }
  return baddbmm_into("aten::baddbmm_", self, self, a, b, beta, alpha, true);
}

at::Tensor& addbmm_into(const char* op, at::Tensor& out, const at::Tensor& self, const at::Tensor& a,
                        const at::Tensor& b, const at::Scalar& beta, const at::Scalar& alpha,
                        bool in_place = false) {
  TORCH_CHECK(a.dim() == 3, "batch1 must be a 3D tensor");
  TORCH_CHECK(b.dim() == 3, "batch2 must be a 3D tensor");
  TORCH_CHECK(a.size(0) == b.size(0), "batch1 and batch2 must have same number of batches, got ",
              a.size(0), " and ", b.size(0));
  TORCH_CHECK(a.size(2) == b.size(1), "Incompatible matrix sizes for bmm (", a.size(1), "x", a.size(2),
              " and ", b.size(1), "x", b.size(2), ")");
  check_same_dtype(a, b);
  const std::vector<int64_t> shape{a.size(1), b.size(2)};
  const at::Tensor bias = expanded(self, shape, in_place);
  check_same_dtype(bias, a);
  if (!in_place) {
    check_out(out, a);
    at::native::resize_output(out, shape);
  }
  return run(op, out, as_operand(a), as_operand(b), a, b, bias, beta, alpha, /*reduce_batch=*/true);
}

at::Tensor addbmm(const at::Tensor& self, const at::Tensor& a, const at::Tensor& b,
                  const at::Scalar& beta, const at::Scalar& alpha) {
  if (!native({&self, &a, &b})) return fallback_call("aten::addbmm", "", {self, a, b, beta, alpha});
  TORCH_CHECK(a.dim() == 3 && b.dim() == 3, "batch1 and batch2 must be 3D tensors");
  at::Tensor out = at::empty({a.size(1), b.size(2)}, a.options());
  return addbmm_into("aten::addbmm", out, self, a, b, beta, alpha);
}

at::Tensor& addbmm_out(const at::Tensor& self, const at::Tensor& a, const at::Tensor& b,
                       const at::Scalar& beta, const at::Scalar& alpha, at::Tensor& out) {
  if (!native({&self, &a, &b, &out})) { fallback_call("aten::addbmm", "out", {self, a, b, beta, alpha, out}); return out; }
  return addbmm_into("aten::addbmm.out", out, self, a, b, beta, alpha);
}

at::Tensor& addbmm_(at::Tensor& self, const at::Tensor& a, const at::Tensor& b,
                    const at::Scalar& beta, const at::Scalar& alpha) {
  if (!native({&self, &a, &b})) { fallback_call("aten::addbmm_", "", {self, a, b, beta, alpha}); return self; }
  return addbmm_into("aten::addbmm_", self, self, a, b, beta, alpha, true);
}

// --- mv / addmv / dot -------------------------------------------------------

at::Tensor& addmv_into(const char* op, at::Tensor& out, const at::Tensor& self, const at::Tensor& a,
                       const at::Tensor& v, const at::Scalar& beta, const at::Scalar& alpha,
                       bool in_place = false) {
  check_mv(a, v);
  const std::vector<int64_t> shape{a.size(0)};
  const at::Tensor bias = self.defined() ? expanded(self, shape, in_place) : at::Tensor();
  if (bias.defined()) check_same_dtype(bias, a);
  if (!in_place) {
    check_out(out, a);
    at::native::resize_output(out, shape);
  }
  return run(op, out, as_operand(a), as_operand(v), a, v, bias, beta, alpha);
}

at::Tensor mv(const at::Tensor& a, const at::Tensor& v) {
  if (!native({&a, &v})) return fallback_call("aten::mv", "", {a, v});
  check_mv(a, v);
  at::Tensor out = at::empty({a.size(0)}, a.options());
  return addmv_into("aten::mv", out, {}, a, v, kZero, kOne);
}

at::Tensor& mv_out(const at::Tensor& a, const at::Tensor& v, at::Tensor& out) {
  if (!native({&a, &v, &out})) { fallback_call("aten::mv", "out", {a, v, out}); return out; }
  return addmv_into("aten::mv.out", out, {}, a, v, kZero, kOne);
}

at::Tensor addmv(const at::Tensor& self, const at::Tensor& a, const at::Tensor& v,
                 const at::Scalar& beta, const at::Scalar& alpha) {
  if (!native({&self, &a, &v})) return fallback_call("aten::addmv", "", {self, a, v, beta, alpha});
  check_mv(a, v);
  at::Tensor out = at::empty({a.size(0)}, a.options());
  return addmv_into("aten::addmv", out, self, a, v, beta, alpha);
}

at::Tensor& addmv_out(const at::Tensor& self, const at::Tensor& a, const at::Tensor& v,
                      const at::Scalar& beta, const at::Scalar& alpha, at::Tensor& out) {
  if (!native({&self, &a, &v, &out})) { fallback_call("aten::addmv", "out", {self, a, v, beta, alpha, out}); return out; }
  return addmv_into("aten::addmv.out", out, self, a, v, beta, alpha);
}

at::Tensor& addmv_(at::Tensor& self, const at::Tensor& a, const at::Tensor& v,
                   const at::Scalar& beta, const at::Scalar& alpha) {
  if (!native({&self, &a, &v})) { fallback_call("aten::addmv_", "", {self, a, v, beta, alpha}); return self; }
  return addmv_into("aten::addmv_", self, self, a, v, beta, alpha, true);
}

// A dot product is a 1 x K by K x 1 matmul.
at::Tensor dot_impl(const char* op, const char* name, const at::Tensor& a, const at::Tensor& b) {
  check_same_device(a, b);
  if (!native({&a, &b})) return fallback_call(op, "", {a, b});
  TORCH_CHECK(a.dim() == 1 && b.dim() == 1, "1D tensors expected, but got ", a.dim(), "D and ",
              b.dim(), "D tensors");
  TORCH_CHECK(a.scalar_type() == b.scalar_type(), name, " : expected both vectors to have same dtype, but found ",
              a.scalar_type(), " and ", b.scalar_type());
  TORCH_CHECK(a.numel() == b.numel(), "inconsistent tensor size, expected tensor [", a.numel(),
              "] and src [", b.numel(), "] to have the same number of elements, but got ", a.numel(),
              " and ", b.numel(), " elements respectively");
  at::Tensor out = at::empty({}, a.options());
  const int64_t k = a.size(0);
  return run(op, out, matmul_operand(a, {1, 1, k}, {0, 0, a.stride(0)}), as_operand(b), a, b, {},
             kZero, kOne);
}

at::Tensor dot(const at::Tensor& a, const at::Tensor& b) { return dot_impl("aten::dot", "dot", a, b); }
at::Tensor vdot(const at::Tensor& a, const at::Tensor& b) { return dot_impl("aten::vdot", "vdot", a, b); }

}  // namespace

TORCH_LIBRARY_IMPL(aten, PrivateUse1, m) {
  m.impl("mm", mm);
  m.impl("mm.out", mm_out);
  m.impl("addmm", addmm);
  m.impl("addmm.out", addmm_out);
  m.impl("addmm_", addmm_);
  m.impl("bmm", bmm);
  m.impl("bmm.out", bmm_out);
  m.impl("baddbmm", baddbmm);
  m.impl("baddbmm.out", baddbmm_out);
  m.impl("baddbmm_", baddbmm_);
  m.impl("addbmm", addbmm);
  m.impl("addbmm.out", addbmm_out);
  m.impl("addbmm_", addbmm_);
  m.impl("mv", mv);
  m.impl("mv.out", mv_out);
  m.impl("addmv", addmv);
  m.impl("addmv.out", addmv_out);
  m.impl("addmv_", addmv_);
  m.impl("dot", dot);
  m.impl("vdot", vdot);
}

}  // namespace accel::aten
