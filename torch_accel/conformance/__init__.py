"""PyTorch's OpInfo suite (op_db) run on accel against the CPU.

`python -m torch_accel.conformance` checks every entry and writes
docs/CONFORMANCE.md; tests/conformance runs the same checks under pytest.
"""
from .checks import Outcome, check_op, op_id
from .report import compare, load_expectations

__all__ = ["Outcome", "check_op", "op_id", "compare", "load_expectations"]
