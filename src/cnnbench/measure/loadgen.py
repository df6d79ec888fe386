"""An engine session behind an MLPerf LoadGen SUT and QSL, inside the worker.

LoadGen (``mlperf_loadgen``, the ``loadgen`` extra) issues queries in the scenario's pattern and
judges the run; this module only serves them:

* **QSL**: :data:`PERFORMANCE_SAMPLES` synthetic samples of the model's input shape. Every index
  maps to the one seeded input the worker converted before timing (a CNN's time does not depend
  on the values), so loading and unloading cost nothing.
* **SUT**: ``issue_query`` only queues the samples (LoadGen's issuing thread never waits); one
  dispatcher thread serves them, up to ``batch`` samples per request: with one stream by
  synchronous calls of the session, with several through the session's infer queue (OpenVINO's
  asynchronous queue, the engines' request threads otherwise). A completed request completes
  its samples with LoadGen at once.
* Before LoadGen starts, the dispatcher thread warms up (the settle-until-stable rule of
  :mod:`cnnbench.measure.timing`) and calibrates for :data:`CALIBRATION_S` on the same path; the
  calibration chooses the settings the user left open (each recorded with its source).
* LoadGen's logs go to a temporary folder, are summarised (:mod:`cnnbench.measure.loadgen_log`)
  and deleted. The worker's own samples are each sample's time from its arrival in
  ``issue_query`` to its completion (LoadGen's figures count from the scheduled issue).
"""

from __future__ import annotations

import collections
import contextlib
import functools
import importlib.metadata
import tempfile
import threading
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from cnnbench.errors import Unsupported
from cnnbench.measure.loadgen_log import parse_detail, to_result
from cnnbench.measure.streams import _warm_up as warm_up_queue
from cnnbench.measure.timing import WarmupResult, warm_up
from cnnbench.results.loadgen import Calibration, LoadgenResult, LoadgenUsed
from cnnbench.scenario import LoadgenSettings, loadgen_missing

if TYPE_CHECKING:
    from cnnbench.engines.base import InferQueue, Session

PERFORMANCE_SAMPLES = 1024
CALIBRATION_S = 0.5
SERVER_LOAD = 0.5  # Server's default arrival rate: half the calibrated samples/s
SERVER_BOUND_X = 10.0  # Server's default latency bound: 10 x one calibrated request
OFFLINE_EXPECTED_X = 2.5  # Offline's expected rate: above the calibration, so it lasts long enough
EXPECTED_LATENCY_X = 0.5  # SS/MS: below the calibration, so LoadGen schedules enough queries
FIND_PEAK_DECIMALS = 0  # FindPeakPerformance searches QPS to whole numbers (fewer runs)


@dataclass(frozen=True)
class LoadgenRun:
    samples_ns: tuple[int, ...]  # per sample, arrival in issue_query -> completion
    warmup: WarmupResult
    result: LoadgenResult


def import_loadgen() -> Any:
    """``mlperf_loadgen``, or :class:`Unsupported` saying which extra to install."""
    missing = loadgen_missing()
    if missing:
        raise Unsupported(missing)
    import mlperf_loadgen

    return mlperf_loadgen


class _Dispatcher:
    """The SUT's serving thread: warm-up, calibration, then LoadGen's samples (see module)."""

    def __init__(self, lg: Any, session: Session, inputs: Any, batch: int, streams: int) -> None:
        self.lg, self.session, self.inputs = lg, session, inputs
        self.batch, self.streams = batch, streams
        self.clock = time.perf_counter_ns
        self.pending: collections.deque[tuple[int, int]] = collections.deque()  # (id, arrived)
        self.cv = threading.Condition()
        self.stopping = False
        self.error: BaseException | None = None
        self.ready = threading.Event()
        self.warmup: WarmupResult | None = None
        self.calibration: Calibration | None = None
        self.latencies: list[int] = []
        self.thread = threading.Thread(target=self._main, name="cnnbench-sut", daemon=True)

    # LoadGen's side ----------------------------------------------------------------------
    def issue_query(self, samples: Any) -> None:
        now = self.clock()
        with self.cv:
            self.pending.extend((s.id, now) for s in samples)
            self.cv.notify()

    def flush_queries(self) -> None:
        pass

    def stop(self) -> None:
        with self.cv:
            self.stopping = True
            self.cv.notify()
        self.thread.join()

    # the serving thread --------------------------------------------------------------------
    def _main(self) -> None:
        try:
            with self.session.context():
                if self.streams > 1:
                    with self.session.infer_queue(self.inputs, self.streams) as queue:
                        self._prepare_queue(queue)
                        self._serve(queue)
                else:
                    self._prepare_sync()
                    self._serve(None)
        except BaseException as exc:
            self.error = self.error or exc
            self.ready.set()
            self._drain()

    def _prepare_sync(self) -> None:
        call = self.session.timed_call(self.inputs)
        self.warmup = warm_up(call, max(0.5, CALIBRATION_S))
        times: list[int] = []
        start = self.clock()
        while len(times) < 5 or self.clock() - start < CALIBRATION_S * 1e9:
            t0 = self.clock()
            call()
            times.append(self.clock() - t0)
        wall = (self.clock() - start) / 1e9
        self.calibration = Calibration(
            "synchronous calls on the SUT's thread",
            float(np.median(times)) / 1e6,
            self.batch * len(times) / wall,
            len(times),
            wall,
        )
        self.ready.set()

    def _prepare_queue(self, queue: InferQueue) -> None:
        self.warmup = warm_up_queue(queue, max(0.5, CALIBRATION_S), self.clock)
        spans: list[int] = []
        start = self.clock()
        while self.clock() - start < CALIBRATION_S * 1e9 or len(spans) < 5:
            queue.wait_idle()
            t0 = self.clock()
            queue.submit(functools.partial(lambda t: spans.append(self.clock() - t), t0))
        queue.wait_all()
        wall = (self.clock() - start) / 1e9
        self.calibration = Calibration(
            f"{queue.size} requests in flight (the engine's infer queue)",
            float(np.median(spans)) / 1e6,
            self.batch * len(spans) / wall,
            len(spans),
            wall,
        )
        self.ready.set()

    def _take(self) -> list[tuple[int, int]] | None:
        with self.cv:
            while not self.pending and not self.stopping:
                self.cv.wait()
            if not self.pending:
                return None
            n = min(self.batch, len(self.pending))
            return [self.pending.popleft() for _ in range(n)]

    def _complete(self, items: list[tuple[int, int]]) -> None:
        now = self.clock()
        self.latencies.extend(now - arrived for _, arrived in items)
        lg = self.lg
        lg.QuerySamplesComplete([lg.QuerySampleResponse(qid, 0, 0) for qid, _ in items])

    def _serve(self, queue: InferQueue | None) -> None:
        call = self.session.timed_call(self.inputs) if queue is None else None
        while True:
            if queue is not None:
                queue.wait_idle()
            items = self._take()
            if items is None:
                break
            if call is not None:
                try:
                    call()
                finally:  # a failed call still completes its samples: LoadGen must not wait
                    self._complete(items)
            elif queue is not None:
                queue.submit(functools.partial(self._complete, items))

    def _drain(self) -> None:
        """After a failure: complete every sample unrun, so LoadGen's run can end."""
        while True:
            items = self._take()
            if items is None:
                return
            ids = [self.lg.QuerySampleResponse(qid, 0, 0) for qid, _ in items]
            self.lg.QuerySamplesComplete(ids)


def _settings(
    lg: Any, spec: LoadgenSettings, cal: Calibration, batch: int
) -> tuple[Any, LoadgenUsed]:
    """LoadGen's TestSettings, and what they were, each open value chosen from ``cal``."""
    ts = lg.TestSettings()
    ts.scenario = getattr(lg.TestScenario, spec.scenario)
    mode = "FindPeakPerformance" if spec.find_peak else "PerformanceOnly"
    ts.mode = getattr(lg.TestMode, mode)
    ts.min_duration_ms = int(spec.min_duration_s * 1000)
    ts.max_duration_ms = int(spec.max_duration_s * 1000)
    ts.min_query_count = spec.effective_min_queries
    ts.performance_sample_count_override = PERFORMANCE_SAMPLES
    used: dict[str, Any] = {}
    per_sample_s = cal.median_ms / 1e3 / batch
    rate = max(cal.samples_per_s, 1e-3)
    if spec.scenario in ("SingleStream", "MultiStream"):
        per_query = 1 if spec.scenario == "SingleStream" else spec.samples_per_query
        expected_ns = max(1, int(EXPECTED_LATENCY_X * per_query * per_sample_s * 1e9))
        if spec.scenario == "SingleStream":
            ts.single_stream_expected_latency_ns = expected_ns
        else:
            ts.multi_stream_expected_latency_ns = expected_ns
            ts.multi_stream_samples_per_query = spec.samples_per_query
        used["expected_latency_ms"] = expected_ns / 1e6
        used["expected_latency_source"] = (
            f"calibrated: {EXPECTED_LATENCY_X:g} x the calibrated time of a query "
            "(LoadGen then schedules enough queries)"
        )
    elif spec.scenario == "Server":
        load = SERVER_LOAD / 2 if spec.find_peak else SERVER_LOAD  # the search doubles it
        qps = spec.target_qps or max(0.1, round(load * rate, 1))
        bound_ms = spec.latency_bound_ms or SERVER_BOUND_X * cal.median_ms
        ts.server_target_qps = qps
        ts.server_target_latency_ns = max(1, int(bound_ms * 1e6))
        ts.server_target_latency_percentile = spec.percentile / 100
        if spec.find_peak:
            ts.server_find_peak_qps_decimals_of_precision = FIND_PEAK_DECIMALS
        used.update(
            target_qps=qps,
            target_qps_source="user"
            if spec.target_qps
            else f"calibrated: {load:g} x the calibrated samples/s",
            latency_bound_ms=bound_ms,
            latency_bound_source="user"
            if spec.latency_bound_ms
            else f"default: {SERVER_BOUND_X:g} x the calibrated median of one request",
        )
    else:
        qps = spec.target_qps or OFFLINE_EXPECTED_X * rate
        ts.offline_expected_qps = qps
        used.update(
            target_qps=qps,
            target_qps_source="user"
            if spec.target_qps
            else f"calibrated: {OFFLINE_EXPECTED_X:g} x the calibrated samples/s",
        )
    return ts, LoadgenUsed(
        test_mode=mode,
        percentile=spec.percentile,
        min_duration_s=spec.min_duration_s,
        max_duration_s=spec.max_duration_s,
        min_queries=spec.effective_min_queries,
        samples_per_query=spec.samples_per_query if spec.scenario == "MultiStream" else 1,
        performance_sample_count=PERFORMANCE_SAMPLES,
        dispatch=cal.method + f", up to {batch} sample(s) per request",
        calibration=cal,
        **used,
    )


def run_loadgen(
    session: Session,
    inputs: Any,
    spec: LoadgenSettings,
    batch: int,
    streams: int,
    *,
    window: AbstractContextManager[object] | None = None,
) -> LoadgenRun:
    """Serve one LoadGen run of ``spec``'s scenario; ``window`` (the probes') wraps the test."""
    lg = import_loadgen()
    sut_side = _Dispatcher(lg, session, inputs, batch, streams)
    sut_side.thread.start()
    sut = qsl = None
    try:
        sut_side.ready.wait()
        if sut_side.error is not None or sut_side.calibration is None:
            raise sut_side.error or RuntimeError("the SUT did not calibrate")
        ts, used = _settings(lg, spec, sut_side.calibration, batch)
        sut = lg.ConstructSUT(sut_side.issue_query, sut_side.flush_queries)
        qsl = lg.ConstructQSL(PERFORMANCE_SAMPLES, PERFORMANCE_SAMPLES, _no_op, _no_op)
        with tempfile.TemporaryDirectory(prefix="cnnbench-loadgen-") as tmp:
            out = lg.LogOutputSettings()
            out.outdir = tmp
            out.copy_summary_to_stdout = False
            out.copy_detail_to_stdout = False
            log_settings = lg.LogSettings()
            log_settings.log_output = out
            log_settings.enable_trace = False
            with window if window is not None else contextlib.nullcontext():
                lg.StartTestWithLogSettings(sut, qsl, ts, log_settings)
            sut_side.stop()
            if sut_side.error is not None:
                raise sut_side.error
            files = {p.name: p.stat().st_size for p in sorted(Path(tmp).iterdir())}
            detail = Path(tmp, "mlperf_log_detail.txt")
            text = detail.read_text(errors="replace") if detail.exists() else ""
    finally:
        sut_side.stop()
        if qsl is not None:
            lg.DestroyQSL(qsl)
        if sut is not None:
            lg.DestroySUT(sut)
    version = importlib.metadata.version("mlcommons-loadgen")
    result = to_result(parse_detail(text), used, spec.scenario, version, files)
    assert sut_side.warmup is not None
    return LoadgenRun(tuple(sut_side.latencies), sut_side.warmup, result)


def _no_op(indexes: Any) -> None:
    """QSL load/unload: every index is the one input already converted."""
