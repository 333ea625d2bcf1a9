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
    "memory_summary", "empty_cache", "mem_get_info", "Stream", "Event", "current_stream",
    "default_stream", "set_stream", "stream", "StreamContext", "device_time",
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


# Streams and events. Programs finish when launched, so nothing ever waits on
# the host; but every device keeps a modelled clock (csrc/perf/clock.h) that
# each program advances by its estimated time on the current stream. Events
# record that clock, so elapsed_time() gives the chip's milliseconds.

class Stream(torch.Stream):
    """An ordered queue of programs on one accel device, like torch.cuda.Stream.
    Programs on different streams overlap in the model when they fit on
    cores the other stream leaves free."""

    def __new__(cls, device=None, priority=0, **kwargs):
        if {"stream_id", "device_index", "device_type"} <= kwargs.keys():
            return super().__new__(cls, **kwargs)
        return super().__new__(cls, device=torch.device("accel", _index(device)), priority=priority)

    def wait_event(self, event):
        event.wait(self)

    def wait_stream(self, stream):
        self.wait_event(stream.record_event())

    def record_event(self, event=None):
        event = Event() if event is None else event
        event.record(self)
        return event

    def __eq__(self, other):
        return (isinstance(other, torch.Stream) and self.stream_id == other.stream_id
                and self.device_index == other.device_index and self.device_type == other.device_type)

    def __hash__(self):
        return hash((self.stream_id, self.device_index, self.device_type))

    def __repr__(self):
        return f"<torch.accel.Stream device=accel:{self.device_index} stream_id={self.stream_id}>"


def _wrap(s):
    return Stream(stream_id=s.stream_id, device_index=s.device_index, device_type=s.device_type)


class Event:
    """A point on a stream's modelled timeline, like torch.cuda.Event.
    Wraps a torch.Event (whose methods accept only that exact type)."""

    def __init__(self, enable_timing=False, blocking=False, interprocess=False):
        self._event = torch.Event(device=torch.device("accel", _C.current_device()),
                                  enable_timing=enable_timing, blocking=blocking,
                                  interprocess=interprocess)

    @staticmethod
    def _plain(stream):
        s = current_stream() if stream is None else stream
        return torch.Stream(stream_id=s.stream_id, device_index=s.device_index,
                            device_type=s.device_type)

    def record(self, stream=None):
        self._event.record(self._plain(stream))

    def wait(self, stream=None):
        self._event.wait(self._plain(stream))

    def query(self):
        return self._event.query()

    def synchronize(self):
        self._event.synchronize()

    def elapsed_time(self, end_event):
        """Modelled milliseconds from this event to end_event."""
        return self._event.elapsed_time(end_event._event)

    def __repr__(self):
        return f"<torch.accel.Event {id(self):#x}>"


def current_stream(device=None):
    return _wrap(torch._C._accelerator_getStream(_index(device)))


def default_stream(device=None):
    cur = torch._C._accelerator_getStream(_index(device))
    return Stream(stream_id=0, device_index=cur.device_index, device_type=cur.device_type)


def set_stream(stream):
    if stream is not None:
        torch._C._accelerator_setStream(stream)


class StreamContext:
    """Makes `stream` current on its device (and that device current) for a block."""

    def __init__(self, stream):
        self.stream = stream
        self.prev_device = -1
        self.prev_stream = None

    def __enter__(self):
        if self.stream is None:
            return self.stream
        self.prev_device = _C.current_device()
        if self.stream.device_index != self.prev_device:
            _C.set_device(self.stream.device_index)
        self.prev_stream = current_stream(self.stream.device_index)
        set_stream(self.stream)
        return self.stream

    def __exit__(self, *exc):
        if self.stream is None:
            return False
        set_stream(self.prev_stream)
        if self.stream.device_index != self.prev_device:
            _C.set_device(self.prev_device)
        return False


def stream(stream):
    """Context manager selecting `stream`, like torch.cuda.stream."""
    return StreamContext(stream)


def device_time(device=None):
    """The device's modelled clock in seconds: when its last queued program ends."""
    return _C.clock_device_time(_index(device))


def _is_in_bad_fork():
    return False
