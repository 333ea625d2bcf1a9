"""The GPU executor (docs/CUDA.md): the chip's matrix-engine products computed
on a CUDA GPU instead of the host's CPU, with the chip's numerics.

It changes how fast the host emulates the chip, never what the chip does:
program records and modelled times are the same with it on or off. Switch it
on with ``torch_accel.configure(cuda=True)`` or ``TORCH_ACCEL_CUDA=1``.
"""
import os
import warnings

from . import _C

_probe = None  # (available, reason), once probed


def built():
    """Whether this build has the GPU executor (nvcc was found at build time)."""
    return bool(_C.cuda_executor_built())


def enabled():
    """Whether matrix-engine products go to the GPU now."""
    return bool(_C.cuda_executor_on())


def set_enabled(on):
    """Switches the executor on or off; switching on without a usable GPU
    raises RuntimeError naming why (no nvcc at build time, no GPU visible...)."""
    global _probe
    if not isinstance(on, bool):
        raise TypeError(f"cuda must be True or False, not {type(on).__name__}")
    _C.set_cuda_executor(on)
    if on:
        _probe = (True, "")


def set_min_multiplies(n):
    """Products with fewer multiplies (M*N*K over the batch) stay on the CPU
    kernels, where moving them costs more than computing them (default 2**22)."""
    if not isinstance(n, int) or isinstance(n, bool):
        raise TypeError(f"min_multiplies must be an int, not {type(n).__name__}")
    _C.set_cuda_min_multiplies(n)


def min_multiplies():
    return int(_C.cuda_min_multiplies())


def _availability():
    """(available, reason): whether set_enabled(True) would succeed. Probed
    once (the plugin loaded, the GPUs counted), without switching anything."""
    global _probe
    if enabled():
        return True, ""
    if _probe is None:
        reason = _C.cuda_executor_unavailable_reason()
        _probe = (not reason, reason)
    return _probe


def cuda_stats():
    """Programs per executor since the last reset, and the executor's state:
    built, available (a GPU it can use is visible; reason says why not),
    enabled, cpu_programs, cuda_programs (programs any of whose matrix-engine
    products ran on the GPU) and cuda_products (GPU kernel launches)."""
    available, reason = _availability()
    return {"built": built(), "available": available, "reason": reason, "enabled": enabled(),
            **_C.cuda_executor_stats()}


def reset_cuda_stats():
    """Zeroes the program counters of cuda_stats()."""
    _C.reset_cuda_executor_stats()


def apply_environment():
    """TORCH_ACCEL_CUDA=1 switches the executor on at import; when it cannot
    run, a warning says why and the CPU kernels carry on (import never fails)."""
    value = os.environ.get("TORCH_ACCEL_CUDA", "")
    if value in ("", "0"):
        return
    if value != "1":
        warnings.warn(f"TORCH_ACCEL_CUDA={value!r} ignored: use 1 or 0", stacklevel=2)
        return
    try:
        set_enabled(True)
    except RuntimeError as e:
        warnings.warn(f"TORCH_ACCEL_CUDA=1 ignored: {e}", stacklevel=2)
