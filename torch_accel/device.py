"""torch.accel: the device module, shaped like torch.cuda."""
import json
from dataclasses import dataclass

import torch

from . import _C
from .memory import (empty_cache, max_memory_allocated, max_memory_reserved, mem_get_info,
                     memory_allocated, memory_reserved, memory_stats, memory_summary,
                     reset_accumulated_memory_stats, reset_peak_memory_stats)
from .random import (get_rng_state, get_rng_state_all, initial_seed, manual_seed,
                     manual_seed_all, seed, seed_all, set_rng_state, set_rng_state_all)

__all__ = [
    "is_available", "is_initialized", "init", "device_count", "current_device", "set_device",
    "device", "device_of", "synchronize", "get_device_properties", "get_device_name",
    "get_amp_supported_dtype", "is_bf16_supported", "manual_seed", "manual_seed_all", "seed", "seed_all",
    "initial_seed", "get_rng_state", "set_rng_state", "get_rng_state_all", "set_rng_state_all",
    "memory_allocated", "max_memory_allocated", "memory_reserved", "max_memory_reserved",
    "reset_peak_memory_stats", "reset_accumulated_memory_stats", "memory_stats",
    "memory_summary", "empty_cache", "mem_get_info",
]


def _index(device=None):
    """The device index for None, an int, a string or a torch.device."""
    if device is None:
        return _C.current_device()
    if isinstance(device, int):
        return device
    device = torch.device(device)
    if device.type != "accel":
        raise ValueError(f"expected an accel device, got {device}")
    return _C.current_device() if device.index is None else device.index


def is_available():
    return _C.device_count_noexcept() > 0


def is_initialized():
    return _C.is_initialized()


def init():
    """Initializes the emulated chip now, fixing its configuration."""
    _C.init()


def device_count():
    return _C.device_count()


def current_device():
    return _C.current_device()


def set_device(device):
    index = _index(device)
    if index >= 0:
        _C.set_device(index)


class device:
    """Context manager that changes the current accel device."""

    def __init__(self, device):
        self.idx = _index(device) if device is not None else -1
        self.prev_idx = -1

    def __enter__(self):
        self.prev_idx = _C.current_device()
        if self.idx >= 0 and self.idx != self.prev_idx:
            _C.set_device(self.idx)

    def __exit__(self, *exc):
        if self.idx >= 0 and self.idx != self.prev_idx:
            _C.set_device(self.prev_idx)
        return False


class device_of(device):
    """Context manager that makes the device of a tensor current."""

    def __init__(self, obj):
        super().__init__(obj.get_device() if obj.device.type == "accel" else -1)


def synchronize(device=None):
    """Waits for the device. Programs complete when launched, so this only
    validates the device."""
    index = _index(device)
    if not 0 <= index < device_count():
        raise RuntimeError(f"accel:{index} is not a valid device")


@dataclass(frozen=True)
class AccelDeviceProperties:
    name: str
    arch: str
    grid_rows: int
    grid_cols: int
    core_count: int
    l1_bytes_per_core: int
    dram_bytes: int
    dram_channels: int
    dram_bandwidth_bytes_per_s: float
    clock_hz: float

    @property
    def total_memory(self):
        return self.dram_bytes

    @property
    def multi_processor_count(self):
        return self.core_count


def get_device_properties(device=None):
    index = _index(device)
    _C.mem_get_info(index)  # validates the index, initializing the chip
    arch = json.loads(_C.arch_json())
    return AccelDeviceProperties(
        name=f"accel emulated {arch['name']}", arch=arch["name"],
        grid_rows=arch["grid_rows"], grid_cols=arch["grid_cols"],
        core_count=arch["grid_rows"] * arch["grid_cols"],
        l1_bytes_per_core=arch["l1_bytes_per_core"], dram_bytes=arch["dram_bytes"],
        dram_channels=arch["dram_channels"],
        dram_bandwidth_bytes_per_s=arch["dram_bandwidth_bytes_per_s"], clock_hz=arch["clock_hz"])


def get_device_name(device=None):
    return get_device_properties(device).name


def get_amp_supported_dtype():
    return [torch.bfloat16, torch.float16]


def is_bf16_supported(including_emulation=True):
    """The tile engine takes bfloat16 natively (torch.autocast and AMP ask)."""
    return True


def _is_in_bad_fork():
    return False
