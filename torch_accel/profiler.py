"""torch_accel.profile(): the programs that ran on the chip, one record each."""
import contextlib

from . import _C


class Profile:
    """Program records collected by `with torch_accel.profile() as prof:`."""

    def __init__(self):
        self.records = []

    def ops(self):
        """Op name -> number of programs it ran."""
        counts = {}
        for r in self.records:
            counts[r["op"]] = counts.get(r["op"], 0) + 1
        return counts


@contextlib.contextmanager
def profile():
    prof = Profile()
    _C.take_records()  # drop anything from an earlier, unfinished collection
    _C.set_recording(True)
    try:
        yield prof
    finally:
        _C.set_recording(False)
        prof.records = list(_C.take_records())
