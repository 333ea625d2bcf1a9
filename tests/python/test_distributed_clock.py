"""Collectives on the chips' modelled clocks: each takes the collective model's
time for the group's chips on the system (torch_accel.systems), starts when
the last rank's chip is ready, runs on a stream of its own beside compute
until it is waited for, and shows in torch_accel.profile() beside the
programs."""
from distributed_launch import launch

CLOCK = r'''
from torch_accel import _C, systems
if os.environ.get("SYSTEM"):
    torch_accel.configure(system=os.environ["SYSTEM"])
init("accel")
dev = torch.device("accel", RANK)
torch.accel.set_device(dev)
out = {}

x = torch.randn(1000, 257, device=dev)
with torch_accel.profile() as prof:
    dist.all_reduce(x)
(record,) = [r for r in prof.records if r["op_class"] == "collective"]
out["record"] = {k: record[k] for k in ("op", "op_class", "time_s", "bound", "device")}
system = os.environ.get("SYSTEM") or ("n300" if WORLD == 2 else "t3k")
out["model_s"] = systems.collective_cost(system, "all_reduce", x.numel() * 4,
                                         ranks=list(range(WORLD)), dtype=4)["time_s"]

# Rank 1 computes longer first: the all-reduce starts when it is ready, on both chips.
a = torch.randn(256, 256, device=dev)
for _ in range(1 + 20 * (RANK == 1)):
    a = a @ a / 16
before = torch.accel.device_time(dev)
work = dist.all_reduce(torch.ones(100_000, device=dev), async_op=True)
comm = dist.distributed_c10d._get_default_group()._stream(RANK)
out["collective_end"] = _C.clock_stream_time(RANK, comm.stream_id)
out["ready_before"] = before
# Compute issued before wait() overlaps the collective on the chip.
b = a @ a
out["compute_end_before_wait"] = _C.clock_stream_time(RANK, torch.accel.current_stream(dev).stream_id)
work.wait()
out["after_wait"] = _C.clock_stream_time(RANK, torch.accel.current_stream(dev).stream_id)

# Two in flight: waiting for the first waits for its end only, not the second's.
def now():
    return _C.clock_stream_time(RANK, torch.accel.current_stream(dev).stream_id)
first = dist.all_reduce(torch.ones(1000, device=dev), async_op=True)
first_end = _C.clock_stream_time(RANK, comm.stream_id)
second = dist.all_reduce(torch.ones(300_000, device=dev), async_op=True)
second_end = _C.clock_stream_time(RANK, comm.stream_id)
first.wait()
out["first"] = [first_end, now()]
second.get_future().wait()
out["second"] = [second_end, now()]
emit(out)
dist.destroy_process_group()
'''


def _run(tmp_path, world, system=None):
    results, outputs = launch(CLOCK, world, tmp_path, env={"SYSTEM": system or ""})
    for rank in range(world):
        assert results[rank] is not None, outputs[rank][-3000:]
    return results


def _check(results, world):
    for rank, r in results.items():
        rec = r["record"]
        assert rec["op"] == "c10d::all_reduce" and rec["op_class"] == "collective"
        assert rec["bound"] == "ethernet" and rec["device"] == rank
        assert rec["time_s"] == r["model_s"] > 0
    # The same end on every chip: the collective started when the slowest was ready.
    ends = [r["collective_end"] for r in results.values()]
    assert max(ends) == min(ends)
    assert ends[0] > max(r["ready_before"] for r in results.values())
    for r in results.values():
        assert r["compute_end_before_wait"] < r["collective_end"]  # not held up by it
        assert r["after_wait"] == r["collective_end"]  # wait() joins the collective's stream
        (first_end, after_first), (second_end, after_second) = r["first"], r["second"]
        assert after_first == first_end < second_end == after_second


def test_collectives_on_the_modelled_clock_two_ranks(tmp_path):
    _check(_run(tmp_path, 2), 2)


def test_collectives_on_a_configured_system(tmp_path):
    _check(_run(tmp_path, 4, system="t3k"), 4)


def test_a_collective_record_holds_no_cores_and_costs_its_link_time():
    """In this process (no group): the record the accel group writes for a
    collective, on a stream of its own beside a program on the default stream."""
    import torch
    import torch_accel
    from torch_accel import _C

    dev = torch.device("accel", 0)
    x = torch.randn(64, 64, device=dev)
    default = torch.accel.current_stream(dev).stream_id
    side = torch.accel.Stream(dev)
    start = max(_C.clock_device_time(0), 0.0)
    _C.clock_wait(0, side.stream_id, start)
    _C.clock_wait(0, default, start)
    with torch_accel.profile() as prof:
        with torch.accel.stream(side):
            _C.record_collective(0, "c10d::all_reduce", 4096, 1e-3)
        x @ x  # on every core, at once: the collective holds none
    side_end, default_end = (_C.clock_stream_time(0, side.stream_id),
                             _C.clock_stream_time(0, default))
    # Join, as wait() would: later tests see the default stream lead the device clock.
    _C.clock_wait(0, default, side_end)
    link, matmul = prof.records
    assert (link["op"], link["op_class"], link["bound"]) == ("c10d::all_reduce", "collective", "ethernet")
    assert link["time_s"] == 1e-3
    assert link["energy_j"] == torch_accel.arch_info()["static_power_w"] * 1e-3
    assert side_end == start + 1e-3
    assert default_end == start + matmul["time_s"]
