"""Worker isolation: every way a child can end becomes an outcome with a status."""

from __future__ import annotations

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


def test_inherited_caps_are_removed_and_threads_set_only_when_asked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "SSE41")
    monkeypatch.setenv("OV_CPU_MAX_ISA", "SSE41")
    monkeypatch.setenv("OMP_NUM_THREADS", "7")
    env = worker_env(None, None)
    assert "ONEDNN_MAX_CPU_ISA" not in env and "OV_CPU_MAX_ISA" not in env
    assert env["OMP_NUM_THREADS"] == "7"  # not asked: the user's own setting stays
    capped = worker_env(3, "avx2")
    assert capped["OMP_NUM_THREADS"] == capped["MKL_NUM_THREADS"] == "3"
    assert capped["ONEDNN_MAX_CPU_ISA"] == capped["OV_CPU_MAX_ISA"] == "AVX2"


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
    assert out.wall_s >= 3  # not killed before its timeout
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
