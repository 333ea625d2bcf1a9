"""Lets the autograd engine's accel threads let go of finished graphs before Python
finalizes.

torch's backward stashes a Python contextvars.Context in the graph task's
thread-local state. The engine's device thread can drop the last reference to a
finished graph task just after the caller's backward() returned; when that
happens while the interpreter is finalizing, the release needs the GIL and the
thread aborts the whole process ("terminate called without an active
exception", pytorch/pytorch#117762). One more backward on each device's thread,
with nothing of Python's in its state, returns only after that thread has let the
previous graphs go.
"""
import atexit

import torch

from . import _C


def _drain_autograd_device_threads():
    if not _C.is_initialized():
        return
    run_backward = torch.autograd.Variable._execution_engine.run_backward
    # The importing thread runs its own backward passes (torch_accel's
    # _autograd_on_calling_thread), so the drain asks for the device threads,
    # which other threads' graphs went through.
    with torch.enable_grad(), torch.autograd.set_multithreading_enabled(True):
        for index in range(_C.device_count()):
            leaf = torch.zeros((), device=torch.device("accel", index), requires_grad=True)
            out = leaf * 1
            # Not torch.autograd.backward: that stashes the context again.
            run_backward((out,), (torch.ones_like(out),), False, False, (), True, True)


atexit.register(_drain_autograd_device_threads)
