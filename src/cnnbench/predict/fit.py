"""Fit every predictor on a training set and save them; predict one network with a saved fit.

:func:`fit_all` fits the per-layer, MACs-only and SyNERGY predictors on all samples (one that
lacks data is saved as unavailable, with the reason), runs leave-one-network-out
cross-validation on the same samples for the uncertainty a prediction quotes, and saves both
with the :class:`~cnnbench.predict.saved.Fingerprint`. :func:`predict_one` costs a model (a
registered name or an ONNX file, in a worker), checks the fingerprint and predicts.

The target is the samples' (:class:`~cnnbench.predict.dataset.Quantity`): latency in ms or
energy in mJ per inference; every figure's JSON key ends in its unit (``predicted_ms``,
``predicted_mj``), and the summary says ``target``, ``unit`` and, for energy, ``basis``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cnnbench.errors import BadInput
from cnnbench.predict.dataset import LATENCY, Sample, quantity, software_of
from cnnbench.predict.evaluate import cross_validate
from cnnbench.predict.features import NetworkFeatures
from cnnbench.predict.predictors import PREDICTORS, PerLayer, Synergy, Unavailable, make
from cnnbench.predict.saved import (
    Fingerprint,
    Saved,
    check_fingerprint,
    check_target,
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
    options: Sequence[tuple[str, str]] = (),
) -> tuple[Path, dict[str, Any]]:
    """Fit, cross-validate by network, save; the saved file and its summary. ``options`` are
    the engine options of the runs (:func:`~cnnbench.predict.saved.fit_options`)."""
    target = samples[0].target if samples else LATENCY
    fitted, unavailable = fit_predictors(samples)
    if target.energy and "per-layer" in unavailable:
        with_layers = sum(s.profiled and not s.probe for s in samples)
        unavailable["per-layer"] += (
            f" (for energy: metered layer replays, cnnbench profile --replay --energy; "
            f"{with_layers} network(s) have them); MACs-only and SyNERGY do not need them"
        )
    run_ids = [rid for s in samples for rid in s.run_ids]
    fp = Fingerprint(
        target=target.name,
        machine_id=machine_id,
        engine=engine,
        threads=threads,
        software=software_of(records, engine),
        networks=tuple(s.model for s in samples),
        data_digest=data_digest(run_ids),
        study=study,
        statistic=target.basis if target.energy else statistic,
        created=now_iso(),
        options=tuple(options),
    )
    cv = cross_validate(samples, "network")
    summary: dict[str, Any] = {
        "target": target.name,
        "unit": target.unit,
        **({"basis": target.basis, "basis_note": target.note} if target.energy else {}),
        "networks": sum(not s.probe for s in samples),
        "probes": sum(s.probe for s in samples),
        "with_counters": sum(s.counts is not None for s in samples),
        # networks whose target was measured per kernel (profiles; energy: metered replays)
        "per_kernel": sum(s.profiled and not s.probe for s in samples),
        # repeated profiles joined (--collect --repeats), and those left out as contended
        "profiles": sum(s.profiles for s in samples),
        "contended": sum(s.contended for s in samples),
        # the targets' own spread over their repeats (none without repeats)
        "repeat_spread": cv.spread.to_json() if cv.spread else None,
        "unavailable": unavailable,
        "held_out_network": {
            name: (m.to_json() if (m := cv.metrics(name)) else None) for name in cv.outcomes
        },
        # every held-out network's measured and predicted figure, per predictor (the report)
        "held_out_outcomes": {
            name: row["networks"] for name, row in cv.to_json()["predictors"].items()
        },
    }
    synergy = fitted.get("synergy")
    if isinstance(synergy, Synergy):
        counted = [s for s in samples if s.counts is not None]
        summary["synergy"] = synergy.describe(counted, target.key)
    per_layer = fitted.get(BEST)
    if isinstance(per_layer, PerLayer):
        summary["kinds"] = per_layer.methods()
        summary["excluded"] = list(per_layer.excluded)
        if target.energy:  # they train the network terms, not the kernel models: say so
            summary["without_per_kernel"] = [
                s.model for s in samples if not s.profiled and not s.probe
            ]
    path = model_path(target.name, engine, machine_id, root, options)
    path = save(Saved(fp, summary, fitted), path)
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
    target: str = "latency",
    options: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """One prediction per saved predictor, the per-layer one first, with its provenance; a
    fit of another target is refused (forced or not). ``options``: the engine options of
    the runs the fit should have been made on (another option set is refused unless forced)."""
    from cnnbench.predict.saved import read_fingerprint

    unit = quantity(target)
    path = model_path(target, engine, machine_id, root, options)
    if not path.exists():  # another machine's (or engine's) fit: refused below unless forced
        found = sorted(path.parent.glob(f"{target}-{engine}[-+]*.json"))
        if not found:
            found = sorted(path.parent.glob(f"{target}-*.json"))
        path = found[0] if found else path
    if not path.exists():
        other = "energy" if target == "latency" else "latency"
        fits = sorted(path.parent.glob(f"{other}-{engine}[-+]*.json"))
        if fits:
            raise BadInput(
                f"no {target} fit for {engine}; the {other} fit {fits[0]} predicts no "
                f"{target}: cnnbench predict fit --target {target} -e {engine} fits one"
            )
        raise BadInput(
            f"no fitted model at {path}; run cnnbench predict fit --target {target} -e {engine} "
            "first"
        )
    fp, _ = read_fingerprint(path)
    check_target(fp, target, path)
    why = check_fingerprint(fp, machine_id, engine, force, options)
    saved = load(path)
    if features is None:
        features = NetworkFeatures.of(_cost(model, engine), model)
    out: dict[str, Any] = {
        "model": model,
        "engine": engine,
        "target": target,
        "unit": unit.unit,
        **({"basis": saved.summary.get("basis")} if unit.energy else {}),
        "macs": features.macs,
        "kernels": len(features.kernels),
        "fitted_model": str(path),
        "options": dict(fp.options),
        "fingerprint": fp.to_json(),
        "forced": why,
        "predictions": {},
    }
    for name, predictor in saved.predictors.items():
        p = predictor.predict(features)
        held = (saved.summary.get("held_out_network") or {}).get(name) or {}
        out["predictions"][name] = {
            f"predicted_{unit.key}": p.value,
            f"contributions_{unit.key}": dict(p.contributions),
            "notes": list(p.notes),
            "uncertainty_pct": held.get("rmspe"),
            "held_out_mape": held.get("mape"),
            "held_out_within_10": held.get("within_10"),
        }
    best = out["predictions"].get(BEST)
    key = f"predicted_{unit.key}"
    out[key] = best[key] if best else None
    out["unavailable"] = saved.summary.get("unavailable", {})
    return out
