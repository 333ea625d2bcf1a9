"""The Work an accel collective returns, and the gloo errors it translates.

Data moves through gloo on host views of device memory, so a Work is done
when its gloo works are. Its future is a torch.futures.Future over the accel
device, completed with the collective's stream current: waiting on it (or on
the Work) makes the waiting stream wait for the collective's modelled end,
as CUDA futures do with NCCL's stream."""
import threading

import torch
import torch.distributed as dist

from .. import _C
from .. import device as _device


class CollectiveError(RuntimeError):
    """A collective failed: bad input on some rank, a timeout, or a peer that left."""


def translate(error, what, timeout_s):
    """A CollectiveError naming the collective for a gloo exception."""
    if isinstance(error, CollectiveError):
        return error
    text = str(error)
    if "imed out" in text or "timeout" in text.lower():
        return CollectiveError(
            f"accel {what}: timed out after {timeout_s:g} s waiting for the other ranks "
            f"(a rank never joined, left, or issued a different collective). gloo said: {text}")
    if "onnection" in text or "closed" in text or "reset by peer" in text:
        return CollectiveError(f"accel {what}: a peer rank left the group. gloo said: {text}")
    return CollectiveError(f"accel {what} failed: {text}")


_waiters = None
_at_lock = threading.Lock()
_at_streams = {}  # device index -> streams used to stand at a collective's end


def _stream_at(index, t):
    """A stream of device `index` whose clock stands at `t`. Stream clocks only
    move forward, so a pooled one is reused when it is not past `t`; the pool
    grows only as far as completions arrive out of order."""
    with _at_lock:
        pool = _at_streams.setdefault(index, [])
        for stream in pool:
            if _C.clock_stream_time(index, stream.stream_id) <= t:
                break
        else:
            stream = _device.Stream(device=index)
            pool.append(stream)
        _C.clock_wait(index, stream.stream_id, t)
        return stream


def _future_of(work):
    """A torch future done when a gloo work is: its own, or (for the works gloo
    gives none, as send, recv and reduce_scatter) one a waiter thread completes."""
    global _waiters
    try:
        return work.get_future()
    except RuntimeError:
        pass
    if _waiters is None:
        from concurrent.futures import ThreadPoolExecutor
        _waiters = ThreadPoolExecutor(max_workers=4, thread_name_prefix="accel-dist-wait")
    future = torch.futures.Future()

    def wait():
        try:
            work.wait()
        except Exception as e:  # noqa: BLE001  (handed to the future)
            future.set_exception(e)
            return
        future.set_result(None)

    _waiters.submit(wait)
    return future


class AccelWork(dist.Work):
    """One collective in flight: `gloo_works` carry the data; `then` (run with
    the collective's stream current once they complete) checks or records what
    could only be known then, and returns None or (more gloo works, next
    `then`); `result` is the future's value."""

    def __init__(self, what, gloo_works, result, device_index=None, stream=None,
                 timeout_s=0.0, then=None, end_s=None):
        super().__init__()
        self._what = what
        self._result = result
        self._device_index = device_index
        self._stream = stream
        self._timeout_s = timeout_s
        self._end_s = end_s  # None: the stream's time once `then` has recorded it
        if device_index is None:
            self._future = torch.futures.Future()
        else:
            self._future = torch.futures.Future(devices=[torch.device("accel", device_index)])
        self._await(gloo_works, then)

    def _await(self, gloo_works, then):
        if not gloo_works:
            self._step(None, then)
            return
        futures = [_future_of(w) for w in gloo_works]
        joined = futures[0] if len(futures) == 1 else torch.futures.collect_all(futures)
        joined.add_done_callback(lambda f: self._step(f, then))

    def _step(self, gloo_future, then):
        try:
            if gloo_future is not None:
                value = gloo_future.wait()  # raises gloo's error
                for inner in value if isinstance(value, list) else ():
                    if isinstance(inner, torch.futures.Future):
                        inner.wait()
            if self._device_index is None:
                more = then() if then is not None else None
                if more is None:
                    self._future.set_result(self._result)
            else:
                index = self._device_index
                with _device.device(index), _device.stream(self._stream):
                    more = then() if then is not None else None
                if more is None:
                    end_s = self._end_s
                    if end_s is None:
                        end_s = _C.clock_stream_time(index, self._stream.stream_id)
                    # The future records the event its waiters' streams wait on
                    # on the current stream: one standing exactly at this
                    # collective's end (later collectives may already be queued
                    # on the collective stream).
                    with _device.device(index), _device.stream(_stream_at(index, end_s)):
                        self._future.set_result(self._result)
            if more is not None:
                self._await(*more)
        except Exception as e:  # noqa: BLE001  (handed to the waiter, never lost)
            self._future.set_exception(translate(e, self._what, self._timeout_s))

    def wait(self, timeout=None):
        self._future.wait()
        return True

    def get_future(self):
        return self._future

    def is_completed(self):
        return self._future.done()

    def is_success(self):
        if not self._future.done():
            return False
        try:
            self._future.value()
        except Exception:  # noqa: BLE001
            return False
        return True

    def exception(self):
        if not self._future.done():
            return None
        try:
            self._future.value()
        except Exception as e:  # noqa: BLE001
            return e
        return None

    def result(self):
        self.wait()
        return self._result if isinstance(self._result, list) else [self._result]

    def synchronize(self):
        self.wait()

    def _source_rank(self):
        """The rank a recv got its message from (recv from any source)."""
        self.wait()
        source = getattr(self, "source", [None])[0]
        if source is None:
            raise RuntimeError("accel: only a recv has a source rank")
        return source
