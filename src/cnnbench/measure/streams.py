"""Several requests in flight: the one streams loop, for every engine.

The session gives the primitive (:meth:`cnnbench.engines.base.Session.infer_queue`: ``streams``
requests that can be in flight at once); this module does all the measuring, with one clock
(``time.perf_counter_ns`` unless a test injects another).

* Warm-up, the same settle-until-stable rule as single calls (:mod:`cnnbench.measure.timing`):
  one request per stream first (allocation, kernel selection; never judged), then the queue is
  kept full and the completed requests are cut into windows; warm-up ends when two consecutive
  windows' median latencies agree within :data:`~cnnbench.measure.timing.SETTLE_REL`, or when
  ``budget.warmup_limit_s`` has passed (``settled=False``). The requests in flight are then
  waited for, so the timed phase starts from an idle queue.
* Timed phase: a request is submitted whenever one is idle, until ``budget.seconds`` have
  passed (and at least ``budget.min_samples`` were submitted, at most ``budget.max_samples``);
  then the requests in flight are waited for. A request's latency runs from its submission
  (taken once a request is idle, just before it starts) to its completion. The wall time runs
  from the start of the timed phase to the last completion (the drain at the end, with fewer
  requests in flight, is included), and images/s = batch x completed / wall seconds.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cnnbench.errors import BadInput
from cnnbench.measure.timing import Clock, WarmupResult, settled, window_median, window_size
from cnnbench.spec import Budget

if TYPE_CHECKING:
    from cnnbench.engines.base import InferQueue, Session


@dataclass(frozen=True)
class StreamsTiming:
    """What several requests in flight achieved: per-request latencies and total images/s."""

    latencies_ns: tuple[int, ...]  # each request, submission to completion
    images_per_s: float  # batch x completed requests / wall seconds
    requests_in_flight: int  # the queue's size: at most this many at once
    completed: int
    seconds: float  # wall time of the timed phase
    warmup: WarmupResult


class _Recorder:
    """(submitted, completed) clock readings of the requests of one phase."""

    def __init__(self, queue: InferQueue, clock: Clock) -> None:
        self.queue = queue
        self.clock = clock
        self.spans: list[tuple[int, int]] = []  # appended by the completing threads

    def _done(self, submitted: int) -> None:
        self.spans.append((submitted, self.clock()))

    def wait_idle(self) -> int:
        """Block until a request is idle; the clock reading just after."""
        self.queue.wait_idle()
        return self.clock()

    def submit(self, submitted: int) -> None:
        on_done: Callable[[], None] = functools.partial(self._done, submitted)
        self.queue.submit(on_done)

    def latencies(self, start: int = 0, stop: int | None = None) -> list[int]:
        return [end - begin for begin, end in self.spans[start:stop]]


def time_streams(
    session: Session,
    inputs: Any,
    streams: int,
    batch: int,
    budget: Budget,
    *,
    clock: Clock = time.perf_counter_ns,
    window: AbstractContextManager[object] | None = None,
) -> StreamsTiming:
    """Warm up, then keep ``streams`` requests in flight for ``budget.seconds``.

    ``window`` (the probes' window) is entered after the warm-up has drained, right before the
    first timed submission, and left when the last timed request has completed.
    """
    if isinstance(streams, bool) or not isinstance(streams, int) or streams < 1:
        raise BadInput(f"streams must be a positive integer, got {streams!r}")
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise BadInput(f"batch must be a positive integer, got {batch!r}")
    with session.infer_queue(inputs, streams) as queue:
        warm = _warm_up(queue, budget.warmup_limit_s, clock)
        timed = _Recorder(queue, clock)
        with window if window is not None else contextlib.nullcontext():
            start = clock()
            deadline = start + int(budget.seconds * 1e9)
            submitted = 0
            while submitted < budget.max_samples:
                now = timed.wait_idle()
                if now >= deadline and submitted >= budget.min_samples:
                    break
                timed.submit(now)
                submitted += 1
            queue.wait_all()
    latencies = timed.latencies()
    end = max([start, *(done for _, done in timed.spans)])
    wall_s = (end - start) / 1e9
    images_per_s = batch * len(latencies) / wall_s if latencies and wall_s > 0 else 0.0
    return StreamsTiming(tuple(latencies), images_per_s, queue.size, len(latencies), wall_s, warm)


def _warm_up(queue: InferQueue, max_s: float, clock: Clock) -> WarmupResult:
    """The settle-until-stable warm-up on windows of completed requests (see the module)."""
    start = clock()
    limit = start + int(max_s * 1e9)
    first = _Recorder(queue, clock)
    for _ in range(queue.size):
        first.submit(first.wait_idle())
    queue.wait_all()
    window = window_size(max(first.latencies()), queue.size)
    rec = _Recorder(queue, clock)
    judged = 0  # completed requests already cut into windows
    previous: float | None = None
    done = False
    while not done:
        now = rec.wait_idle()
        while len(rec.spans) >= judged + window:
            med = window_median(rec.latencies(judged, judged + window))
            judged += window
            if settled(previous, med):
                done = True
                break
            previous = med
        if done or now >= limit:
            break
        rec.submit(now)
    queue.wait_all()
    calls = queue.size + len(rec.spans)
    return WarmupResult(calls, (clock() - start) / 1e9, done)
