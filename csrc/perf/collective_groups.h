// How the collective model lays a group of chips out for an algorithm: the
// ring or line order over the topology, and the rows and columns of a group
// that fills a rectangle of the mesh (for 2D-mesh algorithms).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "chip/system.h"

namespace accel::perf {

// Ranks in the order an algorithm passes data; closed: the last sends to the first.
struct CollectiveGroup {
  std::vector<int64_t> order;
  bool closed = false;
};

// A group filling an R x C rectangle of the mesh: `rows` vary along one
// dimension (C chips each), `cols` along another (R chips each).
struct MeshRectangle {
  std::vector<CollectiveGroup> rows;
  std::vector<CollectiveGroup> cols;
};

// A ring over the group: around a rectangle with an even side (a Hamiltonian
// cycle of neighbours), along a line of chips, else in the order given.
CollectiveGroup ring_group(const chip::System& s, const std::vector<int64_t>& ranks);
// A line: sorted along one dimension, a snake over a rectangle, else as given.
CollectiveGroup line_group(const chip::System& s, const std::vector<int64_t>& ranks);
// The rectangle when the group fills one in exactly two dimensions.
std::optional<MeshRectangle> mesh_rectangle(const chip::System& s, const std::vector<int64_t>& ranks);

}  // namespace accel::perf
