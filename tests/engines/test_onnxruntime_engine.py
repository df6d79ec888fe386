"""The ONNX Runtime engine, for real (no mocks), on the tiny test network."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

ort = pytest.importorskip("onnxruntime")
torch = pytest.importorskip("torch")

from cnnbench.cli.main import main  # noqa: E402
from cnnbench.engines import ModelInstance, get_engine  # noqa: E402
from cnnbench.errors import BadInput, Unsupported  # noqa: E402
from cnnbench.models import create_model  # noqa: E402
from cnnbench.spec import Target  # noqa: E402

SAMPLE = (3, 32, 32)
HAS_CUDA = "CUDAExecutionProvider" in ort.get_available_providers()


def _module(seed: int = 0) -> Any:
    torch.manual_seed(seed)
    return create_model("tinynet")


def _instance(batch: int = 1, seed: int = 0) -> ModelInstance:
    return ModelInstance("tinynet", _module(seed), (batch, *SAMPLE))


def _input(batch: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((batch, *SAMPLE), dtype=np.float32)


def _reference(module: Any, x: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        return module(torch.from_numpy(x)).numpy()


def _prepare(instance: ModelInstance, **target: Any) -> Any:
    return get_engine("onnxruntime")().prepare(instance, Target("onnxruntime", **target))


def _run(session: Any, x: np.ndarray) -> np.ndarray:
    return session.to_numpy(session.run(session.make_inputs(x)))


def _source_ops(inst: ModelInstance) -> dict[str, int]:
    """Op counts of the exported graph the session loads."""
    import onnx

    from cnnbench.graph.source import source_onnx

    graph = onnx.load(str(source_onnx(inst).path), load_external_data=False).graph
    counts: dict[str, int] = {}
    for node in graph.node:
        counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return counts


def test_info_lists_the_cpu_and_a_version() -> None:
    info = get_engine("onnxruntime").info()
    assert info.installed and info.version == ort.__version__
    assert "cpu" in info.devices
    assert any(d.startswith("cuda") for d in info.devices) == HAS_CUDA


@pytest.mark.parametrize("threads", [1, 2])
def test_fp32_matches_torch_and_reports_what_it_uses(threads: int) -> None:
    inst = _instance()
    session = _prepare(inst, threads=threads)
    x = _input(1)
    out = _run(session, x)
    assert out.shape == (1, 10) and out.dtype == np.float32
    np.testing.assert_allclose(out, _reference(inst.module, x), rtol=1e-4, atol=1e-6)
    # The timed callable computes the same thing.
    inputs = session.make_inputs(x)
    session.timed_call(inputs)()
    np.testing.assert_allclose(session.to_numpy(inputs.binding.get_outputs()), out)

    eff = session.effective()
    assert eff["precision"] == "fp32" and eff["device"] == "cpu"
    assert eff["providers"] == ["CPUExecutionProvider"]
    assert eff["threads"] == threads == eff["intra_op_num_threads"]
    assert eff["threads_spawned"] == threads - 1  # the caller is the pool's last thread
    assert eff["streams"] == 1 and eff["isa"] is None
    assert eff["graph_optimization_level"] == "ORT_ENABLE_ALL"
    assert eff["execution_mode"] == "ORT_SEQUENTIAL"
    assert eff["allow_spinning"] is True
    convs = _source_ops(inst)["Conv"]
    assert eff["graph"]["conv_nodes"] == {"fp32": convs}  # every convolution, all fp32
    assert eff["model"]["origin"] == "export" and Path(eff["model"]["path"]).is_file()
    json.dumps(eff)  # the record must be able to hold it


def test_default_threads_are_counted_not_assumed() -> None:
    eff = _prepare(_instance()).effective()
    assert eff["intra_op_num_threads"] == 0  # left to onnxruntime
    assert eff["threads"] == eff["threads_spawned"] + 1 >= 1


@pytest.mark.parametrize(
    ("level", "ort_level"),
    [
        ("disable", "ORT_DISABLE_ALL"),
        ("basic", "ORT_ENABLE_BASIC"),
        ("extended", "ORT_ENABLE_EXTENDED"),
    ],
)
def test_graph_optimization_option_sets_the_level(level: str, ort_level: str) -> None:
    inst = _instance()
    session = _prepare(inst, threads=1, options=(("graph_optimization", level),))
    eff = session.effective()
    assert eff["graph_optimization"] == level and eff["graph_optimization_level"] == ort_level
    ops = eff["graph"]["ops"]
    source = _source_ops(inst)
    fused = ops.get("com.microsoft:FusedConv", 0)
    assert ops.get("Conv", 0) + fused == source["Conv"]  # every convolution is still there
    if level == "extended":
        assert fused >= 1  # conv + activation fused
        assert ops.get("Relu", 0) == source["Relu"] - fused
    else:
        assert fused == 0 and ops.get("Relu") == source["Relu"]
    x = _input(1)
    np.testing.assert_allclose(_run(session, x), _reference(inst.module, x), rtol=1e-4, atol=1e-6)


def test_parallel_mode_and_spinning_are_recorded() -> None:
    options = (("allow_spinning", "0"), ("execution_mode", "parallel"), ("inter_op_threads", "2"))
    session = _prepare(_instance(), threads=1, options=options)
    eff = session.effective()
    assert eff["execution_mode"] == "ORT_PARALLEL" and eff["inter_op_num_threads"] == 2
    assert eff["allow_spinning"] is False
    assert eff["session_config"]["session.intra_op.allow_spinning"] == "0"
    assert _run(session, _input(1)).shape == (1, 10)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ((("fast", "1"),), "known: allow_spinning, execution_mode, fold_bn, graph_optimization"),
        ((("graph_optimization", "max"),), "choose one of disable, basic, extended, all"),
        ((("execution_mode", "async"),), "choose one of sequential, parallel"),
        ((("inter_op_threads", "2"),), "parallel only"),
        ((("execution_mode", "parallel"), ("inter_op_threads", "x")), "not a positive integer"),
        ((("allow_spinning", "maybe"),), "use 1 or 0"),
    ],
)
def test_bad_options_are_refused(options: tuple[tuple[str, str], ...], message: str) -> None:
    with pytest.raises(Unsupported, match=message):
        _prepare(_instance(), options=options)


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ({"precision": "bf16"}, "no bf16 convolution kernels"),
        ({"precision": "fp16"}, "no fp16 convolution kernels"),
        ({"isa": "avx2"}, "onnxruntime's MLAS kernels cannot be capped at an ISA level"),
        ({"device": "npu"}, "no device 'npu'"),
    ],
)
def test_refusals(target: dict[str, Any], message: str) -> None:
    with pytest.raises(Unsupported, match=message):
        _prepare(_instance(), **target)


@pytest.mark.skipif(HAS_CUDA, reason="CUDA is available to onnxruntime here")
@pytest.mark.parametrize("device", ["cuda", "cuda:1", "tensorrt"])
def test_gpu_devices_are_refused_without_their_provider(device: str) -> None:
    with pytest.raises(Unsupported, match=r"has no (CUDA|Tensorrt)ExecutionProvider"):
        _prepare(_instance(), device=device)


def test_int8_is_quantised_calibrated_and_agrees() -> None:
    inst = _instance(batch=8)
    x = _input(8, seed=5)
    fp32 = _run(_prepare(inst, threads=1), x)
    session = _prepare(inst, threads=1, precision="int8")
    out = _run(session, x)
    assert out.shape == (8, 10)
    assert np.mean(out.argmax(1) == fp32.argmax(1)) >= 0.75
    assert np.max(np.abs(out - fp32)) < 0.1 * np.max(np.abs(fp32))

    eff = session.effective()
    assert eff["precision"] == "int8"
    convs = _source_ops(inst)["Conv"]
    assert eff["graph"]["conv_nodes"] == {"int8": convs}  # every convolution, none left fp32
    assert eff["graph"]["ops"]["com.microsoft:QLinearConv"] == convs
    calib = eff["calibration"]
    assert calib["method"] == "MinMax" and calib["samples"] >= 8 and calib["seed"] == 1
    assert calib["cached"] is False
    assert eff["quantization"]["format"] == "QDQ" and eff["quantization"]["per_channel"]
    loaded = Path(eff["model"]["loaded"])
    assert loaded.is_file() and loaded.parent == Path(eff["model"]["path"]).parent
    assert ".int8-" in loaded.name

    again = _prepare(inst, threads=1, precision="int8").effective()
    assert again["calibration"]["cached"] is True and again["model"]["loaded"] == str(loaded)


def test_int8_without_qdq_fusion_is_refused() -> None:
    with pytest.raises(Unsupported, match="float convolutions"):
        _prepare(_instance(), precision="int8", options=(("graph_optimization", "basic"),))


def test_a_users_onnx_file_loads_without_a_module(tmp_path: Path) -> None:
    from cnnbench.graph.export import export_module

    module = _module(seed=3)
    path = export_module(module, (2, *SAMPLE), tmp_path / "mine.onnx")
    inst = ModelInstance("mine", None, (2, *SAMPLE), {"onnx_path": str(path)})
    session = _prepare(inst, threads=1)
    x = _input(2)
    np.testing.assert_allclose(_run(session, x), _reference(module, x), rtol=1e-4, atol=1e-6)
    assert session.effective()["model"] == {
        "origin": "file",
        "path": str(path.resolve()),
        "weights_digest": None,
        "loaded": str(path.resolve()),
    }
    with pytest.raises(BadInput, match="does not fit"):
        session.make_inputs(_input(3))


def test_modules_with_other_weights_get_their_own_export() -> None:
    x = _input(1)
    first, second = _instance(seed=0), _instance(seed=1)
    a, b = _prepare(first, threads=1), _prepare(second, threads=1)
    assert a.effective()["model"]["path"] != b.effective()["model"]["path"]
    np.testing.assert_allclose(_run(b, x), _reference(second.module, x), rtol=1e-4, atol=1e-6)


def test_streams_go_through_the_infer_queue_not_the_latency_loop() -> None:
    inst = _instance(batch=2)
    session = _prepare(inst, threads=1, streams=2)
    x = _input(2)
    inputs = session.make_inputs(x)
    with pytest.raises(Unsupported, match="streams=2"):
        session.timed_call(inputs)
    done: list[int] = []
    with session.infer_queue(inputs, 2) as queue:
        assert queue.size == 2
        for i in range(8):
            queue.submit(lambda i=i: done.append(i))
        queue.wait_all()
        assert sorted(done) == list(range(8))
    # The session still computes the right thing afterwards.
    np.testing.assert_allclose(_run(session, x), _reference(inst.module, x), rtol=1e-4, atol=1e-6)
    assert session.effective()["streams"] == 2


def test_fp16_copy_for_cuda_has_fp16_convolutions() -> None:
    """The fp16 conversion and its read-back, checked on the graph (no GPU needed)."""
    from cnnbench.engines.onnxruntime.inspect import graph_summary
    from cnnbench.engines.onnxruntime.quantize import fp16_model
    from cnnbench.graph.source import source_onnx

    inst = _instance()
    source = source_onnx(inst).path
    convs = _source_ops(inst)["Conv"]
    converted = fp16_model(source)
    assert converted.is_file() and converted != source and ".fp16-" in converted.name
    assert graph_summary(converted)["conv_nodes"] == {"fp16": convs}
    assert graph_summary(source)["conv_nodes"] == {"fp32": convs}
    assert fp16_model(source) == converted  # cached


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_CUDA, reason="no CUDAExecutionProvider in this onnxruntime")
def test_cuda_runs_on_the_gpu_and_agrees() -> None:
    inst = _instance()
    session = _prepare(inst, device="cuda:0")
    x = _input(1)
    np.testing.assert_allclose(_run(session, x), _reference(inst.module, x), rtol=1e-3, atol=1e-4)
    eff = session.effective()
    assert eff["providers"][0] == "CUDAExecutionProvider" and eff["device"] == "cuda:0"


def test_cli_run_end_to_end() -> None:
    args = ["run", "tinynet", "-e", "onnxruntime", "--budget", "0.3", "--threads", "1"]
    assert main([*args, "--json", "o.json"]) == 0
    rec = json.loads(Path("o.json").read_text())[0]
    assert rec["status"] == "ok" and rec["spec"]["engine"] == "onnxruntime"
    eff = rec["effective"]
    assert eff["precision"] == "fp32" and eff["threads"] == 1
    assert eff["providers"] == ["CPUExecutionProvider"]
    assert eff["graph"]["conv_nodes"] == {"fp32": _source_ops(_instance())["Conv"]}
    assert rec["latency_ms"]["n"] >= 1
    if rec.get("agreement"):
        assert rec["agreement"]["within_tolerance"] is True
