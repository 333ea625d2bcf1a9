"""Device memory statistics, with torch.cuda's names and meanings."""
import collections

from . import _C


def _index(device):
    from .device import _index
    return _index(device)


def memory_stats(device=None):
    stats = _C.memory_stats(_index(device))
    return collections.OrderedDict(sorted(stats.items()))


def memory_allocated(device=None):
    return _C.memory_stats(_index(device))["allocated_bytes.all.current"]


def max_memory_allocated(device=None):
    return _C.memory_stats(_index(device))["allocated_bytes.all.peak"]


def memory_reserved(device=None):
    return _C.memory_stats(_index(device))["reserved_bytes.all.current"]


def max_memory_reserved(device=None):
    return _C.memory_stats(_index(device))["reserved_bytes.all.peak"]


def reset_peak_memory_stats(device=None):
    _C.reset_peak_memory_stats(_index(device))


def reset_accumulated_memory_stats(device=None):
    _C.reset_accumulated_memory_stats(_index(device))


def empty_cache():
    """Returns cached, unused blocks to the device's DRAM."""
    if _C.is_initialized():
        _C.empty_cache()


def mem_get_info(device=None):
    """(free bytes, total bytes) of the device's DRAM."""
    return tuple(_C.mem_get_info(_index(device)))


def _format_bytes(n):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1024


def memory_summary(device=None, abbreviated=False):
    """A printable table of the memory statistics, like torch.cuda.memory_summary."""
    index = _index(device)
    stats = memory_stats(index)
    free, total = mem_get_info(index)
    rows = [("Allocated memory", "allocated_bytes", True), ("Active memory", "active_bytes", True),
            ("Requested memory", "requested_bytes", True), ("Reserved memory", "reserved_bytes", True),
            ("Non-releasable memory", "inactive_split_bytes", True),
            ("Allocations", "allocation", False), ("Active allocs", "active", False),
            ("Device reserved segments", "segment", False)]
    line = "=" * 79
    out = [line, f" accel:{index} memory summary".ljust(79), line,
           f" {'Metric':<26}| {'Cur Usage':>11} | {'Peak Usage':>11} | {'Tot Alloc':>11} | {'Tot Freed':>10}",
           "-" * 79]
    for title, key, is_bytes in rows:
        fmt = _format_bytes if is_bytes else str
        vals = [stats[f"{key}.all.{k}"] for k in ("current", "peak", "allocated", "freed")]
        out.append(f" {title:<26}| " + " | ".join(f"{fmt(v):>11}" for v in vals))
    out += ["-" * 79,
            f" DRAM capacity {_format_bytes(total)}, free {_format_bytes(free)};"
            f" OOMs {stats['num_ooms']}, allocation retries {stats['num_alloc_retries']}",
            line]
    return "\n".join(out) + "\n"
