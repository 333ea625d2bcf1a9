"""Before any data moves, the ranks of a collective agree on what it is.

Each rank contributes one row: the collective, its dtype, reduce op, root,
element counts, split sizes, whether its own input passed the local checks,
and when its chip is ready. One small gloo all-gather shares the rows, so a
mismatch (sizes, dtypes, ops, roots, a different collective, bad input on one
rank) raises the same clear error on every rank instead of hanging or
corrupting, and a rank that never arrives times out here."""
import struct

import torch

from ._work import CollectiveError, translate

KINDS = ("all_reduce", "broadcast", "all_gather", "reduce_scatter", "all_to_all", "barrier",
         "reduce", "gather", "scatter", "all_reduce_coalesced")
# dtypes by code; 0 is "none" (barrier).
DTYPES = (None, torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.int8,
          torch.uint8, torch.int16, torch.int32, torch.int64, torch.bool, torch.complex64,
          torch.complex128, torch.float8_e4m3fn, torch.float8_e5m2, torch.uint16,
          torch.uint32, torch.uint64)
_MAGIC = 0x61636365  # "acce"
_HEADER = 10  # magic, kind, dtype, op, root, in_numel, out_numel, bad, ready time, chip


def dtype_code(dtype):
    return DTYPES.index(dtype) if dtype in DTYPES else len(DTYPES)


def _dtype_name(code):
    return str(DTYPES[code]).replace("torch.", "") if code < len(DTYPES) else "an unlisted dtype"


def _op_name(code):
    from torch.distributed import ReduceOp
    names = {int(v): k for k, v in ReduceOp.RedOpType.__members__.items()}
    return names.get(code, str(code))


def _time_bits(seconds):
    return struct.unpack("<q", struct.pack("<d", float(seconds)))[0]


def _bits_time(bits):
    return struct.unpack("<d", struct.pack("<q", int(bits)))[0]


class Agreement:
    """What every rank said; `start_s` is when the last rank's chip is ready,
    `chips` each rank's accel device index (its chip in the system)."""

    def __init__(self, rows, size):
        self.rows = rows
        self.size = size
        self.start_s = max(_bits_time(r[8]) for r in rows)
        self.chips = [r[9] for r in rows]

    def column(self, i):
        return [r[i] for r in self.rows]


def _describe(values, name_of=str):
    return ", ".join(f"rank {r}: {name_of(v)}" for r, v in enumerate(values))


def agree(gloo, size, kind, dtype=None, op=-1, root=-1, in_numel=0, out_numel=0,
          in_splits=None, out_splits=None, local_error=None, ready_s=0.0, chip=-1, timeout_s=0.0):
    """Exchanges this rank's row and checks them all; raises CollectiveError
    (every rank alike) when they disagree or any rank's input was bad."""
    width = _HEADER + 2 * size
    row = torch.zeros(width, dtype=torch.int64)
    row[:_HEADER] = torch.tensor([_MAGIC, KINDS.index(kind), 0 if dtype is None else dtype_code(dtype),
                                  op, root, in_numel, out_numel, local_error is not None,
                                  _time_bits(ready_s), chip])
    if in_splits is not None:
        row[_HEADER:_HEADER + size] = torch.tensor(in_splits, dtype=torch.int64)
        row[_HEADER + size:] = torch.tensor(out_splits, dtype=torch.int64)
    gathered = [torch.empty_like(row) for _ in range(size)]
    try:
        gloo.allgather([gathered], [row]).wait()
    except Exception as e:  # noqa: BLE001
        raise translate(e, kind, timeout_s) from None
    rows = [g.tolist() for g in gathered]
    if local_error is not None:
        raise local_error
    _check(rows, size, kind)
    return Agreement(rows, size)


def _check(rows, size, kind):
    what = f"accel {kind}"
    bad = [r for r in range(size) if rows[r][7]]
    if bad:
        raise CollectiveError(f"{what}: rank(s) {bad} rejected their own input (see the error "
                              "on those ranks); no data moved")
    kinds = [row[1] for row in rows]
    if len(set(kinds)) > 1:
        raise CollectiveError(f"{what}: the ranks issued different collectives "
                              f"({_describe(kinds, lambda k: KINDS[k])})")
    if kind == "barrier":
        return
    dtypes = [row[2] for row in rows]
    if len(set(dtypes)) > 1:
        raise CollectiveError(f"{what}: tensor dtypes differ across ranks "
                              f"({_describe(dtypes, _dtype_name)})")
    ops = [row[3] for row in rows]
    if len(set(ops)) > 1:
        raise CollectiveError(f"{what}: reduce ops differ across ranks ({_describe(ops, _op_name)})")
    roots = [row[4] for row in rows]
    if len(set(roots)) > 1:
        raise CollectiveError(f"{what}: root ranks differ across ranks ({_describe(roots)})")
    if kind == "all_to_all":
        for i in range(size):
            for j in range(size):
                sent = rows[j][_HEADER + i]          # rank j sends this many to rank i
                expected = rows[i][_HEADER + size + j]  # rank i expects this many from j
                if sent != expected:
                    raise CollectiveError(
                        f"{what}: rank {j} sends {sent} elements to rank {i}, which expects "
                        f"{expected} from it")
        return
    counts = [row[5] for row in rows]
    if len(set(counts)) > 1:
        raise CollectiveError(f"{what}: tensor sizes differ across ranks "
                              f"({_describe(counts, lambda n: f'{n} elements')})")
