"""The CPU fallback: which ops ran on the CPU, and what to do when one does."""
from . import _C


def fallback_stats():
    """A dict of op name ("aten::add.Tensor") -> times it ran through the CPU fallback."""
    return dict(_C.fallback_stats())


def reset_fallback_stats():
    """Clears the counts; each op warns again the next time it falls back."""
    _C.reset_fallback_stats()


def set_fallback_policy(policy):
    """"warn" (once per op), "silent", or "error" (raise NotImplementedError)."""
    _C.set_fallback_policy(policy)


def fallback_policy():
    return _C.fallback_policy()
