// The compute half of the reduction programs. Each accumulator folds one
// tile's worth of values into a State: row() a run along the reduced axis
// (one output), cols() a [rows x w] block, rows ld apart, whose columns are
// w outputs. States of consecutive pieces of the reduced axis merge in
// order, so first-index ties and NaN propagation agree with ATen's.
#pragma once

#include <ATen/cpu/vec/vec.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "engine/reduce.h"

namespace accel::kernels::reduce {

using engine::ReduceParams;
template <class C>
using Vec = at::vec::Vectorized<C>;

constexpr int64_t kTileElems = 1024;
constexpr int64_t kTileWidth = 32;

template <class C>
constexpr bool kFloat = std::is_floating_point_v<C>;

template <class C>
inline bool is_nan(C x) {
  if constexpr (kFloat<C>) return x != x;
  else return false;
}
template <class C>
inline C max_nan(C a, C b) { return is_nan(a) ? a : (is_nan(b) || b > a) ? b : a; }
template <class C>
inline C min_nan(C a, C b) { return is_nan(a) ? a : (is_nan(b) || b < a) ? b : a; }

template <class C>
constexpr C lowest() {
  if constexpr (kFloat<C>) return -std::numeric_limits<C>::infinity();
  else return std::numeric_limits<C>::lowest();
}
template <class C>
constexpr C highest() {
  if constexpr (kFloat<C>) return std::numeric_limits<C>::infinity();
  else return std::numeric_limits<C>::max();
}

// Folds map(x[i]) with op over four vector accumulators, the lanes combined
// at the end: a tile's sum adds at most 32 values per lane, the blocked
// accumulation that keeps fp32 sums within ATen's cascade.
template <class C, class VMap, class SMap, class VOp, class SOp>
inline C fold(const C* x, int64_t n, C init, VMap vmap, SMap smap, VOp vop, SOp sop) {
  constexpr int64_t L = Vec<C>::size();
  Vec<C> a0(init), a1(init), a2(init), a3(init);
  int64_t i = 0;
  for (; i + 4 * L <= n; i += 4 * L) {
    a0 = vop(a0, vmap(Vec<C>::loadu(x + i)));
    a1 = vop(a1, vmap(Vec<C>::loadu(x + i + L)));
    a2 = vop(a2, vmap(Vec<C>::loadu(x + i + 2 * L)));
    a3 = vop(a3, vmap(Vec<C>::loadu(x + i + 3 * L)));
  }
  for (; i + L <= n; i += L) a0 = vop(a0, vmap(Vec<C>::loadu(x + i)));
  alignas(64) C lanes[4 * L];
  vop(a0, a1).store(lanes);
  vop(a2, a3).store(lanes + L);
  C t = init;
  for (int64_t j = 0; j < 2 * L; ++j) t = sop(t, lanes[j]);
  for (; i < n; ++i) t = sop(t, smap(x[i]));
  return t;
}

// The identity map, as a function object so fold's loops inline it (a
// function pointer there would be an indirect call per vector).
struct Identity {
  template <class T>
  T operator()(T v) const { return v; }
};

template <class C>
inline C sum_of(const C* x, int64_t n) {
  return fold<C>(x, n, C(0), Identity{}, Identity{}, [](Vec<C> a, Vec<C> b) { return a + b; },
                 [](C a, C b) { return a + b; });
}

// Column folds: out[j] = op over rows of map(t[r * ld + j]); the compiler
// vectorizes across the independent columns.
template <class C, class SMap, class SOp>
inline void fold_cols(const C* t, int64_t rows, int64_t w, int64_t ld, C init, SMap smap, SOp sop,
                      C* out) {
  for (int64_t j = 0; j < w; ++j) out[j] = init;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < w; ++j) out[j] = sop(out[j], smap(t[r * ld + j]));
}

// out[j] = sum over r of t[r * ld + j], each column added in row order from
// zero (fold_cols' order, so results match it bit for bit), with the host's
// widest vectors across the columns (col_math.cpp).
void col_sums(float* out, const float* t, int64_t rows, int64_t w, int64_t ld);
void col_sums(double* out, const double* t, int64_t rows, int64_t w, int64_t ld);

// Tile partials summed in a cascade of three fp32 levels (32 tiles, 1024
// tiles, the rest), so long reductions keep pairwise-like error.
template <class C>
struct Cascade {
  C lo = 0, mid = 0, hi = 0;
  int32_t n_lo = 0, n_mid = 0;
  void add(C t) {
    lo += t;
    if (++n_lo < 32) return;
    mid += lo;
    lo = 0;
    n_lo = 0;
    if (++n_mid < 32) return;
    hi += mid;
    mid = 0;
    n_mid = 0;
  }
  C total() const { return hi + mid + lo; }
};

template <class C>
struct Result {
  C value{};
  int64_t index = 0;
  C mean{};
};

template <class C>
struct SumAcc {
  bool skip_nan = false, mean = false;
  using State = Cascade<C>;
  State init() const { return {}; }
  void row(State& s, const C* x, int64_t n, int64_t) const {
    if (kFloat<C> && skip_nan) {
      s.add(fold<C>(x, n, C(0), [](Vec<C> v) { return Vec<C>::blendv(v, Vec<C>(0), v != v); },
                    [](C v) { return is_nan(v) ? C(0) : v; },
                    [](Vec<C> a, Vec<C> b) { return a + b; }, [](C a, C b) { return a + b; }));
    } else {
      s.add(sum_of(x, n));
    }
  }
  void cols(State* s, const C* t, int64_t rows, int64_t w, int64_t ld, int64_t) const {
    C tmp[kTileWidth];
    if (skip_nan) fold_cols(t, rows, w, ld, C(0), [](C v) { return is_nan(v) ? C(0) : v; }, std::plus<C>(), tmp);
    else if constexpr (kFloat<C>) col_sums(tmp, t, rows, w, ld);
    else fold_cols(t, rows, w, ld, C(0), Identity{}, std::plus<C>(), tmp);
    for (int64_t j = 0; j < w; ++j) s[j].add(tmp[j]);
  }
  void merge(State& a, const State& b) const { a.hi += b.total(); }
  Result<C> finish(const State& s, int64_t n) const {
    if constexpr (kFloat<C>) {
      if (mean) return {s.total() / static_cast<C>(n)};
    }
    return {s.total()};
  }
};

template <class C>
struct ProdAcc {
  using State = C;
  State init() const { return C(1); }
  void row(State& s, const C* x, int64_t n, int64_t) const {
    s *= fold<C>(x, n, C(1), Identity{}, Identity{}, [](Vec<C> a, Vec<C> b) { return a * b; },
                 [](C a, C b) { return a * b; });
  }
  void cols(State* s, const C* t, int64_t rows, int64_t w, int64_t ld, int64_t) const {
    C tmp[kTileWidth];
    fold_cols(t, rows, w, ld, C(1), Identity{}, std::multiplies<C>(), tmp);
    for (int64_t j = 0; j < w; ++j) s[j] *= tmp[j];
  }
  void merge(State& a, const State& b) const { a *= b; }
  Result<C> finish(const State& s, int64_t) const { return {s}; }
};

template <class C, bool kMax>
inline C extreme_of(const C* x, int64_t n) {
  if constexpr (kMax)
    return fold<C>(x, n, lowest<C>(), Identity{}, Identity{},
                   [](Vec<C> a, Vec<C> b) { return at::vec::maximum(a, b); }, max_nan<C>);
  else
    return fold<C>(x, n, highest<C>(), Identity{}, Identity{},
                   [](Vec<C> a, Vec<C> b) { return at::vec::minimum(a, b); }, min_nan<C>);
}

// amax / amin / max() / min(): NaN wins.
template <class C, bool kMax>
struct ExtremeAcc {
  using State = C;
  static C pick(C a, C b) { return kMax ? max_nan(a, b) : min_nan(a, b); }
  State init() const { return kMax ? lowest<C>() : highest<C>(); }
  void row(State& s, const C* x, int64_t n, int64_t) const { s = pick(s, extreme_of<C, kMax>(x, n)); }
  void cols(State* s, const C* t, int64_t rows, int64_t w, int64_t ld, int64_t) const {
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < w; ++j) s[j] = pick(s[j], t[r * ld + j]);
  }
  void merge(State& a, const State& b) const { a = pick(a, b); }
  Result<C> finish(const State& s, int64_t) const { return {s}; }
};

// argmax / argmin / max.dim / min.dim: the first index of the extreme, a NaN
// counting as the extreme.
template <class C, bool kMax>
struct ArgAcc {
  struct State {
    C v{};
    int64_t i = -1;
  };
  static bool better(C x, const State& s) {
    if (s.i < 0) return true;
    if (is_nan(s.v)) return false;
    return is_nan(x) || (kMax ? x > s.v : x < s.v);
  }
  State init() const { return {}; }
  void row(State& s, const C* x, int64_t n, int64_t r0) const {
    if (n == 0) return;
    const C best = extreme_of<C, kMax>(x, n);
    if (!better(best, s)) return;
    const bool nan = is_nan(best);
    for (int64_t j = 0; j < n; ++j) {
      if (nan ? is_nan(x[j]) : x[j] == best) {
        s = {best, r0 + j};
        return;
      }
    }
  }
  void cols(State* s, const C* t, int64_t rows, int64_t w, int64_t ld, int64_t r0) const {
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < w; ++j)
        if (better(t[r * ld + j], s[j])) s[j] = {t[r * ld + j], r0 + r};
  }
  void merge(State& a, const State& b) const {
    if (b.i >= 0 && better(b.v, a)) a = b;
  }
  Result<C> finish(const State& s, int64_t) const { return {s.v, s.i}; }
};

// var / std / var_mean: each tile's mean and squared deviations in two
// passes over L1, tiles merged by Chan's formula in fp64.
template <class C>
struct VarAcc {
  double correction = 1;
  bool take_sqrt = false;
  struct State {
    double n = 0, mean = 0, m2 = 0;
  };
  static void combine(State& a, double n, double mean, double m2) {
    if (n == 0) return;
    const double total = a.n + n, delta = mean - a.mean;
    a.mean += delta * n / total;
    a.m2 += m2 + delta * delta * a.n * n / total;
    a.n = total;
  }
  State init() const { return {}; }
  void row(State& s, const C* x, int64_t n, int64_t) const {
    if (n == 0) return;
    const C m = sum_of(x, n) / static_cast<C>(n);
    const Vec<C> vm(m);
    const C m2 = fold<C>(x, n, C(0), [vm](Vec<C> v) { return (v - vm) * (v - vm); },
                         [m](C v) { return (v - m) * (v - m); },
                         [](Vec<C> a, Vec<C> b) { return a + b; }, [](C a, C b) { return a + b; });
    combine(s, static_cast<double>(n), m, m2);
  }
  void cols(State* s, const C* t, int64_t rows, int64_t w, int64_t ld, int64_t) const {
    if (rows == 0) return;
    C m[kTileWidth], m2[kTileWidth];
    fold_cols(t, rows, w, ld, C(0), Identity{}, std::plus<C>(), m);
    for (int64_t j = 0; j < w; ++j) m[j] /= static_cast<C>(rows), m2[j] = 0;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < w; ++j) m2[j] += (t[r * ld + j] - m[j]) * (t[r * ld + j] - m[j]);
    for (int64_t j = 0; j < w; ++j) combine(s[j], static_cast<double>(rows), m[j], m2[j]);
  }
  void merge(State& a, const State& b) const { combine(a, b.n, b.mean, b.m2); }
  Result<C> finish(const State& s, int64_t) const {
    const double var = s.m2 / std::max(s.n - correction, 0.0);
    const double mean = s.n == 0 ? std::numeric_limits<double>::quiet_NaN() : s.mean;
    return {static_cast<C>(take_sqrt ? std::sqrt(var) : var), 0, static_cast<C>(mean)};
  }
};

// all / any: a value counts as true when nonzero (NaN included).
template <class C, bool kAll>
struct LogicalAcc {
  using State = bool;
  State init() const { return kAll; }
  void row(State& s, const C* x, int64_t n, int64_t) const {
    if (s != kAll) return;
    for (int64_t i = 0; i < n; ++i)
      if ((x[i] != C(0)) != kAll) {
        s = !kAll;
        return;
      }
  }
  void cols(State* s, const C* t, int64_t rows, int64_t w, int64_t ld, int64_t) const {
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < w; ++j)
        if ((t[r * ld + j] != C(0)) != kAll) s[j] = !kAll;
  }
  void merge(State& a, const State& b) const { a = kAll ? (a && b) : (a || b); }
  Result<C> finish(const State& s, int64_t) const { return {static_cast<C>(s)}; }
};

// linalg_vector_norm: sum of |x|^ord (ord 0 counts nonzeros), or the extreme
// |x| for ord = +-inf.
template <class C>
struct NormAcc {
  enum Mode { Count, L1, L2, Max, Min, Power };
  Mode mode = L2;
  C ord = 2;
  explicit NormAcc(double p) : ord(static_cast<C>(p)) {
    mode = p == 0 ? Count : p == 1 ? L1 : p == 2 ? L2 : std::isinf(p) ? (p > 0 ? Max : Min) : Power;
  }
  struct State {
    Cascade<C> sum;
    C ext;
  };
  C map(C v) const {
    switch (mode) {
      case Count: return v != C(0) ? C(1) : C(0);
      case L1: case Max: case Min: return std::abs(v);
      case L2: return v * v;
      case Power: return std::pow(std::abs(v), ord);
    }
    return v;
  }
  C pick(C a, C b) const { return mode == Max ? max_nan(a, b) : min_nan(a, b); }
  State init() const { return {{}, mode == Min ? highest<C>() : C(0)}; }
  void row(State& s, const C* x, int64_t n, int64_t) const {
    const auto add = [](Vec<C> a, Vec<C> b) { return a + b; };
    const auto sadd = [](C a, C b) { return a + b; };
    switch (mode) {
      case L2:
        s.sum.add(fold<C>(x, n, C(0), [](Vec<C> v) { return v * v; }, [](C v) { return v * v; }, add, sadd));
        return;
      case L1:
        s.sum.add(fold<C>(x, n, C(0), [](Vec<C> v) { return v.abs(); }, [](C v) { return std::abs(v); }, add, sadd));
        return;
      default:
        break;
    }
    C t = mode == Min ? highest<C>() : C(0);
    for (int64_t i = 0; i < n; ++i) t = (mode == Max || mode == Min) ? pick(t, map(x[i])) : t + map(x[i]);
    if (mode == Max || mode == Min) s.ext = pick(s.ext, t);
    else s.sum.add(t);
  }
  void cols(State* s, const C* t, int64_t rows, int64_t w, int64_t ld, int64_t r0) const {
    for (int64_t j = 0; j < w; ++j) {
      C col[kTileWidth];
      for (int64_t r = 0; r < rows; ++r) col[r] = t[r * ld + j];
      row(s[j], col, rows, r0);
    }
  }
  void merge(State& a, const State& b) const {
    a.sum.hi += b.sum.total();
    a.ext = pick(a.ext, b.ext);
  }
  Result<C> finish(const State& s, int64_t) const {
    switch (mode) {
      case Count: case L1: return {s.sum.total()};
      case L2: return {std::sqrt(s.sum.total())};
      case Max: case Min: return {s.ext};
      case Power: return {std::pow(s.sum.total(), C(1) / ord)};
    }
    return {};
  }
};

// logsumexp: a running maximum and the sum of exp(x - max) rescaled as the
// maximum grows; infinities and NaN decide the result alone.
template <class C>
struct LogSumExpAcc {
  struct State {
    C m = -std::numeric_limits<C>::infinity();
    C s = 0;
  };
  static void combine(State& a, C m, C s) {
    if (!std::isfinite(m) || !std::isfinite(a.m)) {
      if (is_nan(m) || is_nan(a.m)) a.m = std::numeric_limits<C>::quiet_NaN();
      else if (m > a.m) a = {m, s};
      else if (m == a.m && std::isinf(m) && m > 0) a.m = m;
      return;
    }
    const C top = std::max(a.m, m);
    a.s = a.s * std::exp(a.m - top) + s * std::exp(m - top);
    a.m = top;
  }
  State init() const { return {}; }
  void row(State& st, const C* x, int64_t n, int64_t) const {
    if (n == 0) return;
    const C m = extreme_of<C, true>(x, n);
    if (!std::isfinite(m)) return combine(st, m, C(1));
    const Vec<C> vm(m);
    const C s = fold<C>(x, n, C(0), [vm](Vec<C> v) { return (v - vm).exp(); },
                        [m](C v) { return std::exp(v - m); },
                        [](Vec<C> a, Vec<C> b) { return a + b; }, [](C a, C b) { return a + b; });
    combine(st, m, s);
  }
  void cols(State* s, const C* t, int64_t rows, int64_t w, int64_t ld, int64_t r0) const {
    for (int64_t j = 0; j < w; ++j) {
      C col[kTileWidth];
      for (int64_t r = 0; r < rows; ++r) col[r] = t[r * ld + j];
      row(s[j], col, rows, r0);
    }
  }
  void merge(State& a, const State& b) const { combine(a, b.m, b.s); }
  Result<C> finish(const State& s, int64_t) const {
    return {std::isfinite(s.m) ? s.m + std::log(s.s) : s.m};
  }
};

}  // namespace accel::kernels::reduce
