"""Compute settings of the matrix engine, as on a Tenstorrent op: the math
fidelity (how many passes the 5x7-bit multipliers make over the operands'
mantissas: LoFi, HiFi2, HiFi3, HiFi4) and whether the destination registers
accumulate in fp32 (else in bf16, rounded after every 32-deep K tile).

    torch_accel.set_compute_config(math_fidelity="HiFi2")     # process-wide
    with torch_accel.compute_config(math_fidelity="LoFi"):    # this thread only,
        y = x @ w                                              # and the backward() it runs

The defaults (HiFi4, fp32 accumulation) give float32 results that match CPU.
Matmul-class programs record the settings they ran with (torch_accel.profile).
"""
from dataclasses import dataclass

from . import _C

_FIDELITIES = {"LoFi": 1, "HiFi2": 2, "HiFi3": 3, "HiFi4": 4}
_NAMES = {code: name for name, code in _FIDELITIES.items()}


@dataclass(frozen=True)
class ComputeConfig:
    math_fidelity: str = "HiFi4"
    fp32_dest_acc: bool = True


def _fidelity_code(value):
    name = getattr(value, "name", value)  # an enum member named like the fidelity
    if isinstance(name, str):
        for known, code in _FIDELITIES.items():
            if name.lower() == known.lower():
                return code
    elif isinstance(value, int) and not isinstance(value, bool) and value in _NAMES:
        return value
    raise ValueError(f"math_fidelity must be one of 'LoFi', 'HiFi2', 'HiFi3', 'HiFi4' "
                     f"(or 1, 2, 3, 4), got {value!r}")


def _acc_flag(value):
    if not isinstance(value, bool):
        raise ValueError(f"fp32_dest_acc must be True or False, got {value!r}")
    return value


def _resolve(math_fidelity, fp32_dest_acc, base):
    """(fidelity code, acc flag), a None argument keeping base's value."""
    code = base[0] if math_fidelity is None else _fidelity_code(math_fidelity)
    acc = base[1] if fp32_dest_acc is None else _acc_flag(fp32_dest_acc)
    return code, acc


def _config(pair):
    return ComputeConfig(_NAMES[pair[0]], pair[1])


def set_compute_config(math_fidelity=None, fp32_dest_acc=None):
    """Sets the process-wide config; an argument left None keeps its value."""
    _C.set_compute_config(*_resolve(math_fidelity, fp32_dest_acc, _C.global_compute_config()))


def get_compute_config():
    """The process-wide config (a `compute_config` block overrides it on its thread)."""
    return _config(_C.global_compute_config())


def current_compute_config():
    """The config matmul programs on this thread use now."""
    return _config(_C.current_compute_config())


class compute_config:
    """Context manager overriding the config on the current thread; nests.
    An argument left None keeps the value in effect when the block is entered."""

    def __init__(self, math_fidelity=None, fp32_dest_acc=None):
        # Validate now, so a bad value fails at the call, not at `with`.
        self._args = (None if math_fidelity is None else _NAMES[_fidelity_code(math_fidelity)],
                      None if fp32_dest_acc is None else _acc_flag(fp32_dest_acc))
        self._scope = None

    def __enter__(self):
        pair = _resolve(*self._args, _C.current_compute_config())
        self._scope = _C.ComputeConfigScope(*pair)
        self._scope.enter()
        return _config(pair)

    def __exit__(self, *exc):
        self._scope.exit()
        self._scope = None
        return False
