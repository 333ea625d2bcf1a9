"""RNG of the accel devices, with torch.cuda's functions."""
import torch

from . import _C


def _generator(device=None):
    from .device import _index
    return _C.default_generator(_index(device))


def manual_seed(seed):
    _generator().manual_seed(int(seed))


def manual_seed_all(seed):
    for i in range(_C.device_count_noexcept()):
        _C.default_generator(i).manual_seed(int(seed))


def seed():
    _generator().seed()


def seed_all():
    random_seed = _generator(0).seed()
    for i in range(1, _C.device_count_noexcept()):
        _C.default_generator(i).manual_seed(random_seed)


def initial_seed():
    return _generator().initial_seed()


def get_rng_state(device="accel"):
    return _generator(device).get_state()


def set_rng_state(new_state, device="accel"):
    if not isinstance(new_state, torch.Tensor) or new_state.dtype != torch.uint8:
        raise TypeError("the RNG state must be a torch.ByteTensor")
    _generator(device).set_state(new_state.cpu())


def get_rng_state_all():
    return [get_rng_state(i) for i in range(_C.device_count_noexcept())]


def set_rng_state_all(new_states):
    for i, state in enumerate(new_states):
        set_rng_state(state, i)
