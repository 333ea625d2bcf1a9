"""Choosing the chip: configure(), architecture files and the TORCH_ACCEL_*
environment variables, and the errors for bad choices.

A process fixes its configuration at the first use of the device, so every check
here runs in a fresh Python process. All of this module's processes start at
once (the `procs` fixture) and run side by side."""
import json

import pytest

import accel_subprocess

MiB = 1 << 20

# Each check needs a process of its own because each has its own environment.
FIRST_USE = r'''
import torch
r = {"imported": True, "available": torch.accel.is_available()}
r["first_use"] = attempt(lambda: torch.ones(1, device="accel"))
r["second_use"] = attempt(lambda: torch.ones(1, device="accel"))
emit(r)
'''

PROPS = r'''
import dataclasses, torch, torch_accel
r = {"props": dataclasses.asdict(torch.accel.get_device_properties()),
     "total_memory": torch.accel.get_device_properties().total_memory,
     "count": torch.accel.device_count(), "arch": torch_accel.arch_info(),
     "mem": list(torch.accel.mem_get_info()),
     "roundtrip": torch.arange(6.0).to("accel").cpu().tolist()}
r["accel7"] = attempt(lambda: torch.ones(2, device="accel:7"))
r["accel1"] = attempt(lambda: torch.ones(2).to("accel:1"))
emit(r)
'''

CONFIGURE_IN_FRESH_PROCESS = r'''
import dataclasses, torch, torch_accel
files = __FILES__
r = {}
configure = torch_accel.configure
r["unknown_preset"] = attempt(lambda: configure(arch="no_such_chip"))
r["malformed_json"] = attempt(lambda: configure(arch=files["bad_json"]))
r["malformed_yaml"] = attempt(lambda: configure(arch=files["bad_yaml"]))
r["inconsistent_file"] = attempt(lambda: configure(arch=files["inconsistent_json"]))
r["unknown_field_file"] = attempt(lambda: configure(arch=files["unknown_field_json"]))
r["unknown_field_yaml"] = attempt(lambda: configure(arch=files["unknown_field_yaml"]))
r["missing_file"] = attempt(lambda: configure(arch=files["missing_json"]))
r["inconsistent_dict"] = attempt(lambda: configure(arch={"base": "tiny", "grid_rows": 0}))
r["unknown_field_dict"] = attempt(lambda: configure(arch={"base": "tiny", "x": 1}))
r["unknown_base"] = attempt(lambda: configure(arch={"base": "no_such_chip"}))
r["incomplete_dict"] = attempt(lambda: configure(arch={"grid_rows": 2}))
r["arch_type"] = attempt(lambda: configure(arch=3))
r["num_devices_type"] = attempt(lambda: configure(num_devices="2"))
r["num_devices_zero"] = attempt(lambda: configure(num_devices=0))
# none of the failures initialized the device or changed the configuration
r["initialized_after_errors"] = torch.accel.is_initialized()
# the last successful configure() before first use wins
configure(arch={"base": "tiny", "name": "dict_chip", "grid_cols": 3}, num_devices=1)
configure(arch=files["good_yaml"], num_devices=3)
r["props"] = dataclasses.asdict(torch.accel.get_device_properties())
r["count"] = torch.accel.device_count()
r["on_last_device"] = str(torch.ones(2, device="accel:2").device)
r["after_use"] = attempt(lambda: configure(arch="tiny"))
r["after_use_num_devices"] = attempt(lambda: configure(num_devices=1))
r["count_after"] = torch.accel.device_count()
emit(r)
'''

DICT_CONFIGURE = r'''
import dataclasses, torch, torch_accel
torch_accel.configure(arch={"base": "tiny", "name": "dict_chip", "grid_cols": 3,
                            "dram_bytes": 32 * 1024 * 1024})
r = {"props": dataclasses.asdict(torch.accel.get_device_properties()),
     "oom": attempt(lambda: torch.empty(40 * 1024 * 1024, dtype=torch.uint8, device="accel"))}
emit(r)
'''


@pytest.fixture(scope="module")
def arch_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("arch")
    files = {
        "good_yaml": ("my_chip.yaml", "base: tiny\nname: my_chip\ngrid_rows: 1\n"),
        "bad_json": ("bad.json", '{"name": "x", "grid_rows": '),
        "bad_yaml": ("bad.yaml", "name: [unclosed\n  grid_rows: {\n"),
        "inconsistent_json": ("inconsistent.json", json.dumps({"base": "tiny", "grid_rows": 0})),
        "unknown_field_json": ("unknown.json", json.dumps({"base": "tiny", "bogus_field": 1})),
        "unknown_field_yaml": ("unknown.yml", "base: tiny\nbogus_field: 1\n"),
    }
    paths = {}
    for key, (name, text) in files.items():
        (d / name).write_text(text)
        paths[key] = str(d / name)
    paths["missing_json"] = str(d / "does_not_exist.json")
    return paths


@pytest.fixture(scope="module")
def procs(arch_files, tmp_path_factory):
    cwd = str(tmp_path_factory.mktemp("cwd"))
    f = arch_files
    start = accel_subprocess.start
    return {
        "configure": start(CONFIGURE_IN_FRESH_PROCESS.replace("__FILES__", repr(f)), cwd=cwd),
        "dict": start(DICT_CONFIGURE, cwd=cwd),
        "env_unknown_preset": start(FIRST_USE, env={"TORCH_ACCEL_ARCH": "no_such_chip"}, cwd=cwd),
        "env_malformed_yaml": start(FIRST_USE, env={"TORCH_ACCEL_ARCH": f["bad_yaml"]}, cwd=cwd),
        "env_inconsistent": start(FIRST_USE, env={"TORCH_ACCEL_ARCH": f["inconsistent_json"]}, cwd=cwd),
        "env_yaml": start(PROPS, env={"TORCH_ACCEL_ARCH": f["good_yaml"]}, cwd=cwd),
        "env_num_devices_abc": start(FIRST_USE, env={"TORCH_ACCEL_NUM_DEVICES": "abc"}, cwd=cwd),
        "env_num_devices_0": start(FIRST_USE, env={"TORCH_ACCEL_NUM_DEVICES": "0"}, cwd=cwd),
        "env_fallback_bogus": start(r'''
import torch, torch_accel.fallback
r = {"first_use": attempt(lambda: torch.ones(1, device="accel"))}
r["policy"] = attempt(lambda: torch_accel.fallback.fallback_policy())
r["fallback_op"] = attempt(lambda: torch.digamma(torch.ones(2, device="accel")))
emit(r)
''', env={"TORCH_ACCEL_FALLBACK": "bogus"}, cwd=cwd),
    }


def _assert_error(err, etype, *fragments):
    assert err is not None, "expected an error"
    assert err[0] == etype, err
    for fragment in fragments:
        assert fragment in err[1], (fragment, err)


def test_configure_errors_in_fresh_process(procs):
    r = procs["configure"].json()
    _assert_error(r["unknown_preset"], "ValueError", "no_such_chip", "known presets",
                  "wormhole_n150", "blackhole_p150", "tiny")
    _assert_error(r["malformed_json"], "ValueError", "malformed JSON", "bad.json")
    _assert_error(r["malformed_yaml"], "ValueError", "malformed YAML", "bad.yaml")
    _assert_error(r["inconsistent_file"], "ValueError", "grid_rows must be positive")
    _assert_error(r["unknown_field_file"], "ValueError", "unknown field 'bogus_field'")
    _assert_error(r["unknown_field_yaml"], "ValueError", "unknown field 'bogus_field'")
    _assert_error(r["missing_file"], "ValueError", "does_not_exist.json")
    _assert_error(r["inconsistent_dict"], "ValueError", "grid_rows must be positive")
    _assert_error(r["unknown_field_dict"], "ValueError", "unknown field 'x'")
    _assert_error(r["unknown_base"], "ValueError", "no_such_chip")
    _assert_error(r["incomplete_dict"], "ValueError", "missing field")
    _assert_error(r["arch_type"], "TypeError", "arch")
    _assert_error(r["num_devices_type"], "TypeError", "num_devices")
    assert r["num_devices_zero"] is not None
    assert r["num_devices_zero"][0] == "ValueError"
    assert "num_devices" in r["num_devices_zero"][1]
    assert r["initialized_after_errors"] is False


def test_configure_yaml_path_then_configure_after_use(procs):
    r = procs["configure"].json()
    p = r["props"]
    assert p["arch"] == "my_chip" and "my_chip" in p["name"]
    assert (p["grid_rows"], p["grid_cols"], p["core_count"]) == (1, 2, 2)  # the rest from tiny
    assert p["dram_bytes"] == 64 * MiB
    assert r["count"] == 3 and r["on_last_device"] == "accel:2"
    _assert_error(r["after_use"], "RuntimeError", "configure() must be called before")
    _assert_error(r["after_use_num_devices"], "RuntimeError", "configure() must be called before")
    assert r["count_after"] == 3


def test_configure_dict(procs):
    r = procs["dict"].json()
    p = r["props"]
    assert p["arch"] == "dict_chip" and (p["grid_rows"], p["grid_cols"], p["core_count"]) == (2, 3, 6)
    assert p["dram_bytes"] == 32 * MiB
    _assert_error(r["oom"], "OutOfMemoryError", "accel:0", "out of memory")


def _first_use_error(proc):
    r = proc.json()
    assert r["imported"] is True  # a bad environment does not break `import torch`
    err = r["first_use"]
    assert err is not None, "the first use of the device should have failed"
    assert r["second_use"] is not None and r["second_use"][0] == err[0]  # and keeps failing
    return err


def test_env_unknown_preset(procs):
    err = _first_use_error(procs["env_unknown_preset"])
    _assert_error(err, "ValueError", "TORCH_ACCEL_ARCH", "no_such_chip", "known presets", "tiny")


def test_env_malformed_yaml(procs, arch_files):
    err = _first_use_error(procs["env_malformed_yaml"])
    _assert_error(err, "ValueError", "malformed YAML", arch_files["bad_yaml"])


def test_env_inconsistent_file(procs):
    err = _first_use_error(procs["env_inconsistent"])
    _assert_error(err, "ValueError", "grid_rows must be positive")


def test_env_yaml_arch_file(procs):
    r = procs["env_yaml"].json()
    p = r["props"]
    assert p["arch"] == "my_chip" and "my_chip" in p["name"]
    assert (p["grid_rows"], p["grid_cols"], p["core_count"]) == (1, 2, 2)
    assert p["dram_bytes"] == r["total_memory"] == 64 * MiB
    assert r["arch"]["name"] == "my_chip" and r["arch"]["grid_rows"] == 1
    assert r["mem"][1] == 64 * MiB
    assert r["count"] == 1
    assert r["roundtrip"] == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    # a one-device configuration
    _assert_error(r["accel7"], "RuntimeError", "accel:7", "not a valid device")
    _assert_error(r["accel1"], "RuntimeError", "accel:1", "not a valid device")


@pytest.mark.parametrize("value", ["abc", "0"])
def test_env_invalid_num_devices(procs, value):
    err = _first_use_error(procs[f"env_num_devices_{value}"])
    assert err[0] in ("ValueError", "RuntimeError"), err
    assert "TORCH_ACCEL_NUM_DEVICES" in err[1] and repr(value) in err[1], err
    assert procs[f"env_num_devices_{value}"].json()["available"] is False


def test_env_invalid_fallback_policy(procs):
    r = procs["env_fallback_bogus"].json()
    errors = [e for e in (r["first_use"], r["policy"], r["fallback_op"]) if e is not None]
    assert errors, "TORCH_ACCEL_FALLBACK=bogus was silently accepted"
    for e in errors:
        _assert_error(e, "ValueError", "TORCH_ACCEL_FALLBACK", "bogus")
    assert r["policy"] is not None  # asking for the policy reports the bad value
