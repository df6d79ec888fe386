"""ONNX Runtime precision copies of a model file: int8 (static quantisation) and fp16.

``int8`` is post-training static quantisation (``quant_pre_process``, then ``quantize_static``:
QDQ format, per-channel int8 weights, uint8 activations, MinMax calibration on seeded
standard-normal inputs); ``fp16`` is a float16 copy made with ORT's converter. Both are cached
next to the fp32 file under a name derived from its bytes and the settings
(:func:`cnnbench.engines._onnx_common.derived_path`).
"""

from __future__ import annotations

import logging
import math
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from cnnbench._fs import atomic_path
from cnnbench.engines.onnxruntime.config import version_text
from cnnbench.errors import Unsupported
from cnnbench.graph.source import derived_path, graph_io

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


class CalibrationReader:
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


def calibration(shape: tuple[int, ...]) -> dict[str, Any]:
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


def quantized_model(source: Path, shape: tuple[int, ...]) -> tuple[Path, dict[str, Any]]:
    """The int8 QDQ copy of ``source`` (made once, cached), and its calibration record."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quant_pre_process,
        quantize_static,
    )

    calib = calibration(shape)
    settings = {**QUANTIZATION, "calibration": calib, "onnxruntime": version_text()}
    target = derived_path(source, "int8", settings)
    if target.is_file():
        return target, {**calib, "cached": True}
    inputs, _ = graph_io(source)
    if len(inputs) != 1:
        raise Unsupported(f"int8 calibration feeds one input; the model has {len(inputs)}")

    class Reader(CalibrationReader, CalibrationDataReader):
        pass

    reader = Reader(inputs[0], shape, calib["batches"], CALIBRATION_SEED)
    quant_logger = logging.getLogger()
    old_level = quant_logger.level
    with (
        tempfile.TemporaryDirectory(prefix="cnnbench-ort-q-") as tmp,
        atomic_path(target, suffix=".onnx") as out,
    ):
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


def fp16_model(source: Path) -> Path:
    """A float16 copy of ``source`` made with ORT's converter (inputs/outputs float16 too)."""
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    target = derived_path(source, "fp16", {"converter": "onnxruntime.transformers.float16"})
    if target.is_file():
        return target
    model = convert_float_to_float16(onnx.load(str(source)), keep_io_types=False)
    with atomic_path(target, suffix=".onnx") as out:
        onnx.save(model, str(out))
    return target
