"""The "accel" process group: torch.distributed collectives between processes
that each own one emulated chip.

Data moves through an inner gloo process group on host views of device
memory (device DRAM is host memory, so gloo reads and writes the accel
tensors in place, no copies). Before each collective the ranks agree on what
it is (_agree.py), so a mismatch is a clear error on every rank; then the
collective is recorded on a stream of its own on the chip's modelled clock,
starting when the last rank's chip is ready and taking the collective
model's time (_cost.py), so it overlaps the compute that follows it until
someone waits for it (docs/DISTRIBUTED.md)."""
import datetime

import torch
import torch.distributed as dist
from torch._C._distributed_c10d import ProcessGroupGloo

from .. import _C
from .. import device as _device
from . import _cost
from ._agree import agree
from ._work import AccelWork, CollectiveError, translate


def _op_code(opts):
    op = getattr(opts, "reduceOp", None)
    return -1 if op is None else int(op.op)


def _numel(tensors):
    return sum(t.numel() for t in tensors)


def _nbytes(tensors):
    return sum(t.numel() * t.element_size() for t in tensors)


class AccelProcessGroup(dist.ProcessGroup):
    """torch.distributed's ProcessGroup for accel tensors (and CPU tensors when
    the backend string also names "cpu:gloo")."""

    def __init__(self, store, rank, size, timeout):
        super().__init__(rank, size)
        self._timeout_s = timeout.total_seconds()
        try:
            self._gloo = ProcessGroupGloo(store, rank, size, timeout)
        except Exception as e:  # noqa: BLE001
            raise CollectiveError(
                f"accel process group: rank {rank} of {size} could not reach every other rank "
                f"within {self._timeout_s:g} s (a rank never joined?). gloo said: {e}") from None
        self._streams = {}  # device index -> the collectives' stream
        # c10d asks a group for its per-device backend (device_id binding,
        # eager connection, splitting). The collectives themselves, from
        # torch.distributed and from its functional collectives alike, reach
        # this group's methods; the inner gloo group answers the rest.
        # Registered for accel only: torch's object collectives then carry
        # their pickles in accel tensors, which this group always takes.
        self._register_backend(torch.device("accel"), dist.ProcessGroup.BackendType.CUSTOM,
                               self._gloo)

    # -- what c10d asks of a process group --------------------------------
    def getBackendName(self):
        return "accel"

    def name(self):
        return "accel"

    def _get_backend_name(self):
        return "accel"

    def _cpu_allowed(self):
        config = dist.distributed_c10d._world.pg_backend_config.get(self, "")
        return "cpu:" in config

    # -- placement and the clock -------------------------------------------
    def _device_of(self, what, tensors):
        """The accel device index of `tensors`, None for CPU tensors where this
        group takes them; otherwise the error to report."""
        devices = {t.device for t in tensors}
        if not devices:
            return None, None
        if len(devices) > 1:
            return None, CollectiveError(f"accel {what}: tensors are on different devices "
                                         f"({', '.join(sorted(map(str, devices)))})")
        (device,) = devices
        if device.type == "accel":
            return device.index, None
        if device.type == "cpu" and self._cpu_allowed():
            return None, None
        hint = (" (initialise with backend \"cpu:gloo,accel:accel\" to also reduce CPU tensors)"
                if device.type == "cpu" else "")
        return None, CollectiveError(f"accel {what}: expected accel tensors, got a tensor on "
                                     f"{device}{hint}")

    def _stream(self, index):
        if index not in self._streams:
            self._streams[index] = _device.Stream(device=index)
        return self._streams[index]

    def _ready_s(self, index):
        if index is None:
            return 0.0
        current = _device.current_stream(index).stream_id
        return max(_C.clock_stream_time(index, current),
                   _C.clock_stream_time(index, self._stream(index).stream_id))

    def _record(self, index, kind, op_name, nbytes, start_s, chips, element_bytes=2, root=None):
        """Puts the collective on the device's collective stream at `start_s`."""
        if index is None:
            return None
        stream = self._stream(index)
        _C.clock_wait(index, stream.stream_id, start_s)
        seconds = _cost.collective_time_s(kind, nbytes, chips, dtype=element_bytes,
                                          root=None if root is None else chips[root])
        if seconds > 0:  # a group of one moves nothing and records nothing
            with _device.device(index), _device.stream(stream):
                _C.record_collective(index, op_name, nbytes, seconds)
        return _C.clock_stream_time(index, stream.stream_id)

    # -- the common path ---------------------------------------------------
    def _run(self, kind, tensors, launch, result, *, dtype=None, op=-1, root=-1,
             in_numel=0, out_numel=0, nbytes=0, in_splits=None, out_splits=None,
             local_error=None, cost_kind=None):
        """Checks placement, agrees with the other ranks, runs
        launch(host_views) -> gloo work, and records the modelled collective."""
        what = kind  # the torch.distributed name, in messages
        index, device_error = self._device_of(what, tensors)
        local_error = local_error or device_error
        if local_error is None and dtype is not None and any(t.dtype != dtype for t in tensors):
            local_error = CollectiveError(
                f"accel {what}: input and output dtypes differ "
                f"({', '.join(sorted({str(t.dtype) for t in tensors}))})")
        agreed = agree(self._gloo, self.size(), kind, dtype=dtype, op=op, root=root,
                       in_numel=in_numel, out_numel=out_numel, in_splits=in_splits,
                       out_splits=out_splits, local_error=local_error,
                       ready_s=self._ready_s(index), chip=-1 if index is None else index,
                       timeout_s=self._timeout_s)

        def view(t):
            return _C.host_view(t) if index is not None else t

        try:
            gloo_work = launch(view)  # gloo's own refusals come here, alike on every rank
        except Exception as e:  # noqa: BLE001
            raise translate(e, what, self._timeout_s) from None
        cost_kind = cost_kind or kind
        end_s = self._record(index, cost_kind, f"c10d::{kind}", nbytes, agreed.start_s,
                             agreed.chips, element_bytes=tensors[0].element_size() if tensors else 2,
                             root=root if root >= 0 and cost_kind == "broadcast" else None)
        return AccelWork(what, [gloo_work], result, index,
                         self._stream(index) if index is not None else None, self._timeout_s,
                         end_s=end_s)

    # -- collectives -------------------------------------------------------
    def allreduce(self, tensors, opts):
        tensors = list(tensors)
        return self._run("all_reduce", tensors,
                         lambda v: self._gloo.allreduce([v(t) for t in tensors], opts), tensors,
                         dtype=tensors[0].dtype, op=_op_code(opts), in_numel=_numel(tensors),
                         nbytes=_nbytes(tensors))

    def allreduce_coalesced(self, tensors, opts):
        tensors = list(tensors)
        return self._run("all_reduce_coalesced", tensors,
                         lambda v: self._gloo.allreduce_coalesced([v(t) for t in tensors], opts),
                         tensors, dtype=tensors[0].dtype, op=_op_code(opts),
                         in_numel=_numel(tensors), nbytes=_nbytes(tensors), cost_kind="all_reduce")

    def broadcast(self, tensors, opts):
        tensors = list(tensors)
        return self._run("broadcast", tensors,
                         lambda v: self._gloo.broadcast([v(t) for t in tensors], opts), tensors,
                         dtype=tensors[0].dtype, root=opts.rootRank, in_numel=_numel(tensors),
                         nbytes=_nbytes(tensors))

    def reduce(self, tensors, opts):
        tensors = list(tensors)
        return self._run("reduce", tensors,
                         lambda v: self._gloo.reduce([v(t) for t in tensors], opts), tensors,
                         dtype=tensors[0].dtype, op=_op_code(opts), root=opts.rootRank,
                         in_numel=_numel(tensors), nbytes=_nbytes(tensors), cost_kind="all_reduce")

    def allgather(self, output_lists, inputs, opts):
        output_lists, inputs = [list(o) for o in output_lists], list(inputs)
        error = None
        if len(output_lists) != 1 or len(output_lists[0]) != self.size():
            error = CollectiveError(f"accel all_gather: expected one list of {self.size()} "
                                    f"output tensors, got {[len(o) for o in output_lists]}")
        elif any(o.numel() != inputs[0].numel() for o in output_lists[0]):
            error = CollectiveError("accel all_gather: every output tensor must have the "
                                    f"input's {inputs[0].numel()} elements")
        outputs = [t for o in output_lists for t in o]
        return self._run("all_gather", inputs + outputs,
                         lambda v: self._gloo.allgather([[v(t) for t in o] for o in output_lists],
                                                        [v(t) for t in inputs], opts),
                         output_lists, dtype=inputs[0].dtype, in_numel=_numel(inputs),
                         nbytes=_nbytes(inputs), local_error=error)

    def all_gather_single(self, output, input, opts):
        error = None
        if output.numel() != input.numel() * self.size():
            error = CollectiveError(
                f"accel all_gather: the output has {output.numel()} elements; {self.size()} "
                f"ranks x {input.numel()} input elements need {input.numel() * self.size()}")
        return self._run("all_gather", [input, output],
                         lambda v: self._gloo._allgather_base(v(output), v(input), opts),
                         [output], dtype=input.dtype, in_numel=input.numel(),
                         nbytes=input.numel() * input.element_size(), local_error=error)

    _allgather_base = all_gather_single

    def allgather_coalesced(self, output_lists, inputs, opts):
        works = [self.allgather([outputs], [t], opts) for outputs, t in zip(output_lists, inputs)]
        return _Joined(works, [list(o) for o in output_lists])

    def all_gather_single_coalesced(self, outputs, inputs, opts):
        works = [self.all_gather_single(o, i, opts) for o, i in zip(outputs, inputs)]
        return _Joined(works, list(outputs))

    allgather_into_tensor_coalesced = all_gather_single_coalesced

    def reduce_scatter(self, outputs, input_lists, opts):
        outputs, input_lists = list(outputs), [list(i) for i in input_lists]
        error = None
        if len(input_lists) != 1 or len(input_lists[0]) != self.size():
            error = CollectiveError(f"accel reduce_scatter: expected one list of {self.size()} "
                                    f"input tensors, got {[len(i) for i in input_lists]}")
        elif any(i.numel() != outputs[0].numel() for i in input_lists[0]):
            error = CollectiveError("accel reduce_scatter: every input tensor must have the "
                                    f"output's {outputs[0].numel()} elements")
        inputs = [t for i in input_lists for t in i]
        return self._run("reduce_scatter", outputs + inputs,
                         lambda v: self._gloo.reduce_scatter(
                             [v(t) for t in outputs], [[v(t) for t in i] for i in input_lists], opts),
                         outputs, dtype=outputs[0].dtype, op=_op_code(opts),
                         in_numel=_numel(inputs), nbytes=_nbytes(inputs), local_error=error)

    def reduce_scatter_single(self, output, input, opts):
        error = None
        if input.numel() != output.numel() * self.size():
            error = CollectiveError(
                f"accel reduce_scatter: the input has {input.numel()} elements; {self.size()} "
                f"ranks x {output.numel()} output elements need {output.numel() * self.size()}")
        return self._run("reduce_scatter", [output, input],
                         lambda v: self._gloo._reduce_scatter_base(v(output), v(input), opts),
                         [output], dtype=input.dtype, op=_op_code(opts), in_numel=input.numel(),
                         nbytes=input.numel() * input.element_size(), local_error=error)

    _reduce_scatter_base = reduce_scatter_single

    def reduce_scatter_single_coalesced(self, outputs, inputs, opts):
        works = [self.reduce_scatter_single(o, i, opts) for o, i in zip(outputs, inputs)]
        return _Joined(works, list(outputs))

    reduce_scatter_tensor_coalesced = reduce_scatter_single_coalesced

    def all_to_all_single(self, output, input, output_splits, input_splits, opts):
        size = self.size()
        in_splits = _splits(input, list(input_splits), size)
        out_splits = _splits(output, list(output_splits), size)
        error = None
        if sum(in_splits) != input.size(0) if input.dim() else True:
            error = CollectiveError(f"accel all_to_all: input split sizes {list(in_splits)} do "
                                    f"not add up to the input's first dimension")
        elif sum(out_splits) != output.size(0) if output.dim() else True:
            error = CollectiveError(f"accel all_to_all: output split sizes {list(out_splits)} do "
                                    f"not add up to the output's first dimension")
        row = input[0].numel() if input.dim() and input.size(0) else 0
        return self._run("all_to_all", [output, input],
                         lambda v: self._gloo.alltoall_base(v(output), v(input),
                                                            list(output_splits), list(input_splits),
                                                            opts),
                         [output], dtype=input.dtype, in_splits=[s * row for s in in_splits],
                         out_splits=[s * row for s in out_splits],
                         nbytes=input.numel() * input.element_size(), local_error=error)

    alltoall_base = all_to_all_single

    def alltoall(self, outputs, inputs, opts):
        outputs, inputs = list(outputs), list(inputs)
        error = None
        if len(outputs) != self.size() or len(inputs) != self.size():
            error = CollectiveError(f"accel all_to_all: expected {self.size()} input and output "
                                    f"tensors, got {len(inputs)} and {len(outputs)}")
        return self._run("all_to_all", outputs + inputs,
                         lambda v: self._gloo.alltoall([v(t) for t in outputs],
                                                       [v(t) for t in inputs], opts),
                         outputs, dtype=inputs[0].dtype if inputs else None,
                         in_splits=[t.numel() for t in inputs] if error is None else [0] * self.size(),
                         out_splits=[t.numel() for t in outputs] if error is None else [0] * self.size(),
                         nbytes=_nbytes(inputs), local_error=error)

    def gather(self, output_lists, inputs, opts):
        output_lists, inputs = [list(o) for o in output_lists], list(inputs)
        outputs = [t for o in output_lists for t in o]
        return self._run("gather", inputs + outputs,
                         lambda v: self._gloo.gather([[v(t) for t in o] for o in output_lists],
                                                     [v(t) for t in inputs], opts),
                         output_lists, dtype=inputs[0].dtype, root=opts.rootRank,
                         in_numel=_numel(inputs), nbytes=_nbytes(inputs), cost_kind="all_gather")

    def scatter(self, outputs, input_lists, opts):
        outputs, input_lists = list(outputs), [list(i) for i in input_lists]
        inputs = [t for i in input_lists for t in i]
        return self._run("scatter", outputs + inputs,
                         lambda v: self._gloo.scatter([v(t) for t in outputs],
                                                      [[v(t) for t in i] for i in input_lists], opts),
                         outputs, dtype=outputs[0].dtype, root=opts.rootRank,
                         in_numel=_numel(outputs), nbytes=_nbytes(outputs), cost_kind="all_gather")

    def barrier(self, opts=None):
        # The current chip, once the device is in use; a barrier before that times nothing.
        index = _device.current_device() if _C.is_initialized() else None
        agreed = agree(self._gloo, self.size(), "barrier", ready_s=self._ready_s(index),
                       chip=-1 if index is None else index, timeout_s=self._timeout_s)
        end_s = self._record(index, "barrier", "c10d::barrier", 0, agreed.start_s, agreed.chips)
        return AccelWork("barrier", [], [], index,
                         self._stream(index) if index is not None else None, self._timeout_s,
                         end_s=end_s)

    # -- point to point ----------------------------------------------------
    def send(self, tensors, dst, tag):
        from ._p2p import send
        return send(self, list(tensors), dst, tag)

    def recv(self, tensors, src, tag):
        from ._p2p import recv
        return recv(self, list(tensors), src, tag)

    def recv_anysource(self, tensors, tag):
        from ._p2p import recv
        return recv(self, list(tensors), None, tag)


def _splits(tensor, splits, size):
    if splits:
        return splits
    if tensor.dim() == 0 or tensor.size(0) % size:
        return [-1] * size  # reported by the caller's sum check
    return [tensor.size(0) // size] * size


class _Joined(AccelWork):
    """Several works done as one (the coalesced forms)."""

    def __init__(self, works, result):
        dist.Work.__init__(self)
        self._works = works
        self._result = result
        first = works[0] if works else None
        self._future = first.get_future() if len(works) == 1 else None
        if self._future is None:
            futures = [w.get_future() for w in works]
            self._future = torch.futures.collect_all(futures).then(lambda _: result)

    def wait(self, timeout=None):
        for w in self._works:
            w.wait(timeout)
        return True


def create(store, rank, size, timeout):
    """The creator torch.distributed calls for backend "accel"."""
    if isinstance(timeout, (int, float)):
        timeout = datetime.timedelta(seconds=timeout)
    return AccelProcessGroup(store, rank, size, timeout)
