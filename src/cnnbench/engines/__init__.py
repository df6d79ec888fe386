"""Inference engines behind one protocol; one file per engine."""

from cnnbench.engines.base import (
    Engine,
    EngineInfo,
    ModelInstance,
    Session,
    engine_names,
    get_engine,
    installed_engines,
    register_engine,
)

__all__ = [
    "Engine",
    "EngineInfo",
    "ModelInstance",
    "Session",
    "engine_names",
    "get_engine",
    "installed_engines",
    "register_engine",
]
