"""torch.distributed on accel: the "accel" process-group backend.

    dist.init_process_group("accel")                       # accel tensors
    dist.init_process_group(device_id=torch.device("accel", rank))
    dist.init_process_group("cpu:gloo,accel:accel")        # CPU tensors too

Each process owns one emulated chip: rank r computes on accel:r. Under
torchrun (WORLD_SIZE set) importing torch_accel gives each process
accel:0..WORLD_SIZE-1 unless TORCH_ACCEL_NUM_DEVICES or configure() says
otherwise. docs/DISTRIBUTED.md describes the transport, the modelled time
and the errors."""
import os

import torch.distributed as dist

from .. import _C
from ._cost import collective_time_s
from ._process_group import AccelProcessGroup, create
from ._work import AccelWork, CollectiveError

__all__ = ["AccelProcessGroup", "AccelWork", "CollectiveError", "collective_time_s"]


def _devices_for_world():
    """One chip per rank, before the device is first used: init_process_group
    checks device_id against the device count before any backend exists."""
    world = os.environ.get("WORLD_SIZE", "")
    if not world.isdigit() or int(world) <= 1 or "TORCH_ACCEL_NUM_DEVICES" in os.environ:
        return
    if _C.is_initialized() or _C.device_count() >= int(world):
        return
    _C.configure(num_devices=min(int(world), 64))


if dist.is_available():
    if "accel" not in dist.Backend.backend_list:
        dist.Backend.register_backend("accel", create, devices=["accel"])
    _devices_for_world()
