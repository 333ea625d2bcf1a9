"""The kernel table covers every kernel the engine launches: a broad set of
ops runs under torch_accel.profile(), and every record's reader, compute and
writer kernel has a description, a cost and an op class from the table.
Unknown kernels are errors."""
import pytest
import torch
import torch.nn.functional as F
import torch_accel
from torch_accel import _C
from torch_accel.profiler import op_class

DEV = "accel"


def _table():
    return {k["name"]: k for k in _C.kernel_table()}


def _eltwise():
    x = torch.randn(40, 50, device=DEV)
    y = torch.rand(40, 50, device=DEV) + 0.5
    i = torch.randint(0, 7, (40, 50), device=DEV)
    for fn in (torch.add, torch.sub, torch.mul, torch.div, torch.maximum, torch.pow,
               torch.remainder, torch.atan2, torch.eq, torch.lt, torch.logical_and):
        fn(x, y)
    for fn in (torch.exp, torch.log1p, torch.sqrt, torch.rsqrt, torch.sigmoid, torch.tanh,
               torch.sin, torch.erf, torch.abs, torch.floor, torch.relu, F.gelu, F.silu, F.mish,
               F.softplus, F.hardswish):
        fn(y)
    for fn in (torch.acos, torch.lgamma, torch.i0, torch.special.bessel_j0, torch.signbit,
               torch.isposinf, F.hardtanh, F.softshrink):
        fn(x)
    for fn in (torch.xlogy, torch.logaddexp, torch.hypot, torch.fmax, torch.special.zeta):
        fn(y, y)
    torch.clamp(x, -y, y)
    torch.bitwise_and(i, 3)
    torch.bitwise_not(i)
    torch.where(x > 0, x, y)
    torch.lerp(x, y, 0.3)
    torch.addcmul(x, x, y, value=0.5)
    torch.addcdiv(x, x, y, value=0.5)
    torch.clamp(x, -0.5, 0.5)
    x[:, ::2] + y[:, ::2]  # strided
    x + y[0]  # broadcast


def _reductions():
    x = torch.randn(30, 70, device=DEV)
    for fn in (torch.sum, torch.mean, torch.amax, torch.argmax, torch.prod, torch.var,
               torch.logsumexp, torch.cumsum):
        fn(x, 1)
    x.sum(0)
    (x > 0).all()
    torch.linalg.vector_norm(x)


def _norms_softmax_attention():
    x = torch.randn(4, 8, 64, device=DEV, requires_grad=True)
    w = torch.randn(64, device=DEV, requires_grad=True)
    y = F.layer_norm(x, (64,), w, w) + F.rms_norm(x, (64,), w) + F.softmax(x, -1)
    y = y + F.log_softmax(x, -1)
    y.sum().backward()
    img = torch.randn(2, 6, 5, 5, device=DEV)
    F.group_norm(img, 3)
    F.batch_norm(img, torch.zeros(6, device=DEV), torch.ones(6, device=DEV), training=True)
    q = torch.randn(1, 2, 64, 32, device=DEV)
    F.scaled_dot_product_attention(q, q, q)


def _matmul_conv_pool():
    a = torch.randn(64, 96, device=DEV, requires_grad=True)
    b = torch.randn(96, 32, device=DEV)
    (a @ b).relu().sum().backward()
    torch.bmm(torch.randn(2, 8, 16, device=DEV), torch.randn(2, 16, 8, device=DEV))
    F.linear(a, b.t(), torch.randn(32, device=DEV))
    img = torch.randn(2, 4, 12, 12, device=DEV, requires_grad=True)
    w = torch.randn(6, 4, 3, 3, device=DEV, requires_grad=True)
    out = F.conv2d(img, w, torch.randn(6, device=DEV), padding=1)
    out = F.max_pool2d(out, 2) + F.avg_pool2d(out, 2)
    out = F.adaptive_avg_pool2d(out, 3) + F.adaptive_max_pool2d(out, 3)
    out = F.interpolate(out, scale_factor=2, mode="bilinear") + F.interpolate(out, scale_factor=2)
    out.sum().backward()


def _movement_sort():
    x = torch.randn(20, 30, device=DEV)
    idx = torch.tensor([3, 1, 7], device=DEV)
    x.t().contiguous()
    torch.cat([x, x])
    x.index_select(0, idx)
    torch.gather(x, 1, torch.zeros(20, 2, dtype=torch.long, device=DEV))
    torch.zeros(20, 30, device=DEV).scatter_add_(1, torch.zeros(20, 30, dtype=torch.long, device=DEV), x)
    x.masked_select(x > 0)
    torch.nonzero(x > 0)
    torch.count_nonzero(x)
    x.masked_fill(x > 0, 1.0)
    torch.tril(x)
    x[idx]
    torch.sort(x, 1)
    torch.topk(x, 3)
    torch.kthvalue(x, 2)
    x.median(1)


def _rng_fills():
    torch.rand(30, device=DEV)
    torch.randn(30, device=DEV)
    torch.randint(0, 9, (30,), device=DEV)
    torch.empty(30, device=DEV).bernoulli_(0.3)
    torch.empty(30, device=DEV).exponential_()
    torch.empty(30, device=DEV).log_normal_()
    F.dropout(torch.ones(30, device=DEV), 0.5)
    torch.randperm(10, device=DEV)
    torch.multinomial(torch.ones(4, 5, device=DEV), 2)
    torch.zeros(5, device=DEV)
    torch.full((5,), 2.0, device=DEV)
    torch.arange(7, device=DEV)
    torch.linspace(0, 1, 5, device=DEV)
    torch.logspace(0, 1, 5, device=DEV)
    torch.eye(4, device=DEV)
    torch.tril_indices(4, 4, device=DEV)


def _losses_optimizers():
    x = torch.rand(8, 5, device=DEV, requires_grad=True)
    y = torch.rand(8, 5, device=DEV)
    loss = F.mse_loss(x, y) + F.smooth_l1_loss(x, y) + F.huber_loss(x, y)
    loss = loss + F.binary_cross_entropy(x, y) + F.cross_entropy(x, torch.arange(8, device=DEV) % 5)
    loss.backward()
    p = torch.nn.Parameter(torch.randn(16, device=DEV))
    for opt in (torch.optim.Adam([p], fused=True), torch.optim.AdamW([p], fused=True),
                torch.optim.SGD([p], lr=0.1, momentum=0.9), torch.optim.Adam([p], foreach=True)):
        p.grad = torch.randn(16, device=DEV)
        opt.step()


FAMILIES = [_eltwise, _reductions, _norms_softmax_attention, _matmul_conv_pool, _movement_sort,
            _rng_fills, _losses_optimizers]


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.__name__.strip("_"))
def test_every_recorded_kernel_has_a_description(family):
    table = _table()
    with torch_accel.profile() as prof:
        family()
    assert prof.records, "no programs ran"
    for r in prof.records:
        where = f"{r['op']}: {r['reader']} / {r['compute']} / {r['writer']}"
        for role in ("reader", "compute", "writer"):
            name = r[role]
            if name:
                assert name in table, f"{where}: no entry for {name}"
                assert table[name]["role"] == role, where
        # A program with no compute kernel is a fill its writer generates.
        assert r["compute"] or table[r["writer"]]["op_class"] == "fill", where
        if r["compute"]:
            assert r["compute_engine"] == table[r["compute"]]["engine"], where
        assert r["time_s"] > 0 and r["op_class"] == op_class(r), where


def test_op_classes_come_from_the_table():
    a = torch.randn(64, 64, device=DEV)
    with torch_accel.profile() as prof:
        a @ a
        a + a
        a.exp()
        F.layer_norm(a, (64,))
        a.sum(1)
        a.t().contiguous()
        torch.zeros(8, device=DEV)
    classes = [r["op_class"] for r in prof.records]
    assert classes == ["matmul", "eltwise_binary", "eltwise_unary", "norm", "reduction",
                       "data_movement", "fill"]


def test_table_describes_engine_flops_and_formats():
    table = _table()
    assert len(table) > 150
    exp, add, band = table["sfpu_exp"], table["eltwise_binary_add"], table["eltwise_binary_bitwise_and"]
    assert (exp["engine"], exp["role"], exp["flops_per_element"]) == ("sfpu", "compute", 10)
    assert exp["sfpu_instructions"] > table["sfpu_relu"]["sfpu_instructions"]
    assert add["engine"] == "fpu" and add["sfpu_instructions"] == 0
    assert "Float16_b" in exp["formats"] and "Bfp8_b" in exp["formats"]
    assert "Float16_b" not in band["formats"] and "Int32" in band["formats"]
    assert table["matmul_block"]["engine"] == "matrix"
    assert table["reader_tilize_interleaved"]["engine"] == "noc"


def test_unknown_kernel_is_an_error():
    record = {"compute": "sfpu_no_such_kernel", "tiles": 4, "cores_used": 4,
              "input_format": "Float32", "dram_read_bytes": 4 * 4096}
    with pytest.raises(ValueError, match="unknown kernel 'sfpu_no_such_kernel'"):
        _C.perf_estimate(record, "wormhole_n150")
    with pytest.raises(ValueError, match="unknown kernel 'reader_nowhere'"):
        _C.perf_estimate({**record, "compute": "sfpu_exp", "reader": "reader_nowhere"})
    with pytest.raises(ValueError, match="is a reader kernel"):
        _C.perf_estimate({**record, "compute": "reader_tilize_interleaved"}, "wormhole_n150")
    with pytest.raises(ValueError, match="does not take data format 'Float32'"):
        _C.perf_estimate({**record, "compute": "eltwise_binary_bitwise_or"}, "wormhole_n150")
    with pytest.raises(ValueError, match="unknown kernel 'sfpu_no_such_kernel'"):
        op_class(record)
