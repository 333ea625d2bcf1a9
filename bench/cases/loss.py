"""Losses (forward, and forward+backward through autograd) on 4M elements and a
[4096, 1024] cross entropy, and one fused/foreach Adam step over a model's worth
of parameters."""
import torch
import torch.nn.functional as F

N = 4 * 1024 * 1024


def _fwd_bwd(loss_fn):
    def run(a, b):
        a = a.detach().requires_grad_(True)
        loss_fn(a, b).backward()
        return a.grad
    return run


def _adam_step(fused):
    def run(*params):
        ps = [p.detach().clone().requires_grad_(True) for p in params]
        for p in ps:
            p.grad = torch.ones_like(p)
        opt = torch.optim.Adam(ps, lr=1e-3, fused=fused, foreach=None if fused else True)
        opt.step()
        return ps[0]
    return run


def cases():
    x, y = torch.randn(N), torch.randn(N)
    logits, target = torch.randn(4096, 1024), torch.randint(0, 1024, (4096,))
    params = tuple(torch.randn(s) for s in [(1024, 1024), (1024,), (1024, 256), (256,)])
    return [
        ("mse_loss f32 4M", lambda a, b: F.mse_loss(a, b), (x, y)),
        ("mse_loss fwd+bwd f32 4M", _fwd_bwd(F.mse_loss), (x, y)),
        ("smooth_l1 fwd+bwd f32 4M", _fwd_bwd(F.smooth_l1_loss), (x, y)),
        ("bce_logits fwd+bwd f32 4M", _fwd_bwd(lambda a, b: F.binary_cross_entropy_with_logits(a, b.sigmoid())), (x, y)),
        ("cross_entropy [4096,1024]", lambda a, b: F.cross_entropy(a, b), (logits, target)),
        ("cross_entropy fwd+bwd [4096,1024]", _fwd_bwd(F.cross_entropy), (logits, target)),
        ("nll_loss tiny (8x4)", lambda a, b: F.nll_loss(a, b), (torch.randn(8, 4), torch.randint(0, 4, (8,)))),
        ("adam foreach step 1.3M params", _adam_step(False), params),
        ("adam fused step 1.3M params", _adam_step(True), params),
    ]
