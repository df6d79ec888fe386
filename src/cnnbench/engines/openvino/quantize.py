"""OpenVINO int8: post-training quantisation of the read model with NNCF.

NNCF's default preset, calibrated on seeded standard-normal samples of the run's input shape;
the layers NNCF leaves unquantised run at the compiled model's f32 precision hint. The record
returned with the model goes into ``effective()["calibration"]``.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import logging
from typing import Any

import numpy as np

from cnnbench.errors import Unsupported

CALIBRATION_SAMPLES = 16
CALIBRATION_SEED = 1  # the timed input uses seed 0 (cnnbench.measure.job.INPUT_SEED)


def quantize(ov_model: Any, shape: tuple[int, ...]) -> tuple[Any, dict[str, Any]]:
    """The NNCF-quantised copy of ``ov_model`` and its calibration record."""
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
    quantized = nncf.quantize(ov_model, nncf.Dataset(samples), subset_size=len(samples))
    try:
        version = importlib.metadata.version("nncf")
    except importlib.metadata.PackageNotFoundError:
        version = None
    return quantized, {
        "method": "nncf.quantize (post-training, default preset)",
        "tool": "nncf",
        "tool_version": version,
        "samples": CALIBRATION_SAMPLES,
        "seed": CALIBRATION_SEED,
        "distribution": "standard normal",
        "note": "calibrated on random data: the speed is real, the accuracy is not",
    }
