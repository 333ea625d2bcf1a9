"""The fuzz tests run on the small "tiny" chip, as tests/python does (and with
the same configuration, so that one pytest session can run both)."""
import pytest
import torch
import torch_accel

if not torch.accel.is_initialized():
    torch_accel.configure(arch="tiny", num_devices=2)


@pytest.fixture(autouse=True)
def _silent_fallback():
    """Ops without an accel kernel run through the CPU fallback; that path is
    fuzzed too, without a warning per op."""
    torch_accel.set_fallback_policy("silent")
    yield
    torch_accel.set_fallback_policy("warn")
