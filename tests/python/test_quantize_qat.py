"""QAT on accel: the digits CNN (examples/vision.py) fine-tuned with Bfp4_b
weights at LoFi comes back to within one point of its float32 accuracy."""
import copy
import pathlib
import sys

import pytest
import torch
import torch.nn.functional as F

import torch_accel

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))
from examples import vision  # noqa: E402

pytestmark = pytest.mark.usefixtures("no_fallback")


def train(model, data, steps, lr, seed):
    x, y = data
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, nesterov=True)
    g = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(steps):
        idx = torch.randint(len(y), (64,), generator=g).to(x.device)
        loss = F.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()


@torch.no_grad()
def accuracy(model, data):
    x, y = data
    model.eval()
    return (model(x).argmax(1) == y).float().mean().item()


def test_qat_bfp4_weights_recovers_fp32_accuracy():
    x_train, y_train, x_test, y_test = (t.to("accel") for t in vision.digits())
    torch.manual_seed(0)
    fp32 = vision.cnn().to("accel")
    train(fp32, (x_train, y_train), steps=150, lr=0.05, seed=1)
    fp32_acc = accuracy(fp32, (x_test, y_test))
    assert fp32_acc > 0.9  # a trained model, else the comparison says nothing

    qat = torch_accel.quantize(copy.deepcopy(fp32), weights="bfp4_b", math_fidelity="LoFi")
    before = qat[0].weight.detach().clone()
    train(qat, (x_train, y_train), steps=40, lr=0.01, seed=2)
    assert not torch.equal(qat[0].weight.detach(), before)  # the STE gradient trained it
    qat_acc = accuracy(qat, (x_test, y_test))  # eval: the Bfp4_b weights, LoFi matmuls
    assert qat_acc >= fp32_acc - 0.01, f"QAT {qat_acc:.4f} vs fp32 {fp32_acc:.4f}"
