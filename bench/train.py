"""Times one training step (forward, backward, optimizer step) of the example
models on accel and on CPU eager in one run, and prints the ratio.

    python bench/train.py [--repeat 10] [--arch wormhole_n150]

Models: the character GPT of the demo (examples/gpt.py, AdamW) and the digits
CNN (examples/vision.py, SGD with nesterov momentum). Target (issue 4): accel
<= 1.5x CPU eager per step.
"""
import argparse
import pathlib
import statistics
import sys
import time
import warnings

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

import torch_accel  # noqa: E402
from examples import char_gpt, classifier, vision  # noqa: E402
from examples.gpt import CharData, GPTConfig  # noqa: E402


def gpt_trainer(device, args):
    data = CharData()
    cfg = GPTConfig(vocab_size=data.vocab_size, block_size=args.block, n_layer=args.layers,
                    n_head=4, n_embd=args.width)
    return char_gpt.Trainer(device, data, cfg, seed=0, lr=6e-3, batch_size=args.gpt_batch)


def cnn_trainer(device, args):
    return classifier.Trainer("cnn", device, vision.digits(), seed=0, lr=0.05,
                              batch_size=args.cnn_batch)


def time_steps(trainers, repeat, warmup=2):
    """Median seconds per step of each trainer. The devices take turns step by
    step, so that a change in the machine's load hits both alike."""
    for _ in range(warmup):
        for trainer in trainers.values():
            trainer.step()  # optimizer state, allocator caches
    samples = {dev: [] for dev in trainers}
    for _ in range(repeat):
        for dev, trainer in trainers.items():
            start = time.perf_counter()
            trainer.step()  # ends in loss.item(): the step has finished on the device
            samples[dev].append(time.perf_counter() - start)
    return {dev: statistics.median(s) for dev, s in samples.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--arch", default="wormhole_n150")
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--block", type=int, default=64)
    parser.add_argument("--gpt-batch", type=int, default=16)
    parser.add_argument("--cnn-batch", type=int, default=64)
    args = parser.parse_args()
    torch_accel.configure(arch=args.arch)
    warnings.simplefilter("ignore")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"chip {torch.accel.get_device_properties().arch}")
    print(f"{'training step':<40}{'cpu ms':>10}{'accel ms':>10}{'ratio':>8}")
    cases = [(f"char GPT {args.layers}x{args.width}, {args.gpt_batch}x{args.block} tokens",
              gpt_trainer), (f"digits CNN, batch {args.cnn_batch}", cnn_trainer)]
    for name, make in cases:
        torch_accel.reset_fallback_stats()
        times = time_steps({"cpu": make("cpu", args), "accel": make("accel", args)}, args.repeat)
        cpu, accel = times["cpu"], times["accel"]
        fallbacks = torch_accel.fallback_stats()
        print(f"{name:<40}{cpu * 1e3:>10.2f}{accel * 1e3:>10.2f}{accel / cpu:>8.2f}")
        per_step = {k: v // (args.repeat + 2) for k, v in fallbacks.items()}
        print(f"    CPU fallbacks per step: {sum(per_step.values())} {per_step or ''}")


if __name__ == "__main__":
    main()
