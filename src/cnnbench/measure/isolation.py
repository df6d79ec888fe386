"""The parent side of worker isolation: run one measurement in a fresh child process.

Each child gets its thread counts and ISA caps in the environment and its CPU affinity before
any engine is imported. The parent enforces a timeout (killing the child's whole process group)
and turns a signal, an out-of-memory kill or a hang into an outcome with a status, so that a
sweep loses one configuration, never the sweep.

A launcher prefix puts a tool in front of the worker (``valgrind --tool=cachegrind``, ``perf
stat``): each :class:`~cnnbench.measure.probes.base.LauncherProbe` given to :func:`run_worker`
gets its own output folder, adds its prefix (the first probe outermost) and reads its folder once
the worker has ended; its reading comes back in :attr:`WorkerOutcome.probe_readings`.

With a :class:`WarmStart` the worker is forked from a template that already imported torch and
the engine's module under the same environment and affinity (:mod:`cnnbench.measure.forkserver`),
which saves the imports, not the isolation: it is still a fresh process per configuration, with
its own process group, killed as a group, dying with the parent, classified the same way.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cnnbench.measure.probes.base import LauncherProbe, ProbeReading
from cnnbench.system.isa import cap_env

if TYPE_CHECKING:
    from cnnbench.measure.forkserver import TemplatePool

SCRATCH_PREFIX = "cnnbench-worker-"  # then the parent's pid: stale folders can be told apart
THREAD_VARS = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "TBB_NUM_THREADS",
)
ISA_VARS = (
    "ONEDNN_MAX_CPU_ISA",
    "DNNL_MAX_CPU_ISA",
    "ATEN_CPU_CAPABILITY",
    "MKL_ENABLE_INSTRUCTIONS",
    "OV_CPU_MAX_ISA",
)


@dataclass(frozen=True)
class WorkerOutcome:
    """What came back from a child: its result (or the parent's classification of its end)."""

    status: str  # ok | failed | oom | timeout | crashed | unsupported
    result: dict[str, Any]
    error: str | None
    returncode: int | None
    wall_s: float
    stderr_tail: str
    started_s: float = 0.0  # wall-clock time (time.time()) at which the child was started
    probe_readings: tuple[ProbeReading, ...] = ()  # from launcher probes, in their order
    start: str = "cold"  # "template" (forked, see measure.forkserver) or "cold (why)"
    # Where it ran, when not this machine (a fleet executor fills them in): the node's id, its
    # machine fingerprint and software versions, which the record takes instead of the parent's.
    node: str | None = None
    machine: dict[str, Any] | None = None
    software: dict[str, str] | None = None


def worker_env(
    threads: int | None, isa: str | None, extra: dict[str, str] | None = None
) -> dict[str, str]:
    """The child's environment: ours, minus inherited caps, plus the requested ones."""
    env = {k: v for k, v in os.environ.items() if k not in ISA_VARS}
    if threads is not None:
        for var in THREAD_VARS:
            env[var] = str(threads)
    env.update(cap_env(isa))
    env["PYTHONUNBUFFERED"] = "1"
    env["CNNBENCH_WORKER"] = "1"
    src = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH", "")) if p)
    if extra:
        env.update(extra)
    return env


def _tail(path: Path, limit: int = 4000) -> str:
    try:
        data = path.read_bytes()
    except OSError:
        return ""
    return data[-limit:].decode(errors="replace")


def _signal_name(num: int) -> str:
    try:
        return signal.Signals(num).name
    except ValueError:
        return f"signal {num}"


@dataclass(frozen=True)
class WarmStart:
    """What a template imports before it forks this worker (:mod:`cnnbench.measure.forkserver`)."""

    preload: tuple[str, ...] = ()


def run_worker(
    entry: str,
    payload: dict[str, Any],
    *,
    timeout_s: float,
    threads: int | None = None,
    cores: tuple[int, ...] | None = None,
    isa: str | None = None,
    env_extra: dict[str, str] | None = None,
    launchers: Sequence[LauncherProbe] = (),
    warm: WarmStart | None = None,
    pool: TemplatePool | None = None,
) -> WorkerOutcome:
    """Run ``entry(payload)`` in a fresh worker and classify its end.

    The worker is ``python -m cnnbench.measure.worker`` (a cold start), or, with ``warm``, a
    child forked from a template that imported ``warm.preload`` under the very same
    environment and affinity; a worker wrapped by launcher probes always starts cold, and so
    does one whose template is unavailable (``WorkerOutcome.start`` says which, and why).
    ``pool`` holds the templates (default: one per parent process, closed at its exit).
    """
    sweep_stale_scratch()
    with tempfile.TemporaryDirectory(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-") as tmp:
        tmpdir = Path(tmp)
        job_path, result_path = tmpdir / "job.json", tmpdir / "result.json"
        out_path, err_path = tmpdir / "stdout", tmpdir / "stderr"
        job = {
            "entry": entry,
            "payload": payload,
            "cores": list(cores) if cores else None,
            "parent_pid": os.getpid(),
        }
        job_path.write_text(json.dumps(job))
        env = worker_env(threads, isa, env_extra)
        paths = {"job": job_path, "result": result_path, "stdout": out_path, "stderr": err_path}
        ran, start = None, "cold"
        if warm is not None:
            ran, start = _run_forked(warm, pool, launchers, env, cores, paths, timeout_s)
        probe_dirs = []
        if ran is None:
            prefix: list[str] = []
            for i, probe in enumerate(launchers):
                probe_dir = tmpdir / f"probe-{i}-{probe.name}"
                probe_dir.mkdir()
                probe_dirs.append(probe_dir)
                prefix += probe.launcher(probe_dir)
                env.update(probe.env(probe_dir))  # e.g. perf's control fifo for the worker
            ran = _run_cold(prefix, env, paths, timeout_s)
        rc, timed_out, wall, started_s = ran
        stderr_tail = _tail(err_path)
        readings = tuple(
            _collect(probe, probe_dir, rc, timed_out)
            for probe, probe_dir in zip(launchers, probe_dirs, strict=True)
        )
        if timed_out:
            error = f"no result within the {timeout_s:g} s timeout"
            out = WorkerOutcome("timeout", {}, error, rc, wall, stderr_tail, started_s, readings)
        elif result_path.exists():
            result = json.loads(result_path.read_text())
            status = str(result.get("status", "failed"))
            error = result.get("error")
            out = WorkerOutcome(status, result, error, rc, wall, stderr_tail, started_s, readings)
        else:
            death = _classify_death(rc, wall, stderr_tail)
            out = replace(death, started_s=started_s, probe_readings=readings)
        return replace(out, start=start)


_Ran = tuple[int | None, bool, float, float]  # returncode, timed out, wall s, started at (epoch s)


def _run_forked(
    warm: WarmStart,
    pool: TemplatePool | None,
    launchers: Sequence[LauncherProbe],
    env: dict[str, str],
    cores: tuple[int, ...] | None,
    paths: dict[str, Path],
    timeout_s: float,
) -> tuple[_Ran | None, str]:
    """The worker forked from a template, or None and why it must start cold."""
    from cnnbench.measure import forkserver

    if not forkserver.enabled():
        return None, f"cold ({forkserver.START_ENV}=cold)"
    if launchers:
        return None, "cold (a launcher probe wraps the worker process)"
    sig = forkserver.Signature.of(env, cores, warm.preload)
    request = {k: str(v) for k, v in paths.items()}
    try:
        run = (pool or forkserver.default_pool()).run(sig, request, timeout_s)
    except forkserver.TemplateUnavailable as exc:
        return None, f"cold ({exc})"
    if run.note is not None:  # the child died with its template: nothing to classify
        err = paths["stderr"]
        with open(err, "a") as fh:
            fh.write(f"\ncnnbench: {run.note}\n")
    return (run.returncode, run.timed_out, run.wall_s, run.started_s), "template"


def _run_cold(
    prefix: list[str], env: dict[str, str], paths: dict[str, Path], timeout_s: float
) -> _Ran:
    cmd = [*prefix, sys.executable, "-m", "cnnbench.measure.worker"]
    cmd += [str(paths["job"]), str(paths["result"])]
    start = time.perf_counter()
    started_s = time.time()
    timed_out = False
    with open(paths["stdout"], "wb") as out, open(paths["stderr"], "wb") as err:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            env=env,
            start_new_session=True,
            preexec_fn=die_with_parent(os.getpid()),
        )
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            # Whatever happened (a timeout, a crash, Ctrl-C in the parent): nothing of the
            # worker's process group outlives this call.
            _kill_group(proc)
    return proc.returncode, timed_out, time.perf_counter() - start, started_s


def _collect(probe: LauncherProbe, out_dir: Path, rc: int | None, timed_out: bool) -> ProbeReading:
    """A launcher probe's reading; a probe that cannot read its output says why."""
    if timed_out:
        return ProbeReading.unavailable(probe.name, probe.kind, "the worker timed out")
    try:
        return probe.collect(out_dir, rc)
    except Exception as exc:
        return ProbeReading.unavailable(
            probe.name, probe.kind, f"reading its output failed: {type(exc).__name__}: {exc}"
        )


def _classify_death(rc: int | None, wall: float, stderr_tail: str) -> WorkerOutcome:
    last = stderr_tail.strip().splitlines()[-1:] if stderr_tail.strip() else []
    detail = f": {last[0][:300]}" if last else ""
    if rc is not None and rc < 0:
        sig = -rc
        if sig == signal.SIGKILL:
            # We did not send it (timeouts are handled above): on Linux an unrequested SIGKILL
            # is the kernel's out-of-memory killer, or a cgroup memory limit.
            return WorkerOutcome(
                "oom",
                {},
                "killed by SIGKILL (likely the kernel's out-of-memory killer)",
                rc,
                wall,
                stderr_tail,
            )
        return WorkerOutcome(
            "crashed", {}, f"killed by {_signal_name(sig)}{detail}", rc, wall, stderr_tail
        )
    return WorkerOutcome(
        "crashed",
        {},
        f"worker exited with code {rc} without a result{detail}",
        rc,
        wall,
        stderr_tail,
    )


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the worker's process group (the worker, and anything it started that stayed in
    its group), then reap the worker."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


PR_SET_PDEATHSIG = 1  # prctl(2): the signal a process gets when its parent dies


def set_parent_death_signal(sig: int = signal.SIGKILL) -> bool:
    """Ask Linux to send ``sig`` to this process when its parent dies (False elsewhere)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def die_with_parent(parent_pid: int) -> Callable[[], None]:
    """The child's first act after fork: die with the parent, even if it is already gone."""

    def preexec() -> None:
        set_parent_death_signal()
        if os.getppid() != parent_pid:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


_swept = False


def sweep_stale_scratch() -> None:
    """Remove scratch folders of workers whose parent process is gone (a parent killed with
    SIGKILL cannot clean up; its workers died with it). Runs once per parent process."""
    global _swept
    if _swept:
        return
    _swept = True
    for path in Path(tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}*-*"):
        owner = path.name[len(SCRATCH_PREFIX) :].split("-", 1)[0]
        if not owner.isdigit() or _alive(int(owner)):
            continue
        shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
