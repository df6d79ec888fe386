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
from cnnbench.errors import BadInput, Unsupported
from cnnbench.graph.source import source_onnx
from cnnbench.spec import Target

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


def _source_ops(instance: ModelInstance) -> dict[str, int]:
    """Op counts of the ONNX graph OpenVINO reads (the export of the very module)."""
    import onnx

    graph = onnx.load(str(source_onnx(instance).path), load_external_data=False).graph
    counts: dict[str, int] = {}
    for node in graph.node:
        counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return counts


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
    # Every convolution and matrix product of the graph runs as a compute node of its own.
    ops = _source_ops(instance)
    assert ops.get("Conv", 0) >= 1
    want = sum(ops.get(op, 0) for op in ("Conv", "ConvTranspose", "Gemm", "MatMul"))
    assert sum(eff["kernel_counts"].values()) == want
    assert sum(eff["layer_precisions"].values()) == want
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
    with pytest.raises(Unsupported, match=r"no option colour \(known: fold_bn, hyper_thread"):
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
    monkeypatch.delenv("OV_CPU_MAX_ISA", raising=False)
    with pytest.raises(Unsupported, match="ONEDNN_MAX_CPU_ISA=AVX2 and OV_CPU_MAX_ISA=AVX2"):
        _prepare(instance, isa="avx2")
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")  # oneDNN's alone is not enough
    with pytest.raises(Unsupported, match="OV_CPU_MAX_ISA=None"):
        _prepare(instance, isa="avx2")


def test_infer_queue_has_exactly_size_requests_on_the_input(
    tiny: tuple[ModelInstance, np.ndarray, np.ndarray],
) -> None:
    instance, array, ref = tiny
    if (os.cpu_count() or 1) < 2:
        pytest.skip("two streams need two CPUs")
    session = _prepare(instance, threads=2, streams=2)
    with pytest.raises(BadInput, match="make_inputs first"):
        session.infer_queue(None, 2)
    inputs = session.make_inputs(array)
    outputs: list[np.ndarray] = []
    with session.infer_queue(inputs, 2) as queue:
        requests = [queue._queue[i] for i in range(len(queue._queue))]
        assert queue.size == len(requests) == 2  # not OPTIMAL_NUMBER_OF_INFER_REQUESTS
        for _ in range(6):
            queue.submit(lambda: None)
        queue.wait_all()
        for request in requests:  # every request read the input set by make_inputs
            outputs.append(np.array(request.get_output_tensor(0).data, copy=True))
    for out in outputs:
        np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-6)
    out = session.to_numpy(session.run(inputs))  # the sync request is untouched
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-6)


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
