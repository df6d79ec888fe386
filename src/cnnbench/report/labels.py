"""Short, stable labels for targets and configurations (plain text: escaped where printed)."""

from __future__ import annotations

import json
from collections.abc import Collection

from cnnbench.results.record import ResultRecord
from cnnbench.spec import RunSpec


def target_label(spec: RunSpec) -> str:
    """The engine and whatever of its configuration is not a default: ``openvino bf16 t2``."""
    t = spec.target
    parts = [t.engine if t.device == "cpu" else f"{t.engine}/{t.device}"]
    if t.precision != "fp32":
        parts.append(t.precision)
    if t.threads is not None:
        parts.append(f"t{t.threads}")
    if t.cores is not None:
        parts.append("cores " + ",".join(str(c) for c in t.cores))
    if t.isa is not None:
        parts.append(f"isa {t.isa}")
    if t.streams != 1:
        parts.append(f"s{t.streams}")
    parts.extend(f"{k}={v}" for k, v in t.options)
    return " ".join(parts)


def workload_label(spec: RunSpec) -> str:
    """The model, and its batch and input shape when they are not the usual ones."""
    parts = [spec.model.name]
    if spec.mode == "latency" and spec.batch != 1:
        parts.append(f"b{spec.batch}")
    if tuple(spec.input_shape) != (3, 224, 224):
        parts.append("x".join(str(d) for d in spec.input_shape))
    return " ".join(parts)


IDENTITY_TARGET_FIELDS = (
    "engine",
    "device",
    "precision",
    "threads",
    "streams",
    "cores",
    "isa",
    "options",
)


def config_key(rec: ResultRecord, drop: Collection[str] = (), *, machine: bool = True) -> str:
    """The record's identity without the ``drop``ped fields (and its machine, unless
    ``machine`` is False): records with equal keys measured the same configuration."""
    ident = {k: v for k, v in rec.spec.identity().items() if k not in drop}
    if machine:
        ident["machine"] = rec.machine.get("id")
    return json.dumps(ident, sort_keys=True, separators=(",", ":"), default=str)


def config_label(rec: ResultRecord, drop: Collection[str] = ()) -> str:
    """A readable label of a configuration, without the fields being compared."""
    s = rec.spec
    parts = [workload_label(s), s.mode if s.mode != "latency" else ""]
    if not set(IDENTITY_TARGET_FIELDS) <= set(drop):
        kept = {k for k in IDENTITY_TARGET_FIELDS if k not in drop}
        t = s.target
        if "engine" in kept:
            parts.append(t.engine if t.device == "cpu" else f"{t.engine}/{t.device}")
        if "precision" in kept and t.precision != "fp32":
            parts.append(t.precision)
        if "threads" in kept and t.threads is not None:
            parts.append(f"t{t.threads}")
        if "isa" in kept and t.isa is not None:
            parts.append(f"isa {t.isa}")
        if "streams" in kept and t.streams != 1:
            parts.append(f"s{t.streams}")
    return " ".join(p for p in parts if p)
