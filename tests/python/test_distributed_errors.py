"""Bad input to the "accel" process group is a clear error on every rank, never
a hang: a tensor on the wrong device, sizes, dtypes or collectives that differ
across ranks, a mismatched send/recv, a rank that never arrives at a
collective, and a rank that never joins the group. After a rejected
collective the group still works."""
import time

from distributed_launch import launch

BAD_INPUT = r'''
from torch_accel.distributed import CollectiveError
init("accel")  # the default timeout: a slow start on a busy machine is no error
dev = torch.device("accel", RANK)
torch.accel.set_device(dev)
errors = {}

def expect_error(name, fn):
    try:
        fn()
    except CollectiveError as e:
        errors[name] = str(e)
        return
    errors[name] = None

expect_error("cpu tensor", lambda: dist.all_reduce(
    torch.ones(4) if RANK == 0 else torch.ones(4, device=dev)))
expect_error("sizes", lambda: dist.all_reduce(torch.ones(10 + 2 * RANK, device=dev)))
expect_error("dtypes", lambda: dist.broadcast(
    torch.ones(8, device=dev, dtype=torch.float32 if RANK == 0 else torch.float16), src=0))
expect_error("collectives", lambda: dist.all_reduce(torch.ones(8, device=dev)) if RANK == 0
             else dist.broadcast(torch.ones(8, device=dev), src=0))
expect_error("ops", lambda: dist.all_reduce(torch.ones(8, device=dev),
                                            op=dist.ReduceOp.SUM if RANK == 0 else dist.ReduceOp.MAX))
expect_error("gather output", lambda: dist.all_gather_into_tensor(
    torch.empty(WORLD * 3 + (RANK == 1), device=dev), torch.ones(3, device=dev)))
expect_error("all_to_all splits", lambda: dist.all_to_all_single(
    torch.empty(4, device=dev), torch.ones(4, device=dev),
    output_split_sizes=[2, 2], input_split_sizes=[1, 3] if RANK == 0 else [2, 2]))
# The group survives the rejected collectives: nothing moved, every rank agreed.
t = torch.full((5,), RANK + 1.0, device=dev)
dist.all_reduce(t)
still_works = t.cpu().tolist() == [WORLD * (WORLD + 1) / 2] * 5

if RANK == 0:
    dist.send(torch.ones(10, device=dev), dst=1)
else:
    expect_error("recv size", lambda: dist.recv(torch.empty(12, device=dev), src=0))

# Rank 1 never arrives at this all-reduce in a group with a short timeout:
# rank 0 times out, then tells it.
short = dist.new_group(timeout=datetime.timedelta(seconds=float(os.environ["TIMEOUT_S"])))
store = dist.FileStore(os.environ["DIST_STORE"] + ".side", WORLD)
started = time.time()
if RANK == 0:
    expect_error("timeout", lambda: dist.all_reduce(torch.ones(3, device=dev), group=short))
    store.set("rank0 done", "1")
else:
    store.wait(["rank0 done"])
emit({"errors": errors, "still_works": still_works, "waited_s": time.time() - started})
'''


def test_bad_input_is_a_clear_error_on_every_rank(tmp_path):
    results, outputs = launch("import time\n" + BAD_INPUT, 2, tmp_path, env={"TIMEOUT_S": 4})
    r0, r1 = results[0], results[1]
    assert r0 is not None and r1 is not None, (outputs[0][-2000:], outputs[1][-2000:])
    e0, e1 = r0["errors"], r1["errors"]
    assert "expected accel tensors, got a tensor on cpu" in e0["cpu tensor"]
    assert "cpu:gloo,accel:accel" in e0["cpu tensor"]
    assert "rank(s) [0] rejected their own input" in e1["cpu tensor"]
    for errors in (e0, e1):
        assert "tensor sizes differ across ranks (rank 0: 10 elements, rank 1: 12 elements)" \
            in errors["sizes"]
        assert "dtypes differ across ranks (rank 0: float32, rank 1: float16)" in errors["dtypes"]
        assert "different collectives (rank 0: all_reduce, rank 1: broadcast)" \
            in errors["collectives"]
        assert "reduce ops differ across ranks (rank 0: SUM, rank 1: MAX)" in errors["ops"]
        assert "all_to_all: rank 0 sends 1 elements to rank 0, which expects 2" \
            in errors["all_to_all splits"]
    assert "accel all_gather: the output has 7 elements; 2 ranks x 3 input elements need 6" \
        in e1["gather output"]
    assert "rank(s) [1] rejected their own input" in e0["gather output"]
    assert r0["still_works"] and r1["still_works"]
    assert "rank 0 sends 10 elements of float32, but this rank receives into 12" in e1["recv size"]
    assert "accel all_reduce: timed out after 4 s" in e0["timeout"]
    assert r0["waited_s"] < 60


NEVER_JOINS = r'''
from torch_accel.distributed import CollectiveError
import time
started = time.time()
try:
    init("accel", timeout_s=3)
    error = None
except Exception as e:
    error = [type(e).__name__, str(e)]
emit({"error": error, "waited_s": time.time() - started})
'''


def test_a_rank_that_never_joins_times_out(tmp_path):
    started = time.time()
    results, outputs = launch(NEVER_JOINS, 2, tmp_path, ranks=[0])
    assert results[0] is not None, outputs[0][-2000:]
    kind, message = results[0]["error"]
    assert kind == "CollectiveError", message
    assert "rank 0 of 2 could not reach every other rank within 3 s" in message
    assert time.time() - started < 120
