"""Fitted predictors on disk, with the fingerprint of the data they were fitted on.

A fit writes two files under ``$CNNBENCH_CACHE/models`` (``~/.cache/cnnbench/models``):
``TARGET-ENGINE-MACHINE.json`` (``latency-...`` or ``energy-...``, ``ENGINE+KEY=VALUE`` for a
fit on runs with engine options such as ``malloc=keep``: the :class:`Fingerprint`,
the fit's own held-out error, the per-kind methods, readable without scikit-learn) and
``.joblib`` beside it (the fitted predictors). :func:`check_fingerprint` refuses a prediction
for another machine, engine or option set than the fit's unless forced, and a forced
prediction says so in its ``forced`` field; :func:`check_target` refuses a fit of another
target, forced or not.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cnnbench._fs import atomic_path
from cnnbench.errors import BadInput

FORMAT = 4  # 3: layout reorders, misaligned bytes, a scale per kind, energy; 4: input loads


def models_dir() -> Path:
    root = os.environ.get("CNNBENCH_CACHE") or str(Path.home() / ".cache" / "cnnbench")
    return Path(root).expanduser() / "models"


@dataclass(frozen=True)
class Fingerprint:
    """What a fitted model was trained on: machine, engine, configuration, versions, data."""

    target: str  # "latency", or "energy" (from a meter; its summary's ``basis`` says which)
    machine_id: str
    engine: str
    threads: int | None
    software: Mapping[str, str]
    networks: tuple[str, ...]
    data_digest: str  # of the training runs' ids
    study: str | None = None
    statistic: str = "median"  # the end-to-end figure the fit predicts (energy: its basis)
    created: str = ""
    options: tuple[tuple[str, str], ...] = ()  # the engine options of its runs (fit_options)

    @property
    def configuration(self) -> str:
        """The engine and its options: 'torch', 'torch (malloc=keep)'."""
        return f"{self.engine} ({options_text(self.options)})" if self.options else self.engine

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "machine_id": self.machine_id,
            "engine": self.engine,
            "threads": self.threads,
            "software": dict(self.software),
            "networks": list(self.networks),
            "data_digest": self.data_digest,
            "study": self.study,
            "statistic": self.statistic,
            "created": self.created,
            "options": dict(self.options),
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Fingerprint:
        return cls(
            target=str(d["target"]),
            machine_id=str(d["machine_id"]),
            engine=str(d["engine"]),
            threads=d.get("threads"),
            software={str(k): str(v) for k, v in dict(d.get("software") or {}).items()},
            networks=tuple(d.get("networks") or ()),
            data_digest=str(d["data_digest"]),
            study=d.get("study"),
            statistic=str(d.get("statistic") or "median"),
            created=str(d.get("created") or ""),
            options=fit_options(dict(d.get("options") or {}).items()),
        )


def fit_options(pairs: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """Engine options as a fit is keyed by them: sorted, values lower-cased, empty ones (the
    default) left out. A fit reads only runs whose options are exactly these."""
    return tuple(sorted((str(k), str(v).strip().lower()) for k, v in pairs if str(v).strip()))


def options_text(options: Sequence[tuple[str, str]]) -> str:
    """'malloc=keep' (comma-separated), '' when none."""
    return ",".join(f"{k}={v}" for k, v in options)


def data_digest(run_ids: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(sorted(run_ids)).encode()).hexdigest()[:16]


def mismatch(
    fp: Fingerprint, machine_id: str, engine: str, options: Sequence[tuple[str, str]] = ()
) -> str | None:
    """Why a fitted model does not apply here (None when it does)."""
    why = []
    if fp.engine != engine:
        why.append(f"it was fitted for engine {fp.engine}, not {engine}")
    if fp.machine_id != machine_id:
        why.append(f"it was fitted on machine {fp.machine_id}, this is {machine_id}")
    if fp.options != tuple(options):
        had, want = options_text(fp.options) or "none", options_text(options) or "none"
        why.append(f"it was fitted on runs with options {had}, not {want}")
    return "; ".join(why) or None


def check_fingerprint(
    fp: Fingerprint,
    machine_id: str,
    engine: str,
    force: bool,
    options: Sequence[tuple[str, str]] = (),
) -> str | None:
    """None when the model applies; the reason when forced; BadInput when not forced."""
    why = mismatch(fp, machine_id, engine, options)
    if why and not force:
        raise BadInput(f"the fitted model does not apply: {why} (--force predicts anyway)")
    return why


def check_target(fp: Fingerprint, target: str, path: Path) -> None:
    """BadInput when the fit at ``path`` predicts another target than ``target`` (a latency
    fit has no energy in it, whatever ``--force`` says)."""
    if fp.target != target:
        raise BadInput(
            f"fitted model {path} predicts {fp.target}, not {target}: "
            f"cnnbench predict fit --target {target} -e {fp.engine} fits one"
        )


@dataclass
class Saved:
    """A fit on disk: its fingerprint, summary (errors, methods) and the predictors."""

    fingerprint: Fingerprint
    summary: dict[str, Any] = field(default_factory=dict)
    predictors: dict[str, Any] = field(default_factory=dict)


def model_path(
    target: str,
    engine: str,
    machine_id: str,
    root: Path | None = None,
    options: Sequence[tuple[str, str]] = (),
) -> Path:
    """``TARGET-ENGINE-MACHINE.json``; a fit on runs with engine options says them after the
    engine: ``latency-torch+malloc=keep-MACHINE.json``."""
    tag = f"+{options_text(options)}" if options else ""
    return (root or models_dir()) / f"{target}-{engine}{tag}-{machine_id}.json"


def save(saved: Saved, path: Path) -> Path:
    import joblib

    blob = path.with_suffix(".joblib")
    with atomic_path(blob) as tmp:
        joblib.dump(saved.predictors, tmp)
    doc = {"format": FORMAT, "fingerprint": saved.fingerprint.to_json(), **saved.summary}
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(doc, indent=1, sort_keys=True, default=str) + "\n")
    return path


def read_fingerprint(path: Path) -> tuple[Fingerprint, dict[str, Any]]:
    try:
        doc = json.loads(path.read_text())
        return Fingerprint.from_json(doc["fingerprint"]), doc
    except FileNotFoundError:
        raise BadInput(f"no fitted model at {path}; run cnnbench predict fit first") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BadInput(f"fitted model {path} cannot be read ({exc})") from None


def load(path: Path) -> Saved:
    import joblib

    fp, doc = read_fingerprint(path)
    if doc.get("format") != FORMAT:
        raise BadInput(f"fitted model {path} has format {doc.get('format')}, expected {FORMAT}")
    try:
        predictors = joblib.load(path.with_suffix(".joblib"))
    except FileNotFoundError:
        raise BadInput(f"fitted model {path}: its .joblib file is missing; fit again") from None
    summary = {k: v for k, v in doc.items() if k not in ("format", "fingerprint")}
    return Saved(fp, summary, predictors)
