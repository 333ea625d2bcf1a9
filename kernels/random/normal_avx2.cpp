// CPU ATen's AVX2 builds turn 16 float uniforms into normals with Cephes'
// single-precision log and sincos polynomials (8 lanes at a time) instead of
// libm; this is the same evaluation, step for step, so that its roundings
// (including where the compiler fuses a multiply into the following add)
// match. Built for AVX2+FMA through function targets and used only when the
// host has them, as CPU ATen's dispatch does.
#include "kernels/random/normal.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

namespace accel::kernels {
namespace {

#define ACCEL_AVX2 __attribute__((target("avx2,fma")))

ACCEL_AVX2 inline __m256 splat(double v) { return _mm256_set1_ps(static_cast<float>(v)); }
ACCEL_AVX2 inline __m256 bits(int v) { return _mm256_castsi256_ps(_mm256_set1_epi32(v)); }

// log(x) = e * ln2 + log(m), m in [sqrt(1/2), sqrt(2)), log(1 + t) by a
// degree-9 polynomial; ln2 is split in two parts to keep its error small.
ACCEL_AVX2 __m256 log8(__m256 x) {
  const __m256 one = splat(1.0);
  const __m256 bad = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LE_OS);
  x = _mm256_max_ps(x, bits(0x00800000));
  const __m256i biased = _mm256_srli_epi32(_mm256_castps_si256(x), 23);
  x = _mm256_or_ps(_mm256_and_ps(x, bits(~0x7f800000)), splat(0.5));
  __m256 e = _mm256_cvtepi32_ps(_mm256_sub_epi32(biased, _mm256_set1_epi32(0x7f)));
  e = _mm256_add_ps(e, one);
  const __m256 below = _mm256_cmp_ps(x, splat(0.707106781186547524), _CMP_LT_OS);
  const __m256 again = _mm256_and_ps(x, below);
  x = _mm256_sub_ps(x, one);
  e = _mm256_sub_ps(e, _mm256_and_ps(one, below));
  x = _mm256_add_ps(x, again);
  const __m256 z = _mm256_mul_ps(x, x);
  static constexpr double kP[9] = {7.0376836292E-2, -1.1514610310E-1, 1.1676998740E-1,
                                   -1.2420140846E-1, 1.4249322787E-1, -1.6668057665E-1,
                                   2.0000714765E-1, -2.4999993993E-1, 3.3333331174E-1};
  __m256 y = splat(kP[0]);
  for (int k = 1; k < 9; ++k) y = _mm256_add_ps(_mm256_mul_ps(y, x), splat(kP[k]));
  y = _mm256_mul_ps(y, x);
  y = _mm256_mul_ps(y, z);
  y = _mm256_add_ps(y, _mm256_mul_ps(e, splat(-2.12194440e-4)));
  y = _mm256_sub_ps(y, _mm256_mul_ps(z, splat(0.5)));
  x = _mm256_add_ps(x, y);
  x = _mm256_add_ps(x, _mm256_mul_ps(e, splat(0.693359375)));
  return _mm256_or_ps(x, bad);
}

// sin and cos of x: reduce by multiples of pi/4 (j, made even) in three
// parts of pi/4, evaluate both polynomials on the remainder, then pick and
// sign them by j's octant.
ACCEL_AVX2 void sincos8(__m256 x, __m256* s, __m256* c) {
  __m256 sign_sin = _mm256_and_ps(x, bits(static_cast<int>(0x80000000u)));
  x = _mm256_and_ps(x, bits(0x7fffffff));
  __m256i j = _mm256_cvttps_epi32(_mm256_mul_ps(x, splat(1.27323954473516)));
  j = _mm256_and_si256(_mm256_add_epi32(j, _mm256_set1_epi32(1)), _mm256_set1_epi32(~1));
  const __m256 y = _mm256_cvtepi32_ps(j);
  const __m256 swap_sin =
      _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_and_si256(j, _mm256_set1_epi32(4)), 29));
  const __m256 use_sin_poly = _mm256_castsi256_ps(
      _mm256_cmpeq_epi32(_mm256_and_si256(j, _mm256_set1_epi32(2)), _mm256_setzero_si256()));
  x = _mm256_add_ps(x, _mm256_mul_ps(y, splat(-0.78515625)));
  x = _mm256_add_ps(x, _mm256_mul_ps(y, splat(-2.4187564849853515625e-4)));
  x = _mm256_add_ps(x, _mm256_mul_ps(y, splat(-3.77489497744594108e-8)));
  const __m256i jc = _mm256_sub_epi32(j, _mm256_set1_epi32(2));
  const __m256 sign_cos =
      _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_andnot_si256(jc, _mm256_set1_epi32(4)), 29));
  sign_sin = _mm256_xor_ps(sign_sin, swap_sin);

  const __m256 z = _mm256_mul_ps(x, x);
  __m256 yc = splat(2.443315711809948E-005);
  yc = _mm256_add_ps(_mm256_mul_ps(yc, z), splat(-1.388731625493765E-003));
  yc = _mm256_add_ps(_mm256_mul_ps(yc, z), splat(4.166664568298827E-002));
  yc = _mm256_mul_ps(yc, z);
  yc = _mm256_mul_ps(yc, z);
  yc = _mm256_sub_ps(yc, _mm256_mul_ps(z, splat(0.5)));
  yc = _mm256_add_ps(yc, splat(1.0));

  __m256 ys = splat(-1.9515295891E-4);
  ys = _mm256_add_ps(_mm256_mul_ps(ys, z), splat(8.3321608736E-3));
  ys = _mm256_add_ps(_mm256_mul_ps(ys, z), splat(-1.6666654611E-1));
  ys = _mm256_mul_ps(ys, z);
  ys = _mm256_mul_ps(ys, x);
  ys = _mm256_add_ps(ys, x);

  const __m256 sin_from_ys = _mm256_and_ps(use_sin_poly, ys);
  const __m256 sin_from_yc = _mm256_andnot_ps(use_sin_poly, yc);
  ys = _mm256_sub_ps(ys, sin_from_ys);
  yc = _mm256_sub_ps(yc, sin_from_yc);
  *s = _mm256_xor_ps(_mm256_add_ps(sin_from_yc, sin_from_ys), sign_sin);
  *c = _mm256_xor_ps(_mm256_add_ps(yc, ys), sign_cos);
}

ACCEL_AVX2 void box_muller16(float* data, float mean, float std) {
  const __m256 u1 = _mm256_sub_ps(_mm256_set1_ps(1.0f), _mm256_loadu_ps(data));
  const __m256 u2 = _mm256_loadu_ps(data + 8);
  const __m256 radius = _mm256_sqrt_ps(_mm256_mul_ps(_mm256_set1_ps(-2.0f), log8(u1)));
  const __m256 theta = _mm256_mul_ps(_mm256_set1_ps(static_cast<float>(2.0f * 3.14159265358979323846)), u2);
  __m256 s, c;
  sincos8(theta, &s, &c);
  const __m256 m = _mm256_set1_ps(mean), sd = _mm256_set1_ps(std);
  _mm256_storeu_ps(data, _mm256_fmadd_ps(_mm256_mul_ps(radius, c), sd, m));
  _mm256_storeu_ps(data + 8, _mm256_fmadd_ps(_mm256_mul_ps(radius, s), sd, m));
}

}  // namespace

bool box_muller16_avx2(float* data, float mean, float std) {
  static const bool ok = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (!ok) return false;
  box_muller16(data, mean, std);
  return true;
}

}  // namespace accel::kernels

#else

namespace accel::kernels {
bool box_muller16_avx2(float*, float, float) { return false; }
}  // namespace accel::kernels

#endif
