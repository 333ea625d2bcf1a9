"""Matmul-class ops at 1024^2-class sizes (target: <= 1.25x CPU) and a small SDPA."""
import torch
import torch.nn.functional as F


def cases():
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    x, w, bias = torch.randn(4096, 1024), torch.randn(1024, 1024), torch.randn(1024)
    ba, bb = torch.randn(16, 256, 256), torch.randn(16, 256, 256)
    q, k, v = (torch.randn(4, 8, 128, 64) for _ in range(3))
    qc, kc, vc = (torch.randn(8, 4, 128, 32) for _ in range(3))  # the GPT block's heads
    return [
        ("mm f32 1024^3", torch.mm, (a, b)),
        ("mm bf16 1024^3", torch.mm, (a.bfloat16(), b.bfloat16())),
        ("linear f32 4096x1024x1024", F.linear, (x, w, bias)),
        ("bmm f32 16x256^3", torch.bmm, (ba, bb)),
        ("sdpa f32 4x8x128x64", F.scaled_dot_product_attention, (q, k, v)),
        ("sdpa causal f32 8x4x128x32", lambda *t: F.scaled_dot_product_attention(*t, is_causal=True), (qc, kc, vc)),
        ("sdpa causal bf16 8x4x128x32", lambda *t: F.scaled_dot_product_attention(*t, is_causal=True),
         tuple(t.bfloat16() for t in (qc, kc, vc))),
    ]
