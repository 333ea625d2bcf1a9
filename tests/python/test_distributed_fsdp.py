"""FSDP2 (torch.distributed.fsdp.fully_shard) trains on accel: parameters
sharded over two chips, all-gathered for forward and backward and their
gradients reduce-scattered, equal one process training the whole model on
the whole batch; the all-gathers and reduce-scatters show in the profile."""
from distributed_launch import launch

FSDP = r'''
import torch.nn.functional as F
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.fsdp import fully_shard
dev = torch.device("accel", RANK)
torch.accel.set_device(dev)
init("accel", device_id=dev)
mesh = init_device_mesh("accel", (WORLD,))

def make():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.GELU(), torch.nn.Linear(64, 64),
                               torch.nn.GELU(), torch.nn.Linear(64, 10)).to(dev)

model = make()
for layer in model:
    if isinstance(layer, torch.nn.Linear):
        fully_shard(layer, mesh=mesh)
fully_shard(model, mesh=mesh)
reference = make()
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
ref_opt = torch.optim.SGD(reference.parameters(), lr=0.05, momentum=0.9)
with torch_accel.profile() as prof:
    for step in range(4):
        g = torch.Generator().manual_seed(step)
        x, y = torch.randn(16 * WORLD, 32, generator=g), torch.randint(0, 10, (16 * WORLD,), generator=g)
        loss = F.cross_entropy(model(x.chunk(WORLD)[RANK].to(dev)), y.chunk(WORLD)[RANK].to(dev))
        opt.zero_grad()
        loss.backward()
        opt.step()
        ref_loss = F.cross_entropy(reference(x.to(dev)), y.to(dev))
        ref_opt.zero_grad()
        ref_loss.backward()
        ref_opt.step()
sharded = [p.to_local().shape[0] for p in model.parameters()]
full = [p.full_tensor() for p in model.parameters()]
equal = True
for p, q in zip(full, reference.parameters()):
    try:
        torch.testing.assert_close(p.cpu(), q.detach().cpu())
    except AssertionError:
        equal = False
emit({"equal": equal, "max_abs_diff": max((p - q).abs().max().item() for p, q in zip(full, reference.parameters())),
      "sharded_rows": sharded, "collectives": prof.ops()})
dist.destroy_process_group()
'''


def test_fsdp2_trains_on_accel_like_one_process(tmp_path):
    results, outputs = launch(FSDP, 2, tmp_path)
    for rank in range(2):
        r = results[rank]
        assert r is not None, outputs[rank][-3000:]
        assert r["equal"], r["max_abs_diff"]
        assert r["sharded_rows"] == [32, 32, 32, 32, 5, 5]  # each rank holds half of every parameter
        ops = r["collectives"]
        # 4 steps x 3 layers: all-gathers in forward and backward, reduce-scatters of the gradients
        assert ops.get("c10d::all_gather", 0) >= 4 * 3
        assert ops.get("c10d::reduce_scatter", 0) == 4 * 3
