"""The device in fresh Python processes: autoload through the torch.backends
entry point, the default preset, another preset from the environment, and
TORCH_DEVICE_BACKEND_AUTOLOAD=0. The processes start together and run side by side."""
import pytest

import accel_subprocess

GiB = 1 << 30

# Exactly what a user types, then checks of the default configuration.
DEFAULT = r'''
import torch; print(torch.randn(3, device='accel') * 2)
import dataclasses, resource
r = {"has_accel": hasattr(torch, "accel"), "backend": torch._C._get_privateuse1_backend_name(),
     "props": dataclasses.asdict(torch.accel.get_device_properties()),
     "count": torch.accel.device_count(), "presets": __import__("torch_accel").presets()}
# DRAM is emulated in host memory committed only when touched: 8 GiB on a 12 GiB chip
x = torch.empty(8 << 30, dtype=torch.uint8, device="accel")
x[:4].fill_(1)
x[-4:].fill_(2)
r["ends"] = [x[:4].tolist(), x[-4:].tolist()]
r["allocated"] = torch.accel.memory_allocated()
r["maxrss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
del x
r["oom"] = attempt(lambda: torch.empty(13 << 30, dtype=torch.uint8, device="accel"))
emit(r)
'''

# torch_accel imported before torch (the entry point then loads the half-imported
# package), with another preset, three devices and the silent policy.
IMPORT_FIRST = r'''
import torch_accel
import torch
import dataclasses, warnings
r = {"props": dataclasses.asdict(torch.accel.get_device_properties()),
     "count": torch.accel.device_count(), "name": torch_accel.arch_info()["name"]}
t = torch.arange(6.0, device="accel:2").reshape(2, 3)
r["on2"] = [str(t.device), t.t().to("accel:0").cpu().tolist()]
r["policy"] = torch_accel.fallback.fallback_policy()
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    y = torch.digamma(torch.ones(3, device="accel") * 2)
r["warnings"] = [str(m.message) for m in w if "accel kernel" in str(m.message)]
r["stats"] = torch_accel.fallback_stats()
emit(r)
'''

NO_AUTOLOAD = r'''
import torch
r = {"has_accel_before": hasattr(torch, "accel"),
     "backend_before": torch._C._get_privateuse1_backend_name(),
     "modules_before": "torch_accel" in __import__("sys").modules}
r["use_before"] = attempt(lambda: torch.ones(1, device="accel"))
import torch_accel
r["has_accel_after"] = hasattr(torch, "accel")
r["backend_after"] = torch._C._get_privateuse1_backend_name()
r["use_after"] = str(torch.ones(2, device="accel").device)
r["count"] = torch.accel.device_count()
emit(r)
'''


@pytest.fixture(scope="module")
def procs(tmp_path_factory):
    cwd = str(tmp_path_factory.mktemp("cwd"))
    return {
        "default": accel_subprocess.start(DEFAULT, cwd=cwd),
        "import_first": accel_subprocess.start(IMPORT_FIRST, cwd=cwd, env={
            "TORCH_ACCEL_ARCH": "blackhole_p150", "TORCH_ACCEL_NUM_DEVICES": "3",
            "TORCH_ACCEL_FALLBACK": "silent"}),
        "no_autoload": accel_subprocess.start(NO_AUTOLOAD, cwd=cwd,
                                              env={"TORCH_DEVICE_BACKEND_AUTOLOAD": "0"}),
    }


def test_autoload_one_liner(procs):
    p = procs["default"]
    r = p.json()
    assert p.returncode == 0, p.describe()
    first = p.stdout.splitlines()[0]
    assert first.startswith("tensor([") and "device='accel:0'" in first, p.describe()
    assert r["has_accel"] and r["backend"] == "accel"


def test_default_preset_is_wormhole_n150(procs):
    r = procs["default"].json()
    p = r["props"]
    assert p["arch"] == "wormhole_n150" and "wormhole_n150" in p["name"]
    assert (p["grid_rows"], p["grid_cols"], p["core_count"]) == (8, 8, 64)
    assert p["l1_bytes_per_core"] == 1499136
    assert p["dram_bytes"] == 12 * GiB
    assert p["clock_hz"] == 1e9
    assert p["dram_channels"] == 12
    assert r["count"] == 1
    assert {"wormhole_n150", "blackhole_p150", "tiny"} <= set(r["presets"])


def test_device_memory_is_committed_lazily(procs):
    r = procs["default"].json()
    assert r["ends"] == [[1, 1, 1, 1], [2, 2, 2, 2]]
    assert r["allocated"] == 8 * GiB
    assert r["maxrss_kib"] < 2 * 1024 * 1024, "8 GiB of untouched device memory used host memory"
    assert r["oom"] is not None and r["oom"][0] == "OutOfMemoryError", r["oom"]
    assert "accel:0" in r["oom"][1] and str(13 << 30) in r["oom"][1]


def test_import_torch_accel_first_and_blackhole_from_env(procs):
    r = procs["import_first"].json()
    p = r["props"]
    assert r["name"] == "blackhole_p150" and p["arch"] == "blackhole_p150"
    assert (p["grid_rows"], p["grid_cols"], p["core_count"]) == (10, 13, 130)
    assert p["dram_bytes"] == 32 * GiB
    assert p["clock_hz"] == 1.35e9
    assert p["l1_bytes_per_core"] == 1499136
    assert r["count"] == 3
    assert r["on2"] == ["accel:2", [[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]]]


def test_fallback_policy_silent_from_env(procs):
    r = procs["import_first"].json()
    assert r["policy"] == "silent"
    assert r["warnings"] == []
    if not r["stats"]:
        pytest.skip("digamma has an accel kernel now; nothing fell back")
    assert all(k.startswith("aten::") for k in r["stats"])


def test_autoload_disabled(procs):
    r = procs["no_autoload"].json()
    assert r["has_accel_before"] is False
    assert r["backend_before"] == "privateuseone"
    assert r["modules_before"] is False
    assert r["use_before"] is not None  # no "accel" device without the backend
    assert r["has_accel_after"] is True and r["backend_after"] == "accel"
    assert r["use_after"] == "accel:0" and r["count"] == 1
