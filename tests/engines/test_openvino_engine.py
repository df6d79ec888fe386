"""The OpenVINO engine, for real (no mocks), on the tiny registered network."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("openvino")

from cnnbench.cli.main import main
from cnnbench.engines import ModelInstance, get_engine
from cnnbench.engines.openvino.engine import OpenVinoSession
from cnnbench.engines.openvino.inspect import check_isa_kernels, check_precision, kernel_isa
from cnnbench.errors import BadInput, Unsupported
from cnnbench.measure.isolation import run_worker
from cnnbench.spec import Target
from cnnbench.system.fingerprint import parse_cpuinfo

SHAPE = (1, 3, 32, 32)
HAS_NNCF = importlib.util.find_spec("nncf") is not None


@pytest.fixture(scope="module")
def tiny() -> tuple[ModelInstance, np.ndarray, np.ndarray]:
    """tinynet as the worker builds it, an input, and torch's fp32 output for it."""
    import torch

    from cnnbench.models import create_model

    torch.manual_seed(0)
    module = create_model("tinynet").eval()
    array = np.random.default_rng(0).standard_normal(SHAPE, dtype=np.float32)
    with torch.inference_mode():
        ref = module(torch.from_numpy(array)).numpy()
    return ModelInstance("tinynet", module, SHAPE), array, ref


def _prepare(instance: ModelInstance, **kw: Any) -> OpenVinoSession:
    session = get_engine("openvino")().prepare(instance, Target("openvino", **kw))
    assert isinstance(session, OpenVinoSession)
    return session


def _capabilities() -> list[str]:
    import openvino as ov

    return [str(c) for c in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")]


def _cpu_flags() -> list[str]:
    return list(parse_cpuinfo(Path("/proc/cpuinfo").read_text(errors="replace"))["isa"])


@pytest.mark.parametrize("threads", [1, 2])
def test_fp32_matches_torch_and_reads_back_f32(
    tiny: tuple[ModelInstance, np.ndarray, np.ndarray], threads: int
) -> None:
    instance, array, ref = tiny
    session = _prepare(instance, threads=threads)
    out = session.to_numpy(session.run(session.make_inputs(array)))
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-6)
    eff = session.effective()
    # The key check: OpenVINO's default bf16 (on CPUs that have it) did not sneak in.
    assert eff["precision"] == "fp32"
    assert eff["precision_hint"] == "f32"
    assert set(eff["layer_precisions"]) == {"fp32"}
    assert eff["threads"] == threads
    assert eff["streams"] == 1
    assert eff["performance_hint"] == "LATENCY"
    assert eff["device"] == "CPU" and eff["kernels"]
    assert sum(eff["kernel_counts"].values()) == 4  # three convolutions and the classifier
    assert isinstance(eff["cpu_pinning"], bool) and isinstance(eff["hyper_threading"], bool)
    assert eff["graph"]["origin"] == "export"
    json.dumps(eff)  # goes into the result record


def test_timed_call_is_a_bare_infer(tiny: tuple[ModelInstance, np.ndarray, np.ndarray]) -> None:
    instance, array, ref = tiny
    session = _prepare(instance, threads=1)
    inputs = session.make_inputs(array)
    call = session.timed_call(inputs)
    call()
    out = session.request.get_output_tensor(0).data
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-6)


def test_streams_read_back(tiny: tuple[ModelInstance, np.ndarray, np.ndarray]) -> None:
    instance, array, ref = tiny
    if (os.cpu_count() or 1) < 2:
        pytest.skip("two streams need two CPUs")
    session = _prepare(instance, threads=2, streams=2)
    eff = session.effective()
    assert eff["streams"] == 2 and eff["threads"] == 2
    assert eff["optimal_infer_requests"] >= 2
    out = session.to_numpy(session.run(session.make_inputs(array)))
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-6)


def test_a_clamped_setting_is_refused(tiny: tuple[ModelInstance, np.ndarray, np.ndarray]) -> None:
    # OpenVINO silently runs one stream when one thread is all it may use: read back, refused.
    with pytest.raises(Unsupported, match="NUM_STREAMS: asked 2, got 1"):
        _prepare(tiny[0], threads=1, streams=2)


def test_options(tiny: tuple[ModelInstance, np.ndarray, np.ndarray]) -> None:
    instance = tiny[0]
    with pytest.raises(Unsupported, match=r"no option colour \(known: hyper_threading, perf"):
        _prepare(instance, options=(("colour", "blue"),))
    with pytest.raises(Unsupported, match="performance_hint"):
        _prepare(instance, options=(("performance_hint", "fast"),))
    with pytest.raises(Unsupported, match="pinning"):
        _prepare(instance, options=(("pinning", "maybe"),))
    eff = _prepare(
        instance, threads=1, options=(("performance_hint", "throughput"), ("pinning", "0"))
    ).effective()
    assert eff["performance_hint"] == "THROUGHPUT" and eff["cpu_pinning"] is False
    assert eff["streams"] == 1  # explicit streams win over the hint's own choice
    eff = _prepare(instance, threads=1, options=(("performance_hint", "none"),)).effective()
    assert "PERFORMANCE_HINT" not in eff["requested_config"] and eff["performance_hint"]


@pytest.mark.parametrize(("precision", "capability"), [("bf16", "BF16"), ("fp16", "FP16")])
def test_reduced_precision_follows_the_cpu(
    tiny: tuple[ModelInstance, np.ndarray, np.ndarray], precision: str, capability: str
) -> None:
    instance, array, ref = tiny
    if capability not in _capabilities():
        with pytest.raises(Unsupported, match=f"cannot run {precision}.*no {capability}"):
            _prepare(instance, precision=precision)
        return
    session = _prepare(instance, precision=precision)
    eff = session.effective()
    assert eff["precision_hint"] == {"bf16": "bf16", "fp16": "f16"}[precision]
    assert eff["layer_precisions"].get(precision, 0) >= 1
    out = session.to_numpy(session.run(session.make_inputs(array)))
    np.testing.assert_allclose(out, ref, rtol=0.1, atol=0.1)


def test_no_device_no_cap_without_environment(
    tiny: tuple[ModelInstance, np.ndarray, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    instance = tiny[0]
    devices = get_engine("openvino").devices()
    assert "cpu" in devices
    if "npu" not in devices:
        with pytest.raises(Unsupported, match="no device 'npu'"):
            _prepare(instance, device="npu")
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    with pytest.raises(Unsupported, match="ONEDNN_MAX_CPU_ISA=AVX2"):
        _prepare(instance, isa="avx2")


def test_kernel_isa_names() -> None:
    assert kernel_isa("brgconv_avx2_1x1_f32") == ("avx2", 3)
    assert kernel_isa("jit_sse42_dw_f32") == ("sse41", 1)
    assert kernel_isa("brgconv_avx512_amx_1x1_bf16") == ("amx", 8)
    assert kernel_isa("jit_avx512_1x1_f32") == ("avx512", 5)
    assert kernel_isa("gemm_mlas_f32") is None and kernel_isa("jit_uni_f32") is None
    seen = {"brgconv_avx2_f32": ["Convolution"], "gemm_mlas_f32": ["FullyConnected"]}
    assert check_isa_kernels("avx2", seen) == {"isa_seen": "avx2"}
    with pytest.raises(Unsupported, match=r"not honoured: brgconv_avx512_1x1_f32 \(Convolution\)"):
        check_isa_kernels(
            "avx2", {"brgconv_avx512_1x1_f32": ["Convolution"], "jit_avx2_f32": ["Pooling"]}
        )
    with pytest.raises(Unsupported, match="amx"):
        check_isa_kernels("avx512_bf16", {"brgconv_avx512_amx_bf16": ["Convolution"]})
    check_precision("int8", {"int8": 3, "fp32": 1})
    with pytest.raises(Unsupported, match="fp32 requested, but the runtime model runs mixed"):
        check_precision("fp32", {"bf16": 3, "fp32": 1})
    with pytest.raises(Unsupported, match="bf16 requested, but the runtime model runs fp32"):
        check_precision("bf16", {"fp32": 4})


def _worker(isa: str) -> Any:
    return run_worker(
        "engines.openvino_entries:prepare_tinynet", {"isa": isa}, timeout_s=120, isa=isa
    )


def test_isa_cap_avx2_in_a_worker() -> None:
    if any(f not in _cpu_flags() for f in ("avx2", "fma")):
        pytest.skip("this CPU lacks AVX2")
    outcome = _worker("avx2")
    assert outcome.status == "ok", (outcome.error, outcome.stderr_tail)
    eff = outcome.result["effective"]
    assert outcome.result["onednn_env"] == "AVX2"
    assert eff["isa_cap"] == "avx2" and eff["onednn_max_cpu_isa"] == "AVX2"
    assert eff["precision"] == "fp32" and eff["isa_seen"] == "avx2"
    convs = [k for k in eff["kernels"] if "mlas" not in k]
    assert convs and all("avx2" in k for k in convs), eff["kernels"]
    assert not any(bad in k for k in eff["kernels"] for bad in ("avx512", "amx"))


def test_isa_cap_sse41_in_a_worker() -> None:
    """Below the machine's level the cap visibly bites on the convolutions; a node whose kernel
    still names AVX2 (OpenVINO 2026.4's Reduce, on this tinynet) makes the run refused."""
    if "sse4_2" not in _cpu_flags():
        pytest.skip("this CPU lacks SSE4.2")
    outcome = _worker("sse41")
    if outcome.status == "ok":
        kernels = outcome.result["effective"]["kernels"]
        assert not any("avx" in k for k in kernels), kernels
        return
    assert outcome.status == "unsupported", (outcome.error, outcome.stderr_tail)
    error = outcome.error or ""
    offending = error.split("not honoured: ")[1].split(" (all kernels")[0]
    assert "avx" in offending and "Convolution" not in offending, error
    assert "jit_sse42_f32 (Convolution" in error  # the cap did reach the convolutions


def test_run_streams_keeps_two_requests_in_flight(
    tiny: tuple[ModelInstance, np.ndarray, np.ndarray],
) -> None:
    instance, array, ref = tiny
    if (os.cpu_count() or 1) < 2:
        pytest.skip("two streams need two CPUs")
    session = _prepare(instance, threads=2, streams=2)
    inputs = session.make_inputs(array)
    result = session.run_streams(inputs, 0.3)
    assert result.requests_in_flight == 2
    assert result.completed > 0 and len(result.latencies_ns) == result.completed
    assert all(lat > 0 for lat in result.latencies_ns)
    assert result.seconds >= 0.3 and result.images_per_s > 0
    assert result.images_per_s == pytest.approx(SHAPE[0] * result.completed / result.seconds)
    again = session.run_streams(inputs, 0.05)  # the queue is made once and reused
    assert again.completed == len(again.latencies_ns) > 0
    out = session.to_numpy(session.run(inputs))  # the sync request is untouched
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-6)
    with pytest.raises(BadInput, match="positive number of seconds"):
        session.run_streams(inputs, -1.0)


def test_run_streams_with_one_stream(tiny: tuple[ModelInstance, np.ndarray, np.ndarray]) -> None:
    instance, array, _ = tiny
    session = _prepare(instance, threads=1)
    result = session.run_streams(session.make_inputs(array), 0.1)
    assert result.requests_in_flight == 1 and result.completed == len(result.latencies_ns) > 0


def test_user_onnx_file(tiny: tuple[ModelInstance, np.ndarray, np.ndarray]) -> None:
    from cnnbench.graph.source import source_onnx

    instance, array, ref = tiny
    path = source_onnx(instance).path
    user = ModelInstance("mine", None, SHAPE, {"onnx_path": str(path)})
    session = _prepare(user, threads=1)
    assert session.effective()["graph"]["origin"] == "file"
    out = session.to_numpy(session.run(session.make_inputs(array)))
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-6)
    wrong = ModelInstance("mine", None, (2, 3, 32, 32), {"onnx_path": str(path)})
    with pytest.raises(Unsupported, match="static input of shape"):
        _prepare(wrong, threads=1)


@pytest.mark.skipif(not HAS_NNCF, reason="nncf is not installed")
def test_int8_with_nncf(tiny: tuple[ModelInstance, np.ndarray, np.ndarray]) -> None:
    instance, array, ref = tiny
    session = _prepare(instance, threads=1, precision="int8")
    eff = session.effective()
    assert eff["layer_precisions"].get("int8", 0) >= 1
    assert "int8" in eff["precision"]
    assert eff["precision_hint"] == "f32"  # what is not quantised stays f32, never bf16
    cal = eff["calibration"]
    assert cal["samples"] == 16 and cal["seed"] == 1 and cal["tool"] == "nncf"
    out = session.to_numpy(session.run(session.make_inputs(array)))
    assert out.shape == ref.shape and np.all(np.isfinite(out))
    assert np.corrcoef(out.ravel(), ref.ravel())[0, 1] > 0.9


@pytest.mark.skipif(HAS_NNCF, reason="nncf is installed")
def test_int8_without_nncf(tiny: tuple[ModelInstance, np.ndarray, np.ndarray]) -> None:
    with pytest.raises(Unsupported, match="int8 needs nncf: pip install nncf"):
        _prepare(tiny[0], precision="int8")


def test_cli_end_to_end() -> None:
    quick = ["--budget", "0.3", "--min-samples", "5", "--threads", "1"]
    code = main(["run", "tinynet", "-e", "openvino", *quick, "--json", "o.json"])
    assert code == 0
    (rec,) = json.loads(Path("o.json").read_text())
    assert rec["status"] == "ok" and rec["spec"]["engine"] == "openvino"
    eff = rec["effective"]
    assert eff["precision"] == "fp32" and eff["precision_hint"] == "f32"
    assert eff["threads"] == 1 and eff["streams"] == 1
    assert rec["latency_ms"]["n"] >= 5
