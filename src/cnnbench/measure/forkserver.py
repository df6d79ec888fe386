"""Fresh workers forked from a pre-imported template (forkserver-style), one per configuration.

A cold worker spends most of its life importing (``import torch`` alone is 1.4 s on a small
machine) before its timed window starts. A *template* is a process started exactly as a cold
worker would be: the same interpreter, environment (thread counts, ISA caps, everything else),
working folder and CPU affinity, the affinity applied before anything is imported. It imports
the modules every measurement imports before its engine loads (numpy, torch, the job module and
cnnbench's engine modules: no engine is created there), then forks one fresh child per
configuration and waits. The child becomes a worker like any other: its own session and process
group, a parent-death signal, stdin from /dev/null, stdout and stderr to its own files; it runs
:func:`cnnbench.measure.worker.main` and exits. Only the imports are shared.

Keeping the template honest:

* **one template per environment signature** (interpreter, working folder, the whole
  environment, CPU affinity, preloaded modules): whatever a library reads at import time
  (``OMP_NUM_THREADS`` read by libgomp as it loads, ``ATEN_CPU_CAPABILITY``, ``ONEDNN_MAX_CPU_ISA``,
  ``OV_CPU_MAX_ISA``, the affinity mask that sets libgomp's default thread count) it reads with the
  very values a cold worker would have, so no cap is ever applied after an import;
* **fork safety is checked, not assumed**: after its imports the template forks once and counts
  its own threads; a library whose threads survive a fork (so that a child could inherit a lock
  held by a thread that does not exist there) makes the template refuse to serve, and those
  configurations start cold. numpy's OpenBLAS pool passes (it shuts down around ``fork``);
  ``import onnxruntime`` and ``import openvino`` each leave a thread running, which is why the
  engines' own runtimes are imported by the child, as a cold worker imports them;
* what forked workers of one template share beyond a cold start: its address-space layout
  (ASLR is drawn once per template), Python's hash seed and the modules' random state (a
  measurement seeds what it uses);
* a template that cannot start, refuses, or dies is replaced by a cold start of the same worker,
  and the outcome says which path ran (``WorkerOutcome.start``), as the record does
  (``timing.worker_start``).

Lifetime: a template dies with its parent (parent-death signal, and its own session so that no
terminal signal reaches it), exits after :data:`IDLE_S` seconds without a request, and at most
:data:`MAX_TEMPLATES` live at once, fewer when memory runs short (the least recently used goes
first). A template is idle (blocked on a read) while its child measures. Set
``CNNBENCH_WORKER_START=cold`` to turn templates off.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cnnbench.measure.isolation import die_with_parent, set_parent_death_signal

START_ENV = "CNNBENCH_WORKER_START"  # "cold" turns templates off
READY_TIMEOUT_S = 180.0  # imports of a template (a cold worker's, once)
REPLY_TIMEOUT_S = 30.0  # a fork and its reply
EXIT_REPLY_S = 30.0  # the exit status after the parent killed a timed-out child
MAX_TEMPLATES = 8  # about 200-300 MB each; a study's engines x thread counts fit
MIN_AVAILABLE_BYTES = 2 << 30  # below this much free memory, the oldest template goes first
IDLE_S = 60.0  # a template with no request for this long exits


class TemplateUnavailable(Exception):
    """No template could run this worker (the reason says why); start it cold instead."""


@dataclass(frozen=True)
class Signature:
    """Everything a worker's imports could see: one template per distinct signature."""

    python: str
    cwd: str
    env: tuple[tuple[str, str], ...]
    cores: tuple[int, ...] | None
    preload: tuple[str, ...]

    @classmethod
    def of(
        cls, env: dict[str, str], cores: tuple[int, ...] | None, preload: tuple[str, ...]
    ) -> Signature:
        return cls(sys.executable, os.getcwd(), tuple(sorted(env.items())), cores, preload)


@dataclass(frozen=True)
class ForkedRun:
    """How a forked worker ended, as the parent saw it."""

    returncode: int | None
    timed_out: bool
    wall_s: float
    started_s: float
    note: str | None = None  # set when the template died while its child ran


def enabled() -> bool:
    return os.environ.get(START_ENV, "").strip().lower() != "cold"


class Template:
    """One live template process and its control pipe (requests in, replies out)."""

    def __init__(self, sig: Signature, idle_s: float = IDLE_S) -> None:
        self.sig = sig
        self._buf = b""
        self._log = tempfile.TemporaryFile(prefix="cnnbench-template-")  # noqa: SIM115 - closed by close()
        config = {
            "cores": list(sig.cores) if sig.cores else None,
            "preload": list(sig.preload),
            "idle_s": idle_s,
        }
        self.proc = subprocess.Popen(
            [sig.python, "-m", "cnnbench.measure.forkserver", json.dumps(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=dict(sig.env),
            cwd=sig.cwd,
            start_new_session=True,
            preexec_fn=die_with_parent(os.getpid()),
        )
        try:
            ready = self._read(READY_TIMEOUT_S)
        except TemplateUnavailable:
            self.close()
            raise
        if ready is None or "refused" in ready or not ready.get("ready"):
            self.close()
            why = ready.get("refused") if ready else self._stderr_tail() or "exited at start"
            raise TemplateUnavailable(f"template not usable: {why}")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def run(self, request: dict[str, Any], timeout_s: float) -> ForkedRun:
        """Fork one worker for ``request`` (its job, result, stdout and stderr paths), wait for
        its end for at most ``timeout_s`` and kill its process group whatever happened."""
        start, started_s = time.perf_counter(), time.time()
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write((json.dumps(request) + "\n").encode())
            self.proc.stdin.flush()
            forked = self._read(REPLY_TIMEOUT_S)
        except (OSError, TemplateUnavailable) as exc:
            self.close()
            raise TemplateUnavailable(f"template failed before forking: {exc}") from exc
        if forked is None or "pid" not in forked:
            self.close()
            raise TemplateUnavailable("template died before forking")
        pid = int(forked["pid"])
        timed_out, note = False, None
        try:
            left = start + timeout_s - time.perf_counter()
            try:
                ended = self._read(max(0.0, left))
            except TemplateUnavailable:  # the timeout: the parent kills, the template reaps
                timed_out = True
                _killpg(pid)
                try:
                    ended = self._read(EXIT_REPLY_S)
                except TemplateUnavailable:
                    ended = None
        finally:
            _killpg(pid)  # the group: anything the worker started and left behind
        wall = time.perf_counter() - start
        if ended is None:
            self.close()
            note = "the template process died while its worker ran"
            return ForkedRun(None, timed_out, wall, started_s, note)
        return ForkedRun(ended.get("returncode"), timed_out, wall, started_s)

    def _read(self, timeout_s: float) -> dict[str, Any] | None:
        """The next reply line (None at end of file); TemplateUnavailable after ``timeout_s``."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout_s
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TemplateUnavailable(f"no reply from the template within {timeout_s:g} s")
            chunk = os.read(fd, 65536)
            if not chunk:
                return None
            self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        return dict(json.loads(line))

    def _stderr_tail(self) -> str:
        with contextlib.suppress(OSError, ValueError):
            self._log.seek(0)
            lines = self._log.read().decode(errors="replace").strip().splitlines()
            return lines[-1][:300] if lines else ""
        return ""

    def close(self) -> None:
        _killpg(self.proc.pid)
        with contextlib.suppress(OSError):
            self.proc.wait(timeout=10)
        for stream in (self.proc.stdin, self.proc.stdout, self._log):
            with contextlib.suppress(OSError):
                if stream is not None:
                    stream.close()


class TemplatePool:
    """Live templates by signature (least recently used first), and signatures refused."""

    def __init__(self, max_templates: int = MAX_TEMPLATES, idle_s: float = IDLE_S) -> None:
        self.max_templates = max_templates
        self.idle_s = idle_s
        self._live: OrderedDict[Signature, Template] = OrderedDict()
        self._refused: dict[Signature, str] = {}
        self.started = 0  # templates started (a count for benchmarks and tests)

    def run(self, sig: Signature, request: dict[str, Any], timeout_s: float) -> ForkedRun:
        if sig in self._refused:
            raise TemplateUnavailable(self._refused[sig])
        template = self._live.pop(sig, None)
        if template is not None and not template.alive():  # it expired while idle
            template.close()
            template = None
        if template is None:
            while self._live and (
                len(self._live) >= self.max_templates or _available_bytes() < MIN_AVAILABLE_BYTES
            ):
                self._live.popitem(last=False)[1].close()
            try:
                template = Template(sig, self.idle_s)
            except TemplateUnavailable as exc:
                self._refused[sig] = str(exc)  # never tried again in this parent
                raise
            self.started += 1
        self._live[sig] = template
        return template.run(request, timeout_s)

    def close(self) -> None:
        while self._live:
            self._live.popitem()[1].close()


_POOL: TemplatePool | None = None


def default_pool() -> TemplatePool:
    global _POOL
    if _POOL is None:
        _POOL = TemplatePool()
        atexit.register(_POOL.close)
    return _POOL


def _available_bytes() -> float:
    """MemAvailable from /proc/meminfo (infinite where it cannot be read)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return float(line.split()[1]) * 1024
    return float("inf")


def _killpg(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


# --- the template process: python -m cnnbench.measure.forkserver CONFIG ---------------------


def _thread_count() -> int:
    return len(os.listdir("/proc/self/task"))


def _serve(config: dict[str, Any]) -> int:
    parent = os.getppid()
    set_parent_death_signal()
    reply = os.fdopen(os.dup(1), "wb", buffering=0)  # the control pipe; fd 1 goes to the log
    os.dup2(2, 1)

    def send(msg: dict[str, Any]) -> None:
        reply.write((json.dumps(msg) + "\n").encode())

    if config.get("cores"):
        os.sched_setaffinity(0, config["cores"])  # before any import, as a cold worker does
    import importlib

    for name in config.get("preload", []):
        importlib.import_module(name)
    probe = os.fork()  # do the imports leave threads that a fork would not take along?
    if probe == 0:
        os._exit(0)
    os.waitpid(probe, 0)
    if _thread_count() > 1:
        send({"refused": f"{_thread_count()} threads still run after a fork, so forking is unsafe"})
        return 0
    send({"ready": True})
    stdin = sys.stdin.buffer
    while True:
        if not select.select([0], [], [], float(config["idle_s"]))[0]:
            return 0  # idle too long: the parent starts a new one when it needs it
        line = stdin.readline()
        if not line:
            return 0
        request = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _child(request, template_pid=os.getppid(), keep=(reply.fileno(),))
        send({"pid": pid})
        os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)  # a zombie: its group id stays ours
        _killpg(pid)
        _, status = os.waitpid(pid, 0)
        send({"pid": pid, "returncode": os.waitstatus_to_exitcode(status)})
        if os.getppid() != parent:
            return 0


def _child(request: dict[str, Any], template_pid: int, keep: tuple[int, ...]) -> None:
    """The forked worker: a session of its own, its own files, then the cold worker's main."""
    code = 1
    try:
        os.setsid()
        set_parent_death_signal()
        if os.getppid() != template_pid:  # the template died before prctl took effect
            os._exit(1)
        for fd in keep:
            os.close(fd)
        for fd, path, flags in (
            (0, os.devnull, os.O_RDONLY),
            (1, request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
            (2, request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
        ):
            opened = os.open(path, flags, 0o644)
            os.dup2(opened, fd)
            os.close(opened)
        from cnnbench.measure import worker

        code = worker.main([request["job"], request["result"]])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        with contextlib.suppress(BaseException):
            atexit._run_exitfuncs()  # as a cold worker's interpreter would at exit
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m cnnbench.measure.forkserver CONFIG_JSON", file=sys.stderr)
        return 2
    return _serve(json.loads(argv[0]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
