"""Session setup for the torch_accel pytest suite.

The device configuration (architecture, device count) is fixed for a process
at the first use of the device, so it is chosen here, at import of conftest,
before any test touches the device: the small "tiny" preset (2x2 cores, 64 MiB
of DRAM, which makes out-of-memory tests cheap) with two devices (for the
multi-device tests). Every test that needs another configuration runs a fresh
Python process (see accel_subprocess.py).
"""
import os

import pytest
import torch
import torch_accel

# Every graph the suite compiles is checked after lowering: each fused op's
# result must be what was traced (torch_accel/compile/verify.py).
os.environ.setdefault("TORCH_ACCEL_COMPILE_CHECK", "1")

torch_accel.configure(arch="tiny", num_devices=2)


def pytest_configure(config):
    # Ops without an accel kernel (printing a tensor runs several) warn once per
    # op. That is the product's documented behaviour; keep it out of the
    # warnings summary. pytest.warns() still records these warnings.
    config.addinivalue_line("filterwarnings", "ignore:.*has no accel kernel:UserWarning")
    config.addinivalue_line("markers", "allows_fallback: the test may run ops through the CPU "
                            "fallback (tests that check for none skip the check)")


@pytest.fixture(autouse=True)
def _fresh_fallback_state():
    """Each test starts with the "warn" policy, empty fallback counts (which also
    re-arms the once-per-op warning) and accel:0 as the current device."""
    torch_accel.set_fallback_policy("warn")
    torch_accel.reset_fallback_stats()
    torch.accel.set_device(0)
    yield
    torch_accel.set_fallback_policy("warn")
    torch_accel.reset_fallback_stats()
    torch.accel.set_device(0)


@pytest.fixture
def no_fallback(request):
    """For modules whose every op must run on accel (pytestmark = usefixtures):
    a CPU-fallback call fails the test, unless it is marked allows_fallback."""
    yield
    if "allows_fallback" not in request.keywords:
        assert torch_accel.fallback_stats() == {}, "an op fell back to the CPU"


@pytest.fixture
def fallback_is_error():
    """A fallback raises at the op that takes it, instead of failing the test at
    its end (the autouse fixture above restores the "warn" policy)."""
    torch_accel.set_fallback_policy("error")


@pytest.fixture
def fresh_dynamo():
    """Compiled-graph tests start and end with no cached graphs or compile counts."""
    torch._dynamo.reset()
    torch_accel.reset_compile_stats()
    yield
    torch._dynamo.reset()
