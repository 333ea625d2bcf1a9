"""Recurrent layers on accel against CPU ATen: nn.RNN, nn.GRU and nn.LSTM (layers,
directions, batch_first, bias, initial state) and their Cell modules, forward
outputs, final states and the gradients of the input, the initial state and
every parameter. On accel ATen runs GRU and LSTM cells through the fused
_thnn_fused_*_cell ops, which must run natively: none may fall back to the CPU."""
import copy
import itertools

import pytest
import torch


pytestmark = pytest.mark.usefixtures("no_fallback")

MODULES = {
    "rnn_tanh": lambda **kw: torch.nn.RNN(nonlinearity="tanh", **kw),
    "rnn_relu": lambda **kw: torch.nn.RNN(nonlinearity="relu", **kw),
    "gru": lambda **kw: torch.nn.GRU(**kw),
    "lstm": lambda **kw: torch.nn.LSTM(**kw),
}
INPUT, HIDDEN, SEQ, BATCH = 5, 7, 4, 3


def randn(*shape, seed, dtype=torch.float32):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed)).to(dtype)


def pair(module, dtype=torch.float32):
    torch.manual_seed(0)
    cpu = module().to(dtype)
    return cpu, copy.deepcopy(cpu).to("accel")


def run_on(module, device, inputs):
    """Forward, then backward of a random weighting of every output. Returns
    (outputs, leaf inputs); an LSTM state is a pair."""
    leaves = [t.to(device).detach().requires_grad_() if t is not None else None for t in inputs]
    args = [leaves[0]] + ([tuple(leaves[1:])] if len(leaves) > 2 else leaves[1:2])
    outs = []
    for out in module(*[a for a in args if a is not None]):
        outs += list(out) if isinstance(out, (tuple, list)) else [out]
    loss = sum((o.float() * randn(*o.shape, seed=10 + i).to(device)).sum() for i, o in enumerate(outs))
    loss.backward()
    return outs, leaves


def run_both(cpu_module, dev_module, inputs):
    return run_on(cpu_module, "cpu", inputs), run_on(dev_module, "accel", inputs)


def assert_match(cpu_module, dev_module, results, tol):
    (cpu_outs, cpu_leaves), (dev_outs, dev_leaves) = results
    for i, (c, d) in enumerate(zip(cpu_outs, dev_outs)):
        torch.testing.assert_close(d.cpu(), c, **tol, msg=lambda m: f"output {i}: {m}")
    for i, (c, d) in enumerate(zip(cpu_leaves, dev_leaves)):
        if c is not None:
            torch.testing.assert_close(d.grad.cpu(), c.grad, **tol, msg=lambda m: f"grad of input {i}: {m}")
    dev_params = dict(dev_module.named_parameters())
    for name, p in cpu_module.named_parameters():
        torch.testing.assert_close(dev_params[name].grad.cpu(), p.grad, **tol,
                                   msg=lambda m: f"grad of {name}: {m}")


@pytest.mark.parametrize("kind,num_layers,bidirectional,batch_first,bias,with_state", [
    (k, n, bi, bf, b, s) for k, n, bi, bf, b, s in
    itertools.product(MODULES, (1, 2), (False, True), (False, True), (True, False), (False, True))])
def test_recurrent_layer_matches_cpu(kind, num_layers, bidirectional, batch_first, bias, with_state):
    cpu, dev = pair(lambda: MODULES[kind](input_size=INPUT, hidden_size=HIDDEN, num_layers=num_layers,
                                          bidirectional=bidirectional, batch_first=batch_first, bias=bias))
    x = randn(*((BATCH, SEQ) if batch_first else (SEQ, BATCH)), INPUT, seed=1)
    state_shape = (num_layers * (2 if bidirectional else 1), BATCH, HIDDEN)
    inputs = [x]
    if with_state:
        inputs += [randn(*state_shape, seed=2)] + ([randn(*state_shape, seed=3)] if kind == "lstm" else [])
    assert_match(cpu, dev, run_both(cpu, dev, inputs), {})


def test_lstm_with_projection_matches_cpu():
    cpu, dev = pair(lambda: torch.nn.LSTM(INPUT, HIDDEN, num_layers=2, proj_size=3))
    assert_match(cpu, dev, run_both(cpu, dev, [randn(SEQ, BATCH, INPUT, seed=1)]), {})


def test_unbatched_sequence_matches_cpu():
    cpu, dev = pair(lambda: torch.nn.GRU(INPUT, HIDDEN, num_layers=2))
    assert_match(cpu, dev, run_both(cpu, dev, [randn(SEQ, INPUT, seed=1)]), {})


CELLS = {"rnn_cell": torch.nn.RNNCell, "gru_cell": torch.nn.GRUCell, "lstm_cell": torch.nn.LSTMCell}


@pytest.mark.parametrize("kind,bias,batched", itertools.product(CELLS, (True, False), (True, False)))
def test_cell_matches_cpu(kind, bias, batched):
    cpu, dev = pair(lambda: CELLS[kind](INPUT, HIDDEN, bias=bias))
    lead = (BATCH,) if batched else ()
    inputs = [randn(*lead, INPUT, seed=1), randn(*lead, HIDDEN, seed=2)]
    if kind == "lstm_cell":
        inputs.append(randn(*lead, HIDDEN, seed=3))
    assert_match(cpu, dev, run_both(cpu, dev, inputs), {})


@pytest.mark.parametrize("which", [0, 1])
def test_lstm_cell_gradient_through_one_state(which):
    """Only h (or only c) reaches the loss: the backward gets one undefined gradient."""
    torch.manual_seed(0)
    cpu = torch.nn.LSTMCell(INPUT, HIDDEN)
    dev = copy.deepcopy(cpu).to("accel")
    x, h, c = randn(BATCH, INPUT, seed=1), randn(BATCH, HIDDEN, seed=2), randn(BATCH, HIDDEN, seed=3)
    grads = []
    for module, device in ((cpu, "cpu"), (dev, "accel")):
        leaves = [t.to(device).detach().requires_grad_() for t in (x, h, c)]
        out = module(leaves[0], (leaves[1], leaves[2]))[which]
        (out * randn(BATCH, HIDDEN, seed=4).to(device)).sum().backward()
        grads.append([t.grad.cpu() for t in leaves] + [p.grad.cpu() for p in module.parameters()])
    for d, c in zip(*reversed(grads)):
        torch.testing.assert_close(d, c)


@pytest.mark.parametrize("kind", ["gru_cell", "lstm_cell"])
def test_cell_double_backward_matches_cpu(kind):
    """create_graph: autograd takes the differentiable backward of the fused cells."""
    torch.manual_seed(0)
    cpu = CELLS[kind](INPUT, HIDDEN)
    dev = copy.deepcopy(cpu).to("accel")
    results = []
    for module, device in ((cpu, "cpu"), (dev, "accel")):
        x = randn(BATCH, INPUT, seed=1).to(device).detach().requires_grad_()
        out = module(x)
        out = out[0] if isinstance(out, tuple) else out
        (gx,) = torch.autograd.grad(out.pow(2).sum(), x, create_graph=True)
        gx.pow(2).sum().backward()
        results.append([gx.detach().cpu(), x.grad.cpu()] + [p.grad.cpu() for p in module.parameters()])
    for d, c in zip(results[1], results[0]):
        torch.testing.assert_close(d, c)


def collected(module, results):
    outs, leaves = results
    return ([o.detach().cpu() for o in outs] + [t.grad.cpu() for t in leaves if t is not None]
            + [p.grad.cpu() for p in module.parameters()])


@pytest.mark.parametrize("kind", ["rnn_tanh", "gru", "lstm"])
def test_bfloat16_matches_cpu(kind):
    """Over a sequence, bf16 rounding of every gate sum compounds differently on
    the two devices, so elementwise bf16 tolerances do not apply; this is
    PyTorch's own check of a reduced-precision result against eager's
    (torch._dynamo.utils.same): accel's RMS error against an fp64 run may be at
    most 3x that of CPU bf16 (plus tol/10), with tol = assert_close's bf16 rtol."""
    from torch._dynamo.utils import same

    make = lambda: MODULES[kind](input_size=INPUT, hidden_size=HIDDEN, num_layers=2, bidirectional=True)
    cpu, dev = pair(make, torch.bfloat16)
    torch.manual_seed(0)
    fp64 = make().double()
    x = randn(SEQ, BATCH, INPUT, seed=1)
    cpu_results, dev_results = run_both(cpu, dev, [x.bfloat16()])
    fp64_results = run_on(fp64, "cpu", [x.double()])
    ref, res = collected(cpu, cpu_results), collected(dev, dev_results)
    assert same(ref, res, fp64_ref=collected(fp64, fp64_results), tol=1.6e-2)


def test_fused_cells_reject_bad_shapes():
    gates = torch.randn(BATCH, 4 * HIDDEN, device="accel")
    with pytest.raises(ValueError, match="hidden_gates must have the shape"):
        torch.ops.aten._thnn_fused_lstm_cell(gates, gates[:, :-1], torch.randn(BATCH, HIDDEN, device="accel"))
    with pytest.raises(ValueError, match="the state must be"):
        torch.ops.aten._thnn_fused_lstm_cell(gates, gates, torch.randn(BATCH, HIDDEN + 1, device="accel"))
    with pytest.raises(ValueError, match="multiple of 3"):
        torch.ops.aten._thnn_fused_gru_cell(gates[:, :-2], gates[:, :-2], torch.randn(BATCH, HIDDEN, device="accel"))
    with pytest.raises(ValueError, match="both biases or neither"):
        torch.ops.aten._thnn_fused_gru_cell(gates[:, :3 * HIDDEN], gates[:, :3 * HIDDEN],
                                   torch.randn(BATCH, HIDDEN, device="accel"),
                                   torch.randn(3 * HIDDEN, device="accel"))
