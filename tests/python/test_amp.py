"""torch.autocast("accel") dtype rules and torch.amp.GradScaler("accel"),
checked against CPU autocast/GradScaler semantics, with no CPU fallback."""
import pytest
import torch
import torch.nn.functional as F

pytestmark = pytest.mark.usefixtures("fallback_is_error", "no_fallback")

DEV = "accel"
LOW = [torch.bfloat16, torch.float16]


def test_device_module_has_what_autocast_needs():
    assert set(torch.accel.get_amp_supported_dtype()) == set(LOW)
    assert torch.accel.is_bf16_supported()
    assert torch.amp.is_autocast_available(DEV)


@pytest.mark.parametrize("dtype", LOW)
def test_matmul_class_ops_run_low_precision(dtype):
    a, b = torch.randn(8, 16, device=DEV), torch.randn(16, 4, device=DEV)
    img, w = torch.randn(1, 3, 8, 8, device=DEV), torch.randn(4, 3, 3, 3, device=DEV)
    q = torch.randn(1, 2, 8, 16, device=DEV)
    lin = torch.nn.Linear(16, 4).to(DEV)
    with torch.autocast(DEV, dtype=dtype):
        outs = [a @ b, torch.mm(a, b), torch.addmm(torch.zeros(4, device=DEV), a, b),
                torch.bmm(a[None], b[None]), lin(a), F.conv2d(img, w),
                F.conv1d(img[:, :, 0], w[:, :, 0]), F.scaled_dot_product_attention(q, q, q),
                F.conv_transpose2d(img, w.transpose(0, 1))]
        # Ops with no rule keep their input dtype.
        kept = torch.relu(a)
    for o in outs:
        assert o.dtype == dtype
    assert kept.dtype == torch.float32
    torch.testing.assert_close(outs[0].float(), (a @ b), atol=0.1, rtol=0.05)


@pytest.mark.parametrize("dtype", LOW)
def test_fp32_ops_and_losses_run_float32(dtype):
    x = torch.randn(8, 5, device=DEV).to(dtype)
    t = torch.randint(0, 5, (8,), device=DEV)
    with torch.autocast(DEV, dtype=dtype):
        outs = [torch.exp(x), torch.log(x.abs() + 1), torch.pow(x, 2), x.sum(), torch.softmax(x, 1),
                torch.log_softmax(x, 1), F.layer_norm(x, (5,)), F.cross_entropy(x, t),
                F.mse_loss(x, x.flip(0)), F.binary_cross_entropy_with_logits(x, x.sigmoid()),
                F.smooth_l1_loss(x, x.flip(0)), F.l1_loss(x, x.flip(0))]
    for o in outs:
        assert o.dtype == torch.float32


@pytest.mark.parametrize("dtype", LOW)
def test_promote_ops_take_widest(dtype):
    a = torch.randn(4, device=DEV)
    with torch.autocast(DEV, dtype=dtype):
        assert torch.addcmul(a, a.to(dtype), a.to(dtype)).dtype == torch.float32
        assert torch.atan2(a.to(dtype), a).dtype == torch.float32


def test_binary_cross_entropy_is_refused_under_autocast():
    p = torch.rand(4, device=DEV)
    with torch.autocast(DEV, dtype=torch.bfloat16):
        with pytest.raises(RuntimeError, match="unsafe to autocast"):
            F.binary_cross_entropy(p, p)


def test_autocast_training_step_matches_cpu_autocast():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(12, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
    x, t = torch.randn(10, 12), torch.randint(0, 3, (10,))
    ref = [p.detach().clone() for p in model.parameters()]
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss_c = F.cross_entropy(model(x), t)
    loss_c.backward()
    model_a = torch.nn.Sequential(torch.nn.Linear(12, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3)).to(DEV)
    with torch.no_grad():
        for p, r in zip(model_a.parameters(), ref):
            p.copy_(r)
    with torch.autocast(DEV, dtype=torch.bfloat16):
        loss_a = F.cross_entropy(model_a(x.to(DEV)), t.to(DEV))
    assert loss_a.dtype == torch.float32
    loss_a.backward()
    torch.testing.assert_close(loss_a.cpu(), loss_c, atol=2e-2, rtol=2e-2)
    for pa, pc in zip(model_a.parameters(), model.parameters()):
        assert pa.grad.dtype == torch.float32
        torch.testing.assert_close(pa.grad.cpu(), pc.grad, atol=3e-2, rtol=5e-2)


def test_unscale_and_inf_check_natively():
    grads = [torch.randn(70, 33), torch.randn(5), torch.randn(3, 4).t()]
    acc = [g.to(DEV) for g in grads]
    found = torch.zeros(1, device=DEV)
    torch._amp_foreach_non_finite_check_and_unscale_(acc, found, torch.full((1,), 0.25, device=DEV))
    assert found.item() == 0
    for a, g in zip(acc, grads):
        torch.testing.assert_close(a.cpu(), g * 0.25)
    acc[1][2] = float("inf")
    torch._amp_foreach_non_finite_check_and_unscale_(acc, found, torch.ones(1, device=DEV))
    assert found.item() == 1
    nan_found = torch.zeros(1, device=DEV)
    torch._amp_foreach_non_finite_check_and_unscale_([torch.tensor([float("nan")], device=DEV).half()],
                                                     nan_found, torch.ones(1, device=DEV))
    assert nan_found.item() == 1


@pytest.mark.parametrize("found_inf", [0.0, 1.0])
@pytest.mark.parametrize("tracker", [0, 1])
def test_update_scale_matches_cpu(found_inf, tracker):
    def run(device):
        scale = torch.full((1,), 1024.0, device=device)
        growth = torch.full((1,), tracker, dtype=torch.int32, device=device)
        torch._amp_update_scale_(scale, growth, torch.full((1,), found_inf, device=device), 2.0, 0.5, 2)
        return scale.cpu(), growth.cpu()
    c, a = run("cpu"), run(DEV)
    torch.testing.assert_close(a[0], c[0])
    torch.testing.assert_close(a[1], c[1])


def _scaler_run(device, inject_inf, fused=False):
    torch.manual_seed(1)
    model = torch.nn.Linear(6, 3).to(device)
    opt = (torch.optim.Adam(model.parameters(), lr=0.1, fused=True) if fused
           else torch.optim.SGD(model.parameters(), lr=0.1))
    scaler = torch.amp.GradScaler(device, init_scale=256.0, growth_interval=1)
    x = torch.randn(4, 6).to(device)
    with torch.autocast(device, dtype=torch.float16 if device == DEV else torch.bfloat16):
        loss = model(x).float().pow(2).mean()
    scaler.scale(loss).backward()
    if inject_inf:
        model.weight.grad[0, 0] = float("inf")
    before = [p.detach().cpu().clone() for p in model.parameters()]
    scaler.step(opt)
    scaler.update()
    after = [p.detach().cpu() for p in model.parameters()]
    return before, after, scaler.get_scale()


@pytest.mark.parametrize("fused", [False, True])
def test_grad_scaler_skips_step_on_inf(fused):
    before, after, scale = _scaler_run(DEV, inject_inf=True, fused=fused)
    for b, a in zip(before, after):
        torch.testing.assert_close(a, b)
    assert scale == 128.0
    before, after, scale = _scaler_run(DEV, inject_inf=False, fused=fused)
    assert any(not torch.equal(a, b) for a, b in zip(before, after))
    assert scale == 512.0


def test_grad_scaler_step_matches_cpu_scaler():
    # Same model and inputs without autocast: the scaled, unscaled step equals CPU's.
    def run(device):
        torch.manual_seed(3)
        model = torch.nn.Linear(5, 2).to(device)
        opt = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
        scaler = torch.amp.GradScaler(device, init_scale=2.0 ** 10)
        x = torch.randn(7, 5).to(device)
        for _ in range(3):
            opt.zero_grad()
            scaler.scale(model(x).pow(2).mean()).backward()
            scaler.step(opt)
            scaler.update()
        return [p.detach().cpu() for p in model.parameters()], scaler.get_scale()
    (pc, sc), (pa, sa) = run("cpu"), run(DEV)
    assert sa == sc
    for a, c in zip(pa, pc):
        torch.testing.assert_close(a, c, atol=1e-5, rtol=1e-5)
