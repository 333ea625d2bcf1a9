#include "perf/collective_groups.h"

#include <algorithm>
#include <map>
#include <set>

namespace accel::perf {
namespace {

using chip::System;

// The group's extent: per dimension, the distinct coordinates it uses, and
// whether they fill a box (every combination present, each contiguous).
struct Extent {
  std::vector<std::vector<int64_t>> values;  // sorted, per dimension
  std::vector<int> varying;                  // dimensions with more than one value
  bool box = false;
};

Extent extent_of(const System& s, const std::vector<int64_t>& ranks) {
  Extent e;
  e.values.resize(s.dims.size());
  std::vector<std::set<int64_t>> seen(s.dims.size());
  for (int64_t r : ranks) {
    const auto c = s.coords(r);
    for (size_t d = 0; d < c.size(); ++d) seen[d].insert(c[d]);
  }
  size_t combinations = 1;
  bool contiguous = true;
  for (size_t d = 0; d < seen.size(); ++d) {
    e.values[d].assign(seen[d].begin(), seen[d].end());
    combinations *= e.values[d].size();
    if (e.values[d].size() > 1) e.varying.push_back(static_cast<int>(d));
    contiguous = contiguous && e.values[d].back() - e.values[d].front() + 1 ==
                                   static_cast<int64_t>(e.values[d].size());
  }
  e.box = contiguous && combinations == ranks.size();
  return e;
}

// The chip at the group's corner moved to (a, b) along dimensions da, db.
int64_t chip_in(const System& s, const Extent& e, int da, int64_t a, int db, int64_t b) {
  std::vector<int64_t> c(s.dims.size());
  for (size_t d = 0; d < c.size(); ++d) c[d] = e.values[d].front();
  c[da] = e.values[da][a];
  c[db] = e.values[db][b];
  return s.chip_at(c);
}

// A line of chips along one dimension closes into a ring when it spans a
// wrapped dimension of more than two chips.
bool closes(const System& s, const Extent& e, int dim) {
  return s.wrap[dim] && static_cast<int64_t>(e.values[dim].size()) == s.dims[dim] && s.dims[dim] > 2;
}

std::vector<int64_t> sorted_by_position(const System& s, std::vector<int64_t> ranks) {
  std::sort(ranks.begin(), ranks.end(), [&](int64_t a, int64_t b) { return s.coords(a) < s.coords(b); });
  return ranks;
}

}  // namespace

namespace {

// A box of two or three varying dimensions seen as a rows x cols grid of
// neighbours: rows along the first dimension, columns along the second or,
// in 3D, a snake over the second and third (each snake step a neighbour).
struct Grid {
  const System* s;
  const Extent* e;
  int da = 0, db = 0, dc = -1;
  int64_t rows = 0, cols = 0, inner = 1;
  bool transposed = false;

  int64_t at(int64_t a, int64_t k) const {
    if (transposed) std::swap(a, k);
    std::vector<int64_t> c(s->dims.size());
    for (size_t d = 0; d < c.size(); ++d) c[d] = e->values[d].front();
    c[da] = e->values[da][a];
    if (dc < 0) {
      c[db] = e->values[db][k];
    } else {
      const int64_t b = k / inner, w = k % inner;
      c[db] = e->values[db][b];
      c[dc] = e->values[dc][b % 2 ? inner - 1 - w : w];
    }
    return s->chip_at(c);
  }
};

std::optional<Grid> grid_of(const System& s, const Extent& e) {
  if (!e.box || (e.varying.size() != 2 && e.varying.size() != 3)) return std::nullopt;
  Grid g{&s, &e, e.varying[0], e.varying[1]};
  g.rows = e.values[g.da].size();
  g.cols = e.values[g.db].size();
  if (e.varying.size() == 3) {
    g.dc = e.varying[2];
    g.inner = e.values[g.dc].size();
    g.cols *= g.inner;
  }
  return g;
}

}  // namespace

CollectiveGroup ring_group(const System& s, const std::vector<int64_t>& ranks) {
  // Two chips: the ring's two directions are the line's.
  if (ranks.size() <= 2) return line_group(s, ranks);
  const Extent e = extent_of(s, ranks);
  if (e.box && e.varying.size() == 1)
    return {sorted_by_position(s, ranks), true};
  if (auto g = grid_of(s, e)) {
    if (g->rows % 2 != 0 && g->cols % 2 == 0) {
      g->transposed = true;
      std::swap(g->rows, g->cols);
    }
    if (g->rows % 2 == 0) {
      // Along row 0, snake back and forth over columns 1.. in the other rows,
      // then home up column 0: every step is to a neighbour.
      std::vector<int64_t> order;
      for (int64_t b = 0; b < g->cols; ++b) order.push_back(g->at(0, b));
      for (int64_t a = 1; a < g->rows; ++a)
        for (int64_t k = 1; k < g->cols; ++k) order.push_back(g->at(a, a % 2 == 1 ? g->cols - k : k));
      for (int64_t a = g->rows - 1; a >= 1; --a) order.push_back(g->at(a, 0));
      return {order, true};
    }
  }
  return {line_group(s, ranks).order, true};
}

CollectiveGroup line_group(const System& s, const std::vector<int64_t>& ranks) {
  const Extent e = extent_of(s, ranks);
  if (const auto g = grid_of(s, e)) {
    std::vector<int64_t> order;
    for (int64_t a = 0; a < g->rows; ++a)
      for (int64_t k = 0; k < g->cols; ++k) order.push_back(g->at(a, a % 2 ? g->cols - 1 - k : k));
    return {order, false};
  }
  if (e.box) return {sorted_by_position(s, ranks), false};
  return {ranks, false};
}

std::optional<MeshRectangle> mesh_rectangle(const System& s, const std::vector<int64_t>& ranks) {
  const Extent e = extent_of(s, ranks);
  if (!e.box || e.varying.size() != 2) return std::nullopt;
  const int da = e.varying[0], db = e.varying[1];
  const int64_t rows = e.values[da].size(), cols = e.values[db].size();
  MeshRectangle m;
  for (int64_t a = 0; a < rows; ++a) {
    CollectiveGroup row{{}, closes(s, e, db)};
    for (int64_t b = 0; b < cols; ++b) row.order.push_back(chip_in(s, e, da, a, db, b));
    m.rows.push_back(row);
  }
  for (int64_t b = 0; b < cols; ++b) {
    CollectiveGroup col{{}, closes(s, e, da)};
    for (int64_t a = 0; a < rows; ++a) col.order.push_back(chip_in(s, e, da, a, db, b));
    m.cols.push_back(col);
  }
  return m;
}

}  // namespace accel::perf
