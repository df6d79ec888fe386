"""The probe hook around the timed window and the launcher prefix around the worker."""

from __future__ import annotations

import sys

import pytest

from cnnbench.errors import BadInput
from cnnbench.measure.isolation import run_worker
from cnnbench.measure.probes.base import (
    NullProbe,
    ProbeReading,
    get_probe,
    probe_window,
)
from probe_entries import BrokenProbe, CountingProbe, MissingOutputLauncher, ShellLauncher


def test_window_starts_and_stops_each_probe_once_in_order() -> None:
    counting, null = CountingProbe(), NullProbe()
    inside = []
    with probe_window([counting, null]) as readings:
        inside.append((counting.starts, counting.stops, list(readings)))
    assert inside == [(1, 0, [])]  # started before the block, nothing read yet
    assert [r.probe for r in readings] == ["counting", "null"]  # the probes' order
    assert readings[0].values == {"starts": 1, "stops": 1}
    assert readings[1].source == "null" and readings[1].window_s is not None


def test_a_probe_that_fails_is_a_none_reading_and_the_window_goes_on() -> None:
    counting = CountingProbe()
    with probe_window([BrokenProbe(), counting]) as readings:
        pass
    broken, ok = readings
    assert broken.source == "none" and "root only" in (broken.reason or "")
    assert broken.values == {}  # absent, never zero
    assert ok.values == {"starts": 1, "stops": 1}


def test_window_stops_probes_when_the_block_raises() -> None:
    counting = CountingProbe()
    with pytest.raises(RuntimeError), probe_window([counting]):
        raise RuntimeError("measurement failed")
    assert counting.stops == 1


def test_a_none_reading_must_say_why() -> None:
    with pytest.raises(ValueError, match="say why"):
        ProbeReading("x", "energy", "none")
    reading = ProbeReading.unavailable("rapl", "energy", "no powercap")
    assert ProbeReading.from_json(reading.to_json()) == reading


def test_probe_lookup_by_name_and_reference() -> None:
    assert get_probe("null") is NullProbe
    assert get_probe("probe_entries:CountingProbe") is CountingProbe
    with pytest.raises(BadInput, match="did you mean null"):
        get_probe("nul")
    with pytest.raises(BadInput, match="cannot be loaded"):
        get_probe("no_such_module:Probe")
    with pytest.raises(BadInput, match="not a Probe"):
        get_probe("probe_entries:LAUNCHER")


def test_launcher_prefix_runs_the_worker_under_it() -> None:
    out = run_worker("worker_entries:echo", {"x": 1}, timeout_s=60, launchers=[ShellLauncher()])
    assert out.status == "ok"
    assert out.result["echo"] == {"x": 1}  # the worker ran behind the prefix
    (reading,) = out.probe_readings
    assert reading.values == {
        "argv0": sys.executable,
        "module": "cnnbench.measure.worker",
        "returncode": 0,
    }


def test_launcher_probes_nest_first_outermost_and_failures_are_none() -> None:
    out = run_worker(
        "worker_entries:echo",
        {},
        timeout_s=60,
        launchers=[ShellLauncher(), MissingOutputLauncher()],
    )
    assert out.status == "ok"
    outer, inner = out.probe_readings
    assert outer.values["argv0"] == "/bin/sh"  # the outer launcher saw the inner one's prefix
    assert inner.source == "none" and "FileNotFoundError" in (inner.reason or "")


def test_launcher_reading_after_a_timeout_is_none() -> None:
    out = run_worker("worker_entries:hang", {}, timeout_s=2, launchers=[ShellLauncher()])
    assert out.status == "timeout"
    assert out.probe_readings[0].source == "none"
