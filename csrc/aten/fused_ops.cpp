// accel::fused_eltwise(inputs, program): the torch.compile backend's fused
// element-wise program (engine/fused.h) as an op. Its outputs have the
// inputs' broadcast shape and the dtypes the program names; it has no
// autograd (the compiler fuses forward and backward graphs separately).
// With `out` it writes them into existing tensors instead (a compiled
// optimizer step updates parameters and state in place), one of which may be
// an input read at the same elements.
#include <ATen/ExpandUtils.h>
#include <ATen/MemoryOverlap.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/empty_like.h>
#include <torch/library.h>

#include <algorithm>
#include <stdexcept>

#include "aten/engine_bridge.h"
#include "engine/fused.h"
#include "glue/glue.h"

namespace accel::aten {
namespace {

const kernels::fused::Program& program_of(const std::string& text) {
  try {
    return kernels::fused::parse_program(text);
  } catch (const std::invalid_argument& e) {
    TORCH_CHECK_VALUE(false, e.what());
  }
}

at::ScalarType scalar_type_of(engine::DType dt) {
  switch (dt) {
    case engine::DType::BF16: return at::kBFloat16;
    case engine::DType::F16: return at::kHalf;
    default: return at::kFloat;
  }
}

// The outputs, in the program's dtypes, of the inputs' broadcast shape and,
// as TensorIterator lays out an element-wise result, in the memory layout of
// the first input that has the whole shape (a transposed input gives a
// transposed output; a graph's later views rely on it), unless strides say.
std::vector<at::Tensor> empty_outputs(const kernels::fused::Program& program, at::TensorList inputs,
                                      c10::Device device, at::OptionalIntArrayRef strides) {
  TORCH_CHECK_VALUE(static_cast<int>(inputs.size()) == program.num_inputs, "fused_eltwise: program '",
                    program.text, "' takes ", program.num_inputs, " inputs, got ", inputs.size());
  std::vector<int64_t> shape;
  for (const auto& t : inputs) shape = at::infer_size(shape, t.sizes());
  if (strides.has_value())
    TORCH_CHECK_VALUE(strides->size() == shape.size(), "fused_eltwise: ", strides->size(),
                      " output strides for a ", shape.size(), "-D output");
  const at::Tensor* layout = nullptr;
  for (const auto& t : inputs)
    if (t.sizes().equals(shape) && t.is_non_overlapping_and_dense()) {
      layout = &t;
      break;
    }
  std::vector<at::Tensor> outs;
  for (const auto& out : program.outputs) {
    const auto options = at::TensorOptions().dtype(scalar_type_of(out.dtype)).device(device);
    outs.push_back(strides.has_value() ? at::empty_strided(shape, *strides, options)
                   : layout            ? at::empty_like(*layout, options)
                                       : at::empty(shape, options));
  }
  return outs;
}

engine::TensorRef operand(const at::Tensor& t) {
  engine::TensorRef ref;
  ref.data = t.data_ptr();
  ref.dtype = engine_dtype(t.scalar_type());
  ref.sizes = engine::InlineDims(t.sizes().begin(), t.sizes().end());
  ref.strides = engine::InlineDims(t.strides().begin(), t.strides().end());
  return ref;
}

// Merges adjacent dimensions that every operand walks as one (as
// TensorIterator coalesces), so a contiguous NCHW activation tiles as rows of
// 32 instead of padding each 7x7 plane to a 32x32 tile.
void coalesce(std::vector<engine::TensorRef>& refs) {
  auto& first = refs[0];
  for (int64_t d = first.dim() - 2; d >= 0; --d) {
    const bool mergeable = std::all_of(refs.begin(), refs.end(), [&](const engine::TensorRef& r) {
      return r.strides[d] == r.strides[d + 1] * r.sizes[d + 1];
    });
    if (!mergeable) continue;
    for (auto& r : refs) {
      r.sizes[d] *= r.sizes[d + 1];
      r.strides[d] = r.strides[d + 1];
      r.sizes.erase(r.sizes.begin() + d + 1);
      r.strides.erase(r.strides.begin() + d + 1);
    }
  }
}

// The tensors `out` names, checked: one per program output, of the inputs'
// broadcast shape and the program's dtypes, on the device, and each either
// apart from every input or exactly one of them (same elements, same layout):
// the engine then reads that input's tile before it writes the tile back.
std::vector<at::Tensor> checked_outputs(const kernels::fused::Program& program, at::TensorList inputs,
                                        c10::Device device, at::TensorList out) {
  TORCH_CHECK_VALUE(out.size() == program.outputs.size(), "fused_eltwise: program '", program.text, "' has ",
                    program.outputs.size(), " outputs, got ", out.size(), " tensors in out");
  std::vector<int64_t> shape;
  for (const auto& t : inputs) shape = at::infer_size(shape, t.sizes());
  for (size_t o = 0; o < out.size(); ++o) {
    const at::Tensor& t = out[o];
    TORCH_CHECK(t.device() == device, "fused_eltwise: out[", o, "] is on ", t.device(), ", expected ", device);
    TORCH_CHECK_VALUE(t.sizes().equals(shape), "fused_eltwise: out[", o, "] has shape ", t.sizes(),
                      ", the inputs broadcast to ", c10::IntArrayRef(shape));
    TORCH_CHECK_TYPE(t.scalar_type() == scalar_type_of(program.outputs[o].dtype), "fused_eltwise: out[", o,
                     "] is ", t.scalar_type(), ", the program writes ", scalar_type_of(program.outputs[o].dtype));
    at::assert_no_internal_overlap(t);
    for (size_t p = 0; p < o; ++p)
      TORCH_CHECK_VALUE(at::get_overlap_status(t, out[p]) == at::MemOverlapStatus::No, "fused_eltwise: out[", o,
                        "] and out[", p, "] share memory");
    for (size_t i = 0; i < inputs.size(); ++i) {
      const auto status = at::get_overlap_status(t, inputs[i]);
      TORCH_CHECK_VALUE(status == at::MemOverlapStatus::No ||
                            (status == at::MemOverlapStatus::Full && t.scalar_type() == inputs[i].scalar_type()),
                        "fused_eltwise: out[", o, "] partially overlaps input ", i,
                        " (an output may only be an input exactly, same elements and dtype)");
    }
  }
  return out.vec();
}

// A 0-dim CPU tensor input (an optimizer's bias correction from its CPU step
// counter) is a runtime argument of the program, as TensorIterator takes a
// CPU scalar for an eager op: read from host memory, no DRAM traffic.
bool is_cpu_scalar(const at::Tensor& t) { return t.dim() == 0 && t.device().is_cpu(); }

c10::Device device_of(at::TensorList inputs) {
  for (const auto& t : inputs)
    if (!is_cpu_scalar(t)) return t.device();
  return inputs[0].device();
}

std::vector<at::Tensor> fused_eltwise(at::TensorList inputs, c10::string_view text,
                                      at::OptionalIntArrayRef strides, std::optional<at::TensorList> out) {
  const auto& program = program_of(std::string(text));
  TORCH_CHECK_VALUE(!inputs.empty(), "fused_eltwise: no inputs");
  const c10::Device device = device_of(inputs);
  for (const auto& t : inputs) {
    TORCH_CHECK(t.device() == device || is_cpu_scalar(t), "fused_eltwise: expected every input on ", device,
                " (or a 0-dim CPU tensor), got one on ", t.device());
    TORCH_CHECK_TYPE(t.scalar_type() == at::kFloat || t.scalar_type() == at::kBFloat16 ||
                         t.scalar_type() == at::kHalf,
                     "fused_eltwise: inputs must be float32, bfloat16 or float16, got ", t.scalar_type());
  }
  TORCH_CHECK_VALUE(!(out.has_value() && strides.has_value()), "fused_eltwise: strides and out are exclusive");
  auto outs = out.has_value() ? checked_outputs(program, inputs, device, *out)
                              : empty_outputs(program, inputs, device, strides);
  if (outs[0].numel() == 0) return out.has_value() ? std::vector<at::Tensor>{} : outs;
  std::vector<engine::TensorRef> refs;
  for (const auto& t : outs) refs.push_back(operand(t));
  for (const auto& t : inputs) refs.push_back(operand(t.expand(outs[0].sizes())));
  coalesce(refs);
  std::vector<engine::TensorRef> out_refs(refs.begin(), refs.begin() + outs.size());
  std::vector<engine::TensorRef> in_refs(refs.begin() + outs.size(), refs.end());
  const chip::Arch& arch =
      glue::chip_call([&]() -> const chip::Arch& { return chip::Runtime::get().arch(); });
  engine::ProgramRecord rec;
  try {
    rec = engine::run_fused(arch, program, out_refs, in_refs);
  } catch (const engine::L1OverflowError& e) {
    TORCH_CHECK(false, e.what());
  } catch (const std::invalid_argument& e) {
    TORCH_CHECK_VALUE(false, e.what());
  }
  const int64_t tile_elems = int64_t(arch.tile_rows) * arch.tile_cols;
  for (const auto& t : inputs)
    if (is_cpu_scalar(t)) {
      rec.dram_read_bytes -= tile_elems * t.element_size();
      rec.noc_bytes -= tile_elems * t.element_size();
    }
  rec.device = device.index();
  engine::record(std::move(rec));
  if (out.has_value()) return {};
  return outs;
}

std::vector<at::Tensor> fused_eltwise_meta(at::TensorList inputs, c10::string_view text,
                                           at::OptionalIntArrayRef strides, std::optional<at::TensorList> out) {
  const auto& program = program_of(std::string(text));
  TORCH_CHECK_VALUE(!inputs.empty(), "fused_eltwise: no inputs");
  if (out.has_value()) {
    TORCH_CHECK_VALUE(out->size() == program.outputs.size(), "fused_eltwise: program '", program.text, "' has ",
                      program.outputs.size(), " outputs, got ", out->size(), " tensors in out");
    return {};
  }
  return empty_outputs(program, inputs, device_of(inputs), strides);
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(accel, m) {
  // strides: the outputs' layout (the compiler passes the traced one); by
  // default that of the first input with the whole shape. out: tensors to
  // write the outputs into instead (then nothing is returned).
  m.def("fused_eltwise(Tensor[] inputs, str program, int[]? strides=None, Tensor(a!)[]? out=None) -> Tensor[]");
}

TORCH_LIBRARY_IMPL(accel, PrivateUse1, m) { m.impl("fused_eltwise", fused_eltwise); }
TORCH_LIBRARY_IMPL(accel, Meta, m) { m.impl("fused_eltwise", fused_eltwise_meta); }

}  // namespace accel::aten
