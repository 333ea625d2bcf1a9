"""Element-wise ops on 4M elements, and the per-op overhead on tiny tensors."""
import torch
import torch.nn.functional as F

N = 4 * 1024 * 1024


def cases():
    x, y = torch.randn(N), torch.randn(N)
    wide = x * 30  # activations that push exp into its subnormal range
    xb, yb = x.bfloat16(), y.bfloat16()
    t1, t2 = torch.randn(8), torch.randn(8)
    rows, scale, col = torch.randn(4096, 1024), torch.rand(1024), torch.rand(4096, 1)
    return [
        ("add f32 4M", lambda a, b: a + b, (x, y)),
        ("mul bf16 4M", lambda a, b: a * b, (xb, yb)),
        ("div f32 4M", lambda a, b: a / b, (x, y)),
        ("gt f32 4M", lambda a, b: a > b, (x, y)),
        ("where f32 4M", lambda a, b: torch.where(a > 0, a, b), (x, y)),
        ("relu f32 4M", lambda a: torch.relu(a), (x,)),
        ("exp f32 4M", lambda a: torch.exp(a), (x,)),
        ("gelu f32 4M", lambda a: F.gelu(a), (x,)),
        ("gelu backward f32 4M", lambda g, a: torch.ops.aten.gelu_backward(g, a), (y, x)),
        ("silu bf16 4M", lambda a: F.silu(a), (xb,)),
        ("silu f32 4M", lambda a: F.silu(a), (x,)),
        ("sigmoid f32 4M", lambda a: torch.sigmoid(a), (x,)),
        ("gelu tanh f32 4M", lambda a: F.gelu(a, approximate="tanh"), (x,)),
        ("gelu f32 4M, |x| up to 100", lambda a: F.gelu(a), (wide,)),
        ("gelu tanh f32 4M, |x| up to 100", lambda a: F.gelu(a, approximate="tanh"), (wide,)),
        ("tanh f32 4M", lambda a: torch.tanh(a), (x,)),
        ("mul row broadcast f32 4M", lambda a, b: a * b, (rows, scale)),
        ("mul column broadcast f32 4M", lambda a, b: a * b, (rows, col)),
        ("add tiny (8)", lambda a, b: a + b, (t1, t2)),
        ("exp tiny (8)", lambda a: torch.exp(a), (t1,)),
    ]
