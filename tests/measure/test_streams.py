"""Several requests in flight: the thread-backed infer queue, the one streams loop
(:func:`cnnbench.measure.streams.time_streams`) on a simulated queue with a fake clock, and the
loop on every installed engine with tinynet. No test asserts a timing threshold."""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np
import pytest

from cnnbench.engines import ModelInstance, get_engine, installed_engines
from cnnbench.engines._thread_queue import ThreadInferQueue
from cnnbench.engines.base import InferQueue, Session
from cnnbench.errors import BadInput
from cnnbench.measure.streams import time_streams
from cnnbench.measure.timing import window_size
from cnnbench.spec import Budget, Target

MS = 1_000_000  # ns
HANG_GUARD_S = 60  # only so that a broken queue fails instead of hanging the suite


# -- the thread-backed queue (real threads, scripted requests) -------------------------------


class InFlight:
    """Counts the requests inside their call; ``gate`` holds them there until it is set."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.now = 0
        self.max = 0
        self.calls = 0
        self.gate = threading.Event()

    def request(self) -> None:
        with self.cond:
            self.now += 1
            self.calls += 1
            self.max = max(self.max, self.now)
            self.cond.notify_all()
        assert self.gate.wait(HANG_GUARD_S)
        with self.cond:
            self.now -= 1


@pytest.mark.parametrize("size", [1, 3])
def test_thread_queue_fills_to_size_and_never_beyond(size: int) -> None:
    count = InFlight()
    done: list[int] = []
    with ThreadInferQueue([count.request] * size) as queue:
        assert queue.size == size
        jobs = 4 * size
        submitter = threading.Thread(
            target=lambda: [queue.submit(lambda i=i: done.append(i)) for i in range(jobs)]
        )
        submitter.start()
        with count.cond:  # every thread is now inside a request, the submitter blocked
            assert count.cond.wait_for(lambda: count.now == size, HANG_GUARD_S)
        assert count.calls == size and not done
        count.gate.set()
        submitter.join(HANG_GUARD_S)
        queue.wait_all()
    assert count.max == size and count.calls == jobs
    assert sorted(done) == list(range(jobs))  # on_done once per request, after it


def test_thread_queue_enters_each_threads_context_once() -> None:
    entered: list[str] = []
    exited: list[str] = []

    class Context:
        def __enter__(self) -> None:
            entered.append(threading.current_thread().name)

        def __exit__(self, *exc: object) -> None:
            exited.append(threading.current_thread().name)

    names: list[str] = []
    with ThreadInferQueue(
        [lambda: names.append(threading.current_thread().name)] * 2,
        thread_context=Context,
        name="probe",
    ) as queue:
        for _ in range(10):
            queue.submit(lambda: None)
        queue.wait_all()
    assert sorted(entered) == sorted(exited) == ["probe-0", "probe-1"]
    assert len(names) == 10 and set(names) <= set(entered)


def test_thread_queue_raises_a_requests_error() -> None:
    counter = itertools.count()

    def failing() -> None:
        if next(counter) == 5:
            raise RuntimeError("boom")

    queue = ThreadInferQueue([failing, failing])
    with pytest.raises(RuntimeError, match="boom"):
        for _ in range(1000):
            queue.submit(lambda: None)
        queue.wait_all()
    with pytest.raises(RuntimeError, match="boom"):
        queue.submit(lambda: None)
    with pytest.raises(RuntimeError, match="boom"):
        queue.close()
    with pytest.raises(BadInput, match="at least one request"):
        ThreadInferQueue([])


# -- time_streams on a simulated queue and a fake clock ----------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now_ns = 0

    def __call__(self) -> int:
        return self.now_ns


class SimulatedQueue(InferQueue):
    """``size`` requests on a fake clock: each takes the next scripted duration; time moves
    only when the caller waits for a completion (the discrete-event view of a real queue)."""

    def __init__(self, size: int, clock: FakeClock, durations_ns: Iterator[int]) -> None:
        self.size = size
        self.clock = clock
        self.durations = durations_ns
        self.pending: list[tuple[int, int, Callable[[], None]]] = []  # (finish, seq, on_done)
        self.seq = itertools.count()
        self.max_in_flight = 0
        self.submitted = 0

    def _complete_one(self) -> None:
        finish, _, on_done = heapq.heappop(self.pending)
        self.clock.now_ns = max(self.clock.now_ns, finish)
        on_done()

    def wait_idle(self) -> None:
        if len(self.pending) == self.size:
            self._complete_one()

    def submit(self, on_done: Callable[[], None]) -> None:
        self.wait_idle()
        finish = self.clock() + next(self.durations)
        heapq.heappush(self.pending, (finish, next(self.seq), on_done))
        self.submitted += 1
        self.max_in_flight = max(self.max_in_flight, len(self.pending))

    def wait_all(self) -> None:
        while self.pending:
            self._complete_one()


class SimulatedSession(Session):
    def __init__(self, durations_ns: Iterable[int]) -> None:
        self.clock = FakeClock()
        self.durations = iter(durations_ns)
        self.queues: list[SimulatedQueue] = []

    def make_inputs(self, array: np.ndarray) -> Any:
        return array

    def run(self, inputs: Any) -> Any:
        return inputs

    def to_numpy(self, outputs: Any) -> np.ndarray:
        return np.asarray(outputs)

    def effective(self) -> dict[str, Any]:
        return {}

    def infer_queue(self, inputs: Any, size: int) -> InferQueue:
        self.queues.append(SimulatedQueue(size, self.clock, self.durations))
        return self.queues[-1]


@pytest.mark.parametrize("streams", [1, 2, 4])
def test_steady_requests_give_exact_figures(streams: int) -> None:
    session = SimulatedSession(itertools.repeat(1 * MS))
    budget = Budget(seconds=0.1, min_samples=1, warmup_max_s=1.0)
    r = time_streams(session, None, streams, 8, budget, clock=session.clock)
    (queue,) = session.queues
    assert queue.max_in_flight == r.requests_in_flight == streams
    # Warm-up: one request per stream, two windows that agree, then the drain of the requests
    # still in flight when the second window completed (all slots but the one just freed).
    window = window_size(MS, streams)
    assert r.warmup.settled and r.warmup.calls == streams + 2 * window + (streams - 1)
    # Timed: every stream submits at 0, 1, ..., 99 ms after the start; the last ends at 100 ms.
    assert r.completed == len(r.latencies_ns) == 100 * streams
    assert set(r.latencies_ns) == {MS}
    assert r.seconds == pytest.approx(0.1)
    assert r.images_per_s == pytest.approx(8 * r.completed / r.seconds)
    assert queue.submitted == r.warmup.calls + r.completed


def test_warm_up_settles_after_a_transient_of_slow_requests() -> None:
    transient = [20 * MS] * 2 + [8 * MS] * 6 + [4 * MS] * 6 + [2 * MS] * 6
    session = SimulatedSession(itertools.chain(transient, itertools.repeat(1 * MS)))
    r = time_streams(
        session, None, 2, 1, Budget(seconds=0.05, warmup_max_s=5.0), clock=session.clock
    )
    assert r.warmup.settled and r.warmup.calls > len(transient)
    assert set(r.latencies_ns) == {MS}  # the timed phase saw only the steady state


def test_warm_up_that_never_settles_is_reported() -> None:
    growing = (int(MS * 1.01**i) for i in itertools.count())  # slower and slower
    session = SimulatedSession(growing)
    r = time_streams(
        session, None, 2, 1, Budget(seconds=0.05, warmup_max_s=0.5), clock=session.clock
    )
    # On the simulated clock: the warm-up used its whole 0.5 s limit, exactly as scripted.
    assert not r.warmup.settled and r.warmup.seconds >= 0.5
    assert r.completed == len(r.latencies_ns) > 0


def test_min_samples_and_max_samples_bound_the_timed_phase() -> None:
    session = SimulatedSession(itertools.repeat(10 * MS))
    r = time_streams(session, None, 2, 1, Budget(seconds=0.001, min_samples=7), clock=session.clock)
    assert r.completed == 7
    session = SimulatedSession(itertools.repeat(1 * MS))
    r = time_streams(
        session, None, 3, 1, Budget(seconds=100, min_samples=5, max_samples=50), clock=session.clock
    )
    assert r.completed == 50


def test_bad_arguments_and_sessions_without_a_queue() -> None:
    session = SimulatedSession(itertools.repeat(MS))
    for bad in (0, -1, 1.5, True):
        with pytest.raises(BadInput, match="streams"):
            time_streams(session, None, bad, 1, Budget())
    with pytest.raises(BadInput, match="batch"):
        time_streams(session, None, 1, 0, Budget())
    from cnnbench.errors import Unsupported

    class NoQueue(SimulatedSession):
        infer_queue = Session.infer_queue  # the protocol's default

    with pytest.raises(Unsupported, match="cannot keep several requests in flight"):
        time_streams(NoQueue([]), None, 2, 1, Budget())


# -- every installed engine, for real, on tinynet ----------------------------------------------

SHAPE = (2, 3, 32, 32)
QUICK = Budget(seconds=0.2, min_samples=5, warmup_max_s=0.2)


class CountingQueue(InferQueue):
    """Wraps an engine's queue; counts requests between submission and completion (an upper
    bound of those really in flight)."""

    def __init__(self, inner: InferQueue) -> None:
        self.inner = inner
        self.size = inner.size
        self.lock = threading.Lock()
        self.now = 0
        self.max = 0

    def wait_idle(self) -> None:
        self.inner.wait_idle()

    def submit(self, on_done: Callable[[], None]) -> None:
        self.inner.wait_idle()
        with self.lock:
            self.now += 1
            self.max = max(self.max, self.now)

        def done() -> None:
            with self.lock:
                self.now -= 1
            on_done()

        self.inner.submit(done)

    def wait_all(self) -> None:
        self.inner.wait_all()

    def close(self) -> None:
        self.inner.close()


class Counted:
    """A session whose infer queues are counted."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.queues: list[CountingQueue] = []

    def infer_queue(self, inputs: Any, size: int) -> InferQueue:
        self.queues.append(CountingQueue(self.session.infer_queue(inputs, size)))
        return self.queues[-1]


def _session(engine: str, module: Any, streams: int) -> Session:
    threads = 2 if engine == "openvino" else 1  # OpenVINO needs a thread per stream
    target = Target(engine, threads=threads, streams=streams)
    return get_engine(engine)().prepare(ModelInstance("tinynet", module, SHAPE), target)


def _tinynet() -> Any:
    import torch

    from cnnbench.models import create_model

    torch.manual_seed(0)
    return create_model("tinynet").eval()


@pytest.mark.parametrize("engine", ["torch", "onnxruntime", "openvino"])
def test_engines_keep_at_most_streams_requests_in_flight(engine: str) -> None:
    if engine not in installed_engines():
        pytest.skip(f"{engine} is not installed")
    session = _session(engine, _tinynet(), 2)
    counted = Counted(session)
    inputs = session.make_inputs(np.zeros(SHAPE, dtype=np.float32))
    with session.context():
        r = time_streams(counted, inputs, 2, SHAPE[0], QUICK)
    (queue,) = counted.queues
    assert 1 <= queue.max <= 2 == r.requests_in_flight
    assert r.completed == len(r.latencies_ns) >= QUICK.min_samples
    assert all(lat > 0 for lat in r.latencies_ns)
    assert r.images_per_s == pytest.approx(SHAPE[0] * r.completed / r.seconds)
    assert r.warmup.calls >= 2
    assert session.effective()["streams"] == 2


def test_torch_requests_in_flight_counted_inside_the_call() -> None:
    import torch

    lock = threading.Lock()
    count = {"now": 0, "max": 0, "calls": 0}

    class Counting(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            with lock:
                count["now"] += 1
                count["calls"] += 1
                count["max"] = max(count["max"], count["now"])
            try:
                return self.inner(x)
            finally:
                with lock:
                    count["now"] -= 1

    session = _session("torch", Counting(_tinynet()), 2)
    count["calls"] = 0  # prepare made one call itself, to read oneDNN's kernels back
    inputs = session.make_inputs(np.zeros(SHAPE, dtype=np.float32))
    with session.context():
        r = time_streams(session, inputs, 2, SHAPE[0], QUICK)
    assert 1 <= count["max"] <= 2
    assert count["calls"] == r.warmup.calls + r.completed
