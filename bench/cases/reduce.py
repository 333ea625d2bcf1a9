"""Reductions and scans on 4M elements, a dim reduction of a [2048, 2048], and bf16."""
import torch

N = 4 * 1024 * 1024


def cases():
    x = torch.randn(N)
    m = torch.randn(2048, 2048)
    xb = x.bfloat16()
    return [
        ("sum f32 4M", lambda a: a.sum(), (x,)),
        ("mean f32 4M", lambda a: a.mean(), (x,)),
        ("amax f32 4M", lambda a: a.amax(), (x,)),
        ("var f32 4M", lambda a: a.var(), (x,)),
        ("argmax f32 4M", lambda a: a.argmax(), (x,)),
        ("cumsum f32 4M", lambda a: a.cumsum(0), (x,)),
        ("sum dim0 f32 2048^2", lambda a: a.sum(0), (m,)),
        ("sum dim1 f32 2048^2", lambda a: a.sum(1), (m,)),
        ("max dim1 f32 2048^2", lambda a: a.max(1), (m,)),
        ("sum bf16 4M", lambda a: a.sum(), (xb,)),
        ("sum tiny (8)", lambda a: a.sum(), (torch.randn(8),)),
    ]
