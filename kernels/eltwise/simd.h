// Float tile math and row format conversion on the host's SIMD units. One
// source (simd_impl.cpp) is compiled once per CPU capability, as ATen's own
// kernels are, and the best one the host supports is picked at first use.
#pragma once

#include <cstdint>

#include "kernels/eltwise/backward.h"
#include "kernels/eltwise/binary.h"
#include "kernels/eltwise/unary.h"

namespace accel::kernels {

struct SimdTileMath {
  const char* capability = "";
  // Null where the portable scalar loop already is the best form.
  engine::TileFn<float> unary[kUnaryCount] = {};
  engine::TileFn<float> binary[kBinaryCount] = {};
  engine::TileFn<float> backward[kBackwardCount] = {};
  engine::TileFn<float> ternary[kTernaryCount] = {};
  void (*bf16_to_float)(const void* src, float* dst, int64_t n) = nullptr;
  void (*half_to_float)(const void* src, float* dst, int64_t n) = nullptr;
  void (*float_to_bf16)(const float* src, void* dst, int64_t n) = nullptr;
  void (*float_to_half)(const float* src, void* dst, int64_t n) = nullptr;
};

const SimdTileMath& simd_tile_math();

// Each capability's build fills the table (simd_impl.cpp); its gradients come
// from simd_backward_impl.cpp, which fill_simd_tile_math calls.
namespace DEFAULT {
void fill_simd_tile_math(SimdTileMath& t);
void fill_simd_backward_math(SimdTileMath& t);
}  // namespace DEFAULT
namespace AVX2 {
void fill_simd_tile_math(SimdTileMath& t);
void fill_simd_backward_math(SimdTileMath& t);
}  // namespace AVX2
namespace AVX512 {
void fill_simd_tile_math(SimdTileMath& t);
void fill_simd_backward_math(SimdTileMath& t);
}  // namespace AVX512

}  // namespace accel::kernels
