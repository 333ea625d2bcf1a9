#include "kernels/random/transform.h"

#include <cmath>
#include <limits>
#include <type_traits>

#include "kernels/random/cpu_sampling.h"

namespace accel::kernels {
namespace {

using engine::DType;

template <class T>
T from_int64(int64_t v) {
  if constexpr (std::is_same_v<T, bool>) return v != 0;
  else return static_cast<T>(v);
}

template <class T>
T int_default(uint64_t w) {
  if constexpr (std::is_same_v<T, bool>) {
    return (w & 1) != 0;
  } else if constexpr (std::is_floating_point_v<T> || is_reduced_float<T>()) {
    return static_cast<T>(w % ((uint64_t{1} << mantissa_digits<T>()) + 1));
  } else {
    return static_cast<T>(w % (static_cast<uint64_t>(std::numeric_limits<T>::max()) + 1));
  }
}

template <class T>
constexpr bool is_float_like() {
  return std::is_floating_point_v<T> || is_reduced_float<T>();
}

template <class A>
double aux_value(const void* aux, DType dt, int64_t i) {
  return static_cast<double>(static_cast<const A*>(aux)[i]);
}

double load_aux(const void* aux, DType dt, int64_t i) {
  switch (dt) {
    case DType::F32: return aux_value<float>(aux, dt, i);
    case DType::F64: return aux_value<double>(aux, dt, i);
    case DType::BF16: return aux_value<c10::BFloat16>(aux, dt, i);
    case DType::F16: return aux_value<c10::Half>(aux, dt, i);
    case DType::I8: return aux_value<int8_t>(aux, dt, i);
    case DType::U8: return aux_value<uint8_t>(aux, dt, i);
    case DType::I16: return aux_value<int16_t>(aux, dt, i);
    case DType::I32: return aux_value<int32_t>(aux, dt, i);
    case DType::I64: return aux_value<int64_t>(aux, dt, i);
    case DType::Bool: return aux_value<bool>(aux, dt, i);
  }
  return 0;
}

template <class T>
void transform(const uint64_t* w, T* dst, int64_t n, const RandomParams& p, const void* aux,
               DType aux_dt, bool* mask) {
  switch (p.kind) {
    case RandomKind::Uniform:
      if constexpr (is_float_like<T>()) {
        // From torch 2.13 on, a sample the cast down rounds up onto `to` becomes `from`.
        const T to_t = static_cast<T>(p.b), from_t = static_cast<T>(p.a);
        auto store = [&](int64_t i, T v) { dst[i] = (!kCpuSamplersBefore2_13 && v == to_t) ? from_t : v; };
        if constexpr (std::is_same_v<T, double>) {
          for (int64_t i = 0; i < n; ++i) {
            const double x = fraction53(w[i]);
            store(i, p.fused_uniform ? std::fma(x, p.b - p.a, p.a) : x * (p.b - p.a) + p.a);
          }
        } else {
          // Before torch 2.13 a 16-bit float's fraction has the type's own
          // digits, and to - from rounds to the type.
          constexpr bool own_type = kCpuSamplersBefore2_13 && is_reduced_float<T>();
          const float from = static_cast<float>(own_type ? static_cast<double>(from_t) : p.a);
          const float span = own_type ? static_cast<float>(T(to_t - from_t)) : static_cast<float>(p.b) - from;
          for (int64_t i = 0; i < n; ++i) {
            const float x = fraction<own_type ? mantissa_digits<T>() : 24>(w[i]);
            store(i, static_cast<T>(p.fused_uniform ? std::fma(x, span, from) : x * span + from));
          }
        }
      }
      return;
    case RandomKind::FromTo:
      for (int64_t i = 0; i < n; ++i)
        dst[i] = from_int64<T>(static_cast<int64_t>(w[i] % p.range + static_cast<uint64_t>(p.base)));
      return;
    case RandomKind::FullRange:
      for (int64_t i = 0; i < n; ++i) dst[i] = from_int64<T>(static_cast<int64_t>(w[i]));
      return;
    case RandomKind::IntDefault:
      for (int64_t i = 0; i < n; ++i) dst[i] = int_default<T>(w[i]);
      return;
    case RandomKind::Bernoulli:
      for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<T>(fraction53(w[i]) < p.a);
      return;
    case RandomKind::BernoulliTensor:
      if (aux_dt == DType::F64) {
        for (int64_t i = 0; i < n; ++i)
          dst[i] = static_cast<T>(fraction53(w[i]) < static_cast<const double*>(aux)[i]);
      } else {
        for (int64_t i = 0; i < n; ++i)
          dst[i] = static_cast<T>(fraction<24>(w[i]) < static_cast<float>(load_aux(aux, aux_dt, i)));
      }
      return;
    case RandomKind::Exponential:
      if constexpr (is_float_like<T>())
        for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<T>(-1.0 / p.a * std::log1p(-fraction53(w[i])));
      return;
    case RandomKind::Geometric: {
      const double denom = std::log1p(-p.a);
      for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<T>(std::ceil(std::log(fraction53(w[i])) / denom));
      return;
    }
    case RandomKind::Cauchy:
      if constexpr (is_float_like<T>()) {
        constexpr double pi = 3.14159265358979323846;
        for (int64_t i = 0; i < n; ++i)
        {
          const double t = std::tan(pi * (fraction53(w[i]) - 0.5));
          dst[i] = static_cast<T>(p.fused_uniform ? std::fma(p.b, t, p.a) : p.a + p.b * t);
        }
      }
      return;
    case RandomKind::Dropout:
      if constexpr (is_float_like<T>()) {
        // CPU: mask = bernoulli_(keep) in the input's dtype, out = in * mask * scale,
        // each product in the op-math type (double for double, else float).
        using Op = std::conditional_t<std::is_same_v<T, double>, double, float>;
        const T* in = static_cast<const T*>(aux);
        const Op scale = static_cast<Op>(p.b);
        for (int64_t i = 0; i < n; ++i) {
          const bool keep = fraction53(w[i]) < p.a;
          const T kept = static_cast<T>(static_cast<Op>(in[i]) * static_cast<Op>(keep));
          dst[i] = static_cast<T>(static_cast<Op>(kept) * scale);
          if (mask) mask[i] = keep;
        }
      }
      return;
  }
}

}  // namespace

bool wide_words(const RandomParams& p, DType out, DType prob) {
  switch (p.kind) {
    case RandomKind::Uniform: return out == DType::F64;
    case RandomKind::FromTo: return p.range >= (uint64_t{1} << 28);
    case RandomKind::IntDefault: return out == DType::F64 || out == DType::I64;
    case RandomKind::BernoulliTensor: return prob == DType::F64;
    default: return true;
  }
}

void transform_words(const uint64_t* words, void* dst, DType out, int64_t n, const RandomParams& p,
                     const void* aux, DType aux_dt, bool* mask) {
  switch (out) {
    case DType::F32: return transform(words, static_cast<float*>(dst), n, p, aux, aux_dt, mask);
    case DType::F64: return transform(words, static_cast<double*>(dst), n, p, aux, aux_dt, mask);
    case DType::BF16: return transform(words, static_cast<c10::BFloat16*>(dst), n, p, aux, aux_dt, mask);
    case DType::F16: return transform(words, static_cast<c10::Half*>(dst), n, p, aux, aux_dt, mask);
    case DType::I8: return transform(words, static_cast<int8_t*>(dst), n, p, aux, aux_dt, mask);
    case DType::U8: return transform(words, static_cast<uint8_t*>(dst), n, p, aux, aux_dt, mask);
    case DType::I16: return transform(words, static_cast<int16_t*>(dst), n, p, aux, aux_dt, mask);
    case DType::I32: return transform(words, static_cast<int32_t*>(dst), n, p, aux, aux_dt, mask);
    case DType::I64: return transform(words, static_cast<int64_t*>(dst), n, p, aux, aux_dt, mask);
    case DType::Bool: return transform(words, static_cast<bool*>(dst), n, p, aux, aux_dt, mask);
  }
}

}  // namespace accel::kernels
