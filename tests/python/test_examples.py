"""The examples (examples/) at a tiny size: they learn, they track the same
model on the CPU step by step, a checkpoint resumes bit-identically, a training
step runs without CPU fallback, and the demo writes its trace and plot."""
import io
import json
import pathlib
import warnings

import sys

import pytest
import torch

import torch_accel
from accel_subprocess import start

REPO = pathlib.Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # examples/ is a folder of the repository, not of the package
    sys.path.insert(0, str(REPO))
from examples import char_gpt, classifier, vision  # noqa: E402
from examples.gpt import CharData, GPTConfig  # noqa: E402
DATA = CharData()


def tiny_gpt_config(dropout=0.0):
    return GPTConfig(vocab_size=DATA.vocab_size, block_size=16, n_layer=1, n_head=2, n_embd=32,
                     dropout=dropout)


def gpt_trainer(device, dropout=0.0, seed=0):
    return char_gpt.Trainer(device, DATA, tiny_gpt_config(dropout), seed=seed, lr=1e-2,
                            batch_size=4)


@pytest.fixture(scope="module")
def digits():
    x_train, y_train, x_test, y_test = vision.digits()
    return x_train[:256], y_train[:256], x_test[:128], y_test[:128]


def train_both(make, steps):
    runs = {dev: make(dev) for dev in ("accel", "cpu")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        losses = {dev: [run.step() for _ in range(steps)] for dev, run in runs.items()}
    return runs, losses


def test_char_gpt_learns_and_tracks_cpu():
    runs, losses = train_both(gpt_trainer, 12)
    # float32 on both sides: the first steps agree to rounding
    torch.testing.assert_close(losses["accel"][:5], losses["cpu"][:5], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(losses["accel"], losses["cpu"], rtol=1e-3, atol=1e-3)
    assert sum(losses["accel"][-3:]) / 3 < losses["accel"][0] - 0.5


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_classifier_learns_and_tracks_cpu(kind, digits):
    runs, losses = train_both(lambda dev: classifier.Trainer(kind, dev, digits, lr=0.1,
                                                             batch_size=32), 25)
    torch.testing.assert_close(losses["accel"][:5], losses["cpu"][:5], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(losses["accel"], losses["cpu"], rtol=1e-3, atol=1e-3)
    assert sum(losses["accel"][-3:]) / 3 < losses["accel"][0] - 0.3
    acc = {dev: run.accuracy() for dev, run in runs.items()}
    assert acc["accel"] > 0.3
    assert abs(acc["accel"] - acc["cpu"]) <= 2 / 128  # a test image or two, within noise


def training_step_fallbacks(trainer):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.step()  # the first step creates the optimizer state
        torch_accel.reset_fallback_stats()
        trainer.step()
    return torch_accel.fallback_stats()


@pytest.mark.parametrize("kind", ["gpt", "mlp", "cnn"])
def test_training_step_fallbacks(kind, digits):
    if kind == "gpt":
        trainer = gpt_trainer("accel")
    else:
        trainer = classifier.Trainer(kind, "accel", digits, batch_size=16)
    stats = training_step_fallbacks(trainer)
    assert stats == {}, f"a training step ran ops on the CPU: {stats}"


def checkpoint(trainer):
    return {"model": trainer.model.state_dict(), "optimizer": trainer.opt.state_dict(),
            "cpu_rng": torch.get_rng_state(), "accel_rng": torch.accel.get_rng_state(),
            "batches": trainer.batches.get_state()}


def restore(trainer, state):
    trainer.model.load_state_dict(state["model"])
    trainer.opt.load_state_dict(state["optimizer"])
    torch.set_rng_state(state["cpu_rng"])
    torch.accel.set_rng_state(state["accel_rng"])
    trainer.batches.set_state(state["batches"])


def test_checkpoint_resume_is_bit_identical(tmp_path):
    # dropout on, so the device RNG state is part of what must be restored
    torch.accel.manual_seed(7)
    whole = gpt_trainer("accel", dropout=0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(3):
            whole.step()
        path = tmp_path / "ckpt.pt"
        torch.save(checkpoint(whole), path)
        expected = [whole.step() for _ in range(3)]

        resumed = gpt_trainer("accel", dropout=0.1, seed=123)  # different weights until loaded
        state = torch.load(path, weights_only=True)
        assert state["model"]["head.weight"].device.type == "accel"
        restore(resumed, state)
        got = [resumed.step() for _ in range(3)]
    assert got == expected
    for name, p in whole.model.named_parameters():
        assert torch.equal(p.cpu(), dict(resumed.model.named_parameters())[name].cpu()), name
    exp_state, got_state = whole.opt.state_dict()["state"], resumed.opt.state_dict()["state"]
    for key in exp_state:
        for field in ("exp_avg", "exp_avg_sq", "step"):
            assert torch.equal(exp_state[key][field].cpu(), got_state[key][field].cpu())


def test_checkpoint_roundtrip_in_memory():
    trainer = gpt_trainer("accel")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.step()
    buf = io.BytesIO()
    torch.save(checkpoint(trainer), buf)
    buf.seek(0)
    state = torch.load(buf, weights_only=True)
    for name, t in trainer.model.state_dict().items():
        assert state["model"][name].device == t.device
        assert torch.equal(state["model"][name].cpu(), t.cpu())


def test_demo_writes_trace_and_plot(tmp_path):
    out = tmp_path / "demo"
    proc = start(f"""
import sys
sys.path.insert(0, {str(REPO)!r})
from torch_accel import demo
rc = demo.run(seed=0, steps=4, out_dir={str(out)!r}, layers=1, width=32, batch=4, block=16,
              sample_chars=8, quiet=True)
emit({{"rc": rc}})
""", cwd=str(REPO))
    result = proc.json()
    stdout = proc.result().stdout
    assert "sampled text" in stdout and "CPU fallbacks in one training step" in stdout
    assert "where the chip's time went" in stdout
    assert result["rc"] == 0, proc.describe()
    trace = json.loads((out / "train_step_trace.json").read_text())
    slices = [e for e in trace["traceEvents"] if e["ph"] == "X"]
    assert slices and any(e["cat"] == "matmul" for e in slices)
    assert (out / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads((out / "summary.json").read_text())
    assert len(summary["losses"]["accel"]) == 4
