#include "kernels/matmul/epilogue.h"

#include "kernels/eltwise/backward.h"
#include "kernels/eltwise/simd.h"
#include "kernels/eltwise/unary.h"

#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include <cmath>
#include <cstring>

namespace accel::kernels {
namespace {

using engine::Activation;
using engine::DType;

template <class F>
void map_row(float* row, int64_t n, F f) {
  for (int64_t i = 0; i < n; ++i) row[i] = f(row[i]);
}

template <class T>
void load_typed(float* dst, const T* src, int64_t stride, int64_t n) {
  if constexpr (std::is_same_v<T, float>) {
    if (stride == 1) return static_cast<void>(std::memcpy(dst, src, n * sizeof(float)));
  }
  for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<float>(src[i * stride]);
}

template <class T>
void store_typed(T* dst, int64_t stride, const float* src, int64_t n) {
  if constexpr (std::is_same_v<T, float>) {
    if (stride == 1) return static_cast<void>(std::memcpy(dst, src, n * sizeof(float)));
  }
  for (int64_t i = 0; i < n; ++i) dst[i * stride] = static_cast<T>(src[i]);
}

}  // namespace

void matmul_epilogue_row(float* row, const float* bias, int64_t n, float alpha, float beta,
                         Activation act) {
  if (alpha != 1.0f) map_row(row, n, [alpha](float x) { return alpha * x; });
  if (bias != nullptr) {
    for (int64_t i = 0; i < n; ++i) row[i] += beta * bias[i];
  }
  matmul_activation_row(row, n, act);
}

void matmul_activation_row(float* row, int64_t n, Activation act) { matmul_activation_row(row, row, n, act); }

void matmul_activation_row(const float* in, float* out, int64_t n, Activation act) {
  // The activation is the element-wise op's own tile kernel (SIMD where the
  // host has it): the same numbers as the separate op.
  Unary op;
  switch (act) {
    case Activation::None:
      if (in != out) std::memcpy(out, in, n * sizeof(float));
      return;
    case Activation::Relu: op = Unary::Relu; break;
    case Activation::Gelu: op = Unary::Gelu; break;
    case Activation::GeluTanh: op = Unary::GeluTanh; break;
    case Activation::Silu: op = Unary::Silu; break;
    default: return;
  }
  const float* operands[] = {in};
  unary_kernel(op).f32(operands, out, n, engine::KernelParams{});
}

void matmul_activation_backward_row(float* grad, const float* saved, int64_t n, Activation act) {
  Backward op;
  engine::KernelParams params;
  switch (act) {
    case Activation::None: return;
    case Activation::Relu: op = Backward::Threshold; params.alpha = 0; break;
    case Activation::Gelu: op = Backward::Gelu; break;
    case Activation::GeluTanh: op = Backward::GeluTanh; break;
    case Activation::Silu: op = Backward::Silu; break;
    default: return;
  }
  const float* in[] = {grad, saved};
  backward_kernel(op).f32(in, grad, n, params);
}

void load_float_row(float* dst, const void* src, DType dt, int64_t stride, int64_t n) {
  const auto& simd = simd_tile_math();
  if (stride == 1 && dt == DType::BF16) return simd.bf16_to_float(src, dst, n);
  if (stride == 1 && dt == DType::F16) return simd.half_to_float(src, dst, n);
  switch (dt) {
    case DType::BF16: return load_typed(dst, static_cast<const c10::BFloat16*>(src), stride, n);
    case DType::F16: return load_typed(dst, static_cast<const c10::Half*>(src), stride, n);
    default: return load_typed(dst, static_cast<const float*>(src), stride, n);
  }
}

void store_float_row(void* dst, DType dt, int64_t stride, const float* src, int64_t n) {
  const auto& simd = simd_tile_math();
  if (stride == 1 && dt == DType::BF16) return simd.float_to_bf16(src, dst, n);
  if (stride == 1 && dt == DType::F16) return simd.float_to_half(src, dst, n);
  switch (dt) {
    case DType::BF16: return store_typed(static_cast<c10::BFloat16*>(dst), stride, src, n);
    case DType::F16: return store_typed(static_cast<c10::Half*>(dst), stride, src, n);
    default: return store_typed(static_cast<float*>(dst), stride, src, n);
  }
}

}  // namespace accel::kernels
