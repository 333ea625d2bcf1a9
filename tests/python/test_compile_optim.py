"""A compiled optimizer step (torch_accel/compile/optim_fusion.py): the same
numbers as eager's step, one fused program updating every parameter and its
state in place, and accel::fused_eltwise's `out` (in-place, several jobs)."""
import math

import pytest
import torch

import torch_accel

pytestmark = pytest.mark.usefixtures("fresh_dynamo")

OPTIMIZERS = {
    "adamw": lambda p: torch.optim.AdamW(p, lr=1e-2, weight_decay=0.1),
    "adam": lambda p: torch.optim.Adam(p, lr=1e-2),
    "adam_amsgrad_weight_decay": lambda p: torch.optim.Adam(p, lr=1e-2, weight_decay=0.1, amsgrad=True),
    "adamw_capturable": lambda p: torch.optim.AdamW(p, lr=1e-2, capturable=True),
    "rmsprop": lambda p: torch.optim.RMSprop(p, lr=1e-2),
    "sgd_momentum": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
    "sgd_nesterov_weight_decay": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True,
                                                           weight_decay=1e-2),
}


def _model():
    return torch.nn.Sequential(torch.nn.Linear(40, 64), torch.nn.Tanh(), torch.nn.LayerNorm(64),
                               torch.nn.Linear(64, 8))


def _pair(make_opt):
    """Two identical models on accel, one stepped eagerly, one compiled."""
    torch.manual_seed(0)
    eager, comp = _model().to("accel"), _model().to("accel")
    comp.load_state_dict(eager.state_dict())
    return (eager, make_opt(eager.parameters())), (comp, make_opt(comp.parameters()))


def _backward(model, opt, x, y):
    opt.zero_grad()
    ((model(x) - y) ** 2).mean().backward()


def _state_close(got, expected):
    for k, v in expected.items():
        g = got[k]
        if v.dim() == 0:  # step counters: CPU, or accel when capturable
            g, v = g.cpu(), v.cpu()
        torch.testing.assert_close(g, v, msg=lambda m: f"state {k}: {m}")


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_compiled_step_tracks_eager_step(name):
    (m1, o1), (m2, o2) = _pair(OPTIMIZERS[name])
    step = torch.compile(o2.step, backend="accel")
    x, y = torch.randn(16, 40).to("accel"), torch.randn(16, 8).to("accel")
    for i in range(4):
        _backward(m1, o1, x, y)
        _backward(m2, o2, x, y)
        o1.step()
        step()
        for (n, a), b in zip(m1.named_parameters(), m2.parameters()):
            torch.testing.assert_close(b, a, msg=lambda m: f"step {i}, {n}: {m}")
        for a, b in zip(m1.parameters(), m2.parameters()):
            _state_close(o2.state[b], o1.state[a])
    stats = torch_accel.compile_stats()
    assert stats["optimizer_programs"] >= 1
    if name.startswith("adam"):
        # One program for every parameter's update, written in place: no
        # copy back, no list op over the parameters or moments left.
        assert stats["optimizer_programs"] == 1
        if name == "adamw_capturable":
            # The bias corrections over the device's step counters: a few programs
            # on their stack, not one per parameter.
            assert stats["fused_programs"] + stats["eager_op_count"] <= 8, stats  # one pow per parameter before
        else:
            assert stats["fused_programs"] == 1
        assert "copy_.default" not in stats["eager_ops"]
        assert stats["eager_ops"].get("_foreach_add_.Scalar") == 1  # the step counters, in place
        # The bias corrections over the CPU step counters: ops on their stack,
        # not a list op (one CPU op per parameter) each.
        left = [op for op in stats["eager_ops"] if op.startswith("_foreach_") and op != "_foreach_add_.Scalar"]
        assert not left or name == "adamw_capturable", left


def test_param_groups_with_their_own_learning_rates_are_a_program_each():
    (m1, o1), (m2, o2) = _pair(lambda p: torch.optim.AdamW(p, lr=1e-2))
    for opt, model in ((o1, m1), (o2, m2)):
        opt.param_groups.clear()
        opt.add_param_group({"params": list(model[0].parameters()), "lr": 1e-2})
        opt.add_param_group({"params": list(model[3].parameters()), "lr": 1e-3})
    step = torch.compile(o2.step, backend="accel")
    x, y = torch.randn(16, 40).to("accel"), torch.randn(16, 8).to("accel")
    for _ in range(2):
        _backward(m1, o1, x, y)
        _backward(m2, o2, x, y)
        o1.step()
        step()
    for a, b in zip(m1.parameters(), m2.parameters()):
        torch.testing.assert_close(b, a)
    assert torch_accel.compile_stats()["optimizer_programs"] == 2


def _padded_tiles(t):
    return math.ceil(t.numel() / 1024)


def test_compiled_adamw_is_one_program_reading_and_writing_each_tensor_once():
    (m1, o1), (m2, o2) = _pair(OPTIMIZERS["adamw"])
    step = torch.compile(o2.step, backend="accel")
    x, y = torch.randn(16, 40).to("accel"), torch.randn(16, 8).to("accel")
    for model, opt, run in ((m1, o1, o1.step), (m2, o2, step)):
        _backward(model, opt, x, y)
        run()  # the first step creates the state; the compiled one compiles
    with torch_accel.profile() as eager:
        o1.step()
    with torch_accel.profile() as comp:
        step()
    assert len(comp.records) == 1
    rec = comp.records[0]
    assert rec["compute"] == "fused_eltwise" and rec["cores_used"] > 1  # all tensors' tiles split together
    tiles = sum(_padded_tiles(p) for p in m2.parameters())
    assert rec["tiles"] == tiles
    # Reads param, grad, exp_avg, exp_avg_sq; writes param, exp_avg, exp_avg_sq.
    # The bias corrections come from the CPU step counters as runtime arguments.
    assert rec["dram_read_bytes"] == 4 * tiles * 4096
    assert rec["dram_write_bytes"] == 3 * tiles * 4096
    assert comp.total_dram_bytes < eager.total_dram_bytes / 3
    assert comp.total_time_s < eager.total_time_s
    text = torch_accel.compile_explain(lambda: o2.step())
    assert "optimizer-step programs updating parameters and state in place: 1" in text


def test_fused_eltwise_out_updates_an_input_in_place():
    x, y = torch.randn(70, 50), torch.randn(70, 50)
    xa, ya = x.to("accel"), y.to("accel")
    ptr = xa.data_ptr()
    # x is read again after the step whose result goes back into x.
    assert torch.ops.accel.fused_eltwise([xa, ya], "mul %0 #2;add %2 %0;add %3 %1 | %4:float32",
                                         None, [xa]) == []
    assert xa.data_ptr() == ptr
    torch.testing.assert_close(xa.cpu(), x * 2 + x + y)
    # x's new value is an early step's, and a later step still reads the old x.
    z = torch.empty(70, 50, device="accel")
    xa = x.to("accel")
    torch.ops.accel.fused_eltwise([xa], "mul %0 #2;add %1 %0 | %1:float32,%2:float32", None, [xa, z])
    torch.testing.assert_close(xa.cpu(), x * 2)
    torch.testing.assert_close(z.cpu(), x * 3)
    # An output that is an input, while another output overwrites that input.
    old = torch.randn(33, 65)
    a, b = old.to("accel"), torch.empty(33, 65, device="accel")
    torch.ops.accel.fused_eltwise([a], "mul %0 #3 | %1:float32,%0:float32", None, [a, b])
    torch.testing.assert_close(a.cpu(), old * 3)
    torch.testing.assert_close(b.cpu(), old)


def test_fused_eltwise_out_runs_several_jobs_in_one_program():
    shapes = [(70, 50), (7,), (3, 4, 5)]
    ps = [torch.randn(s) for s in shapes]
    gs = [torch.randn(s) for s in shapes]
    scales = [torch.tensor(0.5), torch.tensor(-2.0), torch.tensor(3.0)]  # CPU scalars: runtime arguments
    pa, ga = [p.to("accel") for p in ps], [g.to("accel") for g in gs]
    inputs = [t for job in zip(pa, ga, scales) for t in job]
    with torch_accel.profile() as prof:
        torch.ops.accel.fused_eltwise(inputs, "mul %1 %2;add %0 %3 | %4:float32", None, pa)
    assert len(prof.records) == 1
    tiles = sum(_padded_tiles(p) for p in ps)
    assert prof.records[0]["tiles"] == tiles
    assert prof.records[0]["dram_read_bytes"] == 2 * tiles * 4096
    for p, g, s, got in zip(ps, gs, scales, pa):
        torch.testing.assert_close(got.cpu(), p + g * s)


def test_fused_eltwise_out_rejects_bad_outputs():
    x = torch.randn(64, device="accel")
    fused = torch.ops.accel.fused_eltwise
    with pytest.raises(ValueError, match="partially overlaps|overlaps input"):
        fused([x[:32]], "neg %0 | %1:float32", None, [x[16:48]])
    with pytest.raises(ValueError, match="never read"):  # two inputs for a one-input program
        fused([x, x], "neg %0 | %1:float32", None, [x])
    with pytest.raises(ValueError, match="has shape"):
        fused([x], "neg %0 | %1:float32", None, [torch.empty(8, device="accel")])
    with pytest.raises(TypeError, match="the program writes"):
        fused([x], "neg %0 | %1:float32", None, [torch.empty(64, dtype=torch.bfloat16, device="accel")])
    y = torch.randn(64, device="accel")
    with pytest.raises(ValueError, match="its own job"):  # job 1 would write what job 0 reads
        fused([x, y], "neg %0 | %1:float32", None, [y, torch.empty(64, device="accel")])
    with pytest.raises(ValueError, match="exclusive"):
        fused([x], "neg %0 | %1:float32", [1], [x])
