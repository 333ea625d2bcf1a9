"""Normalisation ops on 4M elements, float32 and bfloat16."""
import torch
import torch.nn.functional as F

ROWS, COLS = 4096, 1024


def cases():
    x = torch.randn(ROWS, COLS)
    xb = x.bfloat16()
    w, b = torch.randn(COLS), torch.randn(COLS)
    img = torch.randn(16, 64, 64, 64)
    ch_w, ch_b, rm, rv = torch.randn(64), torch.randn(64), torch.zeros(64), torch.ones(64)
    return [
        ("softmax f32 4M", lambda a: torch.softmax(a, -1), (x,)),
        ("softmax bf16 4M", lambda a: torch.softmax(a, -1), (xb,)),
        ("log_softmax f32 4M", lambda a: torch.log_softmax(a, -1), (x,)),
        ("softmax dim0 f32 4M", lambda a: torch.softmax(a, 0), (x,)),
        ("layer_norm f32 4M", lambda a, w, b: F.layer_norm(a, (COLS,), w, b), (x, w, b)),
        ("layer_norm bf16 4M", lambda a, w, b: F.layer_norm(a, (COLS,), w, b), (xb, w.bfloat16(), b.bfloat16())),
        ("rms_norm f32 4M", lambda a, w: F.rms_norm(a, (COLS,), w), (x, w)),
        ("rms_norm bf16 4M", lambda a, w: F.rms_norm(a, (COLS,), w), (xb, w.bfloat16())),
        ("batch_norm train f32 4M", lambda a, w, b, m, v: F.batch_norm(a, m, v, w, b, training=True),
         (img, ch_w, ch_b, rm, rv)),
        ("batch_norm eval f32 4M", lambda a, w, b, m, v: F.batch_norm(a, m, v, w, b, training=False),
         (img, ch_w, ch_b, rm, rv)),
        ("batch_norm train bf16 4M", lambda a, w, b, m, v: F.batch_norm(a, m, v, w, b, training=True),
         (img.bfloat16(), ch_w, ch_b, rm, rv)),
        ("group_norm f32 4M", lambda a, w, b: F.group_norm(a, 8, w, b), (img, ch_w, ch_b)),
    ]
