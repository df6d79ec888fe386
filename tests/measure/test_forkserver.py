"""Workers forked from pre-imported templates: same environment, same isolation, honest paths."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cnnbench.measure import forkserver
from cnnbench.measure.isolation import WarmStart, run_worker
from cnnbench.measure.launch import MEASURE_PRELOAD

PROBE = WarmStart(("preload_probe",))


@pytest.fixture(autouse=True)
def pool(monkeypatch: pytest.MonkeyPatch) -> Iterator[forkserver.TemplatePool]:
    """A pool of this test's own, closed at its end (no template outlives a test)."""
    fresh = forkserver.TemplatePool()
    monkeypatch.setattr(forkserver, "_POOL", fresh)
    yield fresh
    fresh.close()


def _run(entry: str, timeout_s: float = 60, **kw: object):
    kw.setdefault("warm", PROBE)
    return run_worker(f"worker_entries:{entry}", {"x": 1}, timeout_s=timeout_s, **kw)  # type: ignore[arg-type]


def test_caps_threads_and_affinity_are_set_before_the_templates_imports(
    pool: forkserver.TemplatePool,
) -> None:
    out = _run("import_time_state", threads=3, isa="avx2", cores=(0,))
    assert out.status == "ok", out.error
    assert out.start == "template"
    assert out.result["seen"] == {"omp": "3", "onednn": "AVX2", "affinity": [0]}
    assert out.result["importer"] != out.result["pid"]  # imported once, in the template
    assert out.result["affinity"] == [0]
    again = _run("import_time_state", threads=3, isa="avx2", cores=(0,))
    assert again.result["importer"] == out.result["importer"]  # the same template served it
    assert again.result["pid"] != out.result["pid"]  # a fresh worker
    assert pool.started == 1


def test_another_environment_gets_its_own_template(pool: forkserver.TemplatePool) -> None:
    one = _run("import_time_state", threads=1)
    two = _run("import_time_state", threads=2)
    assert (one.result["seen"]["omp"], two.result["seen"]["omp"]) == ("1", "2")
    assert one.result["importer"] != two.result["importer"]
    assert pool.started == 2


@pytest.mark.parametrize(
    ("entry", "status", "text"),
    [
        ("segfault", "crashed", "SIGSEGV"),
        ("exit_silently", "crashed", "code 3"),
        ("sigkill", "oom", "SIGKILL"),
        ("fail", "failed", "ValueError: something is wrong"),
    ],
)
def test_forked_workers_end_as_cold_ones_do(entry: str, status: str, text: str) -> None:
    out = _run(entry)
    assert out.start == "template"
    assert out.status == status
    assert text in (out.error or "")


def test_a_hang_is_a_timeout_and_the_template_serves_on() -> None:
    out = _run("hang", timeout_s=2)
    assert out.start == "template"
    assert out.status == "timeout" and out.wall_s >= 2
    assert _run("echo").status == "ok"


def _dead(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.split(") ", 1)[1].startswith("Z")  # a zombie waiting for its reaper


def test_the_group_of_a_forked_worker_is_killed(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    out = run_worker(
        "worker_entries:spawn_and_crash", {"pid_file": str(pid_file)}, timeout_s=60, warm=PROBE
    )
    assert out.start == "template" and out.status == "crashed"
    grandchild = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while not _dead(grandchild) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _dead(grandchild)


def test_a_template_whose_threads_survive_a_fork_refuses_and_the_worker_starts_cold(
    pool: forkserver.TemplatePool,
) -> None:
    warm = WarmStart(("threaded_import",))
    out = _run("echo", warm=warm)
    assert out.status == "ok"
    assert out.start.startswith("cold (template not usable") and "threads" in out.start
    assert _run("echo", warm=warm).start == out.start  # refused once, not retried
    assert pool.started == 0


def test_an_expired_template_is_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    short = forkserver.TemplatePool(idle_s=0.3)
    monkeypatch.setattr(forkserver, "_POOL", short)
    try:
        first = _run("import_time_state")
        time.sleep(1.5)  # the template exits after 0.3 s without a request
        second = _run("import_time_state")
        assert (first.start, second.start) == ("template", "template")
        assert first.result["importer"] != second.result["importer"]
        assert short.started == 2
        assert not Path(f"/proc/{first.result['importer']}").exists()
    finally:
        short.close()


def test_templates_can_be_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(forkserver.START_ENV, "cold")
    out = _run("echo")
    assert out.status == "ok" and out.start == f"cold ({forkserver.START_ENV}=cold)"
    assert run_worker("worker_entries:echo", {}, timeout_s=60).start == "cold"


def test_torch_imported_in_the_template_still_runs_under_the_isa_cap() -> None:
    flags = Path("/proc/cpuinfo").read_text()
    if " avx2" not in flags:
        pytest.skip("this CPU has no AVX2")  # the cold path's test covers the refusal
    out = run_worker(
        "worker_entries:torch_isa",
        {"isa": "avx2"},
        timeout_s=120,
        isa="avx2",
        warm=WarmStart(MEASURE_PRELOAD),
    )
    assert out.status == "ok", out.error
    assert out.start == "template"
    assert out.result["aten_cpu_capability"] == "AVX2"
    convs = [k for k in out.result["kernel_counts"] if k.startswith("convolution:")]
    assert convs and all(k.endswith("avx2") for k in convs), convs


def test_no_template_survives_its_pool(pool: forkserver.TemplatePool) -> None:
    out = _run("import_time_state")
    template = out.result["importer"]
    assert Path(f"/proc/{template}").exists()
    pool.close()
    assert _dead(template)


def test_a_measurement_records_which_start_it_had() -> None:
    from cnnbench.execute.executors.local import LocalExecutor
    from cnnbench.execute.sweep import measure_latency_group
    from cnnbench.results.record import ResultRecord
    from records import quick_spec, this_machine

    with LocalExecutor() as warm, LocalExecutor(warm=False) as cold:
        (w,) = measure_latency_group([quick_spec(threads=1)], this_machine(), warm)
        (c,) = measure_latency_group([quick_spec(threads=1)], this_machine(), cold)
    assert w.status == c.status == "ok"
    assert [r.worker_start for r in w.timing.rounds] == ["template"]
    assert [r.worker_start for r in c.timing.rounds] == ["cold"]
    again = ResultRecord.from_json(w.to_json())
    assert again.timing.rounds[0].worker_start == "template"
