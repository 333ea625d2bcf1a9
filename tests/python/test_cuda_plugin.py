"""The GPU executor's plugin (csrc/cuda/accel_cuda.h) called directly through
its C interface: argument checks and error reporting run on any machine with
the plugin built, the products themselves only where a GPU is visible."""
import ctypes
import pathlib

import pytest
import torch

import torch_accel
from torch_accel import cuda_exec

PLUGIN = pathlib.Path(torch_accel.__file__).parent / "lib" / "libtorch_accel_cuda.so"
AVAILABLE, REASON = cuda_exec._availability()
pytestmark = pytest.mark.skipif(not cuda_exec.built() or not PLUGIN.exists(),
                                reason="torch_accel was built without CUDA (no nvcc at build time)")
F32, BF16, F16 = 0, 1, 2


class Operand(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("dtype", ctypes.c_int32),
                ("batch_stride", ctypes.c_int64), ("row_stride", ctypes.c_int64),
                ("col_stride", ctypes.c_int64)]


class Gemm(ctypes.Structure):
    _fields_ = [("batch", ctypes.c_int64), ("M", ctypes.c_int64), ("N", ctypes.c_int64),
                ("K", ctypes.c_int64), ("a", Operand), ("b", Operand),
                ("c", ctypes.c_void_p), ("c_batch_stride", ctypes.c_int64),
                ("ldc", ctypes.c_int64), ("beta", ctypes.c_float),
                ("reduce_batch", ctypes.c_int32), ("fidelity", ctypes.c_int32),
                ("fp32_dest_acc", ctypes.c_int32)]


@pytest.fixture(scope="module")
def plugin():
    lib = ctypes.CDLL(str(PLUGIN))
    lib.accel_cuda_gemm.argtypes = [ctypes.POINTER(Gemm), ctypes.c_char_p, ctypes.c_size_t]
    lib.accel_cuda_device_count.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    return lib


def operand(t, dtype):
    return Operand(t.data_ptr(), dtype, 0, t.stride(0), t.stride(1))


def job(a, b, c, dtype=F32, fidelity=4, fp32_dest_acc=1, beta=0.0):
    (M, K), N = a.shape, b.shape[1]
    return Gemm(1, M, N, K, operand(a, dtype), operand(b, dtype), c.data_ptr(), 0, N, beta, 0,
                fidelity, fp32_dest_acc)


def call(plugin, j):
    err = ctypes.create_string_buffer(512)
    rc = plugin.accel_cuda_gemm(ctypes.byref(j), err, len(err))
    return rc, err.value.decode()


def test_abi_version(plugin):
    assert plugin.accel_cuda_abi_version() == 1


@pytest.mark.skipif(AVAILABLE, reason="a GPU is visible")
def test_device_count_says_why_there_is_none(plugin):
    err = ctypes.create_string_buffer(512)
    assert plugin.accel_cuda_device_count(err, len(err)) == -1
    assert err.value.decode().startswith("no GPU visible (cudaGetDeviceCount: ")


@pytest.mark.parametrize("change, message", [
    (lambda j: setattr(j.a, "row_stride", -1), "negative stride"),
    (lambda j: setattr(j, "fidelity", 5), "math fidelity must be 1 to 4"),
    (lambda j: setattr(j.b, "dtype", 7), "unsupported operand dtype"),
    (lambda j: setattr(j, "ldc", 1), "ldc is smaller than N"),
    (lambda j: setattr(j, "K", -2), "negative size"),
])
def test_bad_products_are_refused_before_any_cuda_call(plugin, change, message):
    a, b, c = torch.ones(4, 3), torch.ones(3, 5), torch.zeros(4, 5)
    j = job(a, b, c)
    change(j)
    assert call(plugin, j) == (-1, f"invalid product: {message}")


def test_empty_product_needs_no_gpu(plugin):
    a, b, c = torch.ones(0, 3), torch.ones(3, 5), torch.zeros(0, 5)
    assert call(plugin, job(a, b, c)) == (0, "")


def test_null_product(plugin):
    err = ctypes.create_string_buffer(64)
    assert plugin.accel_cuda_gemm(None, err, len(err)) == -1
    assert err.value == b"null product"


@pytest.mark.skipif(AVAILABLE, reason="a GPU is visible")
def test_product_without_gpu_reports_the_cuda_error(plugin):
    a, b, c = torch.ones(4, 3), torch.ones(3, 5), torch.zeros(4, 5)
    rc, message = call(plugin, job(a, b, c))
    assert rc == -1 and message.startswith("cudaSetDevice: cuda")
    assert torch.equal(c, torch.zeros(4, 5))  # nothing written


def exact_operands():
    g = torch.Generator().manual_seed(0)
    a = torch.randint(-255, 256, (37, 70), generator=g).float()
    b = torch.randint(-255, 256, (70, 45), generator=g).float()
    return a, b


def reference(a, b, c, beta, fidelity, fp32_dest_acc):
    """matrix_engine.h's definition, for operands whose sums are all exact."""
    a_hi = (a.view(torch.int32) & (-1 << 19)).view(torch.float32)
    b_hi = (b.view(torch.int32) & (-1 << 17)).view(torch.float32)
    first, second = {1: (a_hi, b_hi), 2: (a, b_hi), 3: (a, b_hi), 4: (a, b)}[fidelity]
    acc = beta * c.double()
    for k0 in range(0, a.shape[1], 32):
        k = slice(k0, k0 + 32)
        acc += first[:, k].double() @ second[k].double()
        if fidelity == 3:
            acc += a_hi[:, k].double() @ (b - b_hi)[k].double()
        if not fp32_dest_acc:
            acc = acc.float().bfloat16().double()  # one rounding, to nearest even
    return acc.float()


FIDELITY_NAMES = {1: "LoFi", 2: "HiFi2", 3: "HiFi3", 4: "HiFi4"}


@pytest.mark.parametrize("fidelity", [1, 2, 3, 4])
@pytest.mark.parametrize("fp32_dest_acc", [0, 1])
def test_reference_is_what_the_cpu_kernels_compute(fidelity, fp32_dest_acc):
    # The GPU test below trusts this reference; here it is held to the CPU kernels.
    a, b = exact_operands()
    with torch_accel.compute_config(math_fidelity=FIDELITY_NAMES[fidelity],
                                    fp32_dest_acc=bool(fp32_dest_acc)):
        cpu = (a.to("accel") @ b.to("accel")).cpu()
    expected = reference(a, b, torch.zeros(37, 45), 0.0, fidelity, fp32_dest_acc)
    torch.testing.assert_close(cpu, expected, rtol=0, atol=0)


@pytest.mark.skipif(not AVAILABLE, reason=f"no GPU visible ({REASON})")
@pytest.mark.parametrize("fidelity", [1, 2, 3, 4])
@pytest.mark.parametrize("fp32_dest_acc", [0, 1])
def test_product_on_gpu_matches_the_definition(plugin, fidelity, fp32_dest_acc):
    a, b = exact_operands()
    c = torch.full((37, 45), 3.0)
    expected = reference(a, b, c, 2.0, fidelity, fp32_dest_acc)
    assert call(plugin, job(a, b, c, fidelity=fidelity, fp32_dest_acc=fp32_dest_acc,
                            beta=2.0)) == (0, "")
    torch.testing.assert_close(c, expected, rtol=0, atol=0)
