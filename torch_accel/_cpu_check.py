"""The tile kernels are built for AVX2 on x86-64 (see CMakeLists.txt); a CPU
without it would die on an illegal instruction inside _C, so say so first."""
import platform


def require_avx2():
    if platform.machine() not in ("x86_64", "AMD64"):
        return
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), None)
    except OSError:
        return  # no /proc: nothing to check against
    missing = [flag for flag in ("avx2", "fma", "f16c") if flags is not None and flag not in flags]
    if missing:
        raise ImportError("torch_accel's tile kernels need an x86-64 CPU with AVX2, FMA and F16C; "
                          f"this CPU lacks {', '.join(missing)}")
