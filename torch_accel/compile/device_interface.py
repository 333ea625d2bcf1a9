"""The accel device for Dynamo and Inductor: a DeviceInterface over torch.accel
(streams, events, synchronize), and an Inductor registration that refuses
accel tensors with an error naming backend="accel".

Inductor would generate CPU C++ or Triton code for the graph: neither computes
what the chip computes (its formats, its fidelity, its fp32 destination
register), so the default torch.compile must not run accel graphs."""
import torch
from torch._dynamo.device_interface import DeviceInterface, register_interface_for_device

from .. import _C
from .. import device as accel

INDUCTOR_REFUSAL = (
    "torch.compile's default backend (Inductor) cannot generate code for the accel chip: "
    "its CPU or Triton kernels would not compute the chip's numerics. Compile accel models "
    "with torch.compile(model, backend=\"accel\").")


class AccelInterface(DeviceInterface):
    """torch.accel as Dynamo sees a device (torch._dynamo.device_interface)."""

    device = accel.device
    Event = torch.Event  # Dynamo captures only torch.Event and torch.Stream subclasses
    Stream = accel.Stream

    class Worker:
        @staticmethod
        def set_device(device):
            accel.set_device(device)

        @staticmethod
        def current_device():
            return accel.current_device()

        @staticmethod
        def get_device_properties(device=None):
            return accel.get_device_properties(device)

    current_device = staticmethod(accel.current_device)
    set_device = staticmethod(accel.set_device)
    device_count = staticmethod(accel.device_count)
    is_available = staticmethod(accel.is_available)
    stream = staticmethod(accel.stream)
    current_stream = staticmethod(accel.current_stream)
    set_stream = staticmethod(accel.set_stream)
    synchronize = staticmethod(accel.synchronize)
    get_device_properties = staticmethod(accel.get_device_properties)
    is_bf16_supported = staticmethod(accel.is_bf16_supported)
    memory_allocated = staticmethod(accel.memory_allocated)

    @staticmethod
    def exchange_device(device):
        previous = _C.current_device()
        if device >= 0 and device != previous:
            _C.set_device(device)
        return previous

    maybe_exchange_device = exchange_device

    @staticmethod
    def _set_stream_by_id(stream_id, device_index, device_type):
        accel.set_stream(accel.Stream(stream_id=stream_id, device_index=device_index,
                                      device_type=device_type))

    @staticmethod
    def get_raw_stream(device_idx):
        return accel.current_stream(device_idx).stream_id

    @staticmethod
    def get_compute_capability(device=None):
        return accel.get_device_properties(device).arch

    @staticmethod
    def is_triton_capable(device=None):
        return False


class _Refusing(type):
    """Whatever Inductor asks of the accel backend first is answered by the refusal."""

    def __getattr__(cls, name):
        raise RuntimeError(INDUCTOR_REFUSAL)


class _RefuseInductor(metaclass=_Refusing):
    """Inductor's scheduling and wrapper codegen for accel devices."""

    def __init__(self, *args, **kwargs):
        raise RuntimeError(INDUCTOR_REFUSAL)


def register():
    register_interface_for_device("accel", AccelInterface)
    from torch._inductor.codegen.common import register_backend_for_device
    register_backend_for_device("accel", _RefuseInductor, _RefuseInductor)
