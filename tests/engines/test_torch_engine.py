"""The torch engine: settings honoured and read back, refusals with reasons, CUDA where present."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from cnnbench.cli.main import main
from cnnbench.engines import ModelInstance, get_engine
from cnnbench.errors import Unsupported
from cnnbench.measure.isolation import run_worker
from cnnbench.models import create_model
from cnnbench.spec import Target

SHAPE = (2, 3, 32, 32)


def _prepare(**target: object):  # type: ignore[no-untyped-def]
    torch.manual_seed(0)
    module = create_model("tinynet")
    x = np.random.default_rng(0).standard_normal(SHAPE, dtype=np.float32)
    with torch.inference_mode():
        ref = module(torch.from_numpy(x)).numpy()
    session = get_engine("torch")().prepare(
        ModelInstance("tinynet", module, SHAPE),
        Target("torch", **target),
    )
    inputs = session.make_inputs(x)
    with session.context():
        out = session.to_numpy(session.run(inputs))
        session.timed_call(inputs)()
    return session, ref, out


def test_fp32_matches_reference_and_reads_back_threads() -> None:
    session, ref, out = _prepare(threads=1)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6)
    eff = session.effective()
    assert eff["threads"] == 1 and eff["precision"] == "fp32" and eff["mode"] == "eager"


def test_channels_last_is_applied() -> None:
    session, ref, out = _prepare(options=(("channels_last", "1"),))
    assert session.effective()["memory_format"] == "channels_last"
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("mode", ["cast", "autocast"])
def test_bf16_both_ways(mode: str) -> None:
    session, ref, out = _prepare(precision="bf16", options=(("bf16", mode),))
    eff = session.effective()
    assert eff["precision"] == "bf16" and eff["precision_mode"] == mode
    assert not np.array_equal(out, ref)  # it really ran in bf16
    assert np.max(np.abs(out - ref)) / np.max(np.abs(ref)) < 0.05


def test_compile_runs_with_inductor() -> None:
    session, ref, out = _prepare(threads=1, options=(("compile", "1"),))
    assert session.effective()["mode"].startswith("compile(inductor")
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ({"precision": "int8"}, "int8"),
        ({"precision": "fp16"}, "CUDA"),
        ({"options": (("fuse", "1"),)}, "no option fuse"),
        ({"options": (("compile_mode", "fastest"),)}, "compile_mode"),
        ({"device": "tpu"}, "no device"),
    ],
)
def test_refusals_name_the_reason(target: dict[str, object], reason: str) -> None:
    with pytest.raises(Unsupported, match=reason):
        _prepare(**target)


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is present")
def test_cuda_absent_is_unsupported() -> None:
    with pytest.raises(Unsupported, match="CUDA is not available"):
        _prepare(device="cuda")


def test_isa_cap_is_verified_in_a_fresh_worker() -> None:
    from cnnbench.system.fingerprint import collect

    flags = collect()["isa"]
    out = run_worker("worker_entries:torch_isa", {"isa": "avx2"}, timeout_s=120, isa="avx2")
    if "avx2" in flags:
        assert out.status == "ok", out.error
        assert out.result["aten_cpu_capability"] == "AVX2"
        # oneDNN's own read-back: every convolution ran an AVX2 kernel (on either CPU kind).
        convs = [k for k in out.result["kernel_counts"] if k.startswith("convolution:")]
        assert convs and all(k.endswith("avx2") for k in convs), convs
        assert out.result["isa"] == "avx2" and out.result["onednn_isa"] == "Intel AVX2"
    if "avx512f" not in flags:
        # A cap above what /proc/cpuinfo shows: refused before the engine loads (torch itself
        # would report AVX512 when forced by ATEN_CPU_CAPABILITY, so the engine cannot tell).
        code = main(["run", "tinynet", "--isa", "avx512", "--budget", "0.2", "--json", "i.json"])
        rec = json.loads(Path("i.json").read_text())[0]
        assert code == 1 and rec["status"] == "unsupported"
        assert "lacks avx512f" in rec["error"]


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
@pytest.mark.parametrize("precision", ["fp32", "fp16", "bf16"])
def test_cuda_runs_and_synchronises(precision: str) -> None:
    session, ref, out = _prepare(device="cuda", precision=precision)
    eff = session.effective()
    assert eff["device"].startswith("cuda") and eff["precision"] == precision
    tol = 1e-3 if precision == "fp32" else 5e-2
    assert np.max(np.abs(out - ref)) / np.max(np.abs(ref)) < tol


def test_streams_are_cpu_threads_in_inference_mode_and_autocast() -> None:
    seen: list[tuple[bool, bool, str]] = []

    class Recording(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = create_model("tinynet")

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            state = (torch.is_inference_mode_enabled(), torch.is_autocast_enabled("cpu"))
            seen.append((*state, threading.current_thread().name))
            return self.inner(x)

    target = Target(
        "torch", threads=1, streams=2, precision="bf16", options=(("bf16", "autocast"),)
    )
    session = get_engine("torch")().prepare(ModelInstance("r", Recording(), SHAPE), target)
    assert session.effective()["streams"] == 2
    seen.clear()  # prepare made one call itself, to read oneDNN's kernels back
    x = session.make_inputs(np.zeros(SHAPE, dtype=np.float32))
    with session.infer_queue(x, 2) as queue:  # no session.context() here: each thread has its own
        assert queue.size == 2
        for _ in range(6):
            queue.submit(lambda: None)
        queue.wait_all()
    assert len(seen) == 6
    assert all(mode and autocast for mode, autocast, _ in seen)
    assert {name for *_, name in seen} <= {"cnnbench-torch-0", "cnnbench-torch-1"}


def test_strict_isa_cap_reaches_the_engine_and_the_record() -> None:
    from cnnbench.system.fingerprint import collect

    if "avx2" not in collect()["isa"]:
        pytest.skip("this CPU lacks AVX2")
    args = ["run", "tinynet", "-e", "torch", "--isa", "avx2", "--isa-strict", "--budget", "0.2"]
    assert main([*args, "--json", "s.json"]) == 0
    (rec,) = json.loads(Path("s.json").read_text())
    assert rec["spec"]["isa_strict"] is True and rec["status"] == "ok"
    assert rec["effective"]["isa"] == "avx2" and rec["effective"].get("isa_exceptions") in (
        None,
        [],
    )
