"""The modelled device clock through torch.accel Event and Stream."""
import json

import pytest
import torch

import torch_accel


def test_events_measure_modelled_time():
    a = torch.randn(128, 128, device="accel")
    start, end = torch.accel.Event(enable_timing=True), torch.accel.Event(enable_timing=True)
    start.record()
    with torch_accel.profile() as prof:
        for _ in range(3):
            a @ a
    end.record()
    ms = start.elapsed_time(end)
    assert ms == pytest.approx(prof.total_time_s * 1e3, rel=1e-9)
    assert ms > 0 and start.query() and end.query()


def test_clock_advances_without_a_profiler():
    x = torch.randn(4096, device="accel")
    t0 = torch.accel.device_time()
    x.exp()
    t1 = torch.accel.device_time()
    assert t1 > t0
    with torch_accel.profile() as prof:
        x.exp()
    assert torch.accel.device_time() - t1 == pytest.approx(prof.total_time_s, rel=1e-9)


def test_streams_have_cuda_semantics():
    default = torch.accel.current_stream()
    assert default == torch.accel.default_stream() and default.stream_id == 0
    s = torch.accel.Stream()
    assert s != default
    with torch.accel.stream(s):
        assert torch.accel.current_stream() == s
    assert torch.accel.current_stream() == default
    torch.accel.set_stream(s)
    assert torch.accel.current_stream() == s
    torch.accel.set_stream(default)
    with torch.accel.stream(None):
        assert torch.accel.current_stream() == default


def test_small_programs_on_two_streams_overlap():
    # On "tiny" (4 cores) a one-tile program uses one core: two streams run side by side.
    x = torch.randn(32, 32, device="accel")
    s1, s2 = torch.accel.Stream(), torch.accel.Stream()
    start = torch.accel.Event(enable_timing=True)
    start.record()
    s1.wait_event(start)
    s2.wait_event(start)
    with torch_accel.profile() as prof:
        with torch.accel.stream(s1):
            x.exp()
        with torch.accel.stream(s2):
            x.exp()
    e1, e2 = s1.record_event(torch.accel.Event(enable_timing=True)), \
        s2.record_event(torch.accel.Event(enable_timing=True))
    one = prof.records[0]["time_s"] * 1e3
    assert start.elapsed_time(e1) == pytest.approx(one, rel=1e-9)
    assert start.elapsed_time(e2) == pytest.approx(one, rel=1e-9)
    # The default stream waits for both, then runs after them.
    torch.accel.current_stream().wait_stream(s1)
    torch.accel.current_stream().wait_stream(s2)
    x.exp()
    end = torch.accel.Event(enable_timing=True)
    end.record()
    assert start.elapsed_time(end) == pytest.approx(2 * one, rel=1e-9)


def test_programs_filling_the_grid_serialise_across_streams():
    x = torch.randn(256, 256, device="accel")  # 64 tiles: every core of "tiny"
    s1, s2 = torch.accel.Stream(), torch.accel.Stream()
    start = torch.accel.Event(enable_timing=True)
    start.record()
    s1.wait_event(start)
    s2.wait_event(start)
    with torch_accel.profile() as prof:
        with torch.accel.stream(s1):
            x.exp()
        with torch.accel.stream(s2):
            x.exp()
    end = s2.record_event(torch.accel.Event(enable_timing=True))
    assert start.elapsed_time(end) == pytest.approx(prof.total_time_s * 1e3, rel=1e-9)


def test_torch_profiler_sees_accel_programs():
    a = torch.randn(64, 64, device="accel")
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as p:
        a @ a
    names = [e.key for e in p.key_averages()]
    assert any(n.startswith("accel::aten::mm [modelled") for n in names), names
