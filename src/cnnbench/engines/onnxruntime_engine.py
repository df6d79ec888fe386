"""The ONNX Runtime engine: the exported ONNX graph on ORT's CPU, CUDA or TensorRT provider.

Model: the cached fp32 export of the module the worker built (or the user's ``.onnx`` file,
``extras["onnx_path"]``); see :mod:`cnnbench.engines._onnx_common`.

Devices: ``cpu`` (CPUExecutionProvider, MLAS kernels); ``cuda[:N]`` (CUDAExecutionProvider) and
``tensorrt[:N]`` (TensorrtExecutionProvider, CUDA and CPU behind it for what TensorRT leaves) where
the installed ORT offers them in ``get_available_providers()``. ORT falls back to the CPU without
an error when a GPU provider fails to load; the session's provider list is read back and such a
fallback is refused.

Precision: ``fp32`` runs the exported graph. ``int8`` is post-training static quantisation
(``quant_pre_process``, then ``quantize_static``: QDQ format, per-channel int8 weights, uint8
activations, MinMax calibration on seeded standard-normal inputs), cached next to the fp32 file;
ORT must fuse the QDQ pairs into integer kernels (QLinearConv), which it does at
``graph_optimization=extended`` or ``all`` only: a graph with no integer convolution left is
refused. ``fp16`` runs on CUDA (a float16 copy of the graph made with ORT's converter) and
TensorRT (``trt_fp16_enable``). Refused: fp16 on the CPU (no x86 fp16 convolution kernels: ORT
would insert casts and compute in fp32), bf16 everywhere (ORT has no bf16 convolution kernels),
int8 on GPUs (not wired).

Options (``--option KEY=VALUE``): ``graph_optimization`` = disable | basic | extended | all
(default all); ``execution_mode`` = sequential | parallel (default sequential);
``inter_op_threads`` = N (parallel mode only); ``allow_spinning`` = 1 | 0 (default 1).

Threads: ``threads`` sets ``intra_op_num_threads``; without it ORT picks its default (one thread
per physical core). The pool size ORT really made is read back by counting the threads the
process gained while the session was built (a pool of N runs N-1 workers plus the caller).

Spinning: ORT's default is kept (``session.intra_op.allow_spinning=1``, set explicitly so it can
be read back): after a call, pool threads spin for a while before sleeping, so back-to-back calls
find them awake. That is how ORT ships and what the latency loop's steady state measures; it
burns CPU between calls, which matters for energy figures and for engines sharing cores
(``allow_spinning=0`` turns it off; the value is in ``effective()``).

Streams: ``streams`` > 1 means concurrent requests: several ``run`` calls in flight on one
session from Python threads (ORT releases the GIL), offered by :meth:`OnnxRuntimeSession.run_async`
and :meth:`OnnxRuntimeSession.run_concurrent`. The latency loop times one synchronous request, so
``timed_call`` refuses a session prepared with streams > 1 rather than time a single stream.

ISA caps: MLAS picks its kernels by CPUID and has no cap; an ``isa`` is refused.

``run`` uses IO binding: the input is placed on the device once (``make_inputs``), every output
is bound to host memory, so a call returns with the results copied back (device synchronised).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import importlib.metadata
import logging
import math
import os
import re
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cnnbench.engines._onnx_common import (
    OnnxSource,
    check_input_shape,
    derived_path,
    graph_io,
    source_onnx,
    write_to,
)
from cnnbench.engines.base import Engine, ModelInstance, Session, register_engine
from cnnbench.errors import BadInput, Unsupported
from cnnbench.spec import Target

KNOWN_OPTIONS = ("allow_spinning", "execution_mode", "graph_optimization", "inter_op_threads")
GRAPH_LEVELS = {
    "disable": "ORT_DISABLE_ALL",
    "basic": "ORT_ENABLE_BASIC",
    "extended": "ORT_ENABLE_EXTENDED",
    "all": "ORT_ENABLE_ALL",
}
EXECUTION_MODES = {"sequential": "ORT_SEQUENTIAL", "parallel": "ORT_PARALLEL"}
SPIN_KEYS = ("session.intra_op.allow_spinning", "session.inter_op.allow_spinning")

CPU_EP = "CPUExecutionProvider"
CUDA_EP = "CUDAExecutionProvider"
TRT_EP = "TensorrtExecutionProvider"

# int8: how the model is calibrated and quantised (all of it is recorded in effective()).
CALIBRATION_SEED = 1  # the timed input uses seed 0: calibration never sees it
CALIBRATION_MIN_SAMPLES = 8
QUANTIZATION = {
    "tool": "onnxruntime.quantization.quantize_static",
    "preprocess": "onnxruntime.quantization.quant_pre_process",
    "format": "QDQ",
    "per_channel": True,
    "reduce_range": False,
    "activation_type": "QUInt8",
    "weight_type": "QInt8",
}

# ONNX tensor element types (onnx.TensorProto) that matter for the precision read-back.
_FLOAT, _UINT8, _INT8, _FLOAT16, _BFLOAT16 = 1, 2, 3, 10, 16
_DTYPE_NAMES = {_FLOAT: "fp32", _FLOAT16: "fp16", _BFLOAT16: "bf16", _INT8: "int8", _UINT8: "int8"}
_INTEGER_CONVS = ("QLinearConv", "ConvInteger")
_FLOAT_CONVS = ("Conv", "FusedConv", "NhwcFusedConv", "FusedConvFp16")
_NUMPY_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16}


@dataclass(frozen=True)
class _Settings:
    """The parsed options of a target."""

    graph_optimization: str
    execution_mode: str
    inter_op_threads: int | None
    allow_spinning: bool


@dataclass(frozen=True)
class _Device:
    kind: str  # cpu | cuda | tensorrt
    index: int

    @property
    def name(self) -> str:
        return "cpu" if self.kind == "cpu" else f"{self.kind}:{self.index}"

    @property
    def ortvalue_device(self) -> str:
        return "cpu" if self.kind == "cpu" else "cuda"


class _Inputs:
    """A prepared input: the host array, its OrtValue on the device, a binding to run it."""

    def __init__(self, array: np.ndarray, value: Any, binding: Any) -> None:
        self.array = array
        self.value = value
        self.binding = binding


def _ort() -> Any:
    import onnxruntime

    return onnxruntime


def _parse_settings(target: Target) -> _Settings:
    unknown = sorted({k for k, _ in target.options if k not in KNOWN_OPTIONS})
    if unknown:
        raise Unsupported(
            f"onnxruntime engine has no option {', '.join(unknown)} "
            f"(known: {', '.join(KNOWN_OPTIONS)})"
        )
    level = (target.option("graph_optimization") or "all").lower()
    if level not in GRAPH_LEVELS:
        raise Unsupported(f"graph_optimization={level!r}: choose one of {', '.join(GRAPH_LEVELS)}")
    mode = (target.option("execution_mode") or "sequential").lower()
    if mode not in EXECUTION_MODES:
        raise Unsupported(f"execution_mode={mode!r}: choose one of {', '.join(EXECUTION_MODES)}")
    inter_text = target.option("inter_op_threads")
    inter: int | None = None
    if inter_text is not None:
        if not re.fullmatch(r"[1-9][0-9]*", inter_text.strip()):
            raise Unsupported(f"inter_op_threads={inter_text!r} is not a positive integer")
        inter = int(inter_text)
        if mode != "parallel":
            raise Unsupported(
                "inter_op_threads applies to execution_mode=parallel only "
                "(onnxruntime runs no inter-op pool in sequential mode)"
            )
    spin_text = (target.option("allow_spinning") or "1").lower()
    if spin_text not in ("0", "1", "true", "false", "yes", "no", "on", "off"):
        raise Unsupported(f"allow_spinning={spin_text!r}: use 1 or 0")
    spin = spin_text in ("1", "true", "yes", "on")
    return _Settings(level, mode, inter, spin)


def _cuda_device_count() -> int:
    """GPUs on this machine (torch's count where it has CUDA, else the /dev/nvidiaN nodes)."""
    with contextlib.suppress(Exception):
        import torch

        if torch.cuda.is_available():
            return int(torch.cuda.device_count())
    try:
        return sum(1 for n in os.listdir("/dev") if re.fullmatch(r"nvidia[0-9]+", n))
    except OSError:
        return 0


def _parse_device(name: str) -> _Device:
    m = re.fullmatch(r"(cpu|cuda|tensorrt)(?::([0-9]+))?", name.strip().lower())
    if m is None or (m.group(1) == "cpu" and m.group(2) not in (None, "0")):
        raise Unsupported(
            f"onnxruntime engine has no device {name!r} (cpu, cuda[:N], tensorrt[:N])"
        )
    return _Device(m.group(1), int(m.group(2) or 0))


def _check_device(ort: Any, device: _Device) -> None:
    if device.kind == "cpu":
        return
    ep = CUDA_EP if device.kind == "cuda" else TRT_EP
    available = ort.get_available_providers()
    if ep not in available:
        hint = ""
        with contextlib.suppress(Exception):
            if any(d.ep_name == ep for d in ort.get_ep_devices()):
                hint = " (it is a plugin execution provider here, which cnnbench does not drive)"
        raise Unsupported(
            f"{device.name}: this onnxruntime ({_version_text()}) has no {ep}{hint}; "
            f"available: {', '.join(available)}"
        )
    count = _cuda_device_count()
    if count and device.index >= count:
        raise Unsupported(f"{device.name}: only {count} CUDA device(s)")


def _check_precision(precision: str, device: _Device) -> None:
    if precision == "fp32":
        return
    if precision == "bf16":
        raise Unsupported(
            "onnxruntime has no bf16 convolution kernels (CPU, CUDA or TensorRT provider): "
            "a bf16 graph would not run as bf16"
        )
    if precision == "fp16" and device.kind == "cpu":
        raise Unsupported(
            "onnxruntime's CPU provider has no fp16 convolution kernels on this path: it would "
            "insert casts and compute in fp32; fp16 runs on cuda or tensorrt devices"
        )
    if precision == "int8" and device.kind != "cpu":
        raise Unsupported(
            f"int8 on {device.name} is not offered: the CUDA provider runs QDQ graphs with "
            "float convolutions, and cnnbench has no TensorRT int8 calibration path"
        )
    if precision not in ("fp16", "int8"):
        raise Unsupported(f"onnxruntime engine has no {precision} path")


def _version_text() -> str:
    return OnnxRuntimeEngine.version() or "unknown version"


# ---------------------------------------------------------------------------------- precision


class _CalibrationReader:
    """Seeded standard-normal batches for MinMax calibration (a CalibrationDataReader)."""

    def __init__(self, input_name: str, shape: tuple[int, ...], batches: int, seed: int) -> None:
        self.input_name = input_name
        self.shape = shape
        self.batches = batches
        self.seed = seed
        self.rewind()

    def get_next(self) -> dict[str, np.ndarray] | None:
        if self._left == 0:
            return None
        self._left -= 1
        return {self.input_name: self._rng.standard_normal(self.shape, dtype=np.float32)}

    def rewind(self) -> None:
        self._rng = np.random.default_rng(self.seed)
        self._left = self.batches

    def __len__(self) -> int:
        return self.batches


def _calibration(shape: tuple[int, ...]) -> dict[str, Any]:
    batch = shape[0] if shape else 1
    batches = max(1, math.ceil(CALIBRATION_MIN_SAMPLES / max(batch, 1)))
    return {
        "method": "MinMax",
        "data": "standard normal (synthetic)",
        "seed": CALIBRATION_SEED,
        "batches": batches,
        "batch_shape": list(shape),
        "samples": batches * batch,
    }


def _quantized_model(source: Path, shape: tuple[int, ...]) -> tuple[Path, dict[str, Any]]:
    """The int8 QDQ copy of ``source`` (made once, cached), and its calibration record."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quant_pre_process,
        quantize_static,
    )

    calib = _calibration(shape)
    settings = {**QUANTIZATION, "calibration": calib, "onnxruntime": _version_text()}
    target = derived_path(source, "int8", settings)
    if target.is_file():
        return target, {**calib, "cached": True}
    inputs, _ = graph_io(source)
    if len(inputs) != 1:
        raise Unsupported(f"int8 calibration feeds one input; the model has {len(inputs)}")

    class Reader(_CalibrationReader, CalibrationDataReader):
        pass

    reader = Reader(inputs[0], shape, calib["batches"], CALIBRATION_SEED)
    quant_logger = logging.getLogger()
    old_level = quant_logger.level
    with tempfile.TemporaryDirectory(prefix="cnnbench-ort-q-") as tmp, write_to(target) as out:
        pre = Path(tmp) / "preprocessed.onnx"
        quant_logger.setLevel(max(old_level, logging.ERROR))  # quantisation logs advice at WARNING
        try:
            quant_pre_process(str(source), str(pre), skip_symbolic_shape=True)
            quantize_static(
                str(pre),
                str(out),
                reader,
                quant_format=QuantFormat.QDQ,
                per_channel=True,
                reduce_range=False,
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
                calibrate_method=CalibrationMethod.MinMax,
            )
        finally:
            quant_logger.setLevel(old_level)
    return target, {**calib, "cached": False}


def _fp16_model(source: Path) -> Path:
    """A float16 copy of ``source`` made with ORT's converter (inputs/outputs float16 too)."""
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    target = derived_path(source, "fp16", {"converter": "onnxruntime.transformers.float16"})
    if target.is_file():
        return target
    model = convert_float_to_float16(onnx.load(str(source)), keep_io_types=False)
    with write_to(target) as out:
        onnx.save(model, str(out))
    return target


# ---------------------------------------------------------------------------------- read-back


def _initializer_types(graph: Any) -> dict[str, int]:
    return {t.name: int(t.data_type) for t in graph.initializer}


def _graph_summary(path: Path) -> dict[str, Any]:
    """Op counts and the precision of every convolution of ORT's optimised graph."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    graph = model.graph
    init_types = _initializer_types(graph)
    producers = {o: n for n in graph.node for o in n.output}
    ops: Counter[str] = Counter()
    convs: Counter[str] = Counter()
    for node in graph.node:
        domain = node.domain if node.domain not in ("", "ai.onnx") else ""
        ops[f"{domain}:{node.op_type}" if domain else node.op_type] += 1
        if node.op_type in _INTEGER_CONVS:
            convs["int8"] += 1
        elif node.op_type in _FLOAT_CONVS or (
            node.op_type == "Conv" and domain == "com.microsoft.nchwc"
        ):
            weight = node.input[1] if len(node.input) > 1 else ""
            if weight in init_types:
                convs[_DTYPE_NAMES.get(init_types[weight], f"type{init_types[weight]}")] += 1
            elif weight in producers and producers[weight].op_type == "DequantizeLinear":
                convs["fp32 (dequantised int8 weights)"] += 1
            else:
                convs["float (computed weights)"] += 1
    return {
        "ops": dict(sorted(ops.items())),
        "conv_nodes": dict(sorted(convs.items())),
        "nodes": len(graph.node),
    }


def _thread_count() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count()


def _ep_nodes(session: Any) -> dict[str, int] | None:
    try:
        info = session.get_provider_graph_assignment_info()
    except Exception:
        return None
    counts: Counter[str] = Counter()
    for sub in info:
        counts[sub.ep_name] += len(sub.get_nodes())
    return dict(counts)


# ---------------------------------------------------------------------------------- session


class OnnxRuntimeSession(Session):
    def __init__(
        self,
        session: Any,
        device: _Device,
        precision: str,
        target: Target,
        settings: _Settings,
        info: dict[str, Any],
    ) -> None:
        self._ort = _ort()
        self.session = session
        self.device = device
        self.precision = precision
        self.target = target
        self.settings = settings
        self._info = info
        inp = session.get_inputs()
        if len(inp) != 1:
            raise Unsupported(f"cnnbench feeds one input; the model has {len(inp)}")
        self.input_name = inp[0].name
        self.input_shape = list(inp[0].shape)
        self.input_dtype = _NUMPY_TYPES.get(inp[0].type)
        if self.input_dtype is None:
            raise Unsupported(f"the model's input is {inp[0].type}, not a float tensor")
        self.output_names = [o.name for o in session.get_outputs()]
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None

    # inputs and calls ------------------------------------------------------------------------

    def make_inputs(self, array: np.ndarray) -> _Inputs:
        check_input_shape(tuple(array.shape), self.input_shape)
        host = np.ascontiguousarray(array, dtype=self.input_dtype)
        value = self._ort.OrtValue.ortvalue_from_numpy(
            host, self.device.ortvalue_device, self.device.index
        )
        return _Inputs(host, value, self._binding(value))

    def _binding(self, value: Any) -> Any:
        binding = self.session.io_binding()
        binding.bind_ortvalue_input(self.input_name, value)
        for name in self.output_names:
            binding.bind_output(name, "cpu")  # results in host memory when run returns
        return binding

    def run(self, inputs: _Inputs) -> list[Any]:
        self.session.run_with_iobinding(inputs.binding)
        return list(inputs.binding.get_outputs())

    def timed_call(self, inputs: _Inputs) -> Any:
        if self.target.streams != 1:
            raise Unsupported(
                f"streams={self.target.streams}: the latency loop times one synchronous request; "
                "concurrent onnxruntime requests are offered by run_async/run_concurrent, which "
                "this measurement does not drive"
            )
        run = self.session.run_with_iobinding
        binding = inputs.binding
        return lambda: run(binding)

    def run_async(self, inputs: _Inputs) -> concurrent.futures.Future[list[Any]]:
        """Start one request on a pool of ``streams`` Python threads; the future gives outputs."""
        if self._executor is None:
            self._executor = concurrent.futures.ThreadPoolExecutor(
                max_workers=self.target.streams, thread_name_prefix="cnnbench-ort"
            )
        return self._executor.submit(self._run_one, inputs.value)

    def _run_one(self, value: Any) -> list[Any]:
        binding = self._binding(value)  # one binding per request: bindings are not shared
        self.session.run_with_iobinding(binding)
        return list(binding.get_outputs())

    def run_concurrent(self, inputs: _Inputs, requests: int) -> float:
        """Run ``requests`` inferences with up to ``streams`` in flight; the wall seconds."""
        if requests < 1:
            raise BadInput("requests must be at least 1")
        start = time.perf_counter()
        futures = [self.run_async(inputs) for _ in range(requests)]
        for f in futures:
            f.result()
        return time.perf_counter() - start

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    def to_numpy(self, outputs: Any) -> np.ndarray:
        if isinstance(outputs, tuple | list):
            outputs = outputs[0]
        if hasattr(outputs, "numpy"):
            outputs = outputs.numpy()
        return np.asarray(outputs, dtype=np.float32)

    # read-back --------------------------------------------------------------------------------

    def effective(self) -> dict[str, Any]:
        sess = self.session
        opts = sess.get_session_options()
        spin = {}
        for key in SPIN_KEYS:
            try:
                spin[key] = opts.get_session_config_entry(key)
            except Exception:
                spin[key] = None
        eff: dict[str, Any] = {
            "precision": self.precision,
            "device": self.device.name,
            "providers": list(sess.get_providers()),
            "provider_options": sess.get_provider_options(),
            "threads": self._info["threads"],
            "intra_op_num_threads": int(opts.intra_op_num_threads),
            "inter_op_num_threads": int(opts.inter_op_num_threads),
            "threads_spawned": self._info["threads_spawned"],
            "streams": self.target.streams,
            "execution_mode": str(opts.execution_mode).rsplit(".", 1)[-1],
            "graph_optimization": self.settings.graph_optimization,
            "graph_optimization_level": str(opts.graph_optimization_level).rsplit(".", 1)[-1],
            "allow_spinning": spin.get(SPIN_KEYS[0]) == "1",
            "session_config": spin,
            "thread_affinity": "not pinned by onnxruntime (inherits the process CPU mask)",
            "process_cpus": len(os.sched_getaffinity(0))
            if hasattr(os, "sched_getaffinity")
            else None,
            "isa": None,
            "kernels": "MLAS (dispatch chosen by CPUID, not capped)"
            if self.device.kind == "cpu"
            else self.device.kind,
            "model": self._info["model"],
            "graph": self._info["graph"],
            "ep_nodes": self._info["ep_nodes"],
            "onnxruntime": _version_text(),
        }
        if self._info.get("threads_note"):
            eff["threads_note"] = self._info["threads_note"]
        for key in ("calibration", "quantization", "precision_note"):
            if key in self._info:
                eff[key] = self._info[key]
        return eff


# ---------------------------------------------------------------------------------- engine


@register_engine
class OnnxRuntimeEngine(Engine):
    name = "onnxruntime"
    package = "onnxruntime"
    module = "onnxruntime"

    @classmethod
    def version(cls) -> str | None:
        for dist in ("onnxruntime", "onnxruntime-gpu"):
            try:
                return importlib.metadata.version(dist)
            except importlib.metadata.PackageNotFoundError:
                continue
        return None

    @classmethod
    def devices(cls) -> tuple[str, ...]:
        ort = _ort()
        available = ort.get_available_providers()
        gpus = max(_cuda_device_count(), 1)
        out = ["cpu"]
        if CUDA_EP in available:
            out += [f"cuda:{i}" for i in range(gpus)]
        if TRT_EP in available:
            out += [f"tensorrt:{i}" for i in range(gpus)]
        return tuple(out)

    def prepare(self, model: ModelInstance, target: Target) -> Session:
        ort = _ort()
        settings = _parse_settings(target)
        if target.isa is not None:
            raise Unsupported("onnxruntime's MLAS kernels cannot be capped at an ISA level")
        device = _parse_device(target.device)
        _check_device(ort, device)
        _check_precision(target.precision, device)

        source = source_onnx(model)
        info: dict[str, Any] = {"model": source.describe()}
        path = self._precision_model(source, target.precision, device, model, info)
        info["model"]["loaded"] = str(path)

        so = self._session_options(ort, target, settings)
        providers = self._providers(device, target.precision)
        dump_dir = None
        if device.kind != "tensorrt":  # TensorRT's compiled nodes cannot be serialised
            dump_dir = tempfile.TemporaryDirectory(prefix="cnnbench-ort-opt-")
            so.optimized_model_filepath = str(Path(dump_dir.name) / "optimized.onnx")
            so.add_session_config_entry(
                "session.optimized_model_external_initializers_file_name", "optimized.data"
            )
            so.add_session_config_entry(
                "session.optimized_model_external_initializers_min_size_in_bytes", "1024"
            )
        try:
            before = _thread_count()
            try:
                session = ort.InferenceSession(str(path), so, providers=providers)
            except Exception as exc:
                if device.kind == "cpu":
                    raise
                # A GPU provider that is listed but cannot start here (no driver, no GPU).
                raise Unsupported(f"{device.name}: onnxruntime could not start it: {exc}") from exc
            spawned = _thread_count() - before
            info["graph"] = (
                _graph_summary(Path(so.optimized_model_filepath))
                if dump_dir is not None
                else {"note": "TensorRT compiles its subgraphs; no optimised graph to read"}
            )
        finally:
            if dump_dir is not None:
                dump_dir.cleanup()
        info["ep_nodes"] = _ep_nodes(session)
        self._check_providers(session, device)
        self._threads(info, target, settings, spawned)
        self._check_graph_precision(info, target.precision, settings, device)
        return OnnxRuntimeSession(session, device, target.precision, target, settings, info)

    # pieces of prepare -------------------------------------------------------------------------

    @staticmethod
    def _precision_model(
        source: OnnxSource, precision: str, device: _Device, model: ModelInstance, info: dict
    ) -> Path:
        if precision == "int8":
            path, calib = _quantized_model(source.path, tuple(model.input_shape))
            info["calibration"] = calib
            info["quantization"] = dict(QUANTIZATION)
            return path
        if precision == "fp16" and device.kind == "cuda":
            info["precision_note"] = "float16 graph from onnxruntime.transformers.float16"
            return _fp16_model(source.path)
        if precision == "fp16" and device.kind == "tensorrt":
            info["precision_note"] = (
                "fp32 graph with trt_fp16_enable: TensorRT may keep layers in fp32 where it "
                "finds them faster; per-layer precision is not read back"
            )
        return source.path

    @staticmethod
    def _session_options(ort: Any, target: Target, settings: _Settings) -> Any:
        so = ort.SessionOptions()
        so.log_severity_level = 3  # errors only; what ORT really did is read back instead
        so.graph_optimization_level = getattr(
            ort.GraphOptimizationLevel, GRAPH_LEVELS[settings.graph_optimization]
        )
        so.execution_mode = getattr(ort.ExecutionMode, EXECUTION_MODES[settings.execution_mode])
        if target.threads is not None:
            so.intra_op_num_threads = target.threads
        if settings.inter_op_threads is not None:
            so.inter_op_num_threads = settings.inter_op_threads
        spin = "1" if settings.allow_spinning else "0"
        for key in SPIN_KEYS:
            so.add_session_config_entry(key, spin)
        with contextlib.suppress(Exception):
            so.add_session_config_entry("session.record_ep_graph_assignment_info", "1")
        return so

    @staticmethod
    def _providers(device: _Device, precision: str) -> list[Any]:
        if device.kind == "cpu":
            return [CPU_EP]
        cuda = (CUDA_EP, {"device_id": str(device.index)})
        if device.kind == "cuda":
            return [cuda, CPU_EP]
        from cnnbench.graph.export import cache_dir

        trt = {
            "device_id": str(device.index),
            "trt_fp16_enable": "True" if precision == "fp16" else "False",
            "trt_engine_cache_enable": "True",
            "trt_engine_cache_path": str(cache_dir().parent / "tensorrt"),
        }
        return [(TRT_EP, trt), cuda, CPU_EP]

    @staticmethod
    def _check_providers(session: Any, device: _Device) -> None:
        used = list(session.get_providers())
        want = {"cpu": CPU_EP, "cuda": CUDA_EP, "tensorrt": TRT_EP}[device.kind]
        if not used or used[0] != want:
            raise Unsupported(
                f"{device.name}: onnxruntime fell back to {', '.join(used) or 'nothing'} "
                f"({want} did not load)"
            )

    @staticmethod
    def _threads(info: dict, target: Target, settings: _Settings, spawned: int) -> None:
        info["threads_spawned"] = spawned
        if target.threads is not None:
            info["threads"] = target.threads
            if settings.execution_mode == "sequential" and spawned + 1 != target.threads:
                info["threads_note"] = (
                    f"{target.threads} intra-op threads set, but the process gained {spawned} "
                    "threads while the session was built (expected one fewer than the pool)"
                )
        elif settings.execution_mode == "sequential":
            info["threads"] = spawned + 1  # ORT's default pool: N-1 workers plus the caller
            info["threads_note"] = "onnxruntime default; counted from the threads it started"
        else:
            info["threads"] = None
            info["threads_note"] = (
                "onnxruntime default in parallel mode: intra- and inter-op pools were started "
                f"together ({spawned} threads) and cannot be told apart"
            )

    @staticmethod
    def _check_graph_precision(
        info: dict, precision: str, settings: _Settings, device: _Device
    ) -> None:
        convs = info["graph"].get("conv_nodes")
        if convs is None:
            return
        if precision == "int8":
            if not convs.get("int8"):
                raise Unsupported(
                    f"int8 at graph_optimization={settings.graph_optimization}: onnxruntime "
                    "runs the QDQ graph with float convolutions (it fuses QDQ into integer "
                    "kernels at extended or all)"
                )
        elif precision == "fp16" and device.kind == "cuda" and not convs.get("fp16"):
            raise Unsupported(f"fp16 on {device.name}: no convolution kept fp16 weights")
        elif precision == "fp32" and convs.get("int8"):
            info["precision_note"] = "the model file itself holds integer convolutions"
