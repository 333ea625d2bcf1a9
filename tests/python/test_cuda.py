"""The GPU executor (docs/CUDA.md). Without a usable GPU only its switch,
counters and error messages are tested; every comparison of GPU against CPU
kernels skips with the reason. With a GPU, each heavy program runs on both
executors: bitwise equal where every partial sum is exact (integer operands,
so any summation order gives the same bits and the fidelity masks and bf16
rounding are what is compared), within torch's default tolerance for the
dtype elsewhere (the CPU's BLAS and the GPU sum K in different orders)."""
import contextlib

import pytest
import torch
import torch.nn.functional as F

import torch_accel
from accel_subprocess import Proc
from torch_accel import cuda_exec

AVAILABLE, REASON = cuda_exec._availability()
needs_gpu = pytest.mark.skipif(
    not AVAILABLE, reason=REASON if "no GPU visible" in REASON else f"no GPU visible ({REASON})")
FIDELITIES = ["LoFi", "HiFi2", "HiFi3", "HiFi4"]
# torch.testing.assert_close's defaults for bfloat16, for results accumulated in a bf16 Dst.
BF16_TOL = dict(rtol=1.6e-2, atol=1e-5)


@pytest.fixture(autouse=True)
def _every_product_on_the_gpu():
    """The tests compare small products too, which the executor would leave to the CPU."""
    before = cuda_exec.min_multiplies()
    cuda_exec.set_min_multiplies(0)
    yield
    cuda_exec.set_min_multiplies(before)


@contextlib.contextmanager
def executor(on):
    before = cuda_exec.enabled()
    cuda_exec.set_enabled(on)
    try:
        yield
    finally:
        cuda_exec.set_enabled(before)


def on_both(fn, *tensors, fidelity="HiFi4", fp32_dest_acc=True):
    """fn(*accel tensors) on the CPU kernels, then on the GPU: both results on the CPU."""
    outs = []
    for on in (False, True):
        config = torch_accel.compute_config(math_fidelity=fidelity, fp32_dest_acc=fp32_dest_acc)
        with executor(on), config:
            args = [t.to("accel") for t in tensors]
            out = fn(*args)
            outs.append([o.cpu() for o in out] if isinstance(out, (tuple, list)) else out.cpu())
    return outs


def integers(*shape, dtype, bound=255, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(-bound, bound + 1, shape, generator=g).to(dtype)


# --- always run --------------------------------------------------------------

def test_stats_shape_and_counts():
    torch_accel.reset_cuda_stats()
    stats = torch_accel.cuda_stats()
    assert set(stats) == {"built", "available", "reason", "enabled", "cpu_programs",
                          "cuda_programs", "cuda_products"}
    assert stats["cpu_programs"] == stats["cuda_programs"] == stats["cuda_products"] == 0
    assert stats["built"] == cuda_exec.built()
    x = torch.randn(8, 8, device="accel")
    (x @ x).cpu()
    stats = torch_accel.cuda_stats()
    assert stats["cpu_programs"] >= 1
    assert stats["cuda_programs"] == 0  # the executor is off unless asked for


@pytest.mark.skipif(AVAILABLE, reason="a GPU is visible: the executor can run")
def test_configure_cuda_without_gpu_names_why():
    assert torch_accel.cuda_stats()["available"] is False
    assert REASON.startswith("GPU executor unavailable: ")
    with pytest.raises(RuntimeError, match="GPU executor unavailable: "):
        torch_accel.configure(cuda=True)
    assert not cuda_exec.enabled()
    torch_accel.configure(cuda=False)  # switching off always works


def test_min_multiplies_checks_its_argument():
    with pytest.raises(ValueError, match="must be >= 0"):
        cuda_exec.set_min_multiplies(-1)
    with pytest.raises(TypeError, match="must be an int"):
        cuda_exec.set_min_multiplies(1.5)


def test_configure_cuda_wants_a_bool():
    with pytest.raises(TypeError, match="cuda must be True or False"):
        torch_accel.configure(cuda="yes")


def test_profiler_names_the_executor():
    x = torch.randn(40, 24, device="accel")
    with torch_accel.profile() as prof:
        (x @ x.t() + 1).cpu()
    assert prof.records and all(r["executor"] == "cpu" for r in prof.records)


def test_environment_variable_never_breaks_import():
    code = ("import warnings; warnings.simplefilter('always')\n"
            "import torch, torch_accel\n"
            "emit(torch_accel.cuda_stats()['enabled'])\n")
    p = Proc(code, env={"TORCH_ACCEL_CUDA": "1", "PYTHONWARNINGS": "default"}).result()
    assert p.returncode == 0, p.stderr
    enabled = p.stdout.split("RESULT:")[-1].strip() == "true"
    assert enabled == AVAILABLE
    if not AVAILABLE:
        assert "TORCH_ACCEL_CUDA=1 ignored: GPU executor unavailable" in p.stderr


# --- with a GPU -------------------------------------------------------------

MATMUL_SHAPES = [(1, 1, 1), (33, 47, 65), (64, 200, 96), (7, 0, 9), (130, 256, 31)]


@needs_gpu
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16])
@pytest.mark.parametrize("fidelity", FIDELITIES)
@pytest.mark.parametrize("fp32_dest_acc", [True, False])
@pytest.mark.parametrize("shape", MATMUL_SHAPES)
def test_matmul_bitwise_on_exact_sums(shape, dtype, fidelity, fp32_dest_acc):
    M, K, N = shape
    a, b = integers(M, K, dtype=dtype), integers(K, N, dtype=dtype, seed=1)
    cpu, gpu = on_both(torch.matmul, a, b, fidelity=fidelity, fp32_dest_acc=fp32_dest_acc)
    torch.testing.assert_close(gpu, cpu, rtol=0, atol=0, equal_nan=True)


@needs_gpu
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("fidelity", FIDELITIES)
@pytest.mark.parametrize("fp32_dest_acc", [True, False])
def test_matmul_random_within_tolerance(dtype, fidelity, fp32_dest_acc):
    a, b = torch.randn(97, 300, dtype=dtype), torch.randn(300, 70, dtype=dtype)
    cpu, gpu = on_both(torch.matmul, a, b, fidelity=fidelity, fp32_dest_acc=fp32_dest_acc)
    tol = {} if fp32_dest_acc or dtype == torch.bfloat16 else BF16_TOL
    torch.testing.assert_close(gpu, cpu, **tol)


@needs_gpu
@pytest.mark.parametrize("fp32_dest_acc", [True, False])
def test_batched_broadcast_transposed_and_fused(fp32_dest_acc):
    def ops(x, w, bias, bx, by, c):
        return [torch.bmm(bx, by), torch.baddbmm(c, bx, by, beta=0.5, alpha=2.0),
                torch.addbmm(c[0], bx, by), x @ w.t(), F.linear(x, w, bias),
                torch.relu(torch.addmm(bias, x, w.t())), bx @ by[0], x.t() @ x]
    g = torch.Generator().manual_seed(3)
    tensors = [torch.randn(*s, generator=g) for s in
               [(70, 45), (33, 45), (33,), (4, 50, 40), (4, 40, 60), (4, 50, 60)]]
    cpu, gpu = on_both(ops, *tensors, fp32_dest_acc=fp32_dest_acc)
    for c, g_ in zip(cpu, gpu):
        torch.testing.assert_close(g_, c, **({} if fp32_dest_acc else BF16_TOL))


@needs_gpu
def test_conv_and_attention_forward_and_backward():
    def ops(x, w, q, k, v):
        for t in (x, w, q, k, v):
            t.requires_grad_()
        y = F.conv2d(x, w, padding=1)
        o = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        gx, gw = torch.autograd.grad(y.square().sum(), (x, w))
        gq, gk, gv = torch.autograd.grad(o.square().sum(), (q, k, v))
        return [y.detach(), o.detach(), gx, gw, gq, gk, gv]
    g = torch.Generator().manual_seed(5)
    shapes = [(4, 64, 40, 40), (128, 64, 3, 3), (2, 4, 512, 64), (2, 4, 512, 64), (2, 4, 512, 64)]
    tensors = [torch.randn(*s, generator=g) for s in shapes]
    torch_accel.reset_cuda_stats()
    cpu, gpu = on_both(ops, *tensors)
    for c, g_ in zip(cpu, gpu):
        torch.testing.assert_close(g_, c)
    assert torch_accel.cuda_stats()["cuda_products"] > 0  # blocks large enough went to the GPU


@needs_gpu
def test_records_and_modelled_time_do_not_depend_on_the_executor():
    a, b = torch.randn(256, 512), torch.randn(512, 128)
    profiles = []
    for on in (False, True):
        with executor(on), torch_accel.profile() as prof:
            (a.to("accel") @ b.to("accel")).cpu()
        profiles.append(prof)
    strip = [[{k: v for k, v in r.items() if k != "executor"} for r in p.records] for p in profiles]
    assert strip[0] == strip[1]
    matmuls = [r for r in profiles[1].records if r["compute"].startswith("matmul")]
    assert matmuls and all(r["executor"] == "cuda" for r in matmuls)
    assert "host executors: " in profiles[1].summary()


@needs_gpu
def test_emulated_dram_oom_is_the_same():
    free, total = torch.accel.mem_get_info()
    n = int((total / 4) ** 0.5) + 1024  # an n x n fp32 result larger than the DRAM
    errors = []
    for on in (False, True):
        with executor(on):
            a, b = torch.ones(n, 1, device="accel"), torch.ones(1, n, device="accel")
            with pytest.raises(torch.OutOfMemoryError) as info:
                a @ b
            errors.append(str(info.value))
    assert errors[0] == errors[1]


@needs_gpu
def test_stats_count_gpu_programs():
    torch_accel.reset_cuda_stats()
    with executor(True):
        x = torch.randn(64, 64, device="accel")
        (x @ x).cpu()
    stats = torch_accel.cuda_stats()
    assert stats["enabled"] is False and stats["available"] is True
    assert stats["cuda_programs"] >= 1 and stats["cuda_products"] >= 1
