// Fill-family registrations: arange, range and linspace write their sequence
// on the cores (engine/fill.h); fill_native serves fill_, zero_, full, zeros
// and ones. Shapes and argument checks come from the meta kernels, so they
// match CPU exactly.
#include "aten/fill_ops.h"

#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <ATen/native/Resize.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/linspace.h>
#include <ATen/ops/range.h>
#include <torch/library.h>

#include <cmath>
#include <cstring>

#include "aten/engine_bridge.h"
#include "aten/host_view.h"
#include "engine/plan_mode.h"
#include "engine/fill.h"
#include "glue/glue.h"

namespace accel::aten {
namespace {

using kernels::FillKind;
using kernels::FillParams;

template <class T>
uint64_t bits_of(const at::Scalar& s) {
  const T v = s.to<T>();
  uint64_t u = 0;
  std::memcpy(&u, &v, sizeof(T));
  return u;
}

uint64_t element_bits(const at::Scalar& s, at::ScalarType dt) {
  switch (dt) {
    case at::kFloat: return bits_of<float>(s);
    case at::kDouble: return bits_of<double>(s);
    case at::kBFloat16: return bits_of<at::BFloat16>(s);
    case at::kHalf: return bits_of<at::Half>(s);
    case at::kChar: return bits_of<int8_t>(s);
    case at::kByte: return bits_of<uint8_t>(s);
    case at::kShort: return bits_of<int16_t>(s);
    case at::kInt: return bits_of<int32_t>(s);
    case at::kLong: return bits_of<int64_t>(s);
    case at::kBool: return bits_of<bool>(s);
    default: TORCH_CHECK(false, "fill: no tile format for ", dt);
  }
}

void launch(const char* op, const at::Tensor& out, const FillParams& params) {
  if (out.numel() == 0) return;
  const engine::TensorRef ref{out.data_ptr(), engine_dtype(out.scalar_type()), out.sizes().vec(),
                              out.strides().vec()};
  auto& runtime = chip::Runtime::get();
  const chip::Arch& arch = glue::chip_call([&]() -> const chip::Arch& { return runtime.arch(); });
  engine::ProgramRecord rec;
  try {
    rec = engine::run_fill(arch, op, ref, params);
  } catch (const engine::L1OverflowError& e) {
    TORCH_CHECK(false, e.what());
  }
  rec.device = out.device().index();
  engine::record(std::move(rec));
}

at::TensorOptions meta_like(const at::Tensor& t) { return t.options().device(at::kMeta); }

// CPU ATen's arange splits `steps` over its threads (grain 32768) and builds
// vectors of the widest ISA it dispatches to; see FillParams.
FillParams sequence(FillKind kind, const at::Tensor& out, const at::Scalar& start, const at::Scalar& step) {
  constexpr int64_t kGrain = 32768;
  FillParams p;
  p.steps = out.numel();
  const int64_t threads = std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), (p.steps + kGrain - 1) / kGrain));
  p.chunk = (p.steps + threads - 1) / threads;
  static const int64_t vector_bytes = at::get_cpu_capability() == "AVX512" ? 64 : 32;
  p.vector_bytes = vector_bytes;
  p.kind = kind;
  p.start = start.to<double>();
  p.step = step.to<double>();
  p.istart = start.to<int64_t>();
  p.istep = step.to<int64_t>();
  return p;
}

// Integer-valued sequences a floating type holds exactly round the same way
// under every evaluation order.
bool exact_sequence(const at::Tensor& out, const FillParams& p) {
  if (!at::isFloatingType(out.scalar_type())) return true;
  const int digits = out.scalar_type() == at::kFloat ? 24 : out.scalar_type() == at::kDouble ? 53
                     : out.scalar_type() == at::kHalf ? 11 : 8;
  const double limit = std::ldexp(1.0, digits);
  const double last = p.start + p.step * static_cast<double>(std::max<int64_t>(p.steps - 1, 0));
  return p.start == std::trunc(p.start) && p.step == std::trunc(p.step) && std::abs(p.start) <= limit &&
         std::abs(last) <= limit;
}

at::Tensor& arange_out(const at::Scalar& start, const at::Scalar& end, const at::Scalar& step,
                       at::Tensor& out) {
  at::native::resize_output(out, at::arange(start, end, step, meta_like(out)).sizes());
  const FillParams p = sequence(FillKind::Arange, out, start, step);
  if (!exact_sequence(out, p)) {
    // CPU rounds inexact floating ranges through its thread chunks and vector
    // lanes; until the tile writer reproduces that bit for bit, ATen's own
    // loop writes them so results stay identical.
    if (engine::executing()) {
      at::Tensor host = host_view(out);
      at::arange_out(host, start, end, step);
    }
    return out;
  }
  launch("arange", out, p);
  return out;
}

at::Tensor& range_out(const at::Scalar& start, const at::Scalar& end, const at::Scalar& step,
                      at::Tensor& out) {
  at::native::resize_output(out, at::range(start, end, step, meta_like(out)).sizes());
  FillParams p = sequence(FillKind::Arange, out, start, step);
  p.chunk = 0;  // range is a serial loop on the CPU
  p.vector_bytes = 0;
  launch("range", out, p);
  return out;
}

at::Tensor& linspace_out(const at::Scalar& start, const at::Scalar& end, int64_t steps,
                         at::Tensor& out) {
  at::native::resize_output(out, at::linspace(start, end, steps, meta_like(out)).sizes());
  if (!at::isFloatingType(out.scalar_type())) {
    element_bits(start, out.scalar_type());  // raises on overflow, as CPU's conversion does
    element_bits(end, out.scalar_type());
  }
  if (steps == 1) return fill_native(out, start);
  FillParams p;
  p.kind = FillKind::Linspace;
  p.start = start.to<double>();
  p.end = end.to<double>();
  p.steps = steps;
  launch("linspace", out, p);
  return out;
}

}  // namespace

at::Tensor& fill_native(at::Tensor& self, const at::Scalar& value) {
  if (!tile_dtype_of(self.scalar_type())) {
    // Complex and the narrow formats have no tile layout.
    if (engine::executing()) host_view(self).fill_(value);
    return self;
  }
  FillParams p;
  p.pattern = element_bits(value, self.scalar_type());
  launch("fill", self, p);
  return self;
}

TORCH_LIBRARY_IMPL(aten, PrivateUse1, m) {
  m.impl("arange.start_out", arange_out);
  m.impl("range.out", range_out);
  m.impl("linspace.out", linspace_out);
}

}  // namespace accel::aten
