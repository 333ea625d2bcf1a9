"""torch_accel: an emulated tile-based AI accelerator as the PyTorch device "accel"."""


def _autoload():
    """Entry point of the torch.backends group: importing this package does the work.

    Defined before `import torch` because importing torch_accel first makes
    torch autoload this very module while it is still half-imported."""


import os as _os  # noqa: E402

import torch  # noqa: E402

from ._cpu_check import require_avx2

require_avx2()
from . import _C  # noqa: F401, E402  (registers the device's kernels, allocator and hooks)
from ._config import configure, presets, arch_info, system_info
from .fallback import fallback_stats, reset_fallback_stats, set_fallback_policy
from .profiler import profile
from .estimate import estimate  # noqa: E402  (the function; the module stays importable)
from .compute import compute_config, set_compute_config, get_compute_config, ComputeConfig  # noqa: F401
from .formats import block_float, pack_block_float, unpack_block_float, to_block_float, BlockFloatTensor  # noqa: F401, E402
from . import mx  # noqa: F401, E402
from .mx import mx_quantize, mx_encode, mx_matmul  # noqa: F401, E402
from . import quant  # noqa: F401, E402
from .quant import quantize  # noqa: F401, E402
from .cuda_exec import cuda_stats, reset_cuda_stats  # noqa: E402
from .compile import compile_stats, reset_compile_stats, compile_explain  # noqa: F401, E402  (backend "accel")
from . import _exit  # noqa: F401, E402  (autograd's device threads finish before exit)
from . import distributed  # noqa: F401, E402  (registers the "accel" process-group backend)

__all__ = ["configure", "presets", "arch_info", "system_info", "fallback_stats",
           "reset_fallback_stats", "set_fallback_policy", "profile", "estimate",
           "compute_config", "set_compute_config", "get_compute_config",
           "block_float", "pack_block_float", "unpack_block_float", "to_block_float",
           "BlockFloatTensor", "mx_quantize", "mx_encode", "mx_matmul", "quantize",
           "compile_stats", "reset_compile_stats", "compile_explain",
           "cuda_stats", "reset_cuda_stats"]
__version__ = "0.1.0"
# For LibTorch programs: CMAKE_PREFIX_PATH under which find_package(TorchAccel) succeeds.
cmake_prefix_path = _os.path.join(_os.path.dirname(__file__), "share", "cmake")


def _register():
    name = torch._C._get_privateuse1_backend_name()
    if name not in ("privateuseone", "accel"):
        raise RuntimeError(f"torch_accel needs the PrivateUse1 device, but backend {name!r} "
                           "already claimed it in this process")
    # libtorch_accel.so names the device in C++ as it loads; renaming to the
    # same name is allowed and names it for torch's Python side too.
    if torch.utils.backend_registration._privateuse1_backend_name != "accel":
        torch.utils.rename_privateuse1_backend("accel")
    if not hasattr(torch, "accel"):
        from . import device
        torch._register_device_module("accel", device)
        torch.utils.generate_methods_for_privateuse1_backend(
            for_tensor=True, for_module=True, for_packed_sequence=True, for_storage=True)


def _autograd_on_calling_thread():
    """Backward passes of the importing thread run on that thread, as CPU ones
    do, instead of on the autograd engine's worker thread for the device: the
    emulated chip computes on the host anyway, and the hand-off to that thread
    and back cost ~0.1 ms per backward on a 2-core host (a compiled backward
    graph, Python code, also had to take the GIL there).
    TORCH_ACCEL_AUTOGRAD_DEVICE_THREADS=1 keeps the worker threads; threads
    other than the importing one keep them too (the setting is per thread:
    torch.autograd.set_multithreading_enabled)."""
    if _os.environ.get("TORCH_ACCEL_AUTOGRAD_DEVICE_THREADS", "0") != "1":
        torch._C._set_multithreading_enabled(False)


_register()
_autograd_on_calling_thread()
_config.apply_environment()
cuda_exec.apply_environment()
