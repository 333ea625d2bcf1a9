"""Estimates at scale (torch_accel/scale.py): tensor, data, pipeline and
sequence parallelism on meta models, priced on a system's links."""
import time

import pytest
import torch

import torch_accel
from torch_accel import _scale_model, scale
from torch_accel.models import Llama, builtin

TOKENS = torch.zeros(8, 64, dtype=torch.long, device="meta")


def _tiny(layers=4):
    with torch.device("meta"):
        return Llama(vocab=512, dim=128, layers=layers, heads=4, kv_heads=2, ffn=256)


@pytest.mark.parametrize("training", [False, True])
def test_one_chip_equals_the_single_chip_estimate(training):
    model = _tiny()
    single = torch_accel.estimate(model, TOKENS, training=training)
    multi = torch_accel.estimate(model, TOKENS, training=training, system="t3k",
                                 tensor_parallel=1, data_parallel=1, pipeline_parallel=1)
    assert multi.chips == 1 and multi.collectives == []
    torch.testing.assert_close(torch.tensor(multi.step_time_s, dtype=torch.float64),
                               torch.tensor(single.total_time_s, dtype=torch.float64))


def test_a_1024_chip_llama_70b_training_step_estimates_quickly():
    model, _ = builtin("llama3-70b")
    start = time.perf_counter()
    r = torch_accel.estimate(model, torch.zeros(512, 4096, dtype=torch.long, device="meta"),
                             system="galaxy_pod_1024", tensor_parallel=8, data_parallel=32,
                             pipeline_parallel=4, num_microbatches=16, training=True,
                             dtype=torch.bfloat16)
    assert time.perf_counter() - start <= 10
    assert r.chips == 1024 and r.distinct_roles <= 3
    assert sum(s for _, s in r.critical_path) == pytest.approx(r.step_time_s)
    kinds = {c["kind"] for c in r.collectives}
    assert kinds == {"tensor parallel", "pipeline", "data parallel"}
    assert r.energy_j > 0 and r.bound in dict(r.critical_path)


def test_single_chip_runs_do_not_grow_with_chips(monkeypatch):
    calls = []
    real = _scale_model.run_phases
    monkeypatch.setattr(scale, "run_phases", lambda *a, **k: calls.append(1) or real(*a, **k))
    model = _tiny(8)
    for dp in (1, 4, 32):
        calls.clear()
        torch_accel.estimate(model, torch.zeros(64, 64, dtype=torch.long, device="meta"),
                             system="galaxy_pod_1024", tensor_parallel=2, data_parallel=dp,
                             pipeline_parallel=2, training=True)
        assert len(calls) == 2  # one block and two, whatever the chip count


def test_tensor_parallel_shards_the_compute_and_adds_all_reduces():
    model = _tiny()
    one = torch_accel.estimate(model, TOKENS, system="t3k", tensor_parallel=1)
    two = torch_accel.estimate(model, TOKENS, system="t3k", tensor_parallel=2)
    assert two.roles[0]["fwd_s"] < one.roles[0]["fwd_s"]
    assert two.roles[0]["params"] < one.roles[0]["params"]
    tp = [c for c in two.collectives if c["kind"] == "tensor parallel"]
    # Two row-parallel linears per block and the vocab-parallel embedding.
    assert sum(c["count"] for c in tp if c["op"] == "all_reduce") == 2 * 4 + 1
    trained = torch_accel.estimate(model, TOKENS, system="t3k", tensor_parallel=2, training=True)
    counts = {c["nbytes"]: c["count"] for c in trained.collectives}
    hidden = 8 * 64 * 128 * 4  # one fp32 activation of the model's width
    # Forward as above, backward one per shared column-parallel input (q/k/v, w1/w3) and
    # the head's input; the vocab-parallel cross-entropy's max and sum per token.
    assert counts == {hidden: 2 * (2 * 4 + 1), 8 * 64 * 4: 2}
    sp = torch_accel.estimate(model, TOKENS, system="t3k", tensor_parallel=2, sequence_parallel=True)
    assert {c["op"] for c in sp.collectives} >= {"reduce_scatter", "all_gather"}
    # Sequence parallelism runs the norms on half of the sequence each.
    assert sp.roles[0]["fwd_s"] < two.roles[0]["fwd_s"]


def test_pipeline_bubble_shrinks_with_microbatches():
    model = _tiny(8)
    few = torch_accel.estimate(model, TOKENS, system="t3k", pipeline_parallel=4,
                               num_microbatches=2, training=True)
    many = torch_accel.estimate(model, TOKENS, system="t3k", pipeline_parallel=4,
                                num_microbatches=8, training=True)
    assert 0 < many.bubble_fraction < few.bubble_fraction
    assert len(few.roles) == 4 and [r["layers"] for r in few.roles] == [2, 2, 2, 2]
    fwd = [r["fwd_s"] for r in few.roles]
    # The embedding runs on the first stage, the norm, head and loss on the last.
    assert fwd[1] == fwd[2] and fwd[0] > fwd[1] and fwd[3] > fwd[1]


def test_data_parallel_gradients_overlap_backward():
    model = _tiny()
    # Buckets of 0.1 MiB: the first all-reduces run while the backward goes on.
    r = scale.estimate_at_scale(model, TOKENS, system="t3k", data_parallel=8, training=True,
                                bucket_mb=0.1)
    dp = [c for c in r.collectives if c["kind"] == "data parallel"]
    assert dp and all(c["group_size"] == 8 for c in dp)
    assert sum(c["count"] for c in dp) > 2
    exposed = dict(r.critical_path)["data-parallel all-reduce"]
    total_comm = sum(c["time_s"] * c["count"] for c in dp)
    assert 0 < exposed < total_comm


@pytest.mark.parametrize("kwargs, match", [
    (dict(system="n300", data_parallel=4), "has 2"),
    (dict(system="t3k", data_parallel=3), "does not split"),
    (dict(system="t3k", tensor_parallel=8), "heads do not split|not divisible"),
    (dict(system="t3k", pipeline_parallel=8), "identical blocks"),
    (dict(system="t3k", tensor_parallel=0), "positive int"),
    (dict(system="t3k", tensor_parallel=True), "positive int"),
    (dict(system="t3k", num_microbatches=0), "positive int"),
    (dict(system="t3k", num_microbatches=3), "microbatches"),
    (dict(system="t3k", training=True, optimizer="lion"), "optimizer"),
])
def test_bad_layouts_name_the_problem(kwargs, match):
    with pytest.raises(ValueError, match=match):
        torch_accel.estimate(_tiny(), TOKENS, **kwargs)


def test_sweep_cli_writes_table_and_plot(tmp_path, capsys):
    from torch_accel.__main__ import main
    assert main(["sweep", "llama-tiny", "--chips", "2,8,32", "--layouts", "2x1",
                 "--topologies", "mesh,torus", "--link-gbps", "100,200", "--seq", "32",
                 "--batch-per-replica", "2", "--out", str(tmp_path)]) == 0
    lines = (tmp_path / "sweep.md").read_text().splitlines()
    assert len(lines) == 2 + 3 * 2 * 2
    rows = (tmp_path / "sweep.csv").read_text().splitlines()
    assert rows[0].startswith("chips,") and len(rows) == 1 + 12
    assert (tmp_path / "sweep.png").stat().st_size > 0
    from torch_accel.sweep import grid_dims
    assert grid_dims(1024) == [32, 32] and grid_dims(8) == [2, 4] and grid_dims(7) == [1, 7]
    assert grid_dims(512, 3) == [8, 8, 8] and grid_dims(32, 3) == [2, 4, 4]
