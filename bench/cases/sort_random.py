"""Sort family on [4096, 1024] rows, factories and random ops on 4M elements,
and the per-op overhead of a factory and a random op on tiny tensors."""
import torch
import torch.nn.functional as F

N = 4 * 1024 * 1024


def _on(x):
    return dict(device=x.device)


def cases():
    rows = torch.randn(4096, 1024)
    like = torch.empty(N)
    tiny = torch.empty(8)
    return [
        ("sort f32 [4096,1024]", lambda a: torch.sort(a, dim=-1), (rows,)),
        ("argsort f32 [4096,1024]", lambda a: torch.argsort(a, dim=-1, stable=True), (rows,)),
        ("topk k=16 [4096,1024]", lambda a: torch.topk(a, 16, dim=-1), (rows,)),
        ("randn f32 4M", lambda a: torch.randn(N, **_on(a)), (like,)),
        ("rand f32 4M", lambda a: torch.rand(N, **_on(a)), (like,)),
        ("dropout f32 4M", lambda a: F.dropout(a, 0.5, training=True), (torch.ones(N),)),
        ("arange 4M", lambda a: torch.arange(N, **_on(a)), (like,)),
        ("zeros f32 4M", lambda a: torch.zeros(N, **_on(a)), (like,)),
        ("full f32 4M", lambda a: torch.full((N,), 1.5, **_on(a)), (like,)),
        ("zeros tiny (8)", lambda a: torch.zeros(8, **_on(a)), (tiny,)),
        ("rand tiny (8)", lambda a: torch.rand(8, **_on(a)), (tiny,)),
        ("sort tiny (8)", lambda a: torch.sort(a), (torch.randn(8),)),
    ]
