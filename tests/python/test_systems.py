"""Systems of chips: presets, files, and torch_accel.configure(system=...) with
Ethernet copies between the devices (each configuration in its own process)."""
import json

import pytest

import accel_subprocess
from torch_accel import systems

CONFIGURED_T3K = r'''
import torch, torch_accel
from torch_accel import _C, systems
torch_accel.configure(system="t3k")
r = {"count": torch.accel.device_count(), "system": torch_accel.system_info()["name"],
     "arch": torch_accel.arch_info()["name"]}
x = torch.arange(1 << 18, dtype=torch.float32, device="accel:0")
before = [_C.clock_device_time(i) for i in range(8)]
y = x.to("accel:7")
after = [_C.clock_device_time(i) for i in range(8)]
r["advanced"] = [b - a for a, b in zip(before, after)]
r["modelled"] = systems.collective_cost("t3k", "send_recv", 1 << 20, ranks=[0, 7])["time_s"]
r["equal"] = bool(torch.equal(y.cpu(), torch.arange(1 << 18, dtype=torch.float32)))
start, end = torch.accel.Event(enable_timing=True), torch.accel.Event(enable_timing=True)
with torch.accel.device(0):
    start.record()
    x.to("accel:1")
    end.record()
end.synchronize()
r["event_ms"] = start.elapsed_time(end)
r["event_modelled_ms"] = systems.collective_cost("t3k", "send_recv", 1 << 20, ranks=[0, 1])["time_s"] * 1e3
t5 = _C.clock_device_time(5)
r["occupy_end"] = _C.clock_occupy(5, 1e-3, t5 + 2e-3)
r["occupy_expected"] = t5 + 3e-3
r["occupy_bad"] = attempt(lambda: _C.clock_occupy(5, -1.0))
r["again"] = attempt(lambda: torch_accel.configure(system="n300"))
r["active_cost"] = systems.collective_cost(None, "all_reduce", 1 << 20)["group_size"]
emit(r)
'''

TOO_BIG = r'''
import torch_accel
emit({"pod": attempt(lambda: torch_accel.configure(system="galaxy_pod_1024")),
      "count": attempt(lambda: torch_accel.configure(system="t3k", num_devices=4)),
      "unknown": attempt(lambda: torch_accel.configure(system="t4k"))})
'''


@pytest.fixture(scope="module")
def procs():
    return {"t3k": accel_subprocess.start(CONFIGURED_T3K),
            "too_big": accel_subprocess.start(TOO_BIG)}


def test_configure_system_lays_out_devices_and_models_ethernet_copies(procs):
    r = procs["t3k"].json()
    assert r["count"] == 8 and r["system"] == "t3k" and r["arch"] == "wormhole_n150"
    assert r["equal"]
    # Both ends of accel:0 -> accel:7 advance by at least the Ethernet transfer; others not at all.
    assert r["advanced"][0] == pytest.approx(r["modelled"])
    assert r["advanced"][7] >= r["modelled"]
    assert r["advanced"][1:7] == [0.0] * 6
    assert r["event_ms"] >= r["event_modelled_ms"] - 1e-9  # ms, rounded on the way
    assert r["again"][0] in ("RuntimeError", "ValueError")
    assert r["occupy_end"] == pytest.approx(r["occupy_expected"])
    assert r["occupy_bad"][0] == "ValueError"
    assert r["active_cost"] == 8  # system=None: the configured one, all its chips


def test_configure_system_bad_input(procs):
    r = procs["too_big"].json()
    assert r["pod"][0] == "ValueError" and "at most 64" in r["pod"][1]
    assert r["count"][0] == "ValueError" and "8 chips" in r["count"][1]
    assert r["unknown"][0] == "ValueError" and "unknown accel system" in r["unknown"][1]


def test_presets_name_their_sources():
    for name in systems.presets():
        doc = systems.load(name)
        for key in ("link_bandwidth_bytes_per_s", "hop_latency_s", "links_per_neighbour",
                    "reserved_per_neighbour", "max_packet_bytes", "packet_overhead_bytes",
                    "ccl_workers_per_link", "link_energy_pj_per_byte", "dims", "wrap", "arch"):
            assert key in doc["sources"], (name, key)
    assert systems.load("galaxy")["dims"] == [4, 8]
    assert systems.load("galaxy_torus")["wrap"] == [1, 1]
    assert systems.load("p150x4")["arch"] == "blackhole_p150"
    assert systems.load("galaxy_pod_1024")["num_chips"] == 1024


def test_system_files_round_trip(tmp_path):
    doc = systems.load("t3k")
    path = tmp_path / "t3k_copy.json"
    path.write_text(json.dumps(doc))
    assert systems.load(str(path)) == doc
    cube = systems.torus([4, 4, 4], link_bandwidth_bytes_per_s=25e9)
    assert systems.load(cube)["num_chips"] == 64
    assert systems.route(cube, 0, 63) == [0, 48, 60, 63]  # one wrap hop per dimension


def test_shipped_system_files_load():
    import pathlib
    files = sorted((pathlib.Path(systems.__file__).parent / "system_files").glob("*.yaml"))
    assert files
    for f in files:
        assert systems.load(str(f))["num_chips"] >= 2, f


def test_reserved_links_and_overrides():
    assert systems.collective_cost("n300", "all_gather", 1 << 20)["links_used"] == 1
    free = {"base": "n300", "name": "n300_free", "reserved_per_neighbour": 0}
    assert systems.collective_cost(free, "all_gather", 1 << 20)["links_used"] == 2
    with pytest.raises(ValueError, match="not neighbours"):
        systems.load({"base": "t3k", "name": "bad", "links": [{"chips": [0, 5], "ports": 2}]})
