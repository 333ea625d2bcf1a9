"""The caching allocator and its statistics, on the "tiny" preset (64 MiB of DRAM
per device), where running out of memory is cheap."""
import gc
import re

import pytest
import torch
import torch_accel

MiB = 1 << 20
DRAM = 64 * MiB


@pytest.fixture(autouse=True)
def _clean_memory():
    gc.collect()
    torch.accel.empty_cache()
    yield
    gc.collect()
    torch.accel.empty_cache()


def _alloc(nbytes, device="accel"):
    return torch.empty(nbytes, dtype=torch.uint8, device=device)


def test_mem_get_info_total_is_dram_capacity():
    free, total = torch.accel.mem_get_info()
    assert total == DRAM == torch_accel.arch_info()["dram_bytes"]
    assert total == torch.accel.get_device_properties().total_memory
    assert 0 <= free <= total
    assert torch.accel.mem_get_info(1)[1] == DRAM
    before = torch.accel.mem_get_info()[0]
    a = _alloc(8 * MiB)
    assert torch.accel.mem_get_info()[0] <= before - 8 * MiB
    del a
    torch.accel.empty_cache()
    assert torch.accel.mem_get_info()[0] == before


def test_allocations_are_rounded_to_512_bytes():
    base = torch.accel.memory_allocated()
    req = torch.accel.memory_stats()["requested_bytes.all.current"]
    sizes = {1: 512, 512: 512, 513: 1024, 4000: 4096}
    live = []
    expected = base
    for n, rounded in sizes.items():
        live.append(_alloc(n))
        expected += rounded
        assert torch.accel.memory_allocated() == expected
    assert torch.accel.memory_stats()["requested_bytes.all.current"] == req + sum(sizes)
    z = _alloc(0)  # an empty tensor takes no memory
    assert torch.accel.memory_allocated() == expected and z.numel() == 0
    del live
    assert torch.accel.memory_allocated() == base


def test_small_allocations_come_from_2mib_segments():
    # nothing of this suite stays alive on accel:1 between tests
    assert torch.accel.memory_allocated(1) == 0
    assert torch.accel.memory_reserved(1) == 0
    a = _alloc(100, "accel:1")
    assert torch.accel.memory_reserved(1) == 2 * MiB
    b = _alloc(1000, "accel:1")  # shares the segment
    assert torch.accel.memory_reserved(1) == 2 * MiB
    assert torch.accel.memory_stats(1)["segment.all.current"] == 1
    del a, b
    assert torch.accel.memory_allocated(1) == 0
    assert torch.accel.memory_reserved(1) == 2 * MiB  # cached
    torch.accel.empty_cache()
    assert torch.accel.memory_reserved(1) == 0


def test_freed_blocks_are_cached_and_reused():
    a = _alloc(4 * MiB)
    stats = torch.accel.memory_stats()
    reserved = torch.accel.memory_reserved()
    del a
    assert torch.accel.memory_reserved() == reserved  # kept in the cache
    b = _alloc(4 * MiB)
    after = torch.accel.memory_stats()
    assert after["num_device_alloc"] == stats["num_device_alloc"]  # no new segment
    assert torch.accel.memory_reserved() == reserved
    del b


def test_out_of_memory_and_recovery():
    base_alloc = torch.accel.memory_allocated()
    base_reserved = torch.accel.memory_reserved()
    ooms = torch.accel.memory_stats()["num_ooms"]
    a = _alloc(40 * MiB)
    assert torch.accel.memory_allocated() == base_alloc + 40 * MiB
    with pytest.raises(torch.OutOfMemoryError) as info:
        _alloc(40 * MiB)
    msg = str(info.value)
    assert "accel:0" in msg and "out of memory" in msg
    assert "tried to allocate" in msg and "40.00 MiB" in msg and str(40 * MiB) in msg
    free = DRAM - torch.accel.memory_reserved()
    assert f"({free} bytes) is free" in msg
    assert isinstance(info.value, RuntimeError)
    assert torch.accel.memory_stats()["num_ooms"] == ooms + 1
    # the failed request changed nothing
    assert torch.accel.memory_allocated() == base_alloc + 40 * MiB
    # the next allocation succeeds
    b = _alloc(8 * MiB)
    assert torch.accel.memory_allocated() == base_alloc + 48 * MiB
    # the other device is not affected
    c = _alloc(40 * MiB, "accel:1")
    del a, b, c
    assert torch.accel.memory_allocated() == base_alloc
    torch.accel.empty_cache()
    assert torch.accel.memory_allocated() == base_alloc
    assert torch.accel.memory_reserved() == base_reserved
    # everything can be had again
    d = _alloc(56 * MiB)
    del d


def test_request_larger_than_dram():
    with pytest.raises(torch.OutOfMemoryError, match=r"accel:1 out of memory"):
        _alloc(100 * MiB, "accel:1")
    with pytest.raises(torch.OutOfMemoryError, match=str(1 << 40)):
        torch.empty(1 << 38, device="accel")  # 1 TiB of floats
    with pytest.raises(torch.OutOfMemoryError):
        torch.empty(0, device="accel").resize_(1 << 38)


def test_oom_with_cached_blocks_frees_the_cache_and_retries():
    a = _alloc(30 * MiB)
    del a  # 30 MiB stay reserved in the cache
    assert torch.accel.memory_reserved() >= 30 * MiB
    retries = torch.accel.memory_stats()["num_alloc_retries"]
    ooms = torch.accel.memory_stats()["num_ooms"]
    b = _alloc(50 * MiB)  # only fits once the cache is released
    assert torch.accel.memory_stats()["num_ooms"] == ooms
    assert torch.accel.memory_stats()["num_alloc_retries"] >= retries
    del b


def test_peak_statistics():
    torch.accel.reset_peak_memory_stats()
    cur = torch.accel.memory_allocated()
    assert torch.accel.max_memory_allocated() == cur
    assert torch.accel.max_memory_reserved() == torch.accel.memory_reserved()
    a = _alloc(10 * MiB)
    b = _alloc(6 * MiB)
    peak = torch.accel.max_memory_allocated()
    assert peak == cur + 16 * MiB
    del a, b
    assert torch.accel.memory_allocated() == cur
    assert torch.accel.max_memory_allocated() == peak  # the peak stays
    assert torch.accel.max_memory_reserved() >= 16 * MiB
    assert torch.accel.memory_stats()["allocated_bytes.all.peak"] == peak
    torch.accel.reset_peak_memory_stats()
    assert torch.accel.max_memory_allocated() == cur
    # per device
    torch.accel.reset_peak_memory_stats(1)
    c = _alloc(5 * MiB, "accel:1")
    assert torch.accel.max_memory_allocated(1) >= 5 * MiB
    assert torch.accel.max_memory_allocated(0) == cur
    del c


def test_memory_stats_keys_and_accumulated_stats():
    stats = torch.accel.memory_stats()
    for key in ["allocated_bytes.all.current", "allocated_bytes.all.peak",
                "allocated_bytes.all.allocated", "allocated_bytes.all.freed",
                "reserved_bytes.all.current", "reserved_bytes.all.peak",
                "active_bytes.all.current", "requested_bytes.all.current",
                "allocation.all.current", "segment.all.current", "num_ooms",
                "num_alloc_retries"]:
        assert key in stats, key
        assert isinstance(stats[key], int)
    assert stats["allocated_bytes.all.current"] == torch.accel.memory_allocated()
    assert stats["reserved_bytes.all.current"] == torch.accel.memory_reserved()
    assert list(stats) == sorted(stats)
    torch.accel.reset_accumulated_memory_stats()
    a = _alloc(1024)
    del a
    stats = torch.accel.memory_stats()
    assert stats["allocated_bytes.all.allocated"] == 1024
    assert stats["allocated_bytes.all.freed"] == 1024
    assert stats["allocation.all.allocated"] == 1
    assert torch.accel.memory_stats("accel:1") == torch.accel.memory_stats(1)


def test_memory_summary():
    a = _alloc(3 * MiB)
    s = torch.accel.memory_summary()
    assert isinstance(s, str)
    assert "accel:0" in s and "Allocated memory" in s and "Reserved memory" in s
    assert "64.00 MiB" in s  # the DRAM capacity
    assert re.search(r"3\.00 MiB", s)
    assert "accel:1" in torch.accel.memory_summary(1)
    assert isinstance(torch.accel.memory_summary(abbreviated=True), str)
    del a


def test_empty_cache_releases_unused_segments():
    a = _alloc(12 * MiB)
    b = _alloc(2 * MiB)
    del a
    reserved = torch.accel.memory_reserved()
    torch.accel.empty_cache()
    assert torch.accel.memory_reserved() < reserved
    assert torch.accel.memory_reserved() >= torch.accel.memory_allocated()
    del b
    torch.accel.empty_cache()
    assert torch.accel.memory_reserved() == torch.accel.memory_allocated()


def test_views_and_storage_lifetime():
    base = torch.accel.memory_allocated()
    a = _alloc(1 * MiB)
    v = a[10:20]
    del a
    assert torch.accel.memory_allocated() == base + MiB  # the view keeps the storage alive
    assert v.cpu().numel() == 10
    del v
    assert torch.accel.memory_allocated() == base
