"""The infer queue of engines without an asynchronous API of their own: N Python threads, each
making synchronous requests.

Each thread owns one request callable (ONNX Runtime: its own IO binding; torch: the module call)
and enters ``thread_context()`` once for its lifetime (torch's inference mode and autocast are
per thread). The engines release the GIL while they compute, so the requests really overlap.
A semaphore counts the idle threads: :meth:`ThreadInferQueue.submit` takes one (blocking in a
lock, without the GIL, while every thread is busy) and a thread gives it back after its request
and the request's ``on_done`` have returned, so no more than ``size`` requests are ever in
flight.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Sequence
from typing import Any

from cnnbench.engines.base import InferQueue
from cnnbench.errors import BadInput

Job = Callable[[], None] | None  # None: the thread ends


class ThreadInferQueue(InferQueue):
    """``len(requests)`` threads, thread i making request ``requests[i]`` for each job it takes."""

    def __init__(
        self,
        requests: Sequence[Callable[[], object]],
        *,
        thread_context: Callable[[], contextlib.AbstractContextManager[Any]] | None = None,
        name: str = "cnnbench-request",
    ) -> None:
        if not requests:
            raise BadInput("an infer queue needs at least one request")
        self.size = len(requests)
        self._context = thread_context
        self._idle = threading.Semaphore(self.size)
        self._reserved = False  # wait_idle took an idle slot that submit will use
        self._jobs: queue.SimpleQueue[Job] = queue.SimpleQueue()
        self._done = threading.Condition()
        self._pending = 0  # submitted, not yet completed
        self._error: BaseException | None = None
        self._closed = False
        self._threads = [
            threading.Thread(target=self._serve, args=(r,), name=f"{name}-{i}", daemon=True)
            for i, r in enumerate(requests)
        ]
        for thread in self._threads:
            thread.start()

    # the submitting thread ----------------------------------------------------------------

    def wait_idle(self) -> None:
        self._check()
        if not self._reserved:
            self._idle.acquire()
            self._reserved = True
        self._check()

    def submit(self, on_done: Callable[[], None]) -> None:
        self.wait_idle()
        self._reserved = False
        with self._done:
            self._pending += 1
        self._jobs.put(on_done)

    def wait_all(self) -> None:
        with self._done:
            while self._pending:
                self._done.wait()
        self._check()

    def close(self) -> None:
        if self._closed:
            return
        try:
            self.wait_all()
        finally:
            self._closed = True
            for _ in self._threads:
                self._jobs.put(None)
            for thread in self._threads:
                thread.join()

    def _check(self) -> None:
        if self._error is not None:
            raise self._error
        if self._closed:
            raise RuntimeError("the infer queue is closed")

    # the request threads --------------------------------------------------------------------

    def _serve(self, request: Callable[[], object]) -> None:
        ended = False
        try:
            with self._context() if self._context is not None else contextlib.nullcontext():
                ended = self._loop(request)
        except BaseException as exc:  # entering or leaving the thread's context failed
            self._fail(exc)
        if not ended:
            self._loop(None)  # complete the jobs without running them: nobody waits forever

    def _loop(self, request: Callable[[], object] | None) -> bool:
        while True:
            on_done = self._jobs.get()
            if on_done is None:
                return True
            try:
                if request is not None and self._error is None:
                    request()
                    on_done()
            except BaseException as exc:
                self._fail(exc)
            finally:
                with self._done:
                    self._pending -= 1
                    self._done.notify_all()
                self._idle.release()

    def _fail(self, exc: BaseException) -> None:
        with self._done:
            if self._error is None:
                self._error = exc
