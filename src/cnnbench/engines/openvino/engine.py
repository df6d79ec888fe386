"""The OpenVINO engine: the cached ONNX export, compiled for OpenVINO's CPU, GPU or NPU plugin.

The graph is the one every ONNX-based engine runs
(:func:`cnnbench.engines._onnx_common.source_onnx`: the cached export of the very module the
worker built, keyed by its weights), or a user's ``.onnx`` file (``extras["onnx_path"]``).

Configuration is always explicit, because OpenVINO's defaults move with the machine (on a CPU
with bf16 support its CPU plugin runs bf16 unless told otherwise) and because it silently clamps
what it cannot do (bf16 on a CPU without it, more threads or streams than cores):

* ``INFERENCE_PRECISION_HINT`` from the target's precision: fp32 -> f32, bf16 -> bf16 (the
  device's ``OPTIMIZATION_CAPABILITIES`` must list BF16), fp16 -> f16 (must list FP16), int8 ->
  post-training quantisation with NNCF, the unquantised rest at f32;
* ``PERFORMANCE_HINT`` LATENCY (option ``performance_hint=latency|throughput|none``; ``none``
  sets nothing and records OpenVINO's own choice), ``NUM_STREAMS`` = streams,
  ``INFERENCE_NUM_THREADS`` = threads when given, ``ENABLE_CPU_PINNING`` (option ``pinning=1|0``)
  and ``ENABLE_HYPER_THREADING`` (option ``hyper_threading=1|0``) when asked, else OpenVINO's
  default, recorded.

Every value is read back from the compiled model; a read-back that differs from the request is
:class:`~cnnbench.errors.Unsupported` with both values. The runtime model (the graph OpenVINO
really executes) gives the kernels and their precisions: the effective precision is that of the
compute nodes (Convolution, FullyConnected, MatMul, Deconvolution). fp32 must run fp32 on every
one of them; bf16, fp16 and int8 must run on at least one, and a partial conversion is reported
as ``"mixed: int8 x3, fp32 x1"`` (OpenVINO and NNCF keep some layers in f32 on purpose). An ISA
cap (``ONEDNN_MAX_CPU_ISA``, set by the worker before the import) is verified on the kernel
names of every node of the runtime model, not only the convolutions: a kernel that names an
instruction set above the cap is Unsupported, with the kernels and their layer types (OpenVINO
2026.4 with ``--isa sse41`` on an AVX2 machine runs its convolutions as ``jit_sse42_*`` but its
Reduce node as ``jit_avx2_f32``, so that cap is refused). Compute kernels whose names carry no
ISA (MLAS's ``gemm_mlas_f32``, which picks its ISA by CPUID; oneDNN's ``jit_gemm_*``) are listed
in ``isa_unverified_kernels``.

Settings and their read-back live in :mod:`cnnbench.engines.openvino.config`, the runtime-model
analysis and the precision/ISA checks in :mod:`cnnbench.engines.openvino.inspect`, NNCF int8 in
:mod:`cnnbench.engines.openvino.quantize`.

``run`` / ``timed_call`` are one synchronous inference on a single pre-created infer request
whose input tensor was set once in ``make_inputs`` (shared memory, no per-call conversion).
:meth:`OpenVinoSession.run_streams` keeps ``streams`` requests in flight with an
``AsyncInferQueue`` (one request per stream) for a given time.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from cnnbench.engines.base import Engine, ModelInstance, Session, StreamsResult, register_engine
from cnnbench.engines.openvino import config as cfg
from cnnbench.engines.openvino.inspect import (
    analyse_runtime_model,
    check_isa_kernels,
    check_precision,
    highest_isa,
    no_isa_in_name,
)
from cnnbench.engines.openvino.quantize import quantise
from cnnbench.errors import BadInput, Unsupported
from cnnbench.measure.streams import duration_ns, streams_result
from cnnbench.spec import Target


class OpenVinoSession(Session):
    def __init__(
        self,
        compiled: Any,
        device: str,
        target: Target,
        effective: dict[str, Any],
    ):
        import openvino as ov

        self._ov = ov
        self.compiled = compiled
        self.device = device
        self.target = target
        self._effective = effective
        self.request = compiled.create_infer_request()
        port = compiled.input(0)
        self._input_shape = tuple(int(d) for d in port.get_shape())
        self._input_dtype = np.dtype(port.get_element_type().to_dtype())
        self._input: Any = None  # the ov.Tensor currently set on the request
        self._input_array: np.ndarray | None = None  # keeps the shared memory alive
        self._infer = self._fast_infer(self.request)
        self._queue: Any = None
        self._queue_size = 0

    @staticmethod
    def _fast_infer(request: Any) -> Callable[[], object]:
        """A zero-argument synchronous infer: the binding's own ``infer`` with no inputs and
        shared (uncopied) outputs, skipping the Python wrapper's input dispatch and result
        dict; the public ``request.infer`` where the binding differs."""
        try:
            from openvino._pyopenvino import InferRequest as _Binding

            call = functools.partial(_Binding.infer, request, {}, True, False)
            call()
            return call
        except (ImportError, TypeError, AttributeError):
            return request.infer

    def make_inputs(self, array: np.ndarray) -> Any:
        arr = np.ascontiguousarray(array, dtype=self._input_dtype)
        if tuple(arr.shape) != self._input_shape:
            raise BadInput(
                f"openvino: input of shape {tuple(arr.shape)}, the compiled model takes "
                f"{self._input_shape}"
            )
        tensor = self._ov.Tensor(arr, shared_memory=True)
        self.request.set_input_tensor(tensor)
        self._input, self._input_array = tensor, arr
        if self._queue is not None:
            for i in range(self._queue_size):
                self._queue[i].set_input_tensor(tensor)
        return tensor

    def _ensure(self, inputs: Any) -> None:
        if inputs is not self._input:
            if isinstance(inputs, np.ndarray):
                self.make_inputs(inputs)
            else:
                self.request.set_input_tensor(inputs)
                self._input = inputs

    def run(self, inputs: Any) -> Any:
        self._ensure(inputs)
        self._infer()
        return np.array(self.request.get_output_tensor(0).data, copy=True)

    def timed_call(self, inputs: Any) -> Callable[[], object]:
        self._ensure(inputs)
        return self._infer

    def to_numpy(self, outputs: Any) -> np.ndarray:
        if isinstance(outputs, dict):
            outputs = next(iter(outputs.values()))
        elif hasattr(outputs, "to_tuple"):  # OVDict
            outputs = outputs.to_tuple()[0]
        return np.asarray(outputs, dtype=np.float32)

    def effective(self) -> dict[str, Any]:
        return dict(self._effective)

    def run_streams(self, inputs: Any, seconds: float) -> StreamsResult:
        """Exactly ``target.streams`` infer requests in flight for about ``seconds``.

        An ``AsyncInferQueue`` of ``target.streams`` requests (one per stream the model was
        compiled with, not the compiled model's ``OPTIMAL_NUMBER_OF_INFER_REQUESTS``, so the
        number in flight is the one asked for), all reading the input set by
        :meth:`make_inputs`. Warm-up: one job per request. Then a job is started whenever a
        request is idle until ``seconds`` have passed, and the jobs in flight are waited for.
        A job's latency runs from its submission (taken once a request is idle, just before
        ``start_async``) to its completion callback; wall time from the start of the timed
        phase to the last completion; images/s = batch x completed / wall seconds.
        """
        duration = duration_ns(seconds)
        if inputs is None:
            raise BadInput("run_streams: call make_inputs first")
        self._ensure(inputs)
        queue = self._streams_queue()
        latencies: list[int] = []
        last = [0]
        clock = time.perf_counter_ns

        def done(_request: Any, submitted: int) -> None:  # runs holding the GIL
            now = clock()
            latencies.append(now - submitted)
            last[0] = max(last[0], now)

        queue.set_callback(done)
        for _ in range(self._queue_size):
            queue.start_async(userdata=clock())
        queue.wait_all()  # returns once every callback has returned
        latencies.clear()
        start = clock()
        last[0] = start
        deadline = start + duration
        while True:
            queue.get_idle_request_id()  # blocks, without the GIL, until a request is free
            submitted = clock()
            if submitted >= deadline:
                break
            queue.start_async(userdata=submitted)
        queue.wait_all()
        return streams_result(latencies, self._input_shape[0], self._queue_size, start, last[0])

    def _streams_queue(self) -> Any:
        """The queue of ``target.streams`` requests (made once), all reading the current input."""
        if self._queue is None:
            self._queue = self._ov.AsyncInferQueue(self.compiled, self.target.streams)
            self._queue_size = self.target.streams
        for i in range(self._queue_size):
            self._queue[i].set_input_tensor(self._input)
        return self._queue


@register_engine
class OpenVinoEngine(Engine):
    name = "openvino"
    package = "openvino"
    module = "openvino"

    @classmethod
    def devices(cls) -> tuple[str, ...]:
        import openvino as ov

        return tuple(d.lower() for d in ov.Core().available_devices)

    def prepare(self, model: ModelInstance, target: Target) -> Session:
        import openvino as ov

        options = cfg.parse_options(target)
        core = ov.Core()
        device = cfg.resolve_device(core, target.device)
        if target.isa is not None and device != "CPU":
            raise Unsupported("an ISA cap applies to CPU devices only")
        capabilities = [str(c) for c in core.get_property(device, "OPTIMIZATION_CAPABILITIES")]
        cfg.check_precision_support(target.precision, device, capabilities)
        if target.isa is not None:
            cfg.check_isa_env(target.isa)

        source, ov_model = self._read(core, model)
        calibration = None
        if target.precision == "int8":
            ov_model, calibration = quantise(ov_model, model.input_shape)

        config = cfg.build_config(target, options)
        supported = core.get_property(device, "SUPPORTED_PROPERTIES")
        missing = [k for k in config if k not in supported]
        if missing:
            raise Unsupported(f"openvino {device} has no setting {', '.join(missing)}")
        compiled = core.compile_model(ov_model, device, config)
        readback = cfg.read_back(compiled)
        cfg.check_read_back(config, readback)

        runtime = analyse_runtime_model(compiled.get_runtime_model())
        check_precision(target.precision, runtime["layer_precisions"])
        isa_info: dict[str, Any] = {"isa_seen": None}
        if target.isa is not None:
            isa_info = check_isa_kernels(target.isa, runtime["all_kernels"])
        elif device == "CPU":
            isa_info["isa_seen"] = highest_isa(runtime["all_kernels"])

        effective: dict[str, Any] = {
            "precision": runtime["precision"],
            "precision_hint": readback.get("INFERENCE_PRECISION_HINT"),
            "layer_precisions": runtime["layer_precisions"],
            "device": device,
            "device_name": cfg.full_name(core, device),
            "execution_devices": readback.get("EXECUTION_DEVICES"),
            "threads": readback.get("INFERENCE_NUM_THREADS"),
            "streams": readback.get("NUM_STREAMS"),
            "performance_hint": readback.get("PERFORMANCE_HINT"),
            "cpu_pinning": readback.get("ENABLE_CPU_PINNING"),
            "hyper_threading": readback.get("ENABLE_HYPER_THREADING"),
            "scheduling_core_type": readback.get("SCHEDULING_CORE_TYPE"),
            "execution_mode": readback.get("EXECUTION_MODE_HINT"),
            "optimal_infer_requests": readback.get("OPTIMAL_NUMBER_OF_INFER_REQUESTS"),
            "requested_config": {k: str(v) for k, v in config.items()},
            "optimization_capabilities": capabilities,
            "kernels": runtime["kernels"],
            "kernel_counts": runtime["kernel_counts"],
            "isa_cap": target.isa,
            "onednn_max_cpu_isa": os.environ.get("ONEDNN_MAX_CPU_ISA"),
            "isa_seen": isa_info["isa_seen"],
            "isa_unverified_kernels": sorted(
                k for k in runtime["kernel_counts"] if no_isa_in_name(k)
            ),
            "graph": source,
            "mode": "sync infer request",
        }
        if calibration is not None:
            effective["calibration"] = calibration
        return OpenVinoSession(compiled, device, target, effective)

    # -- the graph -------------------------------------------------------------------------

    @staticmethod
    def _read(core: Any, model: ModelInstance) -> tuple[dict[str, Any], Any]:
        from cnnbench.graph.source import source_onnx

        onnx_source = source_onnx(model)
        path = onnx_source.path
        source = {"format": "onnx", **onnx_source.describe()}
        ov_model = core.read_model(str(path))
        if len(ov_model.inputs) != 1:
            raise Unsupported(
                f"openvino engine feeds one input; {path.name} has {len(ov_model.inputs)}"
            )
        shape = tuple(int(d) for d in model.input_shape)
        partial = ov_model.input(0).get_partial_shape()
        if partial.is_static:
            have = tuple(int(d) for d in partial.to_shape())
            if have != shape:
                raise Unsupported(
                    f"{path.name} takes a static input of shape {have}, the run asks for {shape}"
                )
        else:
            import openvino as ov

            if not partial.compatible(ov.PartialShape(list(shape))):
                raise Unsupported(f"{path.name} input {partial} does not admit shape {shape}")
            ov_model.reshape({0: ov.PartialShape(list(shape))})
        return source, ov_model
