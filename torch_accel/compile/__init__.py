"""torch.compile(model, backend="accel"): whole graphs become fused chip programs.

Importing torch_accel registers the backend and the device's DeviceInterface
the moment torch._dynamo is imported (torch.compile imports it), so plain
`import torch` does not pay for importing Dynamo."""
import importlib.abc
import importlib.util
import sys

__all__ = ["compile_stats", "reset_compile_stats", "compile_explain", "accel_backend"]

_registered = False


def register():
    """Registers backend "accel", the accel DeviceInterface and Inductor's refusal."""
    global _registered
    if _registered:
        return
    _registered = True
    from torch._dynamo import register_backend
    from torch._dynamo.backends.registry import _COMPILER_FNS
    from . import device_interface
    from .backend import accel_backend
    if "accel" not in _COMPILER_FNS:
        register_backend(name="accel")(accel_backend)
    device_interface.register()
    # torch._logging.set_logs(modules={"torch_accel.compile": logging.INFO}) logs
    # each compiled graph's schedule (TORCH_LOGS is parsed before torch_accel loads).
    import torch._logging._internal as logs
    logs.register_log("accel", "torch_accel.compile")


class _AfterDynamoImport(importlib.abc.MetaPathFinder):
    """Runs register() right after torch._dynamo finishes importing."""

    def find_spec(self, fullname, path, target=None):
        if fullname != "torch._dynamo":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def exec_then_register(module):
            exec_module(module)
            register()
        spec.loader.exec_module = exec_then_register
        return spec


def install():
    if "torch._dynamo" in sys.modules:
        register()
    elif not any(isinstance(f, _AfterDynamoImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterDynamoImport())


def compile_stats():
    """What the accel backend compiled: see torch_accel.compile.backend.compile_stats;
    "conv_epilogues": convolutions that absorbed their epilogue (conv_fusion.py);
    "optimizer_programs": of the fused programs, those that update parameters
    and optimizer state in place (optim_fusion.py)."""
    from .backend import compile_stats as stats, lowered_graphs
    out = stats()
    out["conv_epilogues"] = sum(len(g.conv_epilogues) for g in lowered_graphs())
    out["optimizer_programs"] = sum(g.optimizer_programs for g in lowered_graphs())
    return out


def reset_compile_stats():
    from .backend import reset_compile_stats as reset
    reset()


def compile_explain(model_or_fn, *example_inputs, **kwargs):
    """Compiles and runs model_or_fn once; returns the schedule as text (see explain.py)."""
    from .explain import compile_explain as explain
    return explain(model_or_fn, *example_inputs, **kwargs)


install()
