"""The torch.accel device module, device selection and multi-device behaviour, on
the session's configuration: the "tiny" preset with two devices (conftest.py)."""
import pytest
import torch
import torch_accel

MiB = 1 << 20


def test_backend_is_registered():
    assert torch._C._get_privateuse1_backend_name() == "accel"
    assert torch.accel.is_available()
    assert torch.accel.is_initialized() in (True, False)
    assert torch.accel.device_count() == 2
    assert torch.device("accel").type == "accel"
    assert torch.accelerator.current_accelerator() == torch.device("accel")
    assert torch.accelerator.device_count() == 2


def test_tiny_device_properties():
    p = torch.accel.get_device_properties()
    assert p.arch == "tiny" and p.name == torch.accel.get_device_name() and "tiny" in p.name
    assert (p.grid_rows, p.grid_cols, p.core_count) == (2, 2, 4)
    assert p.multi_processor_count == 4
    assert p.dram_bytes == 64 * MiB and p.total_memory == 64 * MiB
    assert p.l1_bytes_per_core == 256 * 1024
    assert p.dram_channels > 0 and p.dram_bandwidth_bytes_per_s > 0 and p.clock_hz > 0
    assert torch.accel.get_device_properties(1) == p
    assert torch.accel.get_device_properties("accel:1") == p
    assert torch.accel.get_device_properties(torch.device("accel", 0)) == p


def test_arch_info_and_presets():
    info = torch_accel.arch_info()
    assert info["name"] == "tiny"
    assert (info["grid_rows"], info["grid_cols"], info["dram_bytes"]) == (2, 2, 64 * MiB)
    assert isinstance(info["sources"], dict) and "dram_bytes" in info["sources"]
    assert {"wormhole_n150", "blackhole_p150", "tiny"} <= set(torch_accel.presets())


def test_amp_supported_dtypes():
    assert torch.accel.get_amp_supported_dtype() == [torch.bfloat16, torch.float16]


def test_current_device_and_set_device():
    assert torch.accel.current_device() == 0
    assert torch.empty(1, device="accel").device == torch.device("accel:0")
    torch.accel.set_device(1)
    assert torch.accel.current_device() == 1
    assert torch.empty(1, device="accel").device == torch.device("accel:1")
    assert torch.ones(2, device="accel").device == torch.device("accel:1")
    torch.accel.set_device("accel:0")
    assert torch.accel.current_device() == 0
    torch.accel.set_device(torch.device("accel", 1))
    assert torch.accel.current_device() == 1
    torch.accel.set_device(0)


def test_device_context_manager():
    before = torch.accel.memory_allocated(1)
    with torch.accel.device(1):
        assert torch.accel.current_device() == 1
        x = torch.empty(1000, device="accel")  # 4000 bytes, rounded up to 4096
        assert x.device == torch.device("accel:1")
        assert x.untyped_storage().device == torch.device("accel:1")
        assert torch.accel.memory_allocated(1) == before + 4096
        with torch.accel.device(0):
            assert torch.accel.current_device() == 0
        assert torch.accel.current_device() == 1
    assert torch.accel.current_device() == 0
    del x
    assert torch.accel.memory_allocated(1) == before
    with torch.accel.device("accel:1"):
        assert torch.accel.current_device() == 1
    with pytest.raises(ZeroDivisionError):  # restored on exceptions too
        with torch.accel.device(1):
            1 / 0
    assert torch.accel.current_device() == 0


def test_device_of():
    t = torch.ones(1, device="accel:1")
    with torch.accel.device_of(t):
        assert torch.accel.current_device() == 1
    assert torch.accel.current_device() == 0
    with torch.accel.device_of(torch.ones(1)):  # a CPU tensor leaves the device alone
        assert torch.accel.current_device() == 0


def test_synchronize():
    torch.accel.synchronize()
    torch.accel.synchronize(1)
    torch.accel.synchronize("accel:1")
    with pytest.raises(RuntimeError, match="accel:5"):
        torch.accel.synchronize(5)


def test_invalid_device_index():
    with pytest.raises(RuntimeError) as info:
        torch.ones(2, device="accel:7")
    assert "accel:7" in str(info.value) and "not a valid device" in str(info.value)
    with pytest.raises(RuntimeError, match="accel:7"):
        torch.ones(2).to("accel:7")
    with pytest.raises(RuntimeError, match="accel:2"):
        torch.ones(2, device="accel").to("accel:2")
    with pytest.raises(RuntimeError, match="accel:3"):
        torch.accel.set_device(3)
    with pytest.raises(RuntimeError, match="accel:9"):
        torch.accel.get_device_properties(9)
    with pytest.raises(RuntimeError, match="accel:9"):
        torch.accel.memory_allocated(9)
    with pytest.raises(RuntimeError, match="accel:9"):
        torch.Generator(device="accel:9")
    with pytest.raises(ValueError):
        torch.accel.get_device_properties("cpu")
    assert torch.accel.current_device() == 0


def test_configure_after_first_use_raises():
    torch.ones(1, device="accel")
    for kwargs in [dict(arch="tiny"), dict(num_devices=2), dict(arch="wormhole_n150", num_devices=1),
                   dict()]:
        with pytest.raises(RuntimeError, match="configure\\(\\) must be called before"):
            torch_accel.configure(**kwargs)
    assert torch_accel.arch_info()["name"] == "tiny" and torch.accel.device_count() == 2


def test_tensors_on_second_device():
    x = torch.arange(12.0).reshape(3, 4)
    a1 = x.to("accel:1")
    assert a1.device == torch.device("accel:1") and a1.get_device() == 1
    assert a1.untyped_storage().device == torch.device("accel:1")
    assert torch.equal(a1.cpu(), x)
    a0 = a1.to("accel:0")
    assert a0.device == torch.device("accel:0") and torch.equal(a0.cpu(), x)
    assert torch.equal(a1.t().to("accel:0").cpu(), x.t())
    assert torch.equal(a0[:, 1::2].to("accel:1").cpu(), x[:, 1::2])
    for ctor in [lambda: torch.empty(3, device="accel:1"), lambda: torch.zeros(3, device="accel:1"),
                 lambda: torch.full((3,), 1.5, device="accel:1"),
                 lambda: torch.randn(3, device="accel:1"),
                 lambda: torch.tensor([1, 2], device="accel:1")]:
        t = ctor()
        assert t.device == torch.device("accel:1")
        assert t.untyped_storage().device == torch.device("accel:1")


def test_mixing_devices_is_an_error():
    torch_accel.set_fallback_policy("silent")
    with pytest.raises(RuntimeError, match="same device"):
        torch.ones(2, device="accel:0") + torch.ones(2, device="accel:1")
    with pytest.raises(RuntimeError, match="same device"):
        torch.ones(2, device="accel:0") + torch.ones(2)


def test_memory_stats_are_per_device():
    torch.accel.empty_cache()
    before0, before1 = torch.accel.memory_allocated(0), torch.accel.memory_allocated(1)
    a = torch.empty(3 * MiB, dtype=torch.uint8, device="accel:1")
    assert torch.accel.memory_allocated(1) == before1 + 3 * MiB
    assert torch.accel.memory_allocated(0) == before0
    assert torch.accel.memory_reserved(1) >= before1 + 3 * MiB
    b = torch.empty(1 * MiB, dtype=torch.uint8, device="accel:0")
    assert torch.accel.memory_allocated(0) == before0 + MiB
    assert torch.accel.memory_allocated(1) == before1 + 3 * MiB
    del a, b
    assert (torch.accel.memory_allocated(0), torch.accel.memory_allocated(1)) == (before0, before1)


# Factory ops whose result must live, storage and all, on the device asked for
# (resize_-built outputs once landed on the current device instead).
FACTORIES = [
    pytest.param("empty", lambda d: torch.empty(300, device=d)),
    pytest.param("zeros", lambda d: torch.zeros(300, device=d)),
    pytest.param("randperm", lambda d: torch.randperm(300, device=d)),
    pytest.param("linspace", lambda d: torch.linspace(0, 1, 300, device=d)),
    pytest.param("tril_indices", lambda d: torch.tril_indices(20, 20, device=d)),
    pytest.param("bernoulli", lambda d: torch.bernoulli(torch.full((300,), 0.5, device=d))),
    pytest.param("arange", lambda d: torch.arange(300, device=d)),
    pytest.param("eye", lambda d: torch.eye(20, device=d)),
    pytest.param("normal", lambda d: torch.normal(torch.zeros(300, device=d), 1.0)),
    pytest.param("multinomial", lambda d: torch.multinomial(torch.ones(300, device=d), 300)),
    pytest.param("resize_", lambda d: torch.empty(0, device=d).resize_(300)),
]


@pytest.mark.parametrize("name,factory", FACTORIES)
def test_factory_storage_lives_on_requested_device(name, factory):
    t = factory("accel:1")
    assert t.device == torch.device("accel:1")
    assert t.untyped_storage().device == torch.device("accel:1")
