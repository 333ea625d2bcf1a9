"""The collective model (csrc/perf/collective.cpp) through torch_accel.systems."""
import pytest

from torch_accel import systems


def _ring8(**fields):
    return {"base": "galaxy_torus", "name": "ring8", "dims": [8], "wrap": [1], **fields}


def test_ring_all_reduce_follows_alpha_beta():
    sysdoc = systems.load("t3k")
    n, nbytes = 8, 64 << 20
    c = systems.collective_cost("t3k", "all_reduce", nbytes, algorithm="ring")
    assert c["algorithm"] == "ring" and c["strategy"] == "reduce_scatter+all_gather"
    assert c["order"] == [0, 1, 2, 3, 7, 6, 5, 4]  # a ring of neighbours round the 2x4 mesh
    assert c["links_used"] == 1  # the n300's second link is reserved for dispatch
    alpha = sysdoc["hop_latency_s"]
    beta = 1 / sysdoc["link_bandwidth_bytes_per_s"]
    payload, pkt, head = nbytes / n / 2, sysdoc["max_packet_bytes"], sysdoc["packet_overhead_bytes"]
    wire = payload + -(-payload // (pkt - head)) * head
    # reduce-scatter then all-gather: 2 (n - 1) steps, each a hop and half a
    # fracture each way over the single usable link.
    assert c["steps"] == 2 * (n - 1)
    assert c["latency_s"] == pytest.approx(2 * (n - 1) * alpha)
    assert c["bandwidth_s"] == pytest.approx(2 * (n - 1) * wire * beta)
    assert c["time_s"] == pytest.approx(c["latency_s"] + c["bandwidth_s"] + c["reduce_s"] + c["launch_s"])


def test_doubling_link_bandwidth_halves_only_the_bandwidth_term():
    slow = systems.collective_cost(_ring8(), "all_reduce", 32 << 20, algorithm="ring")
    fast = systems.collective_cost(_ring8(link_bandwidth_bytes_per_s=25e9), "all_reduce", 32 << 20,
                                   algorithm="ring")
    assert fast["bandwidth_s"] == pytest.approx(slow["bandwidth_s"] / 2)
    assert fast["latency_s"] == slow["latency_s"]
    assert fast["launch_s"] == slow["launch_s"]


def test_ring_beats_line_and_more_links_help():
    shard = 1450 * 8 * 100  # whole packets on each of the 4 links, ring and line
    ring = systems.collective_cost(_ring8(), "all_gather", shard, algorithm="ring")
    line = systems.collective_cost(_ring8(), "all_gather", shard, algorithm="line")
    assert ring["bandwidth_s"] == pytest.approx(line["bandwidth_s"] / 2)
    two = systems.collective_cost(_ring8(links_per_neighbour=2), "all_gather", 1 << 20)
    four = systems.collective_cost(_ring8(links_per_neighbour=4), "all_gather", 1 << 20)
    assert four["bandwidth_s"] < two["bandwidth_s"]


def test_every_op_on_every_preset():
    for name in systems.presets():
        n = systems.load(name)["num_chips"]
        ranks = list(range(min(n, 32)))
        for op in systems.collective_ops():
            r = ranks[:2] if op == "send_recv" else ranks
            c = systems.collective_cost(name, op, 1 << 16, ranks=r)
            assert c["time_s"] > 0 and c["op"] == op, (name, op)


def test_mesh2d_on_a_torus_and_one_chip_is_free():
    c = systems.collective_cost("galaxy_torus", "all_reduce", 64 << 20, algorithm="mesh2d")
    assert c["algorithm"] == "mesh2d" and "columns" in c["strategy"]
    one = systems.collective_cost("galaxy", "all_reduce", 1 << 20, ranks=[5])
    assert one["time_s"] == 0 and one["algorithm"] == "local"


def test_custom_torus_and_yaml(tmp_path):
    doc = systems.torus([4, 4, 4])
    assert systems.load(doc)["num_chips"] == 64
    path = tmp_path / "box.yaml"
    path.write_text("base: t3k\nname: fast_t3k\nlink_bandwidth_bytes_per_s: 25000000000\n")
    assert systems.load(str(path))["link_bandwidth_bytes_per_s"] == 25e9
    assert systems.route("galaxy", 0, 9) == [0, 8, 9]


@pytest.mark.parametrize("call, match", [
    (lambda: systems.collective_cost("t3k", "all_reduce", 1, ranks=[0, 9]), "chip 9"),
    (lambda: systems.collective_cost("t3k", "all_reduce", 1, ranks=[1, 1]), "twice"),
    (lambda: systems.collective_cost("t3k", "scatter", 1), "unknown collective"),
    (lambda: systems.collective_cost("t3k", "all_reduce", -5), "bytes"),
    (lambda: systems.collective_cost("t3k", "all_reduce", 1, algorithm="tree"), "algorithm"),
    (lambda: systems.collective_cost("t3k", "all_reduce", 1, ranks=[0, 1, 2], algorithm="mesh2d"),
     "rectangle"),
    (lambda: systems.load("t9k"), "unknown accel system"),
    (lambda: systems.load({"base": "t3k", "dims": [2, 4], "links_per_neighbour": 0}), "links_per"),
    (lambda: systems.load({"base": "t3k", "colour": "red"}), "unknown field"),
])
def test_bad_input_names_the_problem(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_no_system_configured_is_a_clear_error():
    assert systems.active() is None
    with pytest.raises(ValueError, match="none configured"):
        systems.collective_cost(None, "all_reduce", 1 << 20)
