// accel::fused_eltwise(inputs, program): the torch.compile backend's fused
// element-wise program (engine/fused.h) as an op. Its outputs have the
// inputs' broadcast shape and the dtypes the program names; it has no
// autograd (the compiler fuses forward and backward graphs separately).
// With `out` it writes them into existing tensors instead, one of which may
// be an input read at the same elements, and `inputs`/`out` may hold several
// jobs, one launch over all their tiles: a compiled optimizer step updates
// every parameter and its state in place in one program.
#include <ATen/ExpandUtils.h>
#include <ATen/MemoryOverlap.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/empty_like.h>
#include <torch/library.h>

#include <algorithm>
#include <stdexcept>
#include <unordered_map>

#include "aten/engine_bridge.h"
#include "engine/fused.h"
#include "glue/glue.h"

namespace accel::aten {
namespace {

// The program run on `inputs`: one job's inputs, or with `out`, job after
// job's (as many jobs as out holds sets of the program's outputs).
const kernels::fused::Program& program_of(const std::string& text, at::TensorList inputs,
                                          const std::optional<at::TensorList>& out) {
  TORCH_CHECK_VALUE(!inputs.empty(), "fused_eltwise: no inputs");
  int64_t jobs = 1;
  if (out.has_value()) {
    const int64_t n_out = kernels::fused::count_outputs(text);
    TORCH_CHECK_VALUE(n_out > 0 && !out->empty() && int64_t(out->size()) % n_out == 0 &&
                          int64_t(inputs.size()) % (int64_t(out->size()) / n_out) == 0,
                      "fused_eltwise: program '", text, "': out and inputs do not hold the same jobs");
    jobs = int64_t(out->size()) / n_out;
  }
  try {
    return kernels::fused::parse_program(text, int(int64_t(inputs.size()) / jobs));
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

// t as t.expand(shape) views it, without making the view: an optimizer step
// has several inputs per parameter, and a view each cost more than its math.
engine::TensorRef broadcast_operand(const at::Tensor& t, c10::IntArrayRef shape) {
  engine::TensorRef ref;
  ref.data = t.data_ptr();
  ref.dtype = engine_dtype(t.scalar_type());
  const int64_t lead = static_cast<int64_t>(shape.size()) - t.dim();
  ref.sizes = engine::InlineDims(shape.begin(), shape.end());
  ref.strides.assign(shape.size(), 0);
  for (int64_t d = std::max<int64_t>(lead, 0); d < static_cast<int64_t>(shape.size()); ++d)
    ref.strides[d] = t.size(d - lead) == 1 && shape[d] != 1 ? 0 : t.stride(d - lead);
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

// A 0-dim CPU tensor input (an optimizer's bias correction from its CPU step
// counter) is a runtime argument of the program, as TensorIterator takes a
// CPU scalar for an eager op: read from host memory, no DRAM traffic.
bool is_cpu_scalar(const at::Tensor& t) { return t.dim() == 0 && t.device().is_cpu(); }

c10::Device device_of(at::TensorList inputs) {
  for (const auto& t : inputs)
    if (!is_cpu_scalar(t)) return t.device();
  return inputs[0].device();
}

// The jobs `out` holds: outputs of job j are out[j * n_out ...], its inputs
// inputs[j * n_in ...]. Checked: each output of its job's broadcast shape and
// the program's dtype, on the device, sharing memory with no other output
// and with no input except exactly one of its own job's (same elements,
// layout and dtype: an in-place update, which the engine reads tile by tile
// before it writes the tile back).
int64_t checked_jobs(const kernels::fused::Program& program, at::TensorList inputs, c10::Device device,
                     at::TensorList out) {
  const size_t n_in = program.num_inputs, n_out = program.outputs.size();
  const size_t jobs = out.size() / n_out;  // program_of checked that out and inputs hold whole jobs
  std::unordered_map<const c10::StorageImpl*, std::vector<std::pair<size_t, size_t>>> written;  // job, out index
  for (size_t j = 0; j < jobs; ++j) {
    std::vector<int64_t> shape;
    for (size_t i = 0; i < n_in; ++i) shape = at::infer_size(shape, inputs[j * n_in + i].sizes());
    for (size_t o = j * n_out; o < (j + 1) * n_out; ++o) {
      const at::Tensor& t = out[o];
      const auto dtype = scalar_type_of(program.outputs[o % n_out].dtype);
      TORCH_CHECK(t.device() == device, "fused_eltwise: out[", o, "] is on ", t.device(), ", expected ", device);
      TORCH_CHECK_VALUE(t.sizes().equals(shape), "fused_eltwise: out[", o, "] has shape ", t.sizes(),
                        ", its inputs broadcast to ", c10::IntArrayRef(shape));
      TORCH_CHECK_TYPE(t.scalar_type() == dtype, "fused_eltwise: out[", o, "] is ", t.scalar_type(),
                       ", the program writes ", dtype);
      at::assert_no_internal_overlap(t);
      auto& same_storage = written[t.storage().unsafeGetStorageImpl()];
      for (const auto& [jo, p] : same_storage)
        TORCH_CHECK_VALUE(at::get_overlap_status(t, out[p]) == at::MemOverlapStatus::No, "fused_eltwise: out[", o,
                          "] and out[", p, "] share memory");
      same_storage.emplace_back(j, o);
    }
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].has_storage()) continue;
    const auto it = written.find(inputs[i].storage().unsafeGetStorageImpl());
    if (it == written.end()) continue;
    for (const auto& [j, o] : it->second) {
      const auto status = at::get_overlap_status(out[o], inputs[i]);
      TORCH_CHECK_VALUE(status == at::MemOverlapStatus::No ||
                            (status == at::MemOverlapStatus::Full && j == i / n_in &&
                             out[o].scalar_type() == inputs[i].scalar_type()),
                        "fused_eltwise: out[", o, "] overlaps input ", i,
                        " (an output may only be an input of its own job exactly: same elements and dtype)");
    }
  }
  return static_cast<int64_t>(jobs);
}

// A job's operands for the engine: its outputs, then its inputs broadcast to
// their shape, dimensions coalesced.
engine::FusedJob job_of(at::TensorList outs, at::TensorList inputs) {
  std::vector<engine::TensorRef> refs;
  for (const auto& t : outs) refs.push_back(operand(t));
  for (const auto& t : inputs) refs.push_back(broadcast_operand(t, outs[0].sizes()));
  coalesce(refs);
  return {std::vector<engine::TensorRef>(refs.begin(), refs.begin() + outs.size()),
          std::vector<engine::TensorRef>(refs.begin() + outs.size(), refs.end())};
}

void run_jobs(const kernels::fused::Program& program, c10::Device device, at::TensorList outs,
              at::TensorList inputs) {
  const size_t n_in = program.num_inputs, n_out = program.outputs.size();
  std::vector<engine::FusedJob> jobs;
  int64_t cpu_scalars = 0;
  for (size_t j = 0; j < outs.size() / n_out; ++j) {
    const auto job_inputs = inputs.slice(j * n_in, n_in);
    if (outs[j * n_out].numel() == 0) continue;
    jobs.push_back(job_of(outs.slice(j * n_out, n_out), job_inputs));
    for (const auto& t : job_inputs) cpu_scalars += is_cpu_scalar(t) ? t.element_size() : 0;
  }
  if (jobs.empty()) return;
  const chip::Arch& arch =
      glue::chip_call([&]() -> const chip::Arch& { return chip::Runtime::get().arch(); });
  engine::ProgramRecord rec;
  try {
    rec = engine::run_fused_multi(arch, program, jobs);
  } catch (const engine::L1OverflowError& e) {
    TORCH_CHECK(false, e.what());
  } catch (const std::invalid_argument& e) {
    TORCH_CHECK_VALUE(false, e.what());
  }
  // The engine prices every input as a DRAM read of at least one tile.
  const int64_t scalar_bytes = cpu_scalars * arch.tile_rows * arch.tile_cols;
  rec.dram_read_bytes -= scalar_bytes;
  rec.noc_bytes -= scalar_bytes;
  rec.device = device.index();
  engine::record(std::move(rec));
}

std::vector<at::Tensor> fused_eltwise(at::TensorList inputs, c10::string_view text,
                                      at::OptionalIntArrayRef strides, std::optional<at::TensorList> out) {
  const auto& program = program_of(std::string(text), inputs, out);
  const c10::Device device = device_of(inputs);
  for (const auto& t : inputs) {
    TORCH_CHECK(t.device() == device || is_cpu_scalar(t), "fused_eltwise: expected every input on ", device,
                " (or a 0-dim CPU tensor), got one on ", t.device());
    TORCH_CHECK_TYPE(t.scalar_type() == at::kFloat || t.scalar_type() == at::kBFloat16 ||
                         t.scalar_type() == at::kHalf,
                     "fused_eltwise: inputs must be float32, bfloat16 or float16, got ", t.scalar_type());
  }
  if (out.has_value()) {
    TORCH_CHECK_VALUE(!strides.has_value(), "fused_eltwise: strides and out are exclusive");
    checked_jobs(program, inputs, device, *out);
    run_jobs(program, device, *out, inputs);
    return {};
  }
  auto outs = empty_outputs(program, inputs, device, strides);
  run_jobs(program, device, outs, inputs);
  return outs;
}

std::vector<at::Tensor> fused_eltwise_meta(at::TensorList inputs, c10::string_view text,
                                           at::OptionalIntArrayRef strides, std::optional<at::TensorList> out) {
  const auto& program = program_of(std::string(text), inputs, out);
  if (out.has_value()) return {};
  return empty_outputs(program, inputs, device_of(inputs), strides);
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(accel, m) {
  // strides: the outputs' layout (the compiler passes the traced one); by
  // default that of the first input with the whole shape. out: tensors to
  // write the outputs into instead (then nothing is returned), job after job
  // when inputs and out hold several jobs' tensors.
  m.def("fused_eltwise(Tensor[] inputs, str program, int[]? strides=None, Tensor(a!)[]? out=None) -> Tensor[]");
}

TORCH_LIBRARY_IMPL(accel, PrivateUse1, m) { m.impl("fused_eltwise", fused_eltwise); }
TORCH_LIBRARY_IMPL(accel, Meta, m) { m.impl("fused_eltwise", fused_eltwise_meta); }

}  // namespace accel::aten
