"""The worker's allocator setting: parsing, what mallopt is told, and its effect on page faults."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cnnbench.errors import Unsupported
from cnnbench.system import malloc

SRC = str(Path(malloc.__file__).resolve().parents[2])
GLIBC = (malloc.libc_version() or "").startswith("glibc")

# Four 4 MiB blocks written and freed per round: 16 MiB free at the heap's top each time, above
# glibc's dynamic trim threshold (twice the largest block it had mapped: 8 MiB), so as it comes
# glibc gives the pages back and the next round faults all 4,096 in again.
CHURN = """
import ctypes, json, resource, sys
from cnnbench.system import malloc
got = malloc.apply(sys.argv[1])
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = (ctypes.c_size_t,)
libc.free.argtypes = (ctypes.c_void_p,)
size, rounds = 4 << 20, 6
faults = []
for _ in range(rounds):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    blocks = [libc.malloc(size) for _ in range(4)]
    for b in blocks:
        ctypes.memset(b, 1, size)
    for b in blocks:
        libc.free(b)
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(json.dumps({"effective": got, "faults": faults}))
"""


def test_setting_of_reads_the_option() -> None:
    assert malloc.setting_of(()) == "default"
    assert malloc.setting_of((("malloc", " Keep "),)) == "keep"
    assert malloc.setting_of((("malloc", ""), ("fold_bn", "1"))) == "default"
    with pytest.raises(Unsupported, match="malloc='always': choose one of default, keep"):
        malloc.setting_of((("malloc", "always"),))


def test_default_calls_nothing_and_names_the_library(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[int, int]] = []
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.arena_max=2")
    got = malloc.apply("default", mallopt=lambda p, v: calls.append((p, v)) or 1)
    assert calls == []
    assert got["setting"] == "default"
    assert got["glibc_tunables"] == "glibc.malloc.arena_max=2"
    assert got["libc"] == malloc.libc_version()


def test_keep_sets_both_thresholds_and_a_refusal_is_unsupported() -> None:
    calls: list[tuple[int, int]] = []
    got = malloc.apply("keep", mallopt=lambda p, v: calls.append((p, v)) or 1)
    assert calls == [(-3, 32 * 2**20), (-1, 2**31 - 1)]  # M_MMAP_THRESHOLD, M_TRIM_THRESHOLD
    assert got["mmap_threshold_bytes"] == 32 * 2**20
    assert got["trim_threshold_bytes"] == 2**31 - 1
    with pytest.raises(Unsupported, match="mallopt refused mmap_threshold_bytes"):
        malloc.apply("keep", mallopt=lambda p, v: 0)


def _churn(setting: str) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if k != "GLIBC_TUNABLES"}
    env["PYTHONPATH"] = SRC
    proc = subprocess.run(
        [sys.executable, "-c", CHURN, setting], capture_output=True, text=True, env=env, check=True
    )
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


@pytest.mark.skipif(not GLIBC, reason="the thresholds are glibc's")
def test_keep_stops_the_refaulting_that_default_glibc_shows() -> None:
    pages = 4 * (4 << 20) // os.sysconf("SC_PAGE_SIZE")
    default, keep = _churn("default"), _churn("keep")
    assert keep["effective"]["setting"] == "keep"  # type: ignore[index]
    later_default = default["faults"][2:]  # type: ignore[index]
    later_keep = keep["faults"][2:]  # type: ignore[index]
    # As it comes, every round faults (nearly) every page in again; kept, almost none.
    assert min(later_default) > pages // 2, default
    assert max(later_keep) < pages // 50, keep


@pytest.mark.skipif(not GLIBC, reason="malloc=keep needs glibc's mallopt")
def test_a_run_records_the_setting_and_faults_per_inference() -> None:
    from cnnbench.cli.main import main

    args = ["run", "tinynet", "-e", "torch", "--threads", "1", "--budget", "0.2"]
    assert main([*args, "--option", "malloc=keep", "--json", "k.json"]) == 0
    (rec,) = json.loads(Path("k.json").read_text())
    assert rec["spec"]["options"] == {"malloc": "keep"}
    got = rec["effective"]["malloc"]
    assert got["setting"] == "keep" and got["mmap_threshold_bytes"] == 32 * 2**20
    load = next(p for p in rec["probes"] if p["probe"] == "load")
    assert load["values"]["inferences"] >= rec["timing"]["n"]  # faults per call can be had
    assert main([*args, "--json", "d.json"]) == 0
    (rec,) = json.loads(Path("d.json").read_text())
    assert rec["effective"]["malloc"]["setting"] == "default"
    assert rec["effective"]["malloc"]["libc"] == malloc.libc_version()


def test_a_bad_setting_is_refused_before_anything_runs(capsys: pytest.CaptureFixture[str]) -> None:
    from cnnbench.cli.main import main

    code = main(["run", "tinynet", "-e", "torch", "--option", "malloc=always", "--db", "x.db"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "malloc" in err[0] and "keep" in err[0]
    assert not Path("x.db").exists()
