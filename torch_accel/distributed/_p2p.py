"""send and recv: a small header (dtype, element count, when the sender's chip
was ready) goes ahead of the payload on the same gloo tag, so the receiver
checks what comes before it posts its buffer: a size or dtype mismatch is a
clear error there (the payload is drained, so the sender completes), never a
corrupted tensor. The sender's chip records the
transfer when it sends; the receiver's, from the later of the two ready
times, once the header has arrived."""
import torch

from .. import _C
from ._agree import DTYPES, _bits_time, _dtype_name, _time_bits, dtype_code
from ._work import AccelWork, CollectiveError

_MAGIC = 0x70327032  # "p2p2"


def _one_tensor(what, tensors):
    if len(tensors) != 1:
        raise CollectiveError(f"accel {what}: expected one tensor, got {len(tensors)}")
    return tensors[0]


def _check_peer(pg, what, peer):
    if not 0 <= peer < pg.size() or peer == pg.rank():
        raise CollectiveError(f"accel {what}: peer rank {peer} is not another rank of this "
                              f"group of {pg.size()}")


def send(pg, tensors, dst, tag):
    tensor = _one_tensor("send", tensors)
    _check_peer(pg, "send", dst)
    index, error = pg._device_of("send", [tensor])
    if error is not None:
        raise error
    ready = pg._ready_s(index)
    header = torch.tensor([_MAGIC, dtype_code(tensor.dtype), tensor.numel(), _time_bits(ready),
                           -1 if index is None else index], dtype=torch.int64)
    payload = _C.host_view(tensor) if index is not None else tensor
    works = [pg._gloo.send([header], dst, tag), pg._gloo.send([payload], dst, tag)]
    # The peer's chip: rank r owns accel:r (a send carries no answer back).
    end_s = pg._record(index, "send_recv", "c10d::send", tensor.numel() * tensor.element_size(),
                       ready, [index, dst])
    return AccelWork("send", works, [tensor], index,
                     pg._stream(index) if index is not None else None, pg._timeout_s, end_s=end_s)


def recv(pg, tensors, src, tag):
    """src None: from whichever rank sends first (recv_anysource)."""
    tensor = _one_tensor("recv", tensors)
    if src is not None:
        _check_peer(pg, "recv", src)
    index, error = pg._device_of("recv", [tensor])
    if error is not None:
        raise error
    ready = pg._ready_s(index)
    header = torch.empty(5, dtype=torch.int64)
    if src is None:
        header_work = pg._gloo.recv_anysource([header], tag)
    else:
        header_work = pg._gloo.recv([header], src, tag)
    sender = [src]

    def on_payload():
        sender_ready = _bits_time(header[3])
        pg._record(index, "send_recv", "c10d::recv", tensor.numel() * tensor.element_size(),
                   max(ready, sender_ready), [int(header[4]), index])

    def on_header():
        nonlocal src
        if src is None:
            src = sender[0] = header_work._source_rank()
        magic, code, numel = header[:3].tolist()
        if magic != _MAGIC:
            raise CollectiveError(f"accel recv: rank {src} sent something other than a send "
                                  "(did it issue a different operation?)")
        if code != dtype_code(tensor.dtype) or numel != tensor.numel():
            error = CollectiveError(
                f"accel recv: rank {src} sends {numel} elements of {_dtype_name(code)}, but this "
                f"rank receives into {tensor.numel()} elements of {_dtype_name(dtype_code(tensor.dtype))}")
            if not 0 < code < len(DTYPES):
                raise error

            def fail():
                raise error
            # Takes the payload off the wire, so the sender completes and the
            # channel stays in step for the next message.
            drain = torch.empty(numel, dtype=DTYPES[code])
            return [pg._gloo.recv([drain], src, tag)], fail
        payload = _C.host_view(tensor) if index is not None else tensor
        return [pg._gloo.recv([payload], src, tag)], on_payload

    work = AccelWork("recv", [header_work], [tensor], index,
                     pg._stream(index) if index is not None else None, pg._timeout_s,
                     then=on_header)
    work.source = sender
    return work
