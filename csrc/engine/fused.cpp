#include "engine/fused.h"

#include <algorithm>
#include <stdexcept>

#include <c10/util/SmallVector.h>

#include "engine/tile_grid.h"
#include "kernels/matmul/epilogue.h"

namespace accel::engine {
namespace {

constexpr int64_t kTile = 32;
constexpr int64_t kTileElems = kTile * kTile;
constexpr int64_t kHostTileElems = kTileElems / 8;

// Flat (as a coalesced element-wise program tiles) when the outputs are
// contiguous; otherwise the output's own [batch, rows, cols].
TileGrid grid_for(const std::vector<TensorRef>& outputs) {
  const bool flat = std::all_of(outputs.begin(), outputs.end(), [](const TensorRef& o) { return o.is_contiguous(); });
  if (!flat && outputs[0].dim() <= 1)
    throw std::invalid_argument("fused program: a 1-D output must be contiguous");
  return tile_grid(outputs[0], flat);
}

// Reader: one run of a tile from DRAM into fp32 in L1 (the unpacker's job).
void load_run(float* dst, const char* src, DType dt, int64_t stride, int64_t n) {
  if (stride == 0) {  // a broadcast value repeats along the run
    kernels::load_float_row(dst, src, dt, 1, 1);
    std::fill_n(dst + 1, n - 1, dst[0]);
    return;
  }
  kernels::load_float_row(dst, src, dt, stride, n);
}

// Reader for a flat tile of an input that is not laid out like the output
// (broadcast, transposed): n elements from linear index `first`, walked as an
// odometer over its dimensions, one innermost run at a time.
void gather_run(float* dst, const TensorRef& t, int64_t first, int64_t n) {
  const int64_t nd = t.dim();
  if (nd == 0) {  // a scalar: one value for the whole run
    load_run(dst, static_cast<const char*>(t.data), t.dtype, 1, 1);
    std::fill_n(dst + 1, n - 1, dst[0]);
    return;
  }
  c10::SmallVector<int64_t, 6> idx(nd);
  for (int64_t d = nd - 1, rem = first; d >= 0; --d) idx[d] = rem % t.sizes[d], rem /= t.sizes[d];
  int64_t offset = t.offset_of(first);
  const int64_t inner = t.sizes[nd - 1], inner_stride = t.strides[nd - 1], bytes = dtype_bytes(t.dtype);
  for (int64_t i = 0; i < n;) {
    const int64_t chunk = std::min(n - i, inner - idx[nd - 1]);
    load_run(dst + i, static_cast<const char*>(t.data) + offset * bytes, t.dtype, inner_stride, chunk);
    i += chunk;
    offset += chunk * inner_stride;
    idx[nd - 1] += chunk;
    for (int64_t d = nd - 1; d > 0 && idx[d] == t.sizes[d]; --d) {
      offset += t.strides[d - 1] - t.sizes[d] * t.strides[d];
      idx[d] = 0;
      ++idx[d - 1];
    }
  }
}

// An input that is a contiguous block repeated (a bias or scale broadcast
// over the leading dims): element i is data[i % period]. 0 when it is not.
int64_t repeat_period(const TensorRef& t) {
  int64_t period = 1, d = t.dim() - 1;
  for (; d >= 0; --d) {
    if (t.sizes[d] == 1) continue;
    if (t.strides[d] != period) break;
    period *= t.sizes[d];
  }
  for (; d >= 0; --d)
    if (t.sizes[d] != 1 && t.strides[d] != 0) return 0;
  return period;
}

void check_operands(const kernels::fused::Program& program, const std::vector<TensorRef>& outputs,
                    const std::vector<TensorRef>& inputs) {
  const auto fail = [&](const std::string& why) {
    throw std::invalid_argument("fused program '" + program.text + "': " + why);
  };
  if (int(inputs.size()) != program.num_inputs)
    fail("takes " + std::to_string(program.num_inputs) + " inputs, got " + std::to_string(inputs.size()));
  if (outputs.size() != program.outputs.size())
    fail("has " + std::to_string(program.outputs.size()) + " outputs, got " + std::to_string(outputs.size()));
  for (const auto* list : {&inputs, &outputs})
    for (const auto& t : *list) {
      if (t.dtype != DType::F32 && t.dtype != DType::BF16 && t.dtype != DType::F16)
        fail(std::string("operands must be float32, bfloat16 or float16, got ") + dtype_name(t.dtype));
      if (t.sizes != outputs[0].sizes) fail("operands must all have the output's shape (broadcast inputs first)");
    }
}

// Per core: double-buffered input and output tiles in their formats, plus an
// fp32 tile per step result and constant (Dst holds what fits; the rest is L1 scratch).
std::vector<CircularBuffer> circular_buffers(const chip::Arch& arch, const kernels::fused::Program& program,
                                             const std::vector<TensorRef>& outputs,
                                             const std::vector<TensorRef>& inputs) {
  const int64_t area = arch.tile_rows * arch.tile_cols;
  std::vector<CircularBuffer> cbs;
  for (size_t i = 0; i < inputs.size(); ++i)
    cbs.push_back({"in" + std::to_string(i), 2, area * dtype_bytes(inputs[i].dtype)});
  for (size_t o = 0; o < outputs.size(); ++o)
    cbs.push_back({"out" + std::to_string(o), 2, area * dtype_bytes(outputs[o].dtype)});
  const int64_t scratch = int64_t(program.steps.size() + program.constants.size());
  const int64_t in_dst = std::max<int64_t>(0, arch.dst_tiles(true) / 2);
  if (scratch > in_dst) cbs.push_back({"fp32_scratch", scratch - in_dst, area * 4});
  return cbs;
}

// The rows of tile t of a [batch, rows, cols] grid: body(batch, row, first col, offset in the tile, width).
template <class Body>
void for_each_run(const TileGrid& g, int64_t t, Body&& body) {
  const int64_t b = t / (g.row_tiles * g.col_tiles);
  const int64_t r0 = (t / g.col_tiles) % g.row_tiles * kTile, c0 = t % g.col_tiles * kTile;
  const int64_t nr = std::min(kTile, g.rows - r0), nc = std::min(kTile, g.cols - c0);
  for (int64_t r = 0; r < nr; ++r) body(b, r0 + r, c0, r * nc, nc);
}

}  // namespace

ProgramRecord fused_program_record(const chip::Arch& arch, const kernels::fused::Program& program,
                                   const std::vector<TensorRef>& outputs,
                                   const std::vector<TensorRef>& inputs) {
  static const perf::KernelRef reader("reader_tilize_interleaved");
  static const perf::KernelRef compute("fused_eltwise");
  static const perf::KernelRef writer("writer_untilize_interleaved");
  check_operands(program, outputs, inputs);
  const TileGrid g = grid_for(outputs);
  const int64_t tiles = outputs[0].numel() > 0 ? g.tiles() : 0;
  const CoreSplit split = split_tiles(tiles, arch.num_cores());
  const int64_t area = arch.tile_rows * arch.tile_cols;
  ProgramRecord rec;
  rec.op = "fused[" + program.absorbed() + "]";
  rec.reader = reader;
  rec.compute = compute;
  rec.writer = writer;
  rec.input_format = dtype_name(inputs[0].dtype);
  rec.output_format = dtype_name(outputs[0].dtype);
  // The kernel is priced from FLOPs (one instruction each, plus a load per
  // input and a store): FLOPs here are the steps' vector-engine instructions.
  rec.flops = static_cast<int64_t>(program.arithmetic_instructions() * double(tiles * area) + 0.5);
  // An input read whole costs its tiles; a broadcast one (stride 0 somewhere)
  // is read once per core's L1 copy, so it costs the tiles of its own elements.
  for (const auto& in : inputs) {
    int64_t unique = 1;
    for (int64_t d = 0; d < in.dim(); ++d)
      if (in.strides[d] != 0) unique *= in.sizes[d];
    const int64_t in_tiles = unique == outputs[0].numel() ? tiles : std::min(tiles, (unique + area - 1) / area);
    rec.dram_read_bytes += in_tiles * area * dtype_bytes(in.dtype);
  }
  for (const auto& out : outputs) rec.dram_write_bytes += tiles * area * dtype_bytes(out.dtype);
  rec.noc_bytes = rec.dram_read_bytes + rec.dram_write_bytes;
  rec.tiles = tiles;
  rec.cores_used = split.cores_used;
  rec.max_tiles_per_core = split.max_tiles();
  rec.l1_bytes_per_core = check_l1(arch, rec.op, circular_buffers(arch, program, outputs, inputs));
  return rec;
}

namespace {

// How the host reads an input of a flat job, decided once per job.
enum class Source : uint8_t {
  InPlace,   // contiguous fp32: the kernels read its memory
  Convert,   // contiguous, another dtype (or also an output): converted per piece
  Repeated,  // a repeated block whose period divides a piece: expanded once
  Periodic,  // a longer repeated block: its run in place when a piece does not wrap
  Gather,    // anything else: walked element by element
};

// The host's DRAM streams are requested a few pieces ahead: a fused piece
// computes long enough between its loads that the hardware prefetcher alone
// left the element-wise steps stalled on them.
constexpr int64_t kPrefetchAhead = 4 * kHostTileElems;

void prefetch_streams(const FusedJob& job, const c10::SmallVector<Source, 8>& source,
                      const c10::SmallVector<bool, 4>& in_place, int64_t at) {
  constexpr int64_t kLineFloats = 64 / sizeof(float);
  for (size_t i = 0; i < job.inputs.size(); ++i)
    if (source[i] == Source::InPlace)
      for (int64_t k = 0; k < kHostTileElems; k += kLineFloats)
        __builtin_prefetch(static_cast<const float*>(job.inputs[i].data) + at + k, 0);
  for (size_t o = 0; o < job.outputs.size(); ++o)
    if (in_place[o])
      for (int64_t k = 0; k < kHostTileElems; k += kLineFloats)
        __builtin_prefetch(static_cast<float*>(job.outputs[o].data) + at + k, 1);
}

// Elements [first, last) of a flat job (a contiguous output tiled as rows of
// 32). Host shortcut, same result and record: fp32 inputs and outputs are read
// and written in place instead of through the scratch tile, and the host walks
// a chip tile in eighths, so the steps' operands stay in its L1 beside the DRAM
// streams (a whole tile's 4 KB buffers, one per input, step and output, did
// not: a scale-bias-GELU-residual chain ran 1.3x faster in eighths; sixteenths
// pay more per piece than they save).
void run_flat(const kernels::fused::Program& program, const FusedJob& job, int64_t first, int64_t last,
              const c10::SmallVector<bool, 8>& copy_input, const c10::SmallVector<bool, 8>& compute_in_place_ok,
              const std::vector<float*>& scratch) {
  const auto& outputs = job.outputs;
  const auto& inputs = job.inputs;
  c10::SmallVector<Source, 8> source(inputs.size(), Source::Gather);
  c10::SmallVector<int64_t, 8> period(inputs.size(), 0);
  thread_local std::vector<float> repeated;
  repeated.resize(inputs.size() * kHostTileElems);
  for (size_t i = 0; i < inputs.size(); ++i) {
    const TensorRef& in = inputs[i];
    if (in.is_contiguous()) {
      source[i] = in.dtype == DType::F32 && !copy_input[i] ? Source::InPlace : Source::Convert;
      continue;
    }
    if (copy_input[i] || (period[i] = repeat_period(in)) == 0) continue;
    source[i] = kHostTileElems % period[i] == 0 ? Source::Repeated : Source::Periodic;
    if (source[i] == Source::Repeated)
      for (int64_t k = 0; k < kHostTileElems; k += period[i])
        load_run(repeated.data() + i * kHostTileElems + k, static_cast<const char*>(in.data), in.dtype, 1, period[i]);
  }
  // A step result that is a contiguous fp32 output is computed in its memory
  // (the first such output of a value; later ones copy from it).
  c10::SmallVector<bool, 4> in_place(outputs.size(), false);
  for (size_t o = 0; o < outputs.size(); ++o) {
    const int v = program.outputs[o].value;
    bool taken = false;
    for (size_t e = 0; e < o; ++e) taken = taken || (in_place[e] && program.outputs[e].value == v);
    in_place[o] = v >= program.num_inputs && !taken && outputs[o].dtype == DType::F32 &&
                  outputs[o].is_contiguous() && compute_in_place_ok[o];
  }
  // Step results live in the scratch tiles, but for outputs computed in place,
  // whose slots are pointed at the output's piece in the loop.
  std::vector<float*> values = scratch;
  const int64_t numel = outputs[0].numel();
  for (; first < last; first += kHostTileElems) {
    const int64_t n = std::min(kHostTileElems, last - first);
    if (first + kPrefetchAhead < numel) prefetch_streams(job, source, in_place, first + kPrefetchAhead);
    for (size_t i = 0; i < inputs.size(); ++i) {
      const TensorRef& in = inputs[i];
      const char* data = static_cast<const char*>(in.data);
      const int64_t at = source[i] == Source::Periodic ? first % period[i] : first;
      switch (source[i]) {
        case Source::Repeated:
          values[i] = repeated.data() + i * kHostTileElems;
          break;
        case Source::Periodic:
          if (at + n > period[i]) {
            values[i] = scratch[i];
            gather_run(values[i], in, first, n);
            break;
          }
          [[fallthrough]];
        case Source::InPlace:
          if (in.dtype == DType::F32 && !copy_input[i]) {
            values[i] = const_cast<float*>(reinterpret_cast<const float*>(data) + at);
            break;
          }
          [[fallthrough]];
        case Source::Convert:
          values[i] = scratch[i];
          load_run(values[i], data + at * dtype_bytes(in.dtype), in.dtype, 1, n);
          break;
        case Source::Gather:
          values[i] = scratch[i];
          gather_run(values[i], in, first, n);
          break;
      }
    }
    for (size_t o = 0; o < outputs.size(); ++o)
      if (in_place[o]) values[program.outputs[o].value] = static_cast<float*>(outputs[o].data) + first;
    kernels::fused::run_tile(program, values.data(), n);
    for (size_t o = 0; o < outputs.size(); ++o)
      if (!in_place[o])
        kernels::store_float_row(static_cast<char*>(outputs[o].data) + first * dtype_bytes(outputs[o].dtype),
                                 outputs[o].dtype, 1, values[program.outputs[o].value], n);
  }
}

// Runs tiles [begin, end) of one job on a core.
void run_job_tiles(const kernels::fused::Program& program, const FusedJob& job, int64_t begin, int64_t end) {
  const auto& outputs = job.outputs;
  const auto& inputs = job.inputs;
  const TileGrid g = grid_for(outputs);
  const int64_t numel = outputs[0].numel();
  const int slots = program.num_values() + int(program.constants.size());
  // An output written into one of the inputs (an in-place update) must not
  // replace a value a later step still reads: its step may compute straight
  // into the input's memory (the host shortcut below) only when no later step
  // reads that input; otherwise it is packed after the last step. An input
  // that is itself also an output is copied to the core first.
  c10::SmallVector<int, 8> last_read(inputs.size(), -1);
  for (size_t s = 0; s < program.steps.size(); ++s)
    for (const auto& op : program.steps[s].operands)
      if (op.value >= 0 && op.value < program.num_inputs) last_read[op.value] = int(s);
  c10::SmallVector<bool, 8> copy_input(inputs.size(), false), compute_in_place_ok(outputs.size(), true);
  for (size_t o = 0; o < outputs.size(); ++o)
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (inputs[i].data != outputs[o].data) continue;
      const int v = program.outputs[o].value;
      for (const auto& other : program.outputs) copy_input[i] = copy_input[i] || other.value == int(i);
      compute_in_place_ok[o] = compute_in_place_ok[o] && !copy_input[i] && v >= program.num_inputs &&
                               last_read[i] <= v - program.num_inputs;
    }
  // The core's fp32 tiles: inputs, step results, constants. Reused per host thread.
  thread_local std::vector<float> l1;
  if (l1.size() < size_t(slots * kTileElems)) l1.resize(slots * kTileElems);
  std::vector<float*> scratch(slots);
  for (int v = 0; v < slots; ++v) scratch[v] = l1.data() + v * kTileElems;
  for (size_t c = 0; c < program.constants.size(); ++c)
    std::fill_n(scratch[program.num_values() + c], kTileElems, program.constants[c]);
  if (g.flat) return run_flat(program, job, begin * kTileElems, std::min(end * kTileElems, numel), copy_input,
                              compute_in_place_ok, scratch);
  std::vector<float*> values;
  for (int64_t t = begin; t < end; ++t) {
    values = scratch;
    int64_t valid = 0;
    for (size_t i = 0; i < inputs.size(); ++i) {
      const TensorRef& in = inputs[i];
      for_each_run(g, t, [&](int64_t b, int64_t r, int64_t c0, int64_t at, int64_t n) {
        const char* src = static_cast<const char*>(in.data) +
                          (batch_row_offset(in, b, r) + c0 * col_stride(in)) * dtype_bytes(in.dtype);
        load_run(values[i] + at, src, in.dtype, col_stride(in), n);
        valid = at + n;
      });
    }
    kernels::fused::run_tile(program, values.data(), valid);
    for (size_t o = 0; o < outputs.size(); ++o) {
      const TensorRef& out = outputs[o];
      const float* result = values[program.outputs[o].value];
      for_each_run(g, t, [&](int64_t b, int64_t r, int64_t c0, int64_t at, int64_t n) {
        char* dst = static_cast<char*>(out.data) +
                    (batch_row_offset(out, b, r) + c0 * col_stride(out)) * dtype_bytes(out.dtype);
        kernels::store_float_row(dst, out.dtype, col_stride(out), result + at, n);
      });
    }
  }
}

}  // namespace

ProgramRecord run_fused_multi(const chip::Arch& arch, const kernels::fused::Program& program,
                              const std::vector<FusedJob>& jobs) {
  if (jobs.empty()) throw std::invalid_argument("fused program '" + program.text + "': no jobs");
  ProgramRecord rec;
  c10::SmallVector<int64_t, 8> first_tile{0};  // of each job in the program's tile order
  for (const auto& job : jobs) {
    ProgramRecord one = fused_program_record(arch, program, job.outputs, job.inputs);
    if (first_tile.size() == 1) {
      rec = one;
    } else {
      rec.flops += one.flops;
      rec.dram_read_bytes += one.dram_read_bytes;
      rec.dram_write_bytes += one.dram_write_bytes;
      rec.noc_bytes += one.noc_bytes;
      rec.tiles += one.tiles;
      rec.l1_bytes_per_core = std::max(rec.l1_bytes_per_core, one.l1_bytes_per_core);
    }
    first_tile.push_back(first_tile.back() + one.tiles);
  }
  const CoreSplit split = split_tiles(rec.tiles, arch.num_cores());
  rec.cores_used = split.cores_used;
  rec.max_tiles_per_core = split.max_tiles();
  // A job's setup (its sources, scratch tiles and constants) once per host
  // thread rather than once per emulated core it spans.
  run_on_host_threads(split, [&](int64_t begin, int64_t end) {
    for (size_t j = 0; j < jobs.size(); ++j) {
      const int64_t lo = std::max(begin, first_tile[j]), hi = std::min(end, first_tile[j + 1]);
      if (lo < hi) run_job_tiles(program, jobs[j], lo - first_tile[j], hi - first_tile[j]);
    }
  });
  return rec;
}

ProgramRecord run_fused(const chip::Arch& arch, const kernels::fused::Program& program,
                        const std::vector<TensorRef>& outputs, const std::vector<TensorRef>& inputs) {
  return run_fused_multi(arch, program, {FusedJob{outputs, inputs}});
}

}  // namespace accel::engine
