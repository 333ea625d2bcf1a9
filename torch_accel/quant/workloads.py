"""The models the quantization report sweeps, from the examples: the digits
MLP and CNN (test accuracy), the character GPT and a character LSTM
(validation loss on the shipped sonnets). Each trains on accel from a seed."""
import pathlib
import sys
from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F

_ROOT = pathlib.Path(__file__).resolve().parents[2]


def _examples():
    if not (_ROOT / "examples" / "vision.py").exists():
        raise RuntimeError("the quantization sweep trains the models of the repository's "
                           "examples/ folder: run it from a source checkout")
    if str(_ROOT) not in sys.path:
        sys.path.insert(0, str(_ROOT))
    from examples import gpt, vision
    return gpt, vision


class CharLSTM(nn.Module):
    """A small character language model: embedding, one LSTM layer, linear head."""

    def __init__(self, vocab_size, embed=64, hidden=128):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed)
        self.lstm = nn.LSTM(embed, hidden, batch_first=True)
        self.head = nn.Linear(hidden, vocab_size)

    def forward(self, idx, targets=None):
        logits = self.head(self.lstm(self.embed(idx))[0])
        if targets is None:
            return logits, None
        return logits, F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


@dataclass
class Workload:
    name: str
    metric: str                 # "accuracy" (higher is better) or "val loss"
    build: object               # () -> nn.Module on the CPU
    loss: object                # (model, batch) -> scalar loss
    batches: object             # (seed) -> iterator of training batches on the device
    evaluate: object            # (model) -> metric
    example: object             # () -> CPU input of one priced inference
    inference: str              # what one priced inference is
    optimizer: object           # (params, lr) -> optimizer
    lr: float
    qat_lr: float
    higher_is_better: bool = field(default=True)


def _digits(kind, device):
    _, vision = _examples()
    x_train, y_train, x_test, y_test = (t.to(device) for t in vision.digits())

    def batches(seed):
        g = torch.Generator().manual_seed(seed)
        while True:
            idx = torch.randint(len(y_train), (64,), generator=g).to(device)
            yield x_train[idx], y_train[idx]

    @torch.no_grad()
    def evaluate(model):
        model.eval()
        acc = (model(x_test).argmax(1) == y_test).float().mean().item()
        model.train()
        return acc

    return Workload(
        f"digits {kind.upper()}", "accuracy", getattr(vision, kind),
        lambda m, b: F.cross_entropy(m(b[0]), b[1]), batches, evaluate,
        lambda: torch.zeros(64, 1, 8, 8), "a batch of 64 images",
        lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.9, nesterov=True), 0.05, 0.01)


def _characters(kind, device, block=64, batch=16):
    gpt, _ = _examples()
    data = gpt.CharData()

    def build():
        if kind == "gpt":
            return gpt.GPT(gpt.GPTConfig(vocab_size=data.vocab_size, block_size=block,
                                         n_layer=2, n_head=4, n_embd=64))
        return CharLSTM(data.vocab_size)

    def batches(seed):
        g = torch.Generator().manual_seed(seed)
        while True:
            x, y = data.batch("train", batch, block, g)
            yield x.to(device), y.to(device)

    @torch.no_grad()
    def evaluate(model, n=8):
        model.eval()
        g = torch.Generator().manual_seed(1234)
        total = 0.0
        for _ in range(n):
            x, y = data.batch("val", batch, block, g)
            total += model(x.to(device), y.to(device))[1].item()
        model.train()
        return total / n

    name = "char GPT" if kind == "gpt" else "char LSTM"
    return Workload(
        name, "val loss", build, lambda m, b: m(*b)[1], batches, evaluate,
        lambda: torch.zeros(batch, block, dtype=torch.long),
        f"{batch} sequences of {block} characters",
        lambda p, lr: torch.optim.AdamW(p, lr=lr, weight_decay=0.01), 3e-3, 1e-3,
        higher_is_better=False)


def workloads(device="accel"):
    return [_digits("mlp", device), _digits("cnn", device), _characters("gpt", device),
            _characters("lstm", device)]


def train(workload, model, steps, lr, seed):
    """`steps` optimizer steps of `model` (on the device) on the workload's data."""
    opt = workload.optimizer(model.parameters(), lr)
    model.train()
    batches = workload.batches(seed)
    for _ in range(steps):
        loss = workload.loss(model, next(batches))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return model
