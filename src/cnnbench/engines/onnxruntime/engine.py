"""The ONNX Runtime engine: the exported ONNX graph on ORT's CPU, CUDA or TensorRT provider.

Model: the cached fp32 export of the module the worker built (or the user's ``.onnx`` file,
``extras["onnx_path"]``); see :mod:`cnnbench.graph.source`.

Devices: ``cpu`` (CPUExecutionProvider, MLAS kernels); ``cuda[:N]`` (CUDAExecutionProvider) and
``tensorrt[:N]`` (TensorrtExecutionProvider, CUDA and CPU behind it for what TensorRT leaves) where
the installed ORT offers them in ``get_available_providers()``. ORT falls back to the CPU without
an error when a GPU provider fails to load; the session's provider list is read back and such a
fallback is refused.

Precision: ``fp32`` runs the exported graph. ``int8`` is post-training static quantisation
(``quant_pre_process``, then ``quantize_static``: QDQ format, per-channel int8 weights, uint8
activations, MinMax calibration on seeded standard-normal inputs), cached next to the fp32 file
(:mod:`cnnbench.engines.onnxruntime.quantize`); ORT must fuse the QDQ pairs into integer kernels
(QLinearConv), which it does at ``graph_optimization=extended`` or ``all`` only: a graph with no
integer convolution left is refused. ``fp16`` runs on CUDA (a float16 copy of the graph made
with ORT's converter) and TensorRT (``trt_fp16_enable``). Refused: fp16 on the CPU (no x86 fp16
convolution kernels: ORT would insert casts and compute in fp32), bf16 everywhere (ORT has no
bf16 convolution kernels), int8 on GPUs (not wired).

Options (``--option KEY=VALUE``, parsed in :mod:`cnnbench.engines.onnxruntime.config`):
``graph_optimization`` = disable | basic | extended | all (default all); ``execution_mode`` =
sequential | parallel (default sequential); ``inter_op_threads`` = N (parallel mode only);
``allow_spinning`` = 1 | 0 (default 1).

Threads: ``threads`` sets ``intra_op_num_threads``; without it ORT picks its default (one thread
per physical core). The pool size ORT really made is read back by counting the threads the
process gained while the session was built (a pool of N runs N-1 workers plus the caller); this
and the optimised-graph read-back live in :mod:`cnnbench.engines.onnxruntime.inspect`.

Spinning: ORT's default is kept (``session.intra_op.allow_spinning=1``, set explicitly so it can
be read back): after a call, pool threads spin for a while before sleeping, so back-to-back calls
find them awake. That is how ORT ships and what the latency loop's steady state measures; it
burns CPU between calls, which matters for energy figures and for engines sharing cores
(``allow_spinning=0`` turns it off; the value is in ``effective()``).

Streams: ``streams`` > 1 means concurrent requests: :meth:`OnnxRuntimeSession.infer_queue` gives
``size`` Python threads each making synchronous requests on the one session (ORT releases the GIL
while it computes; the concurrent calls share the session's intra-op pool), each thread with its
own IO binding of the one input. The latency loop times one synchronous request, so
``timed_call`` refuses a session prepared with streams > 1 rather than time a single stream.

ISA caps: MLAS picks its kernels by CPUID and has no cap; an ``isa`` is refused.

``run`` uses IO binding: the input is placed on the device once (``make_inputs``), every output
is bound to host memory, so a call returns with the results copied back (device synchronised).
"""

from __future__ import annotations

import functools
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from cnnbench.engines._thread_queue import ThreadInferQueue
from cnnbench.engines.base import (
    Around,
    Engine,
    EngineLayer,
    InferQueue,
    ModelInstance,
    Session,
    register_engine,
)
from cnnbench.engines.onnxruntime import config
from cnnbench.engines.onnxruntime.config import Device, Settings, ort, version_text
from cnnbench.engines.onnxruntime.inspect import (
    check_graph_precision,
    ep_nodes,
    graph_summary,
    record_threads,
    thread_count,
)
from cnnbench.engines.onnxruntime.profile import profile_runs
from cnnbench.engines.onnxruntime.quantize import QUANTIZATION, fp16_model, quantized_model
from cnnbench.errors import Unsupported
from cnnbench.graph.source import OnnxSource, check_input_shape, source_onnx
from cnnbench.spec import Target

_NUMPY_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16}


class _Inputs:
    """A prepared input: the host array, its OrtValue on the device, a binding to run it."""

    def __init__(self, array: np.ndarray, value: Any, binding: Any) -> None:
        self.array = array
        self.value = value
        self.binding = binding


class OnnxRuntimeSession(Session):
    def __init__(
        self,
        session: Any,
        device: Device,
        precision: str,
        target: Target,
        settings: Settings,
        info: dict[str, Any],
    ) -> None:
        self._ort = ort()
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
        # What a profiling session on the same model needs (set by prepare).
        self.model_path: Path | None = None
        self.providers: list[Any] = []

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
                "concurrent onnxruntime requests are measured through infer_queue"
            )
        run = self.session.run_with_iobinding
        binding = inputs.binding
        return lambda: run(binding)

    def infer_queue(self, inputs: _Inputs, size: int) -> InferQueue:
        """``size`` Python threads on this one session, each making synchronous requests.

        Each thread has its own IO binding (bindings are not shared between concurrent calls)
        of the one input placed on the device by :meth:`make_inputs`; outputs go to host
        memory, so a request is complete when its call returns.
        """
        run = self.session.run_with_iobinding
        calls = [functools.partial(run, self._binding(inputs.value)) for _ in range(size)]
        return ThreadInferQueue(calls, name="cnnbench-ort")

    def to_numpy(self, outputs: Any) -> np.ndarray:
        if isinstance(outputs, tuple | list):
            outputs = outputs[0]
        if hasattr(outputs, "numpy"):
            outputs = outputs.numpy()
        return np.asarray(outputs, dtype=np.float32)

    def profile(
        self, inputs: _Inputs, calls: int, around: Around | None = None
    ) -> list[list[EngineLayer]]:
        """ORT's own profiler on a second session: see :mod:`.profile`."""
        if self.model_path is None:
            raise Unsupported("this onnxruntime session was not made by prepare(); no model file")
        options = config.session_options(self._ort, self.target, self.settings)
        return profile_runs(
            self._ort,
            self.model_path,
            options,
            self.providers,
            self.input_name,
            inputs.value,
            self.output_names,
            calls,
            around,
        )

    # read-back --------------------------------------------------------------------------------

    def effective(self) -> dict[str, Any]:
        sess = self.session
        opts = sess.get_session_options()
        spin = {}
        for key in config.SPIN_KEYS:
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
            "allow_spinning": spin.get(config.SPIN_KEYS[0]) == "1",
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
            "onnxruntime": version_text(),
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
    options = config.OPTIONS

    @classmethod
    def version(cls) -> str | None:
        return config.ort_version()

    @classmethod
    def devices(cls) -> tuple[str, ...]:
        available = ort().get_available_providers()
        gpus = max(config.cuda_device_count(), 1)
        out = ["cpu"]
        if config.CUDA_EP in available:
            out += [f"cuda:{i}" for i in range(gpus)]
        if config.TRT_EP in available:
            out += [f"tensorrt:{i}" for i in range(gpus)]
        return tuple(out)

    def prepare(self, model: ModelInstance, target: Target) -> Session:
        rt = ort()
        settings = config.parse_settings(target)
        if target.isa is not None:
            raise Unsupported("onnxruntime's MLAS kernels cannot be capped at an ISA level")
        device = config.parse_device(target.device)
        config.check_device(rt, device)
        config.check_device_precision(target.precision, device)

        source = source_onnx(model, fold_bn=self.folds_batchnorm(target))
        info: dict[str, Any] = {"model": source.describe()}
        path = self._precision_model(source, target.precision, device, model, info)
        info["model"]["loaded"] = str(path)

        so = config.session_options(rt, target, settings)
        providers = config.providers(device, target.precision)
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
            before = thread_count()
            try:
                session = rt.InferenceSession(str(path), so, providers=providers)
            except Exception as exc:
                if device.kind == "cpu":
                    raise
                # A GPU provider that is listed but cannot start here (no driver, no GPU).
                raise Unsupported(f"{device.name}: onnxruntime could not start it: {exc}") from exc
            spawned = thread_count() - before
            info["graph"] = (
                graph_summary(Path(so.optimized_model_filepath))
                if dump_dir is not None
                else {"note": "TensorRT compiles its subgraphs; no optimised graph to read"}
            )
        finally:
            if dump_dir is not None:
                dump_dir.cleanup()
        info["ep_nodes"] = ep_nodes(session)
        config.check_providers(session, device)
        record_threads(info, target, settings, spawned)
        check_graph_precision(info, target.precision, settings, device)
        prepared = OnnxRuntimeSession(session, device, target.precision, target, settings, info)
        prepared.model_path, prepared.providers = path, providers
        return prepared

    @staticmethod
    def _precision_model(
        source: OnnxSource, precision: str, device: Device, model: ModelInstance, info: dict
    ) -> Path:
        if precision == "int8":
            path, calib = quantized_model(source.path, tuple(model.input_shape))
            info["calibration"] = calib
            info["quantization"] = dict(QUANTIZATION)
            return path
        if precision == "fp16" and device.kind == "cuda":
            info["precision_note"] = "float16 graph from onnxruntime.transformers.float16"
            return fp16_model(source.path)
        if precision == "fp16" and device.kind == "tensorrt":
            info["precision_note"] = (
                "fp32 graph with trt_fp16_enable: TensorRT may keep layers in fp32 where it "
                "finds them faster; per-layer precision is not read back"
            )
        return source.path
