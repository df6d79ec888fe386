"""Worker isolation: every way a child can end becomes an outcome with a status."""

from __future__ import annotations

import os

import pytest

from cnnbench.measure.isolation import run_worker, worker_env


def _run(entry: str, timeout_s: float = 60, **kw: object):
    return run_worker(f"worker_entries:{entry}", {"x": 1}, timeout_s=timeout_s, **kw)  # type: ignore[arg-type]


def test_ok_result_and_environment_reach_the_child() -> None:
    out = _run("echo", threads=3, isa="avx2", cores=(0,))
    assert out.status == "ok"
    assert out.result["echo"] == {"x": 1}
    assert out.result["omp"] == "3"
    assert out.result["onednn"] == "AVX2"
    assert out.result["aten"] == "avx2"
    assert out.result["affinity"] == [0]


def test_inherited_caps_are_removed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "SSE41")
    env = worker_env(None, None)
    assert "ONEDNN_MAX_CPU_ISA" not in env
    assert "OMP_NUM_THREADS" not in env or env["OMP_NUM_THREADS"] == os.environ.get(
        "OMP_NUM_THREADS"
    )


@pytest.mark.parametrize(("entry", "signame"), [("segfault", "SIGSEGV"), ("abort", "SIGABRT")])
def test_signal_is_crashed(entry: str, signame: str) -> None:
    out = _run(entry)
    assert out.status == "crashed"
    assert out.error is not None and signame in out.error
    assert out.returncode is not None and out.returncode < 0


def test_silent_exit_is_crashed() -> None:
    out = _run("exit_silently")
    assert out.status == "crashed"
    assert "code 3" in (out.error or "")


def test_unrequested_sigkill_is_oom() -> None:
    out = _run("sigkill")
    assert out.status == "oom"
    assert "SIGKILL" in (out.error or "")


def test_hang_is_timeout_and_killed() -> None:
    out = _run("hang", timeout_s=3)
    assert out.status == "timeout"
    assert 3 <= out.wall_s < 30
    assert "3 s timeout" in (out.error or "")


def test_memory_error_is_oom() -> None:
    out = _run("allocate")
    assert out.status == "oom"
    assert "MemoryError" in (out.error or "")


def test_torch_allocation_failure_is_oom() -> None:
    out = _run("torch_oom")
    assert out.status == "oom", out.error


def test_exception_is_failed_with_text() -> None:
    out = _run("fail")
    assert out.status == "failed"
    assert out.error == "ValueError: something is wrong with this configuration"
    assert "Traceback" in out.result["traceback"]


def test_unsupported_is_recorded_as_unsupported() -> None:
    out = _run("unsupported")
    assert out.status == "unsupported"
    assert "cannot do that" in (out.error or "")
