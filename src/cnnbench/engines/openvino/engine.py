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
:meth:`OpenVinoSession.infer_queue` gives an ``AsyncInferQueue`` of exactly ``size`` requests,
all reading that input tensor.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

import numpy as np

from cnnbench.engines.base import (
    Around,
    Engine,
    EngineLayer,
    InferQueue,
    ModelInstance,
    Session,
    register_engine,
)
from cnnbench.engines.openvino import config as cfg
from cnnbench.engines.openvino.inspect import (
    analyse_runtime_model,
    check_isa_nodes,
    check_runtime_precision,
    no_isa_in_name,
)
from cnnbench.engines.openvino.quantize import quantize
from cnnbench.errors import BadInput, Unsupported
from cnnbench.spec import Target
from cnnbench.system.isa import highest_isa


def _call_userdata(_request: Any, on_done: Callable[[], None]) -> None:
    on_done()


class OpenVinoInferQueue(InferQueue):
    """OpenVINO's ``AsyncInferQueue`` of exactly ``size`` requests, all reading one input
    tensor. ``get_idle_request_id`` and ``wait_all`` wait without holding the GIL; completion
    callbacks run on OpenVINO's threads (holding the GIL while in Python)."""

    def __init__(self, compiled: Any, size: int, tensor: Any) -> None:
        import openvino as ov

        if size < 1:
            raise BadInput("an infer queue needs at least one request")
        self.size = size
        self._queue = ov.AsyncInferQueue(compiled, size)
        for i in range(size):
            self._queue[i].set_input_tensor(tensor)
        self._queue.set_callback(_call_userdata)
        self._tensor = tensor  # the input's memory must outlive the queue

    def wait_idle(self) -> None:
        self._queue.get_idle_request_id()

    def submit(self, on_done: Callable[[], None]) -> None:
        self._queue.start_async(userdata=on_done)

    def wait_all(self) -> None:
        self._queue.wait_all()


class OpenVinoSession(Session):
    def __init__(
        self,
        compiled: Any,
        device: str,
        target: Target,
        effective: dict[str, Any],
        *,
        core: Any = None,
        source_model: Any = None,
        config: dict[str, Any] | None = None,
    ):
        import openvino as ov

        self._ov = ov
        self.compiled = compiled
        self.device = device
        self.target = target
        self._effective = effective
        # what profile() recompiles with profiling on: the compiled model, its config
        self._core, self._source_model, self._config = core, source_model, dict(config or {})
        self.request = compiled.create_infer_request()
        port = compiled.input(0)
        self._input_shape = tuple(int(d) for d in port.get_shape())
        self._input_dtype = np.dtype(port.get_element_type().to_dtype())
        self._input: Any = None  # the ov.Tensor currently set on the request
        self._input_array: np.ndarray | None = None  # keeps the shared memory alive
        self._infer = self._fast_infer(self.request)

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

    def infer_queue(self, inputs: Any, size: int) -> InferQueue:
        """Exactly ``size`` infer requests (not the compiled model's
        ``OPTIMAL_NUMBER_OF_INFER_REQUESTS``, so the number in flight is the one asked for),
        all reading the input set by :meth:`make_inputs`; the sync request is untouched."""
        if inputs is None:
            raise BadInput("infer_queue: call make_inputs first")
        self._ensure(inputs)
        return OpenVinoInferQueue(self.compiled, size, self._input)

    def profile(
        self, inputs: Any, calls: int, around: Around | None = None
    ) -> list[list[EngineLayer]]:
        """PERF_COUNT on a second compilation of the same model and config
        (:mod:`cnnbench.engines.openvino.profile`); the timed request is untouched."""
        from cnnbench.engines.openvino.profile import profile

        if self._source_model is None:
            raise Unsupported("openvino: this session keeps no model to profile")
        self._ensure(inputs)
        core = self._core if self._core is not None else self._ov.Core()
        path = self._effective["graph"]["path"]
        return profile(
            core, self._source_model, self.device, self._config, path, self._input, calls, around
        )


@register_engine
class OpenVinoEngine(Engine):
    name = "openvino"
    package = "openvino"
    module = "openvino"
    options = cfg.OPTIONS

    @classmethod
    def devices(cls) -> tuple[str, ...]:
        import openvino as ov

        return tuple(d.lower() for d in ov.Core().available_devices)

    def prepare(self, model: ModelInstance, target: Target) -> Session:
        import openvino as ov

        options = cfg.parse_target_options(target)
        core = ov.Core()
        device = cfg.resolve_device(core, target.device)
        if target.isa is not None and device != "CPU":
            raise Unsupported("an ISA cap applies to CPU devices only")
        capabilities = [str(c) for c in core.get_property(device, "OPTIMIZATION_CAPABILITIES")]
        cfg.check_precision_support(target.precision, device, capabilities)
        if target.isa is not None:
            cfg.check_isa_env(target.isa)

        source, ov_model = self._read(core, model, self.folds_batchnorm(target))
        calibration = None
        if target.precision == "int8":
            ov_model, calibration = quantize(ov_model, model.input_shape)

        config = cfg.build_config(target, options)
        supported = core.get_property(device, "SUPPORTED_PROPERTIES")
        missing = [k for k in config if k not in supported]
        if missing:
            raise Unsupported(f"openvino {device} has no setting {', '.join(missing)}")
        compiled = core.compile_model(ov_model, device, config)
        readback = cfg.read_back(compiled)
        cfg.check_read_back(config, readback)

        runtime = analyse_runtime_model(compiled.get_runtime_model())
        check_runtime_precision(target.precision, runtime["layer_precisions"])
        isa_seen = None
        isa_exceptions: list[dict[str, str]] = []
        if target.isa is not None:
            checked = check_isa_nodes(target.isa, runtime["nodes"])
            isa_seen = checked.isa_seen
            isa_exceptions = [n.to_dict() for n in checked.exceptions]
            if target.isa_strict and isa_exceptions:
                above = ", ".join(f"{x['node']} ({x['kernel']})" for x in isa_exceptions)
                raise Unsupported(f"openvino: strict ISA cap {target.isa}: {above} run above it")
        elif device == "CPU":
            isa_seen = highest_isa(n.kernel for n in runtime["nodes"])

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
            "ov_cpu_max_isa": os.environ.get("OV_CPU_MAX_ISA"),
            "isa": isa_seen,  # the highest ISA a kernel name states
            "isa_seen": isa_seen,
            "isa_exceptions": isa_exceptions,
            "isa_unverified_kernels": sorted(
                k for k in runtime["kernel_counts"] if no_isa_in_name(k)
            ),
            "graph": source,
            "mode": "sync infer request",
        }
        if calibration is not None:
            effective["calibration"] = calibration
        return OpenVinoSession(
            compiled, device, target, effective, core=core, source_model=ov_model, config=config
        )

    # -- the graph -------------------------------------------------------------------------

    @staticmethod
    def _read(core: Any, model: ModelInstance, fold_bn: bool) -> tuple[dict[str, Any], Any]:
        from cnnbench.graph.source import source_onnx

        onnx_source = source_onnx(model, fold_bn=fold_bn)
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
