"""torch.save / torch.load of accel tensors and modules."""
import io

import pytest
import torch
import torch_accel


def _bytes(t):
    return t.detach().cpu().reshape(-1).contiguous().view(torch.uint8)


def _bitwise_equal(a, b):
    return a.dtype == b.dtype and a.shape == b.shape and torch.equal(_bytes(a), _bytes(b))


@pytest.fixture
def saved(tmp_path):
    base = torch.randn(4, 6, device="accel")
    tensors = {
        "base": base,
        "view": base[1:3, ::2],            # shares base's storage
        "transposed": base.t(),            # shares it too
        "half": torch.randn(5, device="accel").half(),
        "bf16": torch.randn(3, 3, device="accel").bfloat16(),
        "int64": torch.randint(-1000, 1000, (7,), device="accel"),
        "bool": torch.tensor([True, False, True], device="accel"),
        "complex": torch.randn(3, dtype=torch.complex64, device="accel"),
        "nan": torch.tensor([float("nan"), float("inf"), -0.0], device="accel"),
        "scalar": torch.tensor(2.5, device="accel"),
        "empty": torch.empty(0, 3, device="accel"),
        "on1": torch.randn(2, 3, device="accel:1"),
    }
    path = tmp_path / "tensors.pt"
    torch.save(tensors, path)
    return tensors, path


def test_load_without_map_location(saved):
    tensors, path = saved
    loaded = torch.load(path)
    assert set(loaded) == set(tensors)
    for name, t in tensors.items():
        got = loaded[name]
        assert got.device == t.device, name
        assert got.stride() == t.stride() and got.storage_offset() == t.storage_offset(), name
        assert _bitwise_equal(got, t), name
    # views still share the loaded storage
    base, view = loaded["base"], loaded["view"]
    assert view.untyped_storage().data_ptr() == base.untyped_storage().data_ptr()
    assert loaded["transposed"].untyped_storage().data_ptr() == base.untyped_storage().data_ptr()
    base.fill_(3.0)
    assert torch.equal(view.cpu(), torch.full((2, 3), 3.0))
    assert torch_accel.fallback_stats() == {}


def test_load_map_location_cpu(saved):
    tensors, path = saved
    for loc in ["cpu", torch.device("cpu"), lambda storage, location: storage.cpu()]:
        loaded = torch.load(path, map_location=loc)
        for name, t in tensors.items():
            assert loaded[name].device.type == "cpu", name
            assert _bitwise_equal(loaded[name], t), name
        assert loaded["view"].untyped_storage().data_ptr() == loaded["base"].untyped_storage().data_ptr()


def test_load_map_location_accel1(saved):
    tensors, path = saved
    for loc in ["accel:1", torch.device("accel", 1), {"accel:0": "accel:1"}]:
        loaded = torch.load(path, map_location=loc)
        for name, t in tensors.items():
            assert loaded[name].device == torch.device("accel:1"), (loc, name)
            assert loaded[name].untyped_storage().device == torch.device("accel:1"), (loc, name)
            assert _bitwise_equal(loaded[name], t), name


def test_cpu_checkpoint_to_accel(tmp_path):
    t = {"w": torch.randn(3, 4), "i": torch.arange(5)}
    path = tmp_path / "cpu.pt"
    torch.save(t, path)
    loaded = torch.load(path, map_location="accel")
    for name in t:
        assert loaded[name].device == torch.device("accel:0")
        assert _bitwise_equal(loaded[name], t[name])


def test_save_to_buffer_roundtrip():
    x = torch.randn(16, 16, device="accel")[::2]
    buf = io.BytesIO()
    torch.save(x, buf)
    buf.seek(0)
    y = torch.load(buf, weights_only=True)
    assert y.device == x.device and _bitwise_equal(y, x)


def test_module_state_dict_roundtrip(tmp_path):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3)).to("accel")
    assert all(p.device == torch.device("accel:0") for p in model.state_dict().values())
    path = tmp_path / "model.pt"
    torch.save(model.state_dict(), path)

    other = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3)).to("accel")
    other.load_state_dict(torch.load(path))
    for (k, v), (k2, v2) in zip(model.state_dict().items(), other.state_dict().items()):
        assert k == k2 and v2.device.type == "accel" and _bitwise_equal(v, v2), k

    cpu_model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3))
    cpu_model.load_state_dict(torch.load(path, map_location="cpu"))
    for k, v in cpu_model.state_dict().items():
        assert v.device.type == "cpu" and _bitwise_equal(v, model.state_dict()[k]), k

    on1 = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3)).to("accel:1")
    on1.load_state_dict(torch.load(path, map_location="accel:1"))
    assert all(v.device == torch.device("accel:1") for v in on1.state_dict().values())


def test_module_to_accel_and_back():
    m = torch.nn.Linear(3, 2)
    ref = {k: v.clone() for k, v in m.state_dict().items()}
    m.to("accel:1")
    assert m.weight.device == torch.device("accel:1")
    m.accel()  # generated Module.accel() moves to the current device
    assert m.weight.device == torch.device("accel:0")
    m.cpu()
    for k, v in m.state_dict().items():
        assert torch.equal(v, ref[k])


def test_tensors_made_on_second_device_load_on_second_device():
    """The storage location torch.save records is the storage's device (ops that build
    their output with resize_ once put it on the current device instead)."""
    made = {"arange": torch.arange(5, device="accel:1"), "eye": torch.eye(3, device="accel:1"),
            "normal": torch.normal(torch.zeros(4, device="accel:1"), 1.0),
            "resized": torch.empty(0, device="accel:1").resize_(6).fill_(1.0)}
    buf = io.BytesIO()
    torch.save(made, buf)
    buf.seek(0)
    loaded = torch.load(buf)
    for name, t in made.items():
        assert loaded[name].device == torch.device("accel:1"), name
        assert _bitwise_equal(loaded[name], t), name
