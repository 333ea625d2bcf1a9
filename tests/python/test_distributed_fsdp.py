"""FSDP2 (torch.distributed.fsdp.fully_shard) trains on accel under torchrun:
examples/ddp_train.py --fsdp shards every parameter over two chips,
all-gathers them for forward and backward and reduce-scatters the gradients,
and its parameters equal one process training the whole model on the whole
batch; the all-gathers and reduce-scatters show in the profile."""
from distributed_launch import REPO, torchrun

EXAMPLE = REPO / "examples" / "ddp_train.py"
WIDTH = 64
# Linear(32, w), LayerNorm(w), Linear(w, w), Linear(w, 10): weights and biases
ELEMENTS = 32 * WIDTH + WIDTH + 2 * WIDTH + WIDTH * WIDTH + WIDTH + WIDTH * 10 + 10


def test_fsdp2_trains_on_accel_like_one_process():
    steps = 4
    results, output, code = torchrun(EXAMPLE, 2, ["--fsdp", "--check", "--steps", str(steps),
                                                  "--width", str(WIDTH)])
    assert code == 0, output[-4000:]
    assert sorted(results) == [0, 1], output[-4000:]
    for r in results.values():
        assert r["equal"], r.get("mismatch")
        # Each chip holds half of every parameter (dim 0 split in two; 10 rows split 5/5).
        assert r["parameter_elements_here"] == ELEMENTS // 2
        # Profiled steps (all but the first) x 3 linear layers and the root's LayerNorm:
        # a reduce-scatter of each group's gradients, all-gathers in forward and backward.
        ops = r["collectives"]
        assert ops["c10d::reduce_scatter"] == (steps - 1) * 4
        assert ops["c10d::all_gather"] >= (steps - 1) * 4
        assert r["modelled_step_s"] < r["other_s_per_step"] + r["collective_s_per_step"]
