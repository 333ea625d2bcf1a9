"""The compiled graphs' C++ runner (torch_accel/compile/runner.py,
csrc/python/graph_runner.cpp): it takes the example models' graphs, computes
exactly what the graphs' generated Python code computes, frees values as
that code does, keeps Python's number semantics and error types, and a
graph it cannot take runs its generated code."""
import copy
import operator

import pytest
import torch
import torch.fx
import torch.nn.functional as F

import torch_accel
from torch_accel.compile import runner

from examples.gpt import GPT, GPTConfig
from examples.vision import cnn

pytestmark = pytest.mark.usefixtures("no_fallback")


def _gpt_steps(monkeypatch, use_runner, steps=2):
    monkeypatch.setenv("TORCH_ACCEL_GRAPH_RUNNER", "1" if use_runner else "0")
    torch._dynamo.reset()
    torch.manual_seed(0)
    cfg = GPTConfig(vocab_size=17, block_size=16, n_layer=2, n_head=2, n_embd=32)
    model = GPT(cfg).to("accel")
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    run, step = torch.compile(model, backend="accel"), torch.compile(opt.step, backend="accel")
    gen = torch.Generator().manual_seed(1)
    idx = torch.randint(0, 17, (4, 16), generator=gen).to("accel")
    tgt = torch.randint(0, 17, (4, 16), generator=gen).to("accel")
    losses = []
    for _ in range(steps):
        _, loss = run(idx, tgt)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        step()
        losses.append(loss.detach().cpu())
    return losses, [p.detach().cpu() for p in model.parameters()]


def test_runner_computes_what_the_generated_code_computes(monkeypatch):
    """The same ops in the same order: a compiled GPT's training steps (forward,
    backward, AdamW) give the same bits either way, and every graph ran on
    the runner."""
    torch_accel.reset_compile_stats()
    losses, params = _gpt_steps(monkeypatch, use_runner=True)
    stats = torch_accel.compile_stats()
    assert stats["graphs"] == 3 and stats["runner_graphs"] == 3
    torch_accel.reset_compile_stats()
    ref_losses, ref_params = _gpt_steps(monkeypatch, use_runner=False)
    assert torch_accel.compile_stats()["runner_graphs"] == 0
    for a, b in zip(losses + params, ref_losses + ref_params):
        assert torch.equal(a, b)


def test_runner_takes_the_cnn_graphs_and_wrapped_numbers(monkeypatch):
    """The CNN's training graphs (batch-norm counters add a Python 1 to an
    int64 tensor) and its SGD step all run on the runner, matching eager."""
    torch.manual_seed(0)
    model = cnn(8)
    compiled_model = copy.deepcopy(model).to("accel")
    eager_model = model.to("accel")
    x = torch.randn(16, 1, 8, 8).to("accel")
    y = torch.randint(0, 10, (16,)).to("accel")
    torch._dynamo.reset()
    torch_accel.reset_compile_stats()
    compiled = torch.compile(compiled_model, backend="accel")
    F.cross_entropy(compiled(x), y).backward()
    F.cross_entropy(eager_model(x), y).backward()
    stats = torch_accel.compile_stats()
    assert stats["runner_graphs"] == stats["graphs"] == 2
    for a, b in zip(compiled_model.parameters(), eager_model.parameters()):
        torch.testing.assert_close(a.grad.cpu(), b.grad.cpu())
    for a, b in zip(compiled_model.buffers(), eager_model.buffers()):
        assert a.dtype == b.dtype
        torch.testing.assert_close(a.cpu(), b.cpu())


def test_python_numbers_keep_their_type_promotion():
    """A number where the schema takes a tensor is a wrapped number, as in
    torch's Python calls: it does not widen a bf16 or an int tensor."""
    def f(x, i):
        return torch.ops.aten.mul.Tensor(x, 2.5), torch.ops.aten.add.Tensor(i, 3), torch.ops.aten.add.Tensor(i, 0.5)

    x = torch.randn(5, dtype=torch.bfloat16)
    i = torch.arange(5)
    torch._dynamo.reset()
    out = torch.compile(f, backend="accel")(x.to("accel"), i.to("accel"))
    for got, want in zip(out, f(x, i)):
        assert got.dtype == want.dtype
        torch.testing.assert_close(got.cpu(), want)


def test_values_are_freed_after_their_last_reader(monkeypatch):
    """A chain of large intermediates peaks no higher on the runner than in
    the generated code, which drops each value after its last use."""
    def chain(x):
        for _ in range(6):
            x = torch.matmul(x, x) * 0.01
        return x.sum()

    x = torch.randn(512, 512).to("accel")
    peaks = {}
    for flag in ("1", "0"):
        monkeypatch.setenv("TORCH_ACCEL_GRAPH_RUNNER", flag)
        torch._dynamo.reset()
        compiled = torch.compile(chain, backend="accel")
        compiled(x)
        torch.accel.synchronize()
        torch.accel.reset_peak_memory_stats()
        base = torch.accel.memory_allocated()
        compiled(x)
        peaks[flag] = torch.accel.max_memory_allocated() - base
    assert peaks["1"] <= peaks["0"]
    assert peaks["1"] <= 3 * 512 * 512 * 4  # the input's successor pair and a product, not all six


def test_errors_keep_their_python_type():
    """An op's error inside a graph on the runner reaches the caller as the
    Python exception eager raises (here: the DRAM capacity)."""
    def grow(x):
        return (x.expand(100_000, 100_000) * 2).sum()

    torch._dynamo.reset()
    with pytest.raises(torch.OutOfMemoryError, match="out of memory"):
        torch.compile(grow, backend="accel")(torch.ones(100_000).to("accel"))


def test_a_graph_the_runner_cannot_take_runs_its_generated_code():
    """A call that is not an operator (here a Python function) leaves the
    graph to its generated code: build() says so with None."""
    def double(t):
        return t * 2

    graph = torch.fx.Graph()
    x = graph.placeholder("x")
    y = graph.call_function(torch.ops.aten.add.Tensor, (x, x))
    z = graph.call_function(double, (y,))
    graph.output((z,))
    assert runner.build(torch.fx.GraphModule(torch.nn.Module(), graph)) is None

    graph = torch.fx.Graph()
    x = graph.placeholder("x")
    parts = graph.call_function(torch.ops.aten.split.Tensor, (x, 2))
    first = graph.call_function(operator.getitem, (parts, 0))
    graph.output((graph.call_function(torch.ops.aten.mul.Tensor, (first, 3.0)),))
    run = runner.build(torch.fx.GraphModule(torch.nn.Module(), graph))
    assert run is not None
    t = torch.arange(4.0).to("accel")
    (out,) = run([t])
    torch.testing.assert_close(out.cpu(), torch.tensor([0.0, 3.0]))


def test_graph_numbers_where_the_schema_converts_them_stay_with_the_generated_code():
    """A size of a symbolic shape multiplies a tensor: the generated code makes
    it a tensor, so that graph runs there, and compiled matches eager on two
    shapes (the second call recompiles symbolically)."""
    def scale_by_rows(x):
        return x * x.shape[0]

    torch._dynamo.reset()
    compiled = torch.compile(scale_by_rows, backend="accel", dynamic=True)
    for rows in (3, 5):
        x = torch.randn(rows, 4)
        torch.testing.assert_close(compiled(x.to("accel")).cpu(), scale_by_rows(x))


def test_negative_item_index_stays_with_the_generated_code():
    graph = torch.fx.Graph()
    x = graph.placeholder("x")
    parts = graph.call_function(torch.ops.aten.split.Tensor, (x, 2))
    graph.output((graph.call_function(operator.getitem, (parts, -1)),))
    assert runner.build(torch.fx.GraphModule(torch.nn.Module(), graph)) is None
