"""The "accel" process group: every collective on accel tensors equals torch's
own gloo process group on the same CPU tensors, for every dtype and reduce op
gloo takes, odd sizes, async and in-place forms; and where gloo refuses an
input, accel refuses it too (an error on every rank, no hang)."""
import pytest

from distributed_launch import launch

# Runs every case through the accel group (accel tensors) and a plain gloo
# group (the same values on the CPU) and compares the outcomes exactly: the
# accel group moves the data through gloo, so the results agree bit for bit.
COMPARE = r'''
from torch.distributed import ReduceOp
init("accel", device_id=torch.device("accel", RANK))
dev = torch.device("accel", RANK)
gloo = dist.new_group(backend="gloo")
DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.int8, torch.uint8,
          torch.int32, torch.int64, torch.bool, torch.complex64, torch.complex128]
OPS = ["SUM", "AVG", "PRODUCT", "MIN", "MAX", "BAND", "BOR", "BXOR"]
SIZES = [int(s) for s in os.environ["SIZES"].split(",")]
checks, failures, refused = 0, [], 0

def values(dtype, n, salt):
    g = torch.Generator().manual_seed(1000 * RANK + salt)
    if dtype == torch.bool:
        return torch.randint(0, 2, (n,), generator=g).bool()
    if dtype.is_floating_point or dtype.is_complex:
        return (torch.randn(n, generator=g, dtype=torch.float64) * 3).to(dtype) if not dtype.is_complex \
            else torch.randn(n, generator=g, dtype=dtype)
    return torch.randint(1, 5, (n,), generator=g).to(dtype)

def outcome(fn, device, group):
    """fn(device, group) -> tensors; the result on the CPU, or the error's type."""
    try:
        out = fn(device, group)
        return [t.cpu() for t in out]
    except Exception as e:
        return ("error", type(e).__name__, str(e).splitlines()[0][:200])

def check(name, fn):
    global checks, refused
    want = outcome(fn, torch.device("cpu"), gloo)
    got = outcome(fn, dev, None)
    checks += 1
    if isinstance(want, tuple) or isinstance(got, tuple):
        if not (isinstance(want, tuple) and isinstance(got, tuple)):
            failures.append([name, str(want)[:300], str(got)[:300]])
        else:
            refused += 1
        return
    for a, b in zip(want, got):
        if a.dtype != b.dtype or a.shape != b.shape or not torch.equal(a, b):
            failures.append([name, str(a)[:200], str(b)[:200]])
            return

W = WORLD
for dtype in DTYPES:
    for n in SIZES:
        tag = f"{dtype} n={n}"
        for op in OPS:
            def all_reduce(d, g, op=op, async_op=(n % 2 == 1)):
                t = values(dtype, n, 1).to(d)
                w = dist.all_reduce(t, op=getattr(ReduceOp, op), group=g, async_op=async_op)
                if async_op:
                    w.wait()
                return [t]
            check(f"all_reduce {op} {tag}", all_reduce)
        def broadcast(d, g):
            ts = [values(dtype, n, 2).to(d) for _ in range(2)]
            dist.broadcast(ts[0], src=0, group=g)
            dist.broadcast(ts[1], src=W - 1, group=g, async_op=True).wait()
            return ts
        check(f"broadcast {tag}", broadcast)
        def all_gather(d, g):
            outs = [torch.empty(n, dtype=dtype, device=d) for _ in range(W)]
            dist.all_gather(outs, values(dtype, n, 3).to(d), group=g)
            return outs
        check(f"all_gather {tag}", all_gather)
        def all_gather_into_tensor(d, g):
            out = torch.empty(W * n, dtype=dtype, device=d)
            dist.all_gather_into_tensor(out, values(dtype, n, 4).to(d), group=g)
            inplace = torch.zeros(W * n, dtype=dtype, device=d)
            inplace.chunk(W)[RANK].copy_(values(dtype, n, 5).to(d))
            dist.all_gather_into_tensor(inplace, inplace.chunk(W)[RANK], group=g,
                                        async_op=True).wait()
            return [out, inplace]
        check(f"all_gather_into_tensor (and in place) {tag}", all_gather_into_tensor)
        for op in ("SUM", "MAX"):
            def reduce_scatter(d, g, op=op):
                out = torch.empty(n, dtype=dtype, device=d)
                dist.reduce_scatter(out, [values(dtype, n, 6 + i).to(d) for i in range(W)],
                                    op=getattr(ReduceOp, op), group=g)
                return [out]
            check(f"reduce_scatter {op} {tag}", reduce_scatter)
            def reduce_scatter_tensor(d, g, op=op):
                out = torch.empty(n, dtype=dtype, device=d)
                dist.reduce_scatter_tensor(out, values(dtype, W * n, 7).to(d),
                                           op=getattr(ReduceOp, op), group=g)
                inplace = values(dtype, W * n, 8).to(d)
                dist.reduce_scatter_tensor(inplace.chunk(W)[RANK], inplace, op=getattr(ReduceOp, op),
                                           group=g, async_op=True).wait()
                return [out, inplace.chunk(W)[RANK]]
            check(f"reduce_scatter_tensor {op} (and in place) {tag}", reduce_scatter_tensor)
        def all_to_all(d, g):
            outs = [torch.empty(n + i, dtype=dtype, device=d) for i in range(W)]
            ins = [values(dtype, n + RANK, 9 + i).to(d) for i in range(W)]
            dist.all_to_all(outs, ins, group=g)
            return outs
        check(f"all_to_all (uneven) {tag}", all_to_all)
        def all_to_all_single(d, g):
            ins_splits = [(RANK + j) % 3 + 1 for j in range(W)]
            outs_splits = [(j + RANK) % 3 + 1 for j in range(W)]
            inp = values(dtype, sum(ins_splits) * n, 10).reshape(-1, n).to(d)
            out = torch.empty(sum(outs_splits), n, dtype=dtype, device=d)
            dist.all_to_all_single(out, inp, outs_splits, ins_splits, group=g)
            even = torch.empty(W * 2, n, dtype=dtype, device=d)
            dist.all_to_all_single(even, values(dtype, W * 2 * n, 11).reshape(-1, n).to(d),
                                   group=g, async_op=True).wait()
            return [out, even]
        check(f"all_to_all_single (uneven and even) {tag}", all_to_all_single)
        def send_recv(d, g):
            t = values(dtype, n, 12).to(d)
            got = torch.empty(n, dtype=dtype, device=d)
            peer = (RANK + 1) % W
            works = [dist.isend(t, peer, group=g), dist.irecv(got, (RANK - 1) % W, group=g)]
            for w in works:
                w.wait()
            return [got]
        check(f"isend/irecv ring {tag}", send_recv)
        def rooted(d, g):
            t = values(dtype, n, 13).to(d)
            dist.reduce(t, dst=W - 1, group=g)
            gathered = [torch.empty(n, dtype=dtype, device=d) for _ in range(W)] if RANK == 0 else None
            dist.gather(values(dtype, n, 14).to(d), gathered, dst=0, group=g)
            got = torch.empty(n, dtype=dtype, device=d)
            dist.scatter(got, [values(dtype, n, 15 + i).to(d) for i in range(W)] if RANK == 1 else None,
                         src=1, group=g)
            return [t, got] + (gathered or [])
        check(f"reduce/gather/scatter {tag}", rooted)
dist.barrier()
emit({"checks": checks, "failures": failures, "refused": refused})
dist.destroy_process_group()
'''


def _run_compare(world, sizes, tmp_path):
    results, outputs = launch(COMPARE, world, tmp_path, env={"SIZES": ",".join(map(str, sizes))})
    for rank in range(world):
        assert results[rank] is not None, outputs[rank][-3000:]
        assert results[rank]["failures"] == [], results[rank]["failures"][:5]
    return results


def test_collectives_equal_gloo_two_ranks(tmp_path):
    results = _run_compare(2, [1, 7, 33, 1001], tmp_path)
    # 11 dtypes x 4 sizes x (8 all_reduce ops + 11 other cases)
    assert results[0]["checks"] == 11 * 4 * 19
    # gloo refuses some (dtype, op) pairs (AVG on integers, bitwise ops on floats); so must accel
    assert 0 < results[0]["refused"] < results[0]["checks"] // 2


def test_collectives_equal_gloo_four_ranks(tmp_path):
    results = _run_compare(4, [129], tmp_path)
    assert results[0]["checks"] == 11 * 1 * 19


BACKEND_STRINGS = r'''
dev = torch.device("accel", RANK)
torch.accel.set_device(dev)
mode = os.environ["MODE"]
if mode == "device_id":  # no backend named: the device's default, "accel"
    init(None, device_id=dev)
else:
    init("cpu:gloo,accel:accel")
on_accel = torch.full((3,), RANK + 1.0, device=dev)
on_cpu = torch.full((3,), RANK + 1.0)
dist.all_reduce(on_accel)
try:
    dist.all_reduce(on_cpu)
    cpu = on_cpu.tolist()
except Exception as e:
    cpu = type(e).__name__
objects = [None] * WORLD
dist.all_gather_object(objects, {"rank": RANK})
if RANK == 0:
    dist.send(torch.full((2,), 7.0, device=dev), dst=1)
    source = None
else:
    source = dist.recv(torch.empty(2, device=dev))  # from any source
emit({"backend": dist.get_backend(), "accel": on_accel.cpu().tolist(), "cpu": cpu,
      "objects": objects, "source": source})
dist.destroy_process_group()
'''


@pytest.mark.parametrize("mode", ["device_id", "cpu:gloo,accel:accel"])
def test_backend_strings(tmp_path, mode):
    results, outputs = launch(BACKEND_STRINGS, 2, tmp_path, env={"MODE": mode})
    for rank in range(2):
        r = results[rank]
        assert r is not None, outputs[rank][-3000:]
        assert r["accel"] == [3.0] * 3
        # CPU tensors go through gloo when the backend string names it, else a clear error
        assert r["cpu"] == ([3.0] * 3 if mode.startswith("cpu") else "CollectiveError")
        assert r["objects"] == [{"rank": 0}, {"rank": 1}]
    assert results[1]["source"] == 0
