"""The engine-independent part of ``run_streams``: threads, deadline, result arithmetic."""

from __future__ import annotations

import itertools
import time

import pytest

from cnnbench.errors import BadInput
from cnnbench.measure.streams import duration_ns, run_threads, streams_result


def test_threads_overlap_and_every_request_is_counted() -> None:
    calls = [lambda: time.sleep(0.002) for _ in range(3)]
    result = run_threads(calls, 0.2, batch=4)
    assert result.requests_in_flight == 3
    assert result.completed == len(result.latencies_ns) > 100  # one thread: at most 100
    assert min(result.latencies_ns) >= 2_000_000
    assert result.seconds >= 0.2
    assert result.images_per_s == pytest.approx(4 * result.completed / result.seconds)


def test_an_error_in_one_thread_stops_all_and_is_raised() -> None:
    counter = itertools.count()

    def failing() -> None:
        if next(counter) == 5:
            raise RuntimeError("boom")

    start = time.perf_counter()
    with pytest.raises(RuntimeError, match="boom"):
        run_threads([failing, lambda: time.sleep(0.001)], 30.0, batch=1)
    assert time.perf_counter() - start < 5


def test_bad_arguments() -> None:
    for bad in (0, -1.0, float("nan"), float("inf"), "x"):
        with pytest.raises(BadInput, match="positive number of seconds"):
            duration_ns(bad)  # type: ignore[arg-type]
    assert duration_ns(0.5) == 500_000_000
    with pytest.raises(BadInput, match="at least one stream"):
        run_threads([], 0.1, batch=1)


def test_result_arithmetic() -> None:
    r = streams_result([10, 20, 30], batch=8, streams=2, start_ns=0, end_ns=2_000_000_000)
    assert (r.completed, r.seconds, r.images_per_s, r.requests_in_flight) == (3, 2.0, 12.0, 2)
    assert streams_result([], batch=8, streams=2, start_ns=5, end_ns=5).images_per_s == 0.0
