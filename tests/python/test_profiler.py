"""torch_accel.profile(): records carry the performance model's estimate;
summary, totals and the Chrome trace of the modelled device timeline."""
import json

import pytest
import torch
import torch_accel
from torch_accel import _C


@pytest.fixture(autouse=True)
def _no_fallbacks():
    yield
    assert torch_accel.fallback_stats() == {}


def _profile_small_model():
    a = torch.randn(64, 96, device="accel")
    b = torch.randn(64, 96, device="accel")
    with torch_accel.profile() as prof:
        c = torch.add(a, b)
        d = torch.exp(c)
        torch.add(d, a)
    return prof


def test_records_keep_fields_and_gain_estimates():
    prof = _profile_small_model()
    assert [r["op"] for r in prof.records] == ["aten::add", "aten::exp", "aten::add"]
    for r in prof.records:
        assert r["tiles"] == 6 and r["flops"] > 0
        assert r["time_s"] > 0 and r["energy_j"] > 0
        assert r["bound"] in ("compute", "dram", "noc", "launch")
        assert set(r["utilisation"]) == {"compute", "dram", "noc", "l1"}
        assert all(0 <= u <= 1 for u in r["utilisation"].values())
        assert r["cost"]["time_s"] == r["time_s"]
    exp = prof.records[1]
    assert exp["op_class"] == "eltwise_unary" and prof.records[0]["op_class"] == "eltwise_binary"
    # A transcendental costs more vector-engine cycles than an FPU add of as many tiles.
    assert exp["cost"]["math_cycles"] > prof.records[0]["cost"]["math_cycles"]


def test_totals_add_up():
    prof = _profile_small_model()
    assert prof.total_time_s == pytest.approx(sum(r["time_s"] for r in prof.records))
    assert prof.total_energy_j == pytest.approx(sum(r["energy_j"] for r in prof.records))
    assert prof.total_flops == sum(r["flops"] for r in prof.records)
    assert prof.total_dram_bytes == 3 * 6 * 4096 + 2 * 6 * 4096 + 3 * 6 * 4096


def test_summary_per_op_and_per_class():
    prof = _profile_small_model()
    rows = {g["name"]: g for g in prof.summary_rows("op")}
    assert rows["aten::add"]["count"] == 2 and rows["aten::exp"]["count"] == 1
    add = rows["aten::add"]
    assert add["time_s"] == pytest.approx(prof.records[0]["time_s"] + prof.records[2]["time_s"])
    assert add["tflops"] == pytest.approx(add["flops"] / add["time_s"] / 1e12)
    assert add["intensity"] == pytest.approx(add["flops"] / add["dram_bytes"])
    classes = {g["name"] for g in prof.summary_rows("class")}
    assert classes == {"eltwise_binary", "eltwise_unary"}
    text = prof.summary()
    for needle in ("per op", "per op class", "aten::add", "aten::exp", "eltwise_unary",
                   "TFLOP/s", "bound", "energy mJ", "total: 3 programs"):
        assert needle in text
    with pytest.raises(ValueError):
        prof.summary_rows("kernel")


def test_chrome_trace_is_a_device_timeline(tmp_path):
    prof = _profile_small_model()
    path = prof.export_chrome_trace(str(tmp_path / "trace.json"))
    doc = json.loads(open(path).read())
    events = doc["traceEvents"]
    programs = [e for e in events if e["ph"] == "X" and e["tid"] == 0]
    assert [e["name"] for e in programs] == ["aten::add", "aten::exp", "aten::add"]
    # Back to back on the modelled clock, each as long as its estimate.
    for prev, nxt in zip(programs, programs[1:]):
        assert nxt["ts"] == pytest.approx(prev["ts"] + prev["dur"])
    assert sum(e["dur"] for e in programs) == pytest.approx(prof.total_time_s * 1e6)
    assert {e["args"]["name"] for e in events if e["ph"] == "M" and e["name"] == "thread_name"} \
        >= {"programs", "compute", "dram", "noc"}
    assert any(e["ph"] == "C" and e["name"] == "power_w" for e in events)
    assert doc["otherData"]["arch"] == "tiny"


def test_nothing_profiled_gives_zero_totals():
    with torch_accel.profile() as prof:
        pass
    assert prof.records == [] and prof.total_time_s == 0 and prof.total_flops == 0
    assert "total: 0 programs" in prof.summary()


def test_estimate_any_record_on_any_preset():
    big_add = {"compute": "eltwise_binary_add", "compute_engine": "fpu",
               "input_format": "Float16_b", "output_format": "Float16_b",
               "tiles": 65536, "cores_used": 64, "max_tiles_per_core": 1024,
               "dram_read_bytes": 2 * 65536 * 2048, "dram_write_bytes": 65536 * 2048,
               "noc_bytes": 3 * 65536 * 2048, "flops": 65536 * 1024}
    n150 = _C.perf_estimate(big_add, "wormhole_n150")
    assert n150["bound"] == "dram"
    p150 = _C.perf_estimate(big_add, "blackhole_p150")
    assert p150["time_s"] < n150["time_s"]
    matmul = {"compute_engine": "fpu", "input_format": "Float16_b", "output_format": "Float16_b",
              "m_tiles": 256, "n_tiles": 256, "k_tiles": 256, "math_fidelity": 4,
              "fp32_dest_acc": False, "flops": 2 * 8192 ** 3}
    assert _C.perf_estimate(matmul, "wormhole_n150")["bound"] == "compute"
    with pytest.raises(ValueError, match="unknown data format"):
        _C.perf_estimate({**big_add, "input_format": "Float7"}, "wormhole_n150")
