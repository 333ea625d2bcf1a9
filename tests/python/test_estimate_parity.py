"""Estimate == eager, program for program: torch_accel.estimate runs the same
accel kernels and planners as eager with execution left out, so every record
(op, kernels, formats, tiles, cores, bytes, FLOPs, matmul tiles) and its
modelled time must be identical to an eager profile of the same step."""
import copy
import os
import sys

import pytest
import torch
import torch.nn.functional as F
from torch.utils._pytree import tree_flatten

import torch_accel
from accel_subprocess import Proc

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, REPO)
from examples.gpt import GPT, GPTConfig  # noqa: E402
from examples.vision import cnn  # noqa: E402

KEYS = ("op", "reader", "compute", "writer", "compute_engine", "input_format", "output_format",
        "math_fidelity", "fp32_dest_acc", "flops", "dram_read_bytes", "dram_write_bytes",
        "noc_bytes", "tiles", "cores_used", "max_tiles_per_core", "l1_bytes_per_core", "batch",
        "m_tiles", "n_tiles", "k_tiles", "in1_format", "sfpu_function", "multicast_bytes")


def programs(records):
    return [tuple(r[k] for k in KEYS) for r in records]


def assert_same_programs(eager_records, est_records):
    eager, est = programs(eager_records), programs(est_records)
    for i, (a, b) in enumerate(zip(eager, est)):
        assert a == b, f"program {i} differs:\n eager    {a}\n estimate {b}"
    assert len(eager) == len(est), f"{len(eager)} eager programs, {len(est)} estimated"
    assert [r["time_s"] for r in est_records] == \
        pytest.approx([r["time_s"] for r in eager_records], rel=1e-12)


def first_float(out):
    leaves, _ = tree_flatten(out)
    return next(x for x in leaves if isinstance(x, torch.Tensor) and x.is_floating_point())


def to_accel(x, dtype):
    x = x.to("accel")
    return x.to(dtype) if dtype is not None and x.is_floating_point() else x


def eager_profile(model, inputs, training, dtype):
    """What estimate() does, run for real: forward (and backward of the summed
    first floating output, then a steady-state AdamW step)."""
    model = copy.deepcopy(model).to("accel")
    if dtype is not None:
        model = model.to(dtype)
    xs = [to_accel(x, dtype) for x in inputs]

    def forward_backward():
        loss = first_float(model(*xs))
        (loss if loss.numel() == 1 else loss.sum()).backward()

    if not training:
        with torch.no_grad(), torch_accel.profile() as prof:
            model(*xs)
        return prof
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    forward_backward()
    opt.step()  # the step that creates the optimizer state, outside the profile
    opt.zero_grad()
    with torch_accel.profile() as prof:
        forward_backward()
        opt.step()
    return prof


def small_gpt():
    torch.manual_seed(0)
    return GPT(GPTConfig(vocab_size=65, block_size=32, n_layer=2, n_head=4, n_embd=64))


MODELS = {
    "gpt": (small_gpt, lambda: [torch.zeros(2, 32, dtype=torch.long)]),
    "cnn": (lambda: cnn(channels=8), lambda: [torch.randn(4, 1, 8, 8)]),
}


@pytest.mark.parametrize("training", [False, True], ids=["forward", "train_step"])
@pytest.mark.parametrize("dtype", [None, torch.bfloat16], ids=["fp32", "bf16"])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_models_estimate_equals_eager(name, dtype, training):
    make_model, make_inputs = MODELS[name]
    model, inputs = make_model(), make_inputs()
    eager = eager_profile(model, inputs, training, dtype)
    est = torch_accel.estimate(model, *inputs, arch="tiny", training=training, dtype=dtype)
    assert_same_programs(eager.records, est.records)
    assert est.host_fallbacks == eager.host_fallbacks
    ops = est.ops()
    if training:
        assert any(op.startswith("aten::_foreach") for op in ops), ops  # the AdamW step
    if name == "gpt":
        assert any("scaled_dot_product" in op for op in ops), ops
        assert "aten::native_layer_norm" in ops
    else:
        assert "aten::convolution" in ops or "aten::convolution_overrideable" in ops, ops


def strided_ops(a, b, w, x, img, k):
    """Broadcast and strided operands, reductions, norms, attention and conv."""
    y = a.t() @ w[:, ::2]                    # transposed and sliced matmul operands
    y = y + b[::2]                           # a broadcast row
    y = y * a[:, :1].t().sum(0, keepdim=True).t()[:1]
    s = y.sum(0) + y.mean(1).amax() + y.var(1).sum()
    n = F.layer_norm(x, x.shape[-1:]) + F.softmax(x, dim=-1) + F.rms_norm(x, x.shape[-1:])
    q = x.view(2, 8, 2, 8).transpose(1, 2)
    att = F.scaled_dot_product_attention(q, q, q, is_causal=True)
    c = F.conv2d(img, k, padding=1).relu()
    return s.sum() + n.sum() + att.sum() + c.mean()


def strided_inputs():
    torch.manual_seed(0)
    return [torch.randn(40, 24), torch.randn(96), torch.randn(40, 96), torch.randn(2, 8, 16),
            torch.randn(2, 3, 10, 10), torch.randn(4, 3, 3, 3)]


@pytest.mark.parametrize("dtype", [None, torch.bfloat16], ids=["fp32", "bf16"])
def test_broadcast_strided_reductions_norms_attention_conv(dtype):
    inputs = strided_inputs()
    on_device = [to_accel(x, dtype) for x in inputs]
    with torch.no_grad(), torch_accel.profile() as eager:
        strided_ops(*on_device)
    est = torch_accel.estimate(strided_ops, *inputs, arch="tiny", dtype=dtype)
    assert_same_programs(eager.records, est.records)
    ops = est.ops()
    for op in ("aten::sum", "aten::var", "aten::native_layer_norm", "aten::_softmax", "copy"):
        assert any(o.startswith(op) for o in ops), (op, ops)


def test_fallback_is_a_host_fallback_not_a_program():
    x = torch.rand(3, 4) + 0.5
    fn = lambda t: torch.igamma(t, t) * 2  # igamma has no accel kernel
    with torch_accel.profile() as eager:
        fn(x.to("accel"))
    before = torch_accel.fallback_stats()
    est = torch_accel.estimate(fn, x, arch="tiny")
    assert torch_accel.fallback_stats() == before  # nothing ran on the CPU
    assert est.host_fallbacks == {"aten::igamma.out": 1} == eager.host_fallbacks
    assert_same_programs(eager.records, est.records)  # the mul only
    assert [r["op"] for r in est.records] == ["aten::mul"]
    assert "host fallbacks" in est.summary() and "aten::igamma" in est.summary()

    def in_place(t):  # an in-place fallback returns its argument, resized per the meta kernel
        y = t.clone()
        y.igamma_(y)
        return y.exp()
    est = torch_accel.estimate(in_place, x, arch="tiny")
    assert list(est.host_fallbacks) == ["aten::igamma.out"]  # igamma_ lowers to it
    assert [r["op"] for r in est.records][-1].endswith("exp")


SECOND_PRESET = r'''
import torch_accel
from test_estimate_parity import eager_profile, MODELS, KEYS
out = {}
for name in sorted(MODELS):
    make_model, make_inputs = MODELS[name]
    for training in (False, True):
        prof = eager_profile(make_model(), make_inputs(), training, None)
        out[f"{name}-{training}"] = [{k: r[k] for k in KEYS + ("time_s",)} for r in prof.records]
emit({"arch": torch_accel.arch_info()["name"], "records": out})
'''


def test_second_preset_estimate_equals_eager_there():
    """The process emulates `tiny`; an estimate for blackhole_p150 must equal an
    eager profile in a process that emulates blackhole_p150."""
    here = os.path.dirname(os.path.abspath(__file__))
    proc = Proc(SECOND_PRESET, env={"TORCH_ACCEL_ARCH": "blackhole_p150",
                                    "PYTHONPATH": os.pathsep.join([REPO, here])})
    estimates = {}
    for name in sorted(MODELS):
        make_model, make_inputs = MODELS[name]
        for training in (False, True):
            estimates[f"{name}-{training}"] = torch_accel.estimate(
                make_model(), *make_inputs(), arch="blackhole_p150", training=training)
    result = proc.json()
    assert result["arch"] == "blackhole_p150"
    for key, est in estimates.items():
        assert est.arch == "blackhole_p150"
        assert_same_programs(result["records"][key], est.records)


class TiedLM(torch.nn.Module):
    """Input embedding and output head share one weight."""

    def __init__(self):
        super().__init__()
        self.embed = torch.nn.Embedding(50, 32)
        self.norm = torch.nn.LayerNorm(32)
        self.head = torch.nn.Linear(32, 50, bias=False)
        self.head.weight = self.embed.weight

    def forward(self, tokens):
        return self.head(self.norm(self.embed(tokens)))


@pytest.mark.parametrize("training", [False, True], ids=["forward", "train_step"])
def test_tied_weights_estimate_equals_eager(training):
    model, tokens = TiedLM(), torch.zeros(4, 16, dtype=torch.long)
    eager = eager_profile(model, [tokens], training, None)
    est = torch_accel.estimate(model, tokens, arch="tiny", training=training)
    assert_same_programs(eager.records, est.records)


def test_module_to_accel_keeps_tied_weights():
    model = TiedLM()
    tied = model.head.weight
    model.to("accel")
    assert model.head.weight is model.embed.weight is tied
    assert tied.device.type == "accel"
    model.to("cpu")
    assert model.head.weight is model.embed.weight is tied
    assert len(list(model.parameters())) == 3  # the shared weight once, the norm's two


def test_tied_weight_gradients_accumulate_in_the_estimate():
    est = torch_accel.estimate(TiedLM(), torch.zeros(4, 16, dtype=torch.long), arch="tiny",
                               training=True)
    ops = [r["op"] for r in est.records]
    assert ops[ops.index("index_add") + 1] == "aten::add"  # embedding grad + head grad
    assert est.ops()["aten::_foreach_sqrt"] == 1  # one weight, updated once


def test_compute_config_estimate_equals_eager():
    model, inputs = small_gpt(), [torch.zeros(2, 32, dtype=torch.long)]
    with torch_accel.compute_config(math_fidelity="LoFi", fp32_dest_acc=False):
        eager = eager_profile(model, inputs, False, torch.bfloat16)
    est = torch_accel.estimate(model, *inputs, arch="tiny", dtype=torch.bfloat16,
                               compute_config={"math_fidelity": "LoFi", "fp32_dest_acc": False})
    assert_same_programs(eager.records, est.records)
    mm = [r for r in est.records if r["m_tiles"] > 0]
    assert mm and all(r["math_fidelity"] == 1 and not r["fp32_dest_acc"] for r in mm)
