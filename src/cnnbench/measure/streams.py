"""Several requests in flight for a fixed time: the measurement behind ``Session.run_streams``.

Every engine measures the same way: after a warm-up of one request per stream, requests are
submitted for ``seconds`` of wall time, each stream submitting its next request as soon as its
previous one completes; then the requests still in flight are waited for. A request's latency
runs from its submission to its completion (``time.perf_counter_ns``). The wall time runs from
the start of the timed phase to the last completion, and images/s is batch x completed
requests / wall seconds (the drain at the end, with fewer requests in flight, is included).
"""

from __future__ import annotations

import concurrent.futures
import math
import threading
import time
from collections.abc import Callable, Sequence

from cnnbench.engines.base import StreamsResult
from cnnbench.errors import BadInput


def duration_ns(seconds: float) -> int:
    """``seconds`` as nanoseconds; a BadInput unless it is positive and finite."""
    try:
        value = float(seconds)
    except (TypeError, ValueError):
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise BadInput(f"run_streams needs a positive number of seconds, got {seconds!r}")
    return int(value * 1e9)


def streams_result(
    latencies_ns: Sequence[int], batch: int, streams: int, start_ns: int, end_ns: int
) -> StreamsResult:
    """The record of a timed phase that started at ``start_ns`` and ended at ``end_ns``."""
    wall = max(end_ns - start_ns, 0) / 1e9
    completed = len(latencies_ns)
    ips = batch * completed / wall if completed and wall > 0 else 0.0
    return StreamsResult(tuple(latencies_ns), ips, streams, completed, wall)


def run_threads(
    calls: Sequence[Callable[[], object]], seconds: float, batch: int, name: str = "cnnbench"
) -> StreamsResult:
    """One Python thread per call, each making synchronous requests back to back.

    ``calls`` are zero-argument synchronous requests, one per stream, safe to run at the same
    time (an engine that releases the GIL while it computes: the threads really overlap). Each
    is made once first (warm-up, one after the other), then all threads start together; a
    thread stops submitting when ``seconds`` have passed. An error in one thread stops the
    others and is raised here.
    """
    duration = duration_ns(seconds)
    if not calls:
        raise BadInput("run_streams needs at least one stream")
    for call in calls:
        call()
    go = threading.Event()
    stop = threading.Event()
    deadline = [0]

    def worker(call: Callable[[], object]) -> tuple[list[int], int]:
        go.wait()
        end = deadline[0]
        clock = time.perf_counter_ns
        latencies: list[int] = []
        last = 0
        try:
            while not stop.is_set():
                submitted = clock()
                if submitted >= end:
                    break
                call()
                last = clock()
                latencies.append(last - submitted)
        except BaseException:
            stop.set()
            raise
        return latencies, last

    with concurrent.futures.ThreadPoolExecutor(len(calls), thread_name_prefix=name) as pool:
        futures = [pool.submit(worker, call) for call in calls]
        try:
            start = time.perf_counter_ns()
            deadline[0] = start + duration
        finally:
            go.set()  # never leave the workers waiting (a deadline of 0 ends them at once)
        outcomes = [f.result() for f in futures]
    latencies = [lat for lats, _ in outcomes for lat in lats]
    end = max([start, *(last for _, last in outcomes)])
    return streams_result(latencies, batch, len(calls), start, end)
