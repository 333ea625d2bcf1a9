"""Two Python threads using accel at once, each on its own stream with its own
tensors: no race, no deadlock, and each thread's results equal to what the
same work gives when it runs alone.

Inputs come from each thread's own CPU generator (the device's default
generator is shared, so drawing on it from two threads would make the order of
draws, not the device, decide the values). Joins have timeouts, so a deadlock
fails the test instead of hanging the suite.
"""
import threading

import pytest
import torch

JOIN_TIMEOUT_S = 120
ROUNDS = 3


def workload(seed, device):
    """Allocation churn, matmuls, element-wise ops, reductions and a training
    step of a small MLP; returns every result on the CPU."""
    g = torch.Generator().manual_seed(seed)
    results = {}
    for step in range(ROUNDS):
        # Churn: tensors of many sizes allocated and freed, some kept a while.
        kept = []
        for size in (1, 7, 300, 4096, 65536, 3):
            x = torch.randn(size, generator=g).to(device)
            kept.append(x * 2 + 1)
            del x
        results[f"churn{step}"] = torch.stack([k.sum() for k in kept]).cpu()
        del kept

        a = torch.randn(48, 40, generator=g).to(device)
        b = torch.randn(40, 56, generator=g).to(device)
        c = (a @ b).relu_()
        results[f"matmul{step}"] = c.cpu()
        results[f"bf16_matmul{step}"] = (a.bfloat16() @ b.bfloat16()).float().cpu()
        results[f"softmax{step}"] = c.softmax(-1).cpu()
        results[f"reduce{step}"] = torch.stack([c.sum(), c.amax(), c.mean()]).cpu()
        results[f"transposed{step}"] = (c.t().contiguous()[::2] - 1).cpu()

        torch.manual_seed(0)  # the module's init draws on the CPU generator, not the device's
        model = torch.nn.Sequential(torch.nn.Linear(40, 32), torch.nn.GELU(), torch.nn.Linear(32, 8))
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(torch.randn(p.shape, generator=g) * 0.1)
        model.to(device)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        target = torch.randint(0, 8, (48,), generator=g).to(device)
        loss = torch.nn.functional.cross_entropy(model(a), target)
        loss.backward()
        opt.step()
        results[f"loss{step}"] = loss.detach().cpu()
        results[f"grad{step}"] = model[0].weight.grad.cpu()
        results[f"weight{step}"] = model[2].weight.detach().cpu()
    return results


def _run_in_threads(jobs):
    """Runs each (seed, device) job in its own thread, each on a new stream of
    its device, all starting together; returns their results in order."""
    barrier = threading.Barrier(len(jobs))
    results, errors, streams = [None] * len(jobs), [None] * len(jobs), [None] * len(jobs)

    def run(i, seed, device):
        try:
            stream = torch.accel.Stream(device)
            streams[i] = stream
            barrier.wait(timeout=JOIN_TIMEOUT_S)
            with torch.accel.stream(stream):
                assert torch.accel.current_stream(device) == stream
                results[i] = workload(seed, device)
                assert torch.accel.current_stream(device) == stream
        except BaseException as e:  # noqa: BLE001  (re-raised in the main thread)
            errors[i] = e

    threads = [threading.Thread(target=run, args=(i, *job), daemon=True) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(JOIN_TIMEOUT_S)
    assert not any(t.is_alive() for t in threads), "a thread did not finish: deadlock or hang"
    for e in errors:
        if e is not None:
            raise e
    assert len({(s.device_index, s.stream_id) for s in streams}) == len(streams)
    return results


def _assert_same(got, want):
    assert got.keys() == want.keys()
    for key in want:
        torch.testing.assert_close(got[key], want[key], rtol=0, atol=0, msg=lambda m: f"{key}: {m}")


@pytest.mark.allows_fallback
@pytest.mark.parametrize("devices", [("accel:0", "accel:0"), ("accel:0", "accel:1")],
                         ids=["same_device", "two_devices"])
def test_two_threads_match_running_alone(devices):
    alone = [workload(seed, device) for seed, device in zip((11, 22), devices)]
    torch.accel.synchronize()
    before = torch.accel.memory_allocated(0), torch.accel.memory_allocated(1)
    stats_before = torch.accel.memory_stats(0)

    together = _run_in_threads(list(zip((11, 22), devices)))

    for got, want in zip(together, alone):
        _assert_same(got, want)
    # Every block the threads allocated is free again, on both devices.
    assert (torch.accel.memory_allocated(0), torch.accel.memory_allocated(1)) == before
    stats = torch.accel.memory_stats(0)
    assert stats["allocation.all.current"] == stats_before["allocation.all.current"]
    assert stats["allocation.all.allocated"] - stats_before["allocation.all.allocated"] == \
        stats["allocation.all.freed"] - stats_before["allocation.all.freed"]
    # The main thread's current stream is its own: the threads' streams did not leak into it.
    assert torch.accel.current_stream(0) == torch.accel.default_stream(0)


def test_many_threads_of_small_ops_do_not_deadlock():
    """Eight threads of short ops, so that the runtime's locks are taken and
    released in every interleaving the scheduler finds."""
    def small(seed):
        g = torch.Generator().manual_seed(seed)
        x = torch.randn(64, generator=g).to("accel")
        out = []
        for _ in range(50):
            x = (x * 0.5 + 1).tanh()
            out.append(x.sum().cpu())
        return {"sums": torch.stack(out)}

    want = [small(s) for s in range(8)]
    got = [None] * 8
    threads = [threading.Thread(target=lambda i=i: got.__setitem__(i, small(i)), daemon=True) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(JOIN_TIMEOUT_S)
    assert not any(t.is_alive() for t in threads), "a thread did not finish: deadlock or hang"
    for g_, w in zip(got, want):
        _assert_same(g_, w)


BACKWARD_THREAD = r'''
import threading
import torch
x = torch.randn(4, 4, device="accel", requires_grad=True)
seen = []
y = (x * 2).sum()
x.register_hook(lambda g: seen.append(threading.current_thread() is threading.main_thread()))
y.backward()
emit({"multithreading": torch._C._is_multithreading_enabled(), "hook_on_main": seen[0],
      "grad_ok": bool((x.grad == 2).all())})
'''


def test_backward_runs_on_the_calling_thread_unless_asked_otherwise():
    import accel_subprocess
    default = accel_subprocess.start(BACKWARD_THREAD)
    threads = accel_subprocess.start(BACKWARD_THREAD, env={"TORCH_ACCEL_AUTOGRAD_DEVICE_THREADS": "1"})
    assert default.json() == {"multithreading": False, "hook_on_main": True, "grad_ok": True}
    assert threads.json() == {"multithreading": True, "hook_on_main": False, "grad_ok": True}
