"""DistributedDataParallel on accel under torchrun: examples/ddp_train.py
trains with 2 (and 4) processes, one chip each, and its parameters equal one
process training on the concatenated batch to torch's float32 tolerance; in
the chips' modelled time the gradient all-reduces overlap backward."""

from distributed_launch import REPO, torchrun

EXAMPLE = REPO / "examples" / "ddp_train.py"


def _train(nproc, steps):
    results, output, code = torchrun(EXAMPLE, nproc, ["--check", "--steps", str(steps)])
    assert code == 0, output[-4000:]
    assert sorted(results) == list(range(nproc)), output[-4000:]
    return results


def _check(results, nproc):
    for rank, r in results.items():
        assert r["world"] == nproc
        assert r["equal"], r.get("mismatch")
        assert r["max_abs_diff"] < 1e-5
        # Every step all-reduces the gradients, and the buckets' all-reduces run
        # beside backward: the step is shorter than programs + collectives end to end.
        assert r["collective_s_per_step"] > 0
        assert r["modelled_step_s"] < r["other_s_per_step"] + r["collective_s_per_step"]


def test_ddp_two_processes_equal_one_process():
    _check(_train(2, 6), 2)


def test_ddp_four_processes_equal_one_process():
    _check(_train(4, 6), 4)
