"""The conformance suite runs on the default chip, as a user's script would, with
the CPU fallback silent (fallback calls are counted per entry, not warned)."""
import pytest
import torch_accel


@pytest.fixture(autouse=True)
def _silent_fallback():
    torch_accel.set_fallback_policy("silent")
    yield
    torch_accel.set_fallback_policy("warn")
