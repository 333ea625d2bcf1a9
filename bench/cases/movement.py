"""Data-movement ops at ~4M elements, an embedding lookup, and tiny-tensor overhead."""
import torch
import torch.nn.functional as F

N = 4 * 1024 * 1024


def cases():
    sq = torch.randn(2048, 2048)
    parts = [torch.randn(1024 * 1024) for _ in range(4)]
    x = torch.randn(N)
    idx = torch.randint(0, 2048, (2048,))
    gidx = torch.randint(0, 2048, (2048, 2048))
    mask = torch.randn(N) > 0
    weight = torch.randn(32 * 1024, 512)
    tokens = torch.randint(0, 32 * 1024, (4096,))
    t8, i8 = torch.randn(8), torch.tensor([3, 1])
    return [
        ("transpose copy f32 2048^2", lambda a: a.t().contiguous(), (sq,)),
        ("transpose copy bf16 2048^2", lambda a: a.t().contiguous(), (sq.bfloat16(),)),
        ("f32->bf16 copy 4M", lambda a: a.to(torch.bfloat16), (x,)),
        ("cat 4 x 1M f32", lambda a, b, c, d: torch.cat([a, b, c, d]), tuple(parts)),
        ("index_select rows 2048^2", lambda a, i: a.index_select(0, i), (sq, idx)),
        ("gather dim1 2048^2", lambda a, i: a.gather(1, i), (sq, gidx)),
        ("scatter_add dim0 2048^2", lambda a, i: torch.zeros_like(a).scatter_add_(0, i, a), (sq, gidx)),
        ("masked_fill f32 4M", lambda a, m: a.masked_fill(m, 0.0), (x, mask)),
        ("masked_select f32 4M", lambda a, m: a[m], (x, mask)),
        ("nonzero bool 4M", lambda m: m.nonzero(), (mask,)),
        ("embedding 32k x 512, 4096", lambda w, t: F.embedding(t, w), (weight, tokens)),
        ("embedding bf16 32k x 512", lambda w, t: F.embedding(t, w), (weight.bfloat16(), tokens)),
        ("flip f32 2048^2", lambda a: a.flip(1), (sq,)),
        ("tril f32 2048^2", lambda a: a.tril(), (sq,)),
        ("index_select tiny (8)", lambda a, i: a.index_select(0, i), (t8, i8)),
        ("cat tiny (8)", lambda a: torch.cat([a, a]), (t8,)),
    ]
