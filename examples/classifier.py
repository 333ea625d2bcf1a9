"""Trains an MLP and a small CNN on scikit-learn's bundled digits (8x8 images,
no download) on accel and on CPU from the same seed, and reports the test
accuracy of each.

    python examples/classifier.py [--steps 300] [--batch 64] [--model mlp cnn]
"""
import argparse
import pathlib
import sys
import time

if __package__ in (None, ""):
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import torch_accel  # noqa: E402, F401  (the accel device)
from examples import vision  # noqa: E402

MODELS = {"mlp": vision.mlp, "cnn": vision.cnn}


class Trainer:
    """A classifier and its optimizer on one device, built from the seed on
    the CPU and moved, fed the same shuffled batches on every device."""

    def __init__(self, kind, device, data, seed=0, lr=0.05, batch_size=64):
        self.device, self.batch_size = device, batch_size
        self.x_train, self.y_train, self.x_test, self.y_test = data
        torch.manual_seed(seed)
        self.model = MODELS[kind]().to(device)
        self.opt = torch.optim.SGD(self.model.parameters(), lr=lr, momentum=0.9, nesterov=True)
        self.batches = torch.Generator().manual_seed(seed + 1)

    def step(self):
        idx = torch.randint(len(self.y_train), (self.batch_size,), generator=self.batches)
        x, y = self.x_train[idx].to(self.device), self.y_train[idx].to(self.device)
        loss = F.cross_entropy(self.model(x), y)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        return loss.item()

    @torch.no_grad()
    def accuracy(self):
        self.model.eval()
        pred = self.model(self.x_test.to(self.device)).argmax(1).cpu()
        self.model.train()
        return (pred == self.y_test).float().mean().item()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", nargs="+", choices=sorted(MODELS), default=sorted(MODELS))
    args = parser.parse_args(argv)
    data = vision.digits(seed=args.seed)
    print(f"digits: {len(data[1])} training and {len(data[3])} test images")
    worst = 0.0
    for kind in args.model:
        runs = {dev: Trainer(kind, dev, data, args.seed, args.lr, args.batch)
                for dev in ("accel", "cpu")}
        spent = dict.fromkeys(runs, 0.0)
        losses = {dev: [] for dev in runs}
        for _ in range(args.steps):
            for dev, run in runs.items():
                start = time.perf_counter()
                losses[dev].append(run.step())
                spent[dev] += time.perf_counter() - start
        acc = {dev: run.accuracy() for dev, run in runs.items()}
        gap = abs(acc["accel"] - acc["cpu"])
        worst = max(worst, gap)
        print(f"{kind}: loss {losses['accel'][0]:.3f} -> {losses['accel'][-1]:.3f} on accel "
              f"({losses['cpu'][-1]:.3f} on CPU); test accuracy accel {acc['accel']:.4f}, "
              f"CPU {acc['cpu']:.4f}; ms per step accel {spent['accel'] / args.steps * 1e3:.2f}, "
              f"CPU {spent['cpu'] / args.steps * 1e3:.2f}")
    # within noise: 1% of the test set is ~4 images
    print("accuracies agree" if worst <= 0.01 else f"ACCURACIES DIFFER by {worst:.4f}")
    return 0 if worst <= 0.01 else 1


if __name__ == "__main__":
    sys.exit(main())
