"""Imports every built-in engine module so that their ``@register_engine`` calls run."""

from cnnbench.engines import onnxruntime_engine, openvino_engine, torch_engine  # noqa: F401
