"""Fit every predictor on a training set and save them; predict one network with a saved fit.

:func:`fit_all` fits the per-layer, MACs-only and SyNERGY predictors on all samples (one that
lacks data is saved as unavailable, with the reason), runs leave-one-network-out
cross-validation on the same samples for the uncertainty a prediction quotes, and saves both
with the :class:`~cnnbench.predict.saved.Fingerprint`. :func:`predict_one` costs a model (a
registered name or an ONNX file, in a worker), checks the fingerprint and predicts.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cnnbench.errors import BadInput
from cnnbench.predict.dataset import Sample, software_of
from cnnbench.predict.evaluate import cross_validate
from cnnbench.predict.features import NetworkFeatures
from cnnbench.predict.predictors import PREDICTORS, PerLayer, Synergy, Unavailable, make
from cnnbench.predict.saved import (
    Fingerprint,
    Saved,
    check_fingerprint,
    data_digest,
    load,
    model_path,
    save,
)
from cnnbench.results.record import ResultRecord, now_iso

BEST = "per-layer"


def fit_predictors(samples: Sequence[Sample]) -> tuple[dict[str, Any], dict[str, str]]:
    fitted: dict[str, Any] = {}
    unavailable: dict[str, str] = {}
    for name in PREDICTORS:
        try:
            fitted[name] = make(name).fit(samples)
        except Unavailable as exc:
            unavailable[name] = str(exc)
    return fitted, unavailable


def fit_all(
    samples: Sequence[Sample],
    records: Sequence[ResultRecord],
    engine: str,
    machine_id: str,
    threads: int | None,
    study: str | None = None,
    *,
    statistic: str = "median",
    root: Path | None = None,
) -> tuple[Path, dict[str, Any]]:
    """Fit, cross-validate by network, save; the saved file and its summary."""
    fitted, unavailable = fit_predictors(samples)
    run_ids = [rid for s in samples for rid in s.run_ids]
    fp = Fingerprint(
        target="latency",
        machine_id=machine_id,
        engine=engine,
        threads=threads,
        software=software_of(records, engine),
        networks=tuple(s.model for s in samples),
        data_digest=data_digest(run_ids),
        study=study,
        statistic=statistic,
        created=now_iso(),
    )
    cv = cross_validate(samples, "network")
    summary: dict[str, Any] = {
        "networks": sum(not s.probe for s in samples),
        "probes": sum(s.probe for s in samples),
        "with_counters": sum(s.counts is not None for s in samples),
        "unavailable": unavailable,
        "held_out_network": {
            name: (m.to_json() if (m := cv.metrics(name)) else None) for name in cv.outcomes
        },
        # every held-out network's measured and predicted ms, per predictor (for the report)
        "held_out_outcomes": {
            name: row["networks"] for name, row in cv.to_json()["predictors"].items()
        },
    }
    synergy = fitted.get("synergy")
    if isinstance(synergy, Synergy):
        summary["synergy"] = synergy.describe([s for s in samples if s.counts is not None])
    per_layer = fitted.get(BEST)
    if isinstance(per_layer, PerLayer):
        summary["kinds"] = per_layer.methods()
        summary["excluded"] = list(per_layer.excluded)
    path = save(Saved(fp, summary, fitted), model_path("latency", engine, machine_id, root))
    return path, {"fingerprint": fp.to_json(), **summary}


def _cost(model: str, engine: str) -> Any:
    """The cost model of the graph ``engine`` runs for ``model``, BatchNorm folded as the
    engine folds it by default: the project's own networks costed here, anything else (an
    ONNX file, a factory) in a worker."""
    from cnnbench.engines import get_engine
    from cnnbench.models import get_model_info, is_builtin_ref
    from cnnbench.spec import Target

    cls = get_engine(engine, require_installed=False)
    fold = cls.folds_batchnorm(Target(engine))
    if not cls.runs_onnx_files:
        from cnnbench.models.user import is_onnx_ref

        if is_onnx_ref(model.strip()):
            raise BadInput(
                f"{model.strip()} is an ONNX file: {engine} does not run ONNX files, so there is "
                "nothing of it to predict (use onnxruntime or openvino)"
            )
    if not is_builtin_ref(model):
        from cnnbench.execute.costing import detail_cost

        return detail_cost(model, fold_bn=fold)
    from cnnbench.graph.cost import model_cost

    return model_cost(model, get_model_info(model).input_shape, 1, fold_bn=fold)


def predict_one(
    model: str,
    engine: str,
    machine_id: str,
    *,
    force: bool = False,
    root: Path | None = None,
    features: NetworkFeatures | None = None,
) -> dict[str, Any]:
    """One prediction per saved predictor, the per-layer one first, with its provenance."""
    from cnnbench.predict.saved import read_fingerprint

    path = model_path("latency", engine, machine_id, root)
    if not path.exists():  # another machine's (or engine's) fit: refused below unless forced
        found = sorted(path.parent.glob(f"latency-{engine}-*.json"))
        if not found:
            found = sorted(path.parent.glob("latency-*.json"))
        path = found[0] if found else path
    fp, _ = read_fingerprint(path)
    why = check_fingerprint(fp, machine_id, engine, force)
    saved = load(path)
    if features is None:
        features = NetworkFeatures.of(_cost(model, engine), model)
    out: dict[str, Any] = {
        "model": model,
        "engine": engine,
        "macs": features.macs,
        "kernels": len(features.kernels),
        "fitted_model": str(path),
        "fingerprint": fp.to_json(),
        "forced": why,
        "predictions": {},
    }
    for name, predictor in saved.predictors.items():
        p = predictor.predict(features)
        held = (saved.summary.get("held_out_network") or {}).get(name) or {}
        out["predictions"][name] = {
            "predicted_ms": p.predicted_ms,
            "contributions_ms": dict(p.contributions),
            "notes": list(p.notes),
            "uncertainty_pct": held.get("rmspe"),
            "held_out_mape": held.get("mape"),
            "held_out_within_10": held.get("within_10"),
        }
    best = out["predictions"].get(BEST)
    out["predicted_ms"] = best["predicted_ms"] if best else None
    out["unavailable"] = saved.summary.get("unavailable", {})
    return out
