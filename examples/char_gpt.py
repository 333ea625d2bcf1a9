"""Trains the character-level GPT (examples/gpt.py) on the shipped sonnets, on
accel and on CPU from the same seed, and prints both loss curves side by side.

    python examples/char_gpt.py [--steps 200] [--layers 4] [--width 128] ...
"""
import argparse
import pathlib
import sys
import time

if __package__ in (None, ""):
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

import torch_accel  # noqa: E402
from examples.gpt import GPT, GPTConfig, CharData, DEFAULT_TEXT  # noqa: E402


class Trainer:
    """One model + AdamW on one device. Built from the same seed on every
    device (parameters are initialised on the CPU, then moved), and fed the
    same batches, so devices can be compared step by step."""

    def __init__(self, device, data, cfg, seed=0, lr=3e-3, batch_size=16):
        self.device, self.data, self.cfg, self.batch_size = device, data, cfg, batch_size
        torch.manual_seed(seed)
        self.model = GPT(cfg).to(device)
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=lr, weight_decay=0.01)
        self.batches = torch.Generator().manual_seed(seed + 1)

    def step(self):
        x, y = self.data.batch("train", self.batch_size, self.cfg.block_size, self.batches)
        _, loss = self.model(x.to(self.device), y.to(self.device))
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        return loss.item()

    @torch.no_grad()
    def val_loss(self, batches=4):
        self.model.eval()
        g = torch.Generator().manual_seed(1234)
        total = 0.0
        for _ in range(batches):
            x, y = self.data.batch("val", self.batch_size, self.cfg.block_size, g)
            total += self.model(x.to(self.device), y.to(self.device))[1].item()
        self.model.train()
        return total / batches

    def sample(self, prompt, n, seed=0, temperature=0.8):
        self.model.eval()
        idx = self.data.encode(prompt).to(self.device)
        out = self.model.generate(idx, n, temperature, torch.Generator().manual_seed(seed))
        self.model.train()
        return self.data.decode(out[0].cpu())


def config_from(args, data):
    return GPTConfig(vocab_size=data.vocab_size, block_size=args.block, n_layer=args.layers,
                     n_head=args.heads, n_embd=args.width)


def add_arguments(parser):
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--block", type=int, default=64)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--text", default=str(DEFAULT_TEXT))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    parser.add_argument("--arch", default=None, help="chip preset, e.g. wormhole_n150")
    parser.add_argument("--every", type=int, default=20, help="print the losses every N steps")
    args = parser.parse_args(argv)
    if args.arch:
        torch_accel.configure(arch=args.arch)
    data = CharData(args.text)
    cfg = config_from(args, data)
    runs = {dev: Trainer(dev, data, cfg, args.seed, args.lr, args.batch) for dev in ("accel", "cpu")}
    print(f"{sum(p.numel() for p in runs['cpu'].model.parameters()) / 1e6:.2f}M parameters, "
          f"vocabulary {data.vocab_size}, {len(data.train)} training characters")
    print(f"{'step':>6}{'accel loss':>12}{'cpu loss':>12}{'|diff|':>10}")
    worst, spent = 0.0, dict.fromkeys(runs, 0.0)
    for step in range(args.steps):
        losses = {}
        for dev, run in runs.items():
            start = time.perf_counter()
            losses[dev] = run.step()
            spent[dev] += time.perf_counter() - start
        diff = abs(losses["accel"] - losses["cpu"])
        worst = max(worst, diff)
        if step % args.every == 0 or step == args.steps - 1:
            print(f"{step:>6}{losses['accel']:>12.4f}{losses['cpu']:>12.4f}{diff:>10.2e}")
    val = {dev: run.val_loss() for dev, run in runs.items()}
    print(f"validation loss: accel {val['accel']:.4f}, cpu {val['cpu']:.4f}; "
          f"largest per-step |diff| {worst:.2e}")
    print(f"time per step: accel {spent['accel'] / args.steps * 1e3:.1f} ms, "
          f"cpu {spent['cpu'] / args.steps * 1e3:.1f} ms")
    print("sample (accel):", runs["accel"].sample("Shall I", 200), sep="\n")


if __name__ == "__main__":
    main()
