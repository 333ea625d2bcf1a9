"""Optimizers, gradient clipping, schedulers and zero_grad on accel: each step
equals the CPU step, foreach and not (and fused Adam/AdamW), with no fallback."""
import pytest
import torch
import torch_accel

pytestmark = pytest.mark.usefixtures("fallback_is_error", "no_fallback")

DEV = "accel"


def _model(device, dtype=torch.float32):
    torch.manual_seed(0)
    m = torch.nn.Sequential(torch.nn.Linear(9, 40), torch.nn.Tanh(), torch.nn.Linear(40, 3))
    return m.to(device=device, dtype=dtype)


def _train(device, make_opt, steps, dtype=torch.float32, clip=None):
    model = _model(device, dtype)
    opt = make_opt(model.parameters())
    torch.manual_seed(1)
    xs = [torch.randn(6, 9, dtype=dtype).to(device) for _ in range(steps)]
    for x in xs:
        opt.zero_grad(set_to_none=True)
        model(x).pow(2).mean().backward()
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
    return [p.detach().cpu() for p in model.parameters()], opt


OPTIMIZERS = {
    "sgd": lambda ps, **kw: torch.optim.SGD(ps, lr=0.1, **kw),
    "sgd_momentum": lambda ps, **kw: torch.optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01, **kw),
    "sgd_nesterov": lambda ps, **kw: torch.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, **kw),
    "adam": lambda ps, **kw: torch.optim.Adam(ps, lr=0.01, weight_decay=0.01, **kw),
    "adam_amsgrad": lambda ps, **kw: torch.optim.Adam(ps, lr=0.01, amsgrad=True, **kw),
    "adamw": lambda ps, **kw: torch.optim.AdamW(ps, lr=0.01, **kw),
    "rmsprop": lambda ps, **kw: torch.optim.RMSprop(ps, lr=0.01, momentum=0.5, centered=True, **kw),
    "rmsprop_plain": lambda ps, **kw: torch.optim.RMSprop(ps, lr=0.01, **kw),
}


@pytest.mark.parametrize("steps", [1, 4])
@pytest.mark.parametrize("foreach", [False, True])
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_step_equals_cpu(name, foreach, steps):
    make = lambda ps: OPTIMIZERS[name](ps, foreach=foreach)
    cpu, _ = _train("cpu", make, steps)
    acc, _ = _train(DEV, make, steps)
    for a, c in zip(acc, cpu):
        torch.testing.assert_close(a, c, atol=2e-5, rtol=2e-5)


@pytest.mark.parametrize("amsgrad", [False, True])
@pytest.mark.parametrize("name", ["adam", "adamw"])
def test_fused_adam_equals_cpu_fused(name, amsgrad):
    cls = torch.optim.Adam if name == "adam" else torch.optim.AdamW
    make = lambda ps: cls(ps, lr=0.01, weight_decay=0.05, amsgrad=amsgrad, fused=True)
    cpu, _ = _train("cpu", make, 3)
    acc, opt = _train(DEV, make, 3)
    for a, c in zip(acc, cpu):
        torch.testing.assert_close(a, c, atol=2e-5, rtol=2e-5)
    assert opt.state[next(iter(opt.state))]["exp_avg"].device.type == "accel"


def test_fused_adam_tensor_lr_and_maximize():
    make = lambda ps: torch.optim.Adam(ps, lr=torch.tensor(0.01), maximize=True, fused=True)
    cpu, _ = _train("cpu", make, 2)
    acc, _ = _train(DEV, make, 2)
    for a, c in zip(acc, cpu):
        torch.testing.assert_close(a, c, atol=2e-5, rtol=2e-5)


def test_fused_adam_bfloat16_params():
    make = lambda ps: torch.optim.AdamW(ps, lr=0.01, fused=True)
    cpu, _ = _train("cpu", make, 2, dtype=torch.bfloat16)
    acc, _ = _train(DEV, make, 2, dtype=torch.bfloat16)
    for a, c in zip(acc, cpu):
        torch.testing.assert_close(a.float(), c.float(), atol=2e-2, rtol=2e-2)


@pytest.mark.parametrize("foreach", [False, True])
def test_clip_grad_norm_and_value(foreach):
    def grads(device):
        torch.manual_seed(2)
        ps = [torch.nn.Parameter(torch.randn(s).to(device)) for s in [(30, 7), (7,), (1,)]]
        for p in ps:
            p.grad = torch.randn(p.shape).to(device) * 10
        return ps
    pc, pa = grads("cpu"), grads(DEV)
    nc = torch.nn.utils.clip_grad_norm_(pc, 1.5, foreach=foreach)
    na = torch.nn.utils.clip_grad_norm_(pa, 1.5, foreach=foreach)
    torch.testing.assert_close(na.cpu(), nc)
    ni = torch.nn.utils.clip_grad_norm_(pa, 1.0, norm_type=float("inf"), foreach=foreach)
    torch.testing.assert_close(ni.cpu(), torch.nn.utils.clip_grad_norm_(pc, 1.0, norm_type=float("inf"),
                                                                        foreach=foreach))
    torch.nn.utils.clip_grad_value_(pc, 0.05, foreach=foreach)
    torch.nn.utils.clip_grad_value_(pa, 0.05, foreach=foreach)
    for a, c in zip(pa, pc):
        torch.testing.assert_close(a.grad.cpu(), c.grad)


def test_training_with_clipping_equals_cpu():
    make = lambda ps: torch.optim.AdamW(ps, lr=0.01, foreach=True)
    cpu, _ = _train("cpu", make, 3, clip=0.1)
    acc, _ = _train(DEV, make, 3, clip=0.1)
    for a, c in zip(acc, cpu):
        torch.testing.assert_close(a, c, atol=2e-5, rtol=2e-5)


def test_lr_schedulers():
    def run(device):
        model = _model(device)
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        sched = torch.optim.lr_scheduler.SequentialLR(
            opt, [torch.optim.lr_scheduler.LinearLR(opt, 0.1, 1.0, 2),
                  torch.optim.lr_scheduler.CosineAnnealingLR(opt, 5)], milestones=[2])
        lrs = []
        x = torch.randn(4, 9).to(device)
        for _ in range(6):
            opt.zero_grad()
            model(x).sum().backward()
            opt.step()
            sched.step()
            lrs.append(sched.get_last_lr()[0])
        return lrs, [p.detach().cpu() for p in model.parameters()]
    torch.manual_seed(5)
    lc, pc = run("cpu")
    torch.manual_seed(5)
    la, pa = run(DEV)
    assert la == lc
    for a, c in zip(pa, pc):
        torch.testing.assert_close(a, c, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("set_to_none", [False, True])
def test_zero_grad(set_to_none):
    model = _model(DEV)
    opt = torch.optim.Adam(model.parameters())
    model(torch.randn(2, 9, device=DEV)).sum().backward()
    opt.zero_grad(set_to_none=set_to_none)
    for p in model.parameters():
        if set_to_none:
            assert p.grad is None
        else:
            assert p.grad.device.type == "accel" and not p.grad.cpu().any()


def test_optimizer_step_runs_native_programs():
    model = _model(DEV)
    opt = torch.optim.Adam(model.parameters(), foreach=True)
    model(torch.randn(2, 9, device=DEV)).sum().backward()
    with torch_accel.profile() as prof:
        opt.step()
    assert any(op.startswith("aten::_foreach_") for op in prof.ops())
    opt = torch.optim.Adam(model.parameters(), fused=True)
    with torch_accel.profile() as prof:
        opt.step()
    assert "aten::_fused_adam_" in prof.ops()
