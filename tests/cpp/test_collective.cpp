// The collective model against the alpha-beta formulas of its algorithms.
#include <gtest/gtest.h>

#include <numeric>

#include "chip/arch.h"
#include "chip/system.h"
#include "perf/collective.h"

namespace {

using accel::chip::System;
using accel::perf::collective_cost;

std::vector<int64_t> first(int64_t n) {
  std::vector<int64_t> v(n);
  std::iota(v.begin(), v.end(), 0);
  return v;
}

TEST(System, PresetsAreConsistent) {
  for (const auto& name : accel::chip::system_preset_names()) {
    const System s = accel::chip::system_preset(name);
    EXPECT_NO_THROW(s.validate()) << name;
    EXPECT_NO_THROW(accel::chip::load_arch(s.arch)) << name;
  }
  EXPECT_EQ(accel::chip::system_preset("galaxy").num_chips(), 32);
  EXPECT_THROW(accel::chip::system_preset("nope"), accel::chip::SystemError);
}

TEST(System, RoutesFollowDimensionOrderAndWrap) {
  const System t3k = accel::chip::system_preset("t3k");
  EXPECT_EQ(t3k.route(0, 7), (std::vector<int64_t>{0, 4, 5, 6, 7}));
  EXPECT_EQ(t3k.usable_links(0, 4), 1);  // the n300's dispatch link is reserved
  EXPECT_EQ(t3k.usable_links(0, 1), 2);
  EXPECT_EQ(t3k.usable_links(0, 2), 0);
  const System torus = accel::chip::system_preset("galaxy_torus");
  EXPECT_EQ(torus.route(0, 7), (std::vector<int64_t>{0, 7}));
}

TEST(Collective, RingAllGatherIsAlphaBeta) {
  const System ring = accel::chip::system_from_json(
      R"({"base": "galaxy_torus", "name": "ring8", "dims": [8], "wrap": [1]})", "test");
  const auto arch = accel::chip::load_arch(ring.arch);
  const double shard = 1 << 20;
  const auto c = collective_cost(ring, arch, "all_gather", shard, first(8), "ring");
  const double per_link = shard / 2 / ring.links_per_neighbour;
  EXPECT_EQ(c.steps, 7);
  EXPECT_DOUBLE_EQ(c.latency_s, 7 * ring.hop_latency_s);
  EXPECT_DOUBLE_EQ(c.bandwidth_s, 7 * ring.wire_bytes(per_link) / ring.link_bandwidth_bytes_per_s);
}

TEST(Collective, DoubleBandwidthHalvesOnlyTheBandwidthTerm) {
  System s = accel::chip::system_preset("t3k");
  const auto arch = accel::chip::load_arch(s.arch);
  const auto slow = collective_cost(s, arch, "all_reduce", 64 << 20, first(8), "ring");
  s.link_bandwidth_bytes_per_s *= 2;
  const auto fast = collective_cost(s, arch, "all_reduce", 64 << 20, first(8), "ring");
  EXPECT_DOUBLE_EQ(fast.bandwidth_s, slow.bandwidth_s / 2);
  EXPECT_DOUBLE_EQ(fast.latency_s, slow.latency_s);
  EXPECT_EQ(slow.links_used, 1);
}

TEST(Collective, BadInputThrows) {
  const System s = accel::chip::system_preset("n300");
  const auto arch = accel::chip::load_arch(s.arch);
  EXPECT_THROW(collective_cost(s, arch, "all_reduce", 1, {0, 5}), std::invalid_argument);
  EXPECT_THROW(collective_cost(s, arch, "all_reduce", 1, {0, 0}), std::invalid_argument);
  EXPECT_THROW(collective_cost(s, arch, "gossip", 1, {0, 1}), std::invalid_argument);
  EXPECT_THROW(collective_cost(s, arch, "all_reduce", -1, {0, 1}), std::invalid_argument);
  EXPECT_THROW(collective_cost(s, arch, "all_reduce", 1, {0, 1}, "tree"), std::invalid_argument);
}

TEST(Collective, Mesh2dOnATorusAndJsonRoundTrip) {
  const System torus = accel::chip::system_preset("galaxy_torus");
  const auto arch = accel::chip::load_arch(torus.arch);
  const auto c = collective_cost(torus, arch, "all_reduce", 64 << 20, first(32), "mesh2d");
  EXPECT_EQ(c.algorithm, "mesh2d");
  // Rows of 8 then columns of 4, each a ring: 2 x (7 + 3) steps of one hop.
  EXPECT_EQ(c.steps, 20);
  EXPECT_EQ(c.max_hops, 1);
  const System back = accel::chip::system_from_json(accel::chip::system_to_json(torus), "rt");
  EXPECT_EQ(accel::chip::system_to_json(back), accel::chip::system_to_json(torus));
}

TEST(Collective, RingsOfNeighboursRoundBoxes) {
  const System cube = accel::chip::system_from_json(
      R"({"base": "galaxy_torus", "name": "cube", "dims": [4, 4, 4], "wrap": [0, 0, 0]})", "test");
  const auto arch = accel::chip::load_arch(cube.arch);
  for (int64_t n : {8, 64}) {  // a 2x2x2 corner and the whole 4x4x4 cube
    std::vector<int64_t> ranks;
    for (int64_t id = 0; id < 64; ++id) {
      const auto c = cube.coords(id);
      if (n == 64 || (c[0] < 2 && c[1] < 2 && c[2] < 2)) ranks.push_back(id);
    }
    const auto r = collective_cost(cube, arch, "all_gather", 1 << 20, ranks, "ring");
    EXPECT_EQ(r.max_hops, 1) << n;  // every step, the closing one too, is to a neighbour
    EXPECT_EQ(static_cast<int64_t>(r.order.size()), n);
  }
}

}  // namespace
