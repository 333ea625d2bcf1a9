// Pooling and resampling tile kernels: each output element reduces (or
// interpolates) a window of one (n, c) plane. Backward kernels scatter a
// plane's output gradient into an fp32 accumulator of its input plane (the
// avg kinds gather it instead, in the same order). A core's run of outputs
// or planes is one call; the window kinds take it eight outputs at a time on
// tables planned once per program (WindowPlan).
#pragma once

#include <cstdint>
#include <vector>

#include "engine/tensor_ref.h"

namespace accel::kernels {

enum class PoolKind { Max, Avg, AdaptiveAvg, AdaptiveMax, Nearest, Bilinear };

// Per output index along one axis, computed by the caller with ATen's index
// conventions: adaptive pools [lo, hi); nearest lo; bilinear lo, hi and the
// weight w1 of hi (lo's is 1 - w1).
struct AxisTable {
  std::vector<int64_t> lo, hi;
  std::vector<float> w1;
};

struct PoolSpec {
  PoolKind kind = PoolKind::Max;
  int64_t kernel[2] = {1, 1}, stride[2] = {1, 1}, pad[2] = {0, 0}, dil[2] = {1, 1};
  bool count_include_pad = true;
  int64_t divisor = 0;  // 0: none given
  AxisTable axis[2];
};

// One (n, c) plane with any strides.
struct Plane {
  void* data = nullptr;
  engine::DType dtype = engine::DType::F32;
  int64_t sh = 0, sw = 0, H = 0, W = 0;

  bool dense() const { return sw == 1 && sh == W; }  // its rows one run
};

// A [N, C, H, W] map (f32, bf16, f16; i64 indices) with any strides; plane
// nc is (nc / C, nc % C).
struct PlaneBatch {
  void* data = nullptr;
  engine::DType dtype = engine::DType::F32;
  int64_t N = 0, C = 0, H = 0, W = 0;
  int64_t sn = 0, sc = 0, sh = 0, sw = 0;

  Plane plane(int64_t n, int64_t c) const {
    return {static_cast<char*>(data) + (n * sn + c * sc) * engine::dtype_bytes(dtype), dtype, sh, sw, H, W};
  }
  Plane plane(int64_t nc) const { return plane(nc / C, nc % C); }
  int64_t planes() const { return N * C; }
  // Whether plane nc sits at nc * sc (n and c merge), as in NCHW.
  bool planes_uniform() const { return N == 1 || sn == C * sc; }
  // Whether all its planes are one run (one tall dense plane).
  bool stacked() const { return sw == 1 && sh == W && sc == H * W && planes_uniform(); }
};

// The vector path's tables (window_plan.cpp, window_grad.cpp), built once
// per program: outputs are taken eight at a time, each lane reading its own
// window. A period is `period_planes` consecutive planes; each table holds
// one entry per output position of a period (plane-major, row-major within
// a plane), offsets relative to the period's first plane.
struct WindowPlan {
  bool vector = false;           // false: every output takes the scalar path
  bool packed_source = false;    // read an fp32 copy of the input (bf16, f16)
  bool padded_source = false;    // the source has kLanes readable floats past its end
  bool guarded_source = false;   // every tap offset of every lane may be read
  bool divide = true;            // avg kinds: divide the sums by `divisor`
  bool whole_batch = false;      // planes of all n share one stride: one segment
  bool out_flat = false, idx_flat = false;  // the period's outputs are consecutive
  int64_t per_plane = 0, period_planes = 1, period = 0;
  int64_t taps_h = 0, taps_w = 0;            // the tap grid (adaptive: the widest window)
  int64_t row_step = 1, col_step = 1;        // ih, iw between taps (dilation)
  int64_t src_step_h = 0, src_step_w = 0;    // source offset between taps
  int64_t src_plane = 0;                     // source offset between planes
  int64_t idx_step_h = 0, idx_step_w = 0;    // ih * W + iw between taps
  // Per output position: source offset of tap (0, 0); its ih, iw; the rows
  // and columns a tap may read [lo, hi); ih * W + iw of tap (0, 0); store
  // offsets of the output and index.
  std::vector<int32_t> src_off, row0, col0, row_lo, row_hi, col_lo, col_hi, idx0, out_off, idx_off;
  // Avg kinds: what each window's sum is divided by (backward: per grad_out
  // position of a period, dividing the shares).
  std::vector<float> divisor;
  std::vector<uint8_t> block;                // per 8 outputs: BlockKind
  std::vector<uint8_t> load;                 // per 8 outputs: TapLoad (interior blocks)
};

enum BlockKind : uint8_t { kScalarBlock, kInteriorBlock, kMaskedBlock };
// The lanes' taps: gathered; consecutive; runs of 8, 4 or 2 lanes a stride
// of 2 apart (taps side by side load as pairs); or within eight elements
// from the first lane's (one load, permuted; padded sources only).
enum TapLoad : uint8_t { kGatherLoad, kUnitLoad, kPairLoad8, kPairLoad4, kPairLoad2, kPermuteLoad };

WindowPlan plan_window(const PoolSpec& p, const PlaneBatch& in, const PlaneBatch& out, const PlaneBatch* idx);

// Outputs [f0, f1) of the batch, numbered plane-major then row-major (output
// nc*OH*OW + oh*OW + ow); idx (int64, out's sizes) is written for the max
// kinds, else null.
void pool_forward(const PoolSpec& p, const WindowPlan& plan, const PlaneBatch& in, const PlaneBatch& out,
                  const PlaneBatch* idx, int64_t f0, int64_t f1);

// The avg kinds' backward tables (window_grad.cpp), per input position;
// other kinds: plan.vector is false.
WindowPlan plan_backward(const PoolSpec& p, const PlaneBatch& grad_out, const PlaneBatch& grad_in);

// Planes [nc0, nc1) of grad_in: each the scatter of its grad_out plane, in
// output order (as an fp32 accumulator, then stored in grad_in's dtype).
void pool_backward(const PoolSpec& p, const WindowPlan& plan, const PlaneBatch& grad_out,
                   const PlaneBatch* idx, const PlaneBatch& grad_in, int64_t nc0, int64_t nc1);

}  // namespace accel::kernels
