"""Data-parallel training on accel chips with DistributedDataParallel (or
FSDP2 with --fsdp).

    torchrun --nproc_per_node=2 examples/ddp_train.py [--steps 20] [--batch 32] [--check] [--fsdp]

Each process owns one emulated chip (rank r trains on accel:r) and a slice of
every global batch; DDP all-reduces the gradients through the "accel"
process group, bucket by bucket as backward produces them, so in the chips'
modelled time the all-reduces overlap the rest of backward. Rank 0 prints the
loss, the modelled step time and how much of it the collectives took.

--fsdp shards every parameter over the ranks instead (fully_shard): each
layer's parameters are all-gathered for forward and backward and their
gradients reduce-scattered.

--check also trains the same model in one process on the whole global batch
(no DDP) and reports the largest difference between the two sets of
parameters: data parallelism changes only the order of floating-point sums.
"""
import argparse
import json
import os
import sys

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel as DDP

import torch_accel

LR = 0.05


def make_model(seed, width):
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(32, width), torch.nn.GELU(), torch.nn.LayerNorm(width),
        torch.nn.Linear(width, width), torch.nn.GELU(), torch.nn.Linear(width, 10))


def global_batch(step, size):
    """The step's whole batch, the same on every rank."""
    g = torch.Generator().manual_seed(10_000 + step)
    x = torch.randn(size, 32, generator=g)
    y = torch.randint(0, 10, (size,), generator=g)
    return x, y


def train(model, opt, steps, batch, device, rank=0, world=1, first_step=0):
    losses = []
    for step in range(first_step, first_step + steps):
        x, y = global_batch(step, batch * world)
        x, y = x.chunk(world)[rank].to(device), y.chunk(world)[rank].to(device)
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def wrap(model, args):
    """DDP, or FSDP2 sharding each linear layer and then the whole model."""
    if not args.fsdp:
        return DDP(model, bucket_cap_mb=args.bucket_mb)
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import fully_shard
    mesh = init_device_mesh("accel", (dist.get_world_size(),))
    for layer in model:
        if isinstance(layer, torch.nn.Linear):
            fully_shard(layer, mesh=mesh)
    return fully_shard(model, mesh=mesh)


def local(parameter):
    return parameter.to_local() if hasattr(parameter, "to_local") else parameter


def whole(parameter):
    """A parameter as one tensor: FSDP2's are sharded DTensors."""
    parameter = parameter.detach()
    return parameter.full_tensor() if hasattr(parameter, "full_tensor") else parameter


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch", type=int, default=32, help="examples per rank per step")
    parser.add_argument("--width", type=int, default=256)
    parser.add_argument("--bucket-mb", type=float, default=0.25,
                        help="DDP bucket size (small buckets show the overlap)")
    parser.add_argument("--check", action="store_true",
                        help="compare with one process training on the whole batch")
    parser.add_argument("--fsdp", action="store_true",
                        help="shard the parameters with FSDP2 (fully_shard) instead of DDP")
    args = parser.parse_args(argv)

    rank = int(os.environ.get("RANK", 0))
    world = int(os.environ.get("WORLD_SIZE", 1))
    device = torch.device("accel", rank)
    torch.accel.set_device(device)
    if "MASTER_ADDR" in os.environ:  # under torchrun
        dist.init_process_group("accel", device_id=device)
    else:  # one process on its own: a group of one
        dist.init_process_group("accel", device_id=device, store=dist.HashStore(), rank=0,
                                world_size=1)

    model = wrap(make_model(0, args.width).to(device), args)
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=0.9)
    train(model, opt, 1, args.batch, device, rank, world)  # DDP settles its buckets on step one
    start = torch.accel.device_time(device)
    with torch_accel.profile() as prof:
        losses = train(model, opt, args.steps - 1, args.batch, device, rank, world, first_step=1)
    step_s = (torch.accel.device_time(device) - start) / max(1, args.steps - 1)
    collective_s = sum(r["time_s"] for r in prof.records if r["op_class"] == "collective")
    compute_s = prof.total_time_s - collective_s
    result = {"rank": rank, "world": world, "final_loss": losses[-1] if losses else None,
              "modelled_step_s": step_s,
              "collective_s_per_step": collective_s / max(1, args.steps - 1),
              "other_s_per_step": compute_s / max(1, args.steps - 1),
              "collectives": {op: n for op, n in prof.ops().items() if op.startswith("c10d::")},
              # The parameter elements this chip holds: all of them under DDP, a shard under FSDP.
              "parameter_elements_here": sum(local(p).numel() for p in model.parameters())}

    if args.check:
        reference = make_model(0, args.width).to(device)
        train(reference, torch.optim.SGD(reference.parameters(), lr=LR, momentum=0.9),
              args.steps, args.batch * world, device)
        trained = [whole(p) for p in model.parameters()]
        diffs = [(p - q.detach()).abs().max().item() for p, q in zip(trained, reference.parameters())]
        result["max_abs_diff"] = max(diffs)
        try:
            for p, q in zip(trained, reference.parameters()):
                torch.testing.assert_close(p.cpu(), q.detach().cpu())
            result["equal"] = True
        except AssertionError as e:
            result["equal"] = False
            result["mismatch"] = str(e).splitlines()[:4]

    if rank == 0:
        print(f"{world} ranks, {args.steps} steps, final loss {result['final_loss']:.4f}")
        print(f"modelled step {step_s * 1e6:.1f} us on each chip: programs "
              f"{result['other_s_per_step'] * 1e6:.1f} us + collectives "
              f"{result['collective_s_per_step'] * 1e6:.1f} us, overlapped")
        if args.check:
            print(f"parameters vs one process on the whole batch: max abs diff "
                  f"{result['max_abs_diff']:.3g} ({'equal' if result['equal'] else 'DIFFERENT'}"
                  " to torch's float32 tolerance)")
    # One write, so the ranks' lines never interleave in torchrun's output.
    sys.stdout.write("RESULT:" + json.dumps(result) + "\n")
    sys.stdout.flush()
    dist.destroy_process_group()
    return 0 if result.get("equal", True) else 1


if __name__ == "__main__":
    raise SystemExit(main())
