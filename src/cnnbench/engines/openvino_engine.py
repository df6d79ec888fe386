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

``run`` / ``timed_call`` are one synchronous inference on a single pre-created infer request
whose input tensor was set once in ``make_inputs`` (shared memory, no per-call conversion).
:meth:`OpenVinoSession.infer_queue` measures throughput with an ``AsyncInferQueue``.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.metadata
import importlib.util
import logging
import os
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from cnnbench.engines.base import Engine, ModelInstance, Session, register_engine
from cnnbench.errors import BadInput, Unsupported
from cnnbench.measure.isa import get_cap
from cnnbench.spec import Target

KNOWN_OPTIONS = ("hyper_threading", "performance_hint", "pinning")
PERFORMANCE_HINTS = {"latency": "LATENCY", "throughput": "THROUGHPUT", "none": None}

# cnnbench precision -> OpenVINO INFERENCE_PRECISION_HINT
PRECISION_HINTS = {"fp32": "f32", "bf16": "bf16", "fp16": "f16", "int8": "f32"}
# precision -> the OPTIMIZATION_CAPABILITIES entry the device must list
NEEDED_CAPABILITY = {"bf16": "BF16", "fp16": "FP16", "int8": "INT8"}
# OpenVINO element types in the runtime model -> cnnbench precision names
RUNTIME_PRECISIONS = {
    "f32": "fp32",
    "bf16": "bf16",
    "f16": "fp16",
    "i8": "int8",
    "u8": "int8",
    "i4": "int4",
    "u4": "int4",
    "f64": "fp64",
}
COMPUTE_LAYERS = frozenset(
    {
        "Convolution",
        "GroupConvolution",
        "BinaryConvolution",
        "Deconvolution",
        "FullyConnected",
        "MatMul",
        "Gemm",
    }
)

CALIBRATION_SAMPLES = 16
CALIBRATION_SEED = 1  # the timed input uses seed 0 (cnnbench.measure.job.INPUT_SEED)

# Instruction sets as they appear in OpenVINO/oneDNN kernel names, most specific first, ranked.
_KERNEL_ISAS: tuple[tuple[str, str, int], ...] = (
    (r"amx", "amx", 8),
    (r"avx512_core_bf16", "avx512_bf16", 7),
    (r"avx512_core_vnni", "avx512_vnni", 6),
    (r"avx512", "avx512", 5),
    (r"avx2_vnni", "avx2_vnni", 4),
    (r"avx2", "avx2", 3),
    (r"(?:^|_)avx(?:_|$)", "avx", 2),
    (r"sse4", "sse41", 1),
)
_CAP_RANKS = {
    "sse41": 1,
    "avx2": 3,
    "avx2_vnni": 4,
    "avx512": 5,
    "avx512_vnni": 6,
    "avx512_bf16": 7,
    "amx": 8,
}


def _truthy(key: str, value: str) -> bool:
    v = value.strip().lower()
    if v in ("1", "true", "yes", "on"):
        return True
    if v in ("0", "false", "no", "off"):
        return False
    raise Unsupported(f"openvino option {key}={value!r}: use 1 or 0")


def kernel_isa(kernel: str) -> tuple[str, int] | None:
    """The instruction set a kernel name states (``brgconv_avx2_1x1_f32`` -> avx2), if any."""
    name = kernel.lower()
    for pattern, label, rank in _KERNEL_ISAS:
        if re.search(pattern, name):
            return label, rank
    return None


def _no_isa_in_name(kernel: str) -> bool:
    """A kernel whose name gives no ISA and that is not a trivial node (const, input, reshape)."""
    name = kernel.lower()
    return kernel_isa(name) is None and not name.startswith(("unknown", "undef"))


def _precision_name(ov_type: str) -> str:
    return RUNTIME_PRECISIONS.get(ov_type.lower(), ov_type.lower())


def _describe_precisions(counts: Counter[str]) -> str:
    if not counts:
        return "unknown"
    if len(counts) == 1:
        return next(iter(counts))
    parts = ", ".join(
        f"{p} x{n}" for p, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    )
    return f"mixed: {parts}"


def _hint_name(value: Any) -> str:
    """'LATENCY' from 'LATENCY', PerformanceMode.LATENCY or similar."""
    return str(value).rsplit(".", 1)[-1].upper()


def _type_name(value: Any) -> str:
    """'f32' from an openvino Type (or its string)."""
    getter = getattr(value, "get_type_name", None)
    return str(getter()) if callable(getter) else str(value)


def _rt(rt_info: Any, key: str) -> str | None:
    try:
        return str(rt_info[key].astype(str))
    except (KeyError, IndexError, RuntimeError, AttributeError, TypeError):
        return None


def analyse_runtime_model(runtime_model: Any) -> dict[str, Any]:
    """Kernels and precisions of the graph OpenVINO executes."""
    kernels: Counter[str] = Counter()
    compute_precisions: Counter[str] = Counter()
    all_kernels: dict[str, set[str]] = {}
    layer_types: Counter[str] = Counter()
    for op in runtime_model.get_ordered_ops():
        rt = op.get_rt_info()
        layer = _rt(rt, "layerType") or op.get_type_name()
        kernel = _rt(rt, "primitiveType")
        precision = _rt(rt, "runtimePrecision") or _rt(rt, "outputPrecisions")
        layer_types[layer] += 1
        if kernel and layer not in ("Const", "Input", "Parameter", "Output", "Result"):
            all_kernels.setdefault(kernel, set()).add(layer)
        if layer in COMPUTE_LAYERS:
            if kernel:
                kernels[kernel] += 1
            if precision:
                compute_precisions[_precision_name(precision.split(",")[0].strip())] += 1
    return {
        "kernels": sorted(kernels),
        "kernel_counts": dict(sorted(kernels.items())),
        "all_kernels": {k: sorted(all_kernels[k]) for k in sorted(all_kernels)},
        "layer_precisions": dict(sorted(compute_precisions.items())),
        "precision": _describe_precisions(compute_precisions),
        "layer_types": dict(sorted(layer_types.items())),
    }


def check_precision(requested: str, counts: dict[str, int]) -> None:
    """Refuse a runtime model whose compute nodes do not run the requested precision."""
    seen = _describe_precisions(Counter(counts))
    if not counts:
        raise Unsupported(
            f"openvino: cannot verify precision {requested}: the runtime model shows no "
            "Convolution/FullyConnected/MatMul node with a runtime precision"
        )
    if requested == "fp32":
        if set(counts) != {"fp32"}:
            raise Unsupported(f"openvino: fp32 requested, but the runtime model runs {seen}")
    elif counts.get(requested, 0) == 0:
        raise Unsupported(f"openvino: {requested} requested, but the runtime model runs {seen}")


def check_isa_kernels(isa: str, kernels: Mapping[str, Iterable[str]]) -> dict[str, Any]:
    """Verify an ISA cap on the kernel names; return the highest ISA a kernel name states.

    ``kernels`` maps every kernel of the runtime model to the layer types that use it. A kernel
    naming an ISA above the cap is refused. Within the AVX-512 family OpenVINO names
    most kernels just "avx512", so caps among avx512, avx512_vnni and avx512_bf16 are told apart
    only where a kernel name spells the sub-level out.
    """
    allowed = _CAP_RANKS[get_cap(isa).name]
    seen: dict[str, int] = {}
    above: list[str] = []
    for kernel in kernels:
        found = kernel_isa(kernel)
        if found is None:
            continue
        label, rank = found
        seen[label] = rank
        if rank > allowed:
            above.append(kernel)
    if above:

        def show(kernel: str) -> str:
            return f"{kernel} ({', '.join(kernels[kernel])})"

        raise Unsupported(
            f"openvino: ISA cap {isa} not honoured: {'; '.join(show(k) for k in sorted(above))} "
            f"(all kernels: {'; '.join(show(k) for k in sorted(kernels))})"
        )
    return {"isa_seen": max(seen, key=lambda k: seen[k]) if seen else None}


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

    def infer_queue(
        self, jobs: int, *, requests: int | None = None, warmup: int | None = None
    ) -> float:
        """Throughput in images/s: ``jobs`` inferences through an ``AsyncInferQueue``.

        ``requests`` parallel infer requests (default: the compiled model's
        ``OPTIMAL_NUMBER_OF_INFER_REQUESTS``) all read the input set by :meth:`make_inputs`;
        ``warmup`` untimed jobs first (default: one per request). Images/s counts the batch;
        details of the last call go to ``effective()["infer_queue"]``.
        """
        if jobs < 1:
            raise BadInput(f"infer_queue needs at least one job, got {jobs}")
        if self._input is None:
            raise BadInput("infer_queue: call make_inputs first")
        n = requests or int(self._effective.get("optimal_infer_requests") or 1)
        if n < 1:
            raise BadInput(f"infer_queue needs at least one request, got {n}")
        if self._queue is None or self._queue_size != n:
            self._queue = self._ov.AsyncInferQueue(self.compiled, n)
            self._queue_size = n
            for i in range(n):
                self._queue[i].set_input_tensor(self._input)
        queue = self._queue
        for _ in range(n if warmup is None else warmup):
            queue.start_async()
        queue.wait_all()
        start = time.perf_counter_ns()
        for _ in range(jobs):
            queue.start_async()
        queue.wait_all()
        seconds = (time.perf_counter_ns() - start) / 1e9
        images = jobs * self._input_shape[0]
        ips = images / seconds
        self._effective["infer_queue"] = {
            "requests": n,
            "jobs": jobs,
            "images": images,
            "seconds": seconds,
            "images_per_s": ips,
        }
        return ips


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

        options = self._options(target)
        core = ov.Core()
        device = self._device(core, target.device)
        if target.isa is not None and device != "CPU":
            raise Unsupported("an ISA cap applies to CPU devices only")
        capabilities = [str(c) for c in core.get_property(device, "OPTIMIZATION_CAPABILITIES")]
        self._check_precision_support(target.precision, device, capabilities)
        if target.isa is not None:
            self._check_isa_env(target.isa)

        source, ov_model = self._read(core, model)
        calibration = None
        if target.precision == "int8":
            ov_model, calibration = self._quantise(ov_model, model.input_shape)

        config = self._config(target, options)
        supported = core.get_property(device, "SUPPORTED_PROPERTIES")
        missing = [k for k in config if k not in supported]
        if missing:
            raise Unsupported(f"openvino {device} has no setting {', '.join(missing)}")
        compiled = core.compile_model(ov_model, device, config)
        readback = self._read_back(compiled)
        self._check_read_back(config, readback)

        runtime = analyse_runtime_model(compiled.get_runtime_model())
        check_precision(target.precision, runtime["layer_precisions"])
        isa_info: dict[str, Any] = {"isa_seen": None}
        if target.isa is not None:
            isa_info = check_isa_kernels(target.isa, runtime["all_kernels"])
        elif device == "CPU":
            seen = [kernel_isa(k) for k in runtime["all_kernels"]]
            ranked = [s for s in seen if s is not None]
            isa_info["isa_seen"] = max(ranked, key=lambda s: s[1])[0] if ranked else None

        effective: dict[str, Any] = {
            "precision": runtime["precision"],
            "precision_hint": readback.get("INFERENCE_PRECISION_HINT"),
            "layer_precisions": runtime["layer_precisions"],
            "device": device,
            "device_name": self._full_name(core, device),
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
                k for k in runtime["kernel_counts"] if _no_isa_in_name(k)
            ),
            "graph": source,
            "mode": "sync infer request",
        }
        if calibration is not None:
            effective["calibration"] = calibration
        return OpenVinoSession(compiled, device, target, effective)

    # -- settings --------------------------------------------------------------------------

    @staticmethod
    def _options(target: Target) -> dict[str, str]:
        opts = dict(target.options)
        unknown = [k for k in opts if k not in KNOWN_OPTIONS]
        if unknown:
            known = ", ".join(KNOWN_OPTIONS)
            raise Unsupported(
                f"openvino engine has no option {', '.join(unknown)} (known: {known})"
            )
        hint = opts.get("performance_hint")
        if hint is not None and hint.lower() not in PERFORMANCE_HINTS:
            raise Unsupported(
                f"openvino option performance_hint={hint!r}: use {', '.join(PERFORMANCE_HINTS)}"
            )
        return opts

    @staticmethod
    def _device(core: Any, name: str) -> str:
        available = [str(d) for d in core.available_devices]
        wanted = name.strip().upper().replace(":", ".")
        if wanted in available:
            return wanted
        if "." not in wanted and any(d.split(".")[0] == wanted for d in available):
            return wanted  # "GPU" with GPU.0, GPU.1: OpenVINO's default GPU
        seen = ", ".join(d.lower() for d in available) or "none"
        raise Unsupported(f"openvino has no device {name!r} on this machine (it sees: {seen})")

    @staticmethod
    def _check_precision_support(precision: str, device: str, capabilities: list[str]) -> None:
        need = NEEDED_CAPABILITY.get(precision)
        if need is not None and need not in capabilities:
            raise Unsupported(
                f"openvino {device} cannot run {precision}: its OPTIMIZATION_CAPABILITIES are "
                f"{', '.join(capabilities) or 'none'} (no {need}); OpenVINO would silently run "
                "f32 instead"
            )
        if precision == "int8" and importlib.util.find_spec("nncf") is None:
            raise Unsupported("int8 needs nncf: pip install nncf")

    @staticmethod
    def _check_isa_env(isa: str) -> None:
        want = get_cap(isa).onednn
        got = os.environ.get("ONEDNN_MAX_CPU_ISA")
        if (got or "").upper() != want.upper():
            raise Unsupported(
                f"ISA cap {isa} needs ONEDNN_MAX_CPU_ISA={want} in the environment before "
                f"OpenVINO loads (it is {got!r}); run it through a cnnbench worker"
            )

    @staticmethod
    def _config(target: Target, options: dict[str, str]) -> dict[str, Any]:
        config: dict[str, Any] = {
            "INFERENCE_PRECISION_HINT": PRECISION_HINTS[target.precision],
            "NUM_STREAMS": str(target.streams),
        }
        hint = PERFORMANCE_HINTS[options.get("performance_hint", "latency").lower()]
        if hint is not None:
            config["PERFORMANCE_HINT"] = hint
        if target.threads is not None:
            config["INFERENCE_NUM_THREADS"] = str(target.threads)
        if "pinning" in options:
            config["ENABLE_CPU_PINNING"] = _truthy("pinning", options["pinning"])
        if "hyper_threading" in options:
            config["ENABLE_HYPER_THREADING"] = _truthy(
                "hyper_threading", options["hyper_threading"]
            )
        return config

    @staticmethod
    def _read_back(compiled: Any) -> dict[str, Any]:
        supported = compiled.get_property("SUPPORTED_PROPERTIES")
        values: dict[str, Any] = {}
        for key in (
            "INFERENCE_PRECISION_HINT",
            "NUM_STREAMS",
            "INFERENCE_NUM_THREADS",
            "PERFORMANCE_HINT",
            "ENABLE_CPU_PINNING",
            "ENABLE_HYPER_THREADING",
            "SCHEDULING_CORE_TYPE",
            "EXECUTION_MODE_HINT",
            "OPTIMAL_NUMBER_OF_INFER_REQUESTS",
            "EXECUTION_DEVICES",
        ):
            if key not in supported:
                continue
            value = compiled.get_property(key)
            if key == "INFERENCE_PRECISION_HINT":
                value = _type_name(value)
            elif key in ("PERFORMANCE_HINT", "SCHEDULING_CORE_TYPE", "EXECUTION_MODE_HINT"):
                value = _hint_name(value)
            elif key in (
                "NUM_STREAMS",
                "INFERENCE_NUM_THREADS",
                "OPTIMAL_NUMBER_OF_INFER_REQUESTS",
            ):
                value = int(value)
            elif key in ("ENABLE_CPU_PINNING", "ENABLE_HYPER_THREADING"):
                value = bool(value)
            elif key == "EXECUTION_DEVICES":
                value = [str(v) for v in value]
            values[key] = value
        return values

    @staticmethod
    def _check_read_back(config: dict[str, Any], readback: dict[str, Any]) -> None:
        wrong = []
        for key, asked in config.items():
            if key not in readback:
                wrong.append(f"{key}: asked {asked}, the compiled model does not report it")
                continue
            got = readback[key]
            if isinstance(got, bool):
                same = got == asked
            elif isinstance(got, int):
                same = str(got) == str(asked)
            else:
                same = str(got).upper() == str(asked).upper()
            if not same:
                wrong.append(f"{key}: asked {asked}, got {got}")
        if wrong:
            raise Unsupported("openvino did not honour the settings: " + "; ".join(wrong))

    @staticmethod
    def _full_name(core: Any, device: str) -> str | None:
        with contextlib.suppress(Exception):
            return str(core.get_property(device, "FULL_DEVICE_NAME"))
        return None

    # -- the graph -------------------------------------------------------------------------

    @staticmethod
    def _read(core: Any, model: ModelInstance) -> tuple[dict[str, Any], Any]:
        from cnnbench.engines._onnx_common import source_onnx

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

    @staticmethod
    def _quantise(ov_model: Any, shape: tuple[int, ...]) -> tuple[Any, dict[str, Any]]:
        try:
            import nncf
        except ImportError as exc:  # find_spec saw it, the import failed
            raise Unsupported(f"int8 needs nncf: pip install nncf ({exc})") from exc
        with contextlib.suppress(Exception):
            nncf.set_log_level(logging.WARNING)
        rng = np.random.default_rng(CALIBRATION_SEED)
        samples = [
            rng.standard_normal(tuple(shape), dtype=np.float32) for _ in range(CALIBRATION_SAMPLES)
        ]
        quantised = nncf.quantize(ov_model, nncf.Dataset(samples), subset_size=len(samples))
        try:
            version = importlib.metadata.version("nncf")
        except importlib.metadata.PackageNotFoundError:
            version = None
        return quantised, {
            "method": "nncf.quantize (post-training, default preset)",
            "tool": "nncf",
            "tool_version": version,
            "samples": CALIBRATION_SAMPLES,
            "seed": CALIBRATION_SEED,
            "distribution": "standard normal",
            "note": "calibrated on random data: the speed is real, the accuracy is not",
        }
