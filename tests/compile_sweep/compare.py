"""One architecture of the sweep, compiled (backend="accel") against eager
accel: the loss, the logits and every parameter's gradient, and the ops that
fell back to the CPU in each run."""
import copy
import dataclasses
import time

import torch

import torch_accel
from tests.compile_sweep.models import build

# Compiled graphs sum in other orders and keep fused intermediates in fp32, so
# they are held to a gradient's largest element: within these fractions of it.
# fp32 gradients are compared with eager's. bf16 ones with fp32 eager's: a bf16
# model is discontinuous where rounding decides (which experts a router picks,
# which side of zero a ReLU input falls), so two faithful bf16 runs can differ
# far more than either differs from fp32 elsewhere. A compiled bf16 gradient may
# be off fp32 by GRAD_TOLERANCE, or by 1.5x as much as CPU ATen's bf16 gradients
# (eager accel's where CPU ATen cannot run the model).
GRAD_TOLERANCE = {torch.float32: 1e-3, torch.bfloat16: 5e-2}
BF16_SLACK = 1.5
LOGIT_TOLERANCE = {torch.float32: dict(rtol=1e-4, atol=1e-4), torch.bfloat16: dict(rtol=2e-2, atol=2e-2)}
# A gradient under this fraction of the model's largest one is measured
# against that fraction instead of its own largest element: in exact
# arithmetic some are zero (a key projection's bias, which softmax cancels),
# and their rounding noise alone would dwarf them.
NEGLIGIBLE = 1e-2


@dataclasses.dataclass
class Outcome:
    name: str
    dtype: str
    loss_eager: float
    loss_compiled: float
    worst_grad: tuple
    problems: list
    fallbacks_eager: dict
    fallbacks_compiled: dict
    compile_s: float

    @property
    def ok(self):
        return not self.problems and not self.fallbacks_eager and not self.fallbacks_compiled


def _step(model, batch):
    model.zero_grad(set_to_none=True)
    out = model(**batch)
    out.loss.float().backward()
    logits = out.logits.detach().float().cpu()
    grads = {n.removeprefix("_orig_mod."): p.grad.float().cpu() for n, p in model.named_parameters()
             if p.grad is not None}
    return out.loss.detach().float().item(), logits, grads


def _worst(grads, reference):
    """(name, |g - ref| max / |ref| max) of the worst gradient, the negligible ones left out."""
    largest = max((g.abs().max().item() for g in reference.values()), default=0.0)
    worst = ("", 0.0)
    for n, ref in reference.items():
        if n not in grads:
            continue
        rel = (grads[n] - ref).abs().max().item() / max(ref.abs().max().item(), NEGLIGIBLE * largest, 1e-30)
        if rel > worst[1] or rel != rel:
            worst = (n, rel)
    return worst


def _eager_grads(name, dtype, device):
    model, batch = build(name, dtype)
    return _step(model.to(device), {k: v.to(device) for k, v in batch.items()})[2]


def compare(name, dtype=torch.float32):
    model, batch = build(name, dtype)
    model = model.to("accel")
    batch = {k: v.to("accel") for k, v in batch.items()}
    twin = copy.deepcopy(model)
    torch_accel.set_fallback_policy("silent")
    torch_accel.reset_fallback_stats()
    loss_e, logits_e, grads_e = _step(model, batch)
    fallbacks_eager = torch_accel.fallback_stats()
    torch_accel.reset_fallback_stats()
    start = time.perf_counter()
    loss_c, logits_c, grads_c = _step(torch.compile(twin, backend="accel"), batch)
    compile_s = time.perf_counter() - start
    fallbacks_compiled = torch_accel.fallback_stats()

    problems = []
    if not abs(loss_c - loss_e) <= LOGIT_TOLERANCE[dtype]["atol"] + LOGIT_TOLERANCE[dtype]["rtol"] * abs(loss_e):
        problems.append(f"loss {loss_c} against eager's {loss_e}")
    try:
        torch.testing.assert_close(logits_c, logits_e, **LOGIT_TOLERANCE[dtype])
    except AssertionError as e:
        problems.append("logits: " + " ".join(str(e).split()[:24]))
    if grads_c.keys() != grads_e.keys():
        problems.append(f"gradients of {sorted(grads_e.keys() ^ grads_c.keys())} on one side only")
    if dtype == torch.float32:
        worst = _worst(grads_c, grads_e)
        allowed = GRAD_TOLERANCE[dtype]
    else:
        fp32 = _eager_grads(name, torch.float32, "accel")
        worst = _worst(grads_c, fp32)
        # CPU ATen's bf16 run bounds the allowance, so eager accel's own error
        # cannot widen it; eager accel's only where CPU ATen cannot run the model.
        try:
            reference = _worst(_eager_grads(name, dtype, "cpu"), fp32)[1]
        except RuntimeError:
            reference = _worst(grads_e, fp32)[1]
        allowed = max(GRAD_TOLERANCE[dtype], BF16_SLACK * reference)
    if not worst[1] <= allowed:
        problems.append(f"gradient of {worst[0]} off by {worst[1]:.2e} of its largest element "
                        f"(allowed {allowed:.2e})")
    return Outcome(name, str(dtype).removeprefix("torch."), loss_e, loss_c, worst, problems,
                   fallbacks_eager, fallbacks_compiled, compile_s)
