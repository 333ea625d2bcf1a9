#include "engine/loss.h"

#include <algorithm>
#include <atomic>
#include <vector>

#include "engine/plan_mode.h"
#include "kernels/loss/nll.h"

namespace accel::engine {
namespace {

constexpr int64_t kTile = 32;
// DRAM moves whole 32-byte words: a gathered element costs one.
constexpr int64_t kDramWord = 32;

struct RowTiles {
  int64_t rows, tiles;
  explicit RowTiles(const NllShape& s) : rows(s.n * s.s), tiles((s.n * s.s + kTile - 1) / kTile) {}
};

// The first bad target any core met; the program stops taking rows after it.
struct BadTarget {
  std::atomic<bool> seen{false};
  std::atomic<int64_t> value{0};
  void report(int64_t t) {
    bool expected = false;
    if (seen.compare_exchange_strong(expected, true)) value.store(t);
  }
};

// The weight of a row's class, or 0 for an ignored row; -1 flags a bad target.
inline bool class_weight(const NllShape& sh, const TensorRef& weight, int64_t t, double* w) {
  if (t == sh.ignore_index) {
    *w = 0;
    return true;
  }
  if (t < 0 || t >= sh.c) return false;
  *w = weight.data ? kernels::load_value(weight.data, weight.dtype, t) : 1.0;
  return true;
}

ProgramRecord base_record(const chip::Arch& arch, const char* op, const char* compute,
                          const NllShape& sh, const CoreSplit& split, DType fmt, int64_t l1) {
  ProgramRecord rec;
  rec.op = op;
  rec.reader = "reader_nll_gather";
  rec.compute = compute;
  rec.writer = "writer_nll";
  rec.input_format = rec.output_format = dtype_name(fmt);
  rec.tiles = RowTiles(sh).tiles;
  rec.cores_used = split.cores_used;
  rec.max_tiles_per_core = split.max_tiles();
  rec.l1_bytes_per_core = l1;
  return rec;
}

}  // namespace

ProgramRecord run_nll_forward(const chip::Arch& arch, const char* op, const NllShape& sh,
                              const TensorRef& input, const TensorRef& target,
                              const TensorRef& weight, const TensorRef& out,
                              const TensorRef& total_weight, bool* bad, int64_t* bad_target) {
  const RowTiles rt(sh);
  const int64_t tile_area = arch.tile_rows * arch.tile_cols;
  const int64_t eb = dtype_bytes(input.dtype);
  const int64_t l1 = check_l1(arch, op,
                              {{"target", 2, tile_area * 8}, {"gathered", 2, tile_area * eb},
                               {"weight", 2, tile_area * eb}, {"loss", 2, tile_area * 4}});
  const CoreSplit split = split_tiles(rt.tiles, arch.num_cores());
  std::vector<double> loss_part(split.cores_used, 0), weight_part(split.cores_used, 0);
  BadTarget bt;
  const auto* tgt = static_cast<const int64_t*>(target.data);
  run_on_cores(split, [&](int64_t core, int64_t begin, int64_t end) {
    double loss_sum = 0, weight_sum = 0;
    for (int64_t tile = begin; tile < end && !bt.seen.load(std::memory_order_relaxed); ++tile) {
      const int64_t r_end = std::min(rt.rows, (tile + 1) * kTile);
      for (int64_t r = tile * kTile; r < r_end; ++r) {
        const int64_t n = r / sh.s, s = r % sh.s, t = tgt[r];
        double w;
        if (!class_weight(sh, weight, t, &w)) {
          bt.report(t);
          return;
        }
        const double x = w == 0 ? 0 : kernels::load_value(input.data, input.dtype, (n * sh.c + t) * sh.s + s);
        const double loss = -w * x;
        if (sh.reduction == Reduction::None) kernels::store_value(out.data, out.dtype, r, loss);
        loss_sum += loss;
        weight_sum += w;
      }
    }
    loss_part[core] = loss_sum;
    weight_part[core] = weight_sum;
  });
  *bad = bt.seen.load();
  *bad_target = bt.value.load();
  if (!executing()) {
    // An estimate writes no results.
  } else if (!*bad && sh.reduction != Reduction::None) {
    // Combine step: core 0 gathers the partials over the NoC.
    double loss = 0, w = 0;
    for (int64_t c = 0; c < split.cores_used; ++c) {
      loss += loss_part[c];
      w += weight_part[c];
    }
    kernels::store_value(total_weight.data, total_weight.dtype, 0, w);
    kernels::store_value(out.data, out.dtype, 0, sh.reduction == Reduction::Mean ? loss / w : loss);
  } else if (!*bad && total_weight.data && total_weight.numel() > 0) {
    kernels::store_value(total_weight.data, total_weight.dtype, 0, 0);
  }

  ProgramRecord rec = base_record(arch, op, "sfpu_nll_forward", sh, split, input.dtype, l1);
  rec.flops = rt.rows * 3;
  rec.dram_read_bytes = rt.rows * (8 + kDramWord * (weight.data ? 2 : 1));
  rec.dram_write_bytes = sh.reduction == Reduction::None ? rt.rows * eb : 2 * eb;
  rec.noc_bytes = rec.dram_read_bytes + rec.dram_write_bytes + split.cores_used * 16;
  return rec;
}

ProgramRecord run_nll_backward(const chip::Arch& arch, const char* op, const NllShape& sh,
                               const TensorRef& grad_output, const TensorRef& target,
                               const TensorRef& weight, const TensorRef& total_weight,
                               const TensorRef& grad_input, bool* bad, int64_t* bad_target) {
  const RowTiles rt(sh);
  const int64_t tile_area = arch.tile_rows * arch.tile_cols;
  const int64_t eb = dtype_bytes(grad_input.dtype);
  // The writer streams zero tiles and the target entries; a row's C values
  // never sit in L1 at once, so any class count fits.
  const int64_t l1 = check_l1(arch, op,
                              {{"target", 2, tile_area * 8}, {"grad_out", 2, tile_area * eb},
                               {"weight", 2, tile_area * eb}, {"grad_in", 2, tile_area * eb}});
  const CoreSplit split = split_tiles(rt.tiles, arch.num_cores());
  BadTarget bt;
  const auto* tgt = static_cast<const int64_t*>(target.data);
  const bool per_row = sh.reduction == Reduction::None;
  const bool scalars = executing() && !per_row;  // an estimate reads no data
  const double scalar_grad = scalars ? kernels::load_value(grad_output.data, grad_output.dtype, 0) : 0;
  const double norm = scalars && sh.reduction == Reduction::Mean
                          ? 1.0 / kernels::load_value(total_weight.data, total_weight.dtype, 0)
                          : 1.0;
  run_on_cores(split, [&](int64_t, int64_t begin, int64_t end) {
    for (int64_t tile = begin; tile < end && !bt.seen.load(std::memory_order_relaxed); ++tile) {
      const int64_t r0 = tile * kTile, r_end = std::min(rt.rows, r0 + kTile);
      // Zero the tile's rows: contiguous [rows, C] when S == 1, else C runs per n.
      if (sh.s == 1) {
        kernels::zero_values(grad_input.data, grad_input.dtype, r0 * sh.c, (r_end - r0) * sh.c);
      } else {
        for (int64_t r = r0; r < r_end;) {
          const int64_t n = r / sh.s, s = r % sh.s, len = std::min(r_end - r, sh.s - s);
          for (int64_t c = 0; c < sh.c; ++c)
            kernels::zero_values(grad_input.data, grad_input.dtype, (n * sh.c + c) * sh.s + s, len);
          r += len;
        }
      }
      for (int64_t r = r0; r < r_end; ++r) {
        const int64_t t = tgt[r];
        double w;
        if (!class_weight(sh, weight, t, &w)) {
          bt.report(t);
          return;
        }
        if (w == 0) continue;
        const double g = per_row ? kernels::load_value(grad_output.data, grad_output.dtype, r) : scalar_grad;
        const int64_t n = r / sh.s, s = r % sh.s;
        kernels::store_value(grad_input.data, grad_input.dtype, (n * sh.c + t) * sh.s + s, -w * g * norm);
      }
    }
  });
  *bad = bt.seen.load();
  *bad_target = bt.value.load();

  ProgramRecord rec = base_record(arch, op, "sfpu_nll_backward", sh, split, grad_input.dtype, l1);
  rec.flops = rt.rows * 3;
  rec.dram_read_bytes = rt.rows * (8 + (weight.data ? kDramWord : 0) + (per_row ? eb : 0));
  rec.dram_write_bytes = grad_input.numel() * eb;
  rec.noc_bytes = rec.dram_read_bytes + rec.dram_write_bytes;
  return rec;
}

}  // namespace accel::engine
