"""The main job: a small model moved to accel, run, and compared with CPU."""
import time
import warnings

import torch

import torch_accel


def _model():
    return torch.nn.Sequential(
        torch.nn.Linear(64, 128), torch.nn.GELU(), torch.nn.LayerNorm(128),
        torch.nn.Linear(128, 10))


def run(seed=0):
    torch.manual_seed(seed)
    model = _model().eval()
    inputs = torch.randn(32, 64)
    with torch.no_grad():
        expected = model(inputs)

    props = torch.accel.get_device_properties()
    print(f"device: {props.name}: {props.grid_rows}x{props.grid_cols} cores, "
          f"{props.l1_bytes_per_core // 1024} KiB L1 per core, "
          f"{props.dram_bytes / 2**30:.0f} GiB DRAM, {props.clock_hz / 1e9:.2f} GHz")

    torch_accel.reset_fallback_stats()
    start = time.perf_counter()
    model_accel = model.to("accel")
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = model_accel(inputs.to("accel")).cpu()
    elapsed = time.perf_counter() - start

    err = (got - expected).abs().max().item()
    print(f"forward pass of a 2-layer MLP on accel: {elapsed * 1e3:.1f} ms, "
          f"max |accel - cpu| = {err:.2e}")
    print(f"accel memory allocated: {torch.accel.memory_allocated() / 1024:.1f} KiB, "
          f"reserved: {torch.accel.memory_reserved() / 2**20:.1f} MiB")
    stats = torch_accel.fallback_stats()
    print(f"ops that ran through the CPU fallback: {sum(stats.values())} calls of "
          f"{len(stats)} ops: {', '.join(sorted(stats))}")
    ok = torch.allclose(got, expected, rtol=1e-5, atol=1e-5)
    print("result matches CPU" if ok else "RESULT DIFFERS FROM CPU")
    return 0 if ok else 1
