"""Tables and lines for ``cnnbench predict``: the cross-validation table, a fit, a prediction,
each in its target's unit (latency in ms, energy in mJ)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.table import Table

if TYPE_CHECKING:
    from cnnbench.predict.evaluate import Evaluation

ORDER = ("per-layer", "macs-only", "synergy", "synergy-stage1")
LABELS = {
    "synergy": "synergy (MACs->counts->t)",
    "synergy-stage1": "synergy stage 1 (counts->t)",
}


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f}"


def _share(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.0f}%"


def eval_rows(evals: Sequence[Evaluation]) -> list[dict[str, Any]]:
    rows = []
    for ev in evals:
        for name in ORDER:
            if name not in ev.outcomes:
                continue
            m = ev.metrics(name)
            worst = ", ".join(f"{f} {e:.0f}%" for f, e in ev.worst_families(name, 2))
            rows.append(
                {
                    "held_out": ev.by,
                    "predictor": name,
                    "metrics": m,
                    "skipped": ev.skipped.get(name, 0),
                    "reason": ev.reasons.get(name),
                    "worst": worst,
                }
            )
    return rows


def _target(evals: Sequence[Evaluation]) -> tuple[str, str]:
    """The evaluations' target name (with its energy basis) and unit."""
    if not evals:
        return "latency", "ms"
    t = evals[0].target
    return (f"{t.name} ({t.basis})" if t.basis else t.name), t.unit


def eval_tables(engine: str, evals: Sequence[Evaluation], *, networks: bool = False) -> list[Table]:
    name, unit = _target(evals)
    t = Table(title=f"{name} predictors on {engine}: held-out cross-validation")
    for col in ("held out", "predictor", "n", "MAPE %", "SD", "median %", "RMSPE %",
                "<=5%", "<=10%", "worst families (MAPE)"):  # fmt: skip
        t.add_column(col, justify="left" if col in ("held out", "predictor") else "right")
    for row in eval_rows(evals):
        m = row["metrics"]
        label = LABELS.get(row["predictor"], row["predictor"])
        if m is None:
            t.add_row(row["held_out"], label, "0", "-", "-", "-", "-", "-", "-",
                      f"unavailable: {row['reason']}")  # fmt: skip
            continue
        skipped = f" (+{row['skipped']} n/a)" if row["skipped"] else ""
        t.add_row(
            row["held_out"], label, f"{m.n}{skipped}", _pct(m.mape), _pct(m.mape_sd),
            _pct(m.median_ape), _pct(m.rmspe), _share(m.within_5), _share(m.within_10),
            row["worst"],
        )  # fmt: skip
    spread = evals[0].spread if evals else None
    if spread is not None:
        t.add_row(
            "-", "repeats vs each other", str(spread.n), _pct(spread.mape), _pct(spread.mape_sd),
            _pct(spread.median_ape), _pct(spread.rmspe), _share(spread.within_5),
            _share(spread.within_10), "the targets' own spread: each repeat vs the others' median",
        )  # fmt: skip
    tables = [t]
    if networks:
        for ev in evals:
            n = Table(title=f"per network, held out by {ev.by} ({engine})")
            for col in (
                "network",
                "family",
                f"measured {unit}",
                *[p for p in ORDER if p in ev.outcomes],
            ):
                n.add_column(col, justify="left" if col in ("network", "family") else "right")
            by_net: dict[str, dict[str, Any]] = {}
            for name, outcomes in ev.outcomes.items():
                for o in outcomes:
                    row = by_net.setdefault(o.model, {"family": o.family, "v": o.measured})
                    row[name] = f"{o.predicted:.3f} ({100 * o.rel_error:+.0f}%)"
            for model, row in sorted(by_net.items()):
                n.add_row(model, row["family"], f"{row['v']:.3f}",
                          *[row.get(p, "-") for p in ORDER if p in ev.outcomes])  # fmt: skip
            tables.append(n)
    return tables


def eval_json(engine: str, evals: Sequence[Evaluation]) -> dict[str, Any]:
    target = evals[0].target if evals else None
    out: dict[str, Any] = {"engine": engine, "target": target.name if target else "latency",
                           "unit": target.unit if target else "ms"}  # fmt: skip
    if target is not None and target.basis:
        out["basis"] = target.basis
    return {**out, "evaluations": [e.to_json() for e in evals]}


def fit_lines(summary: dict[str, Any]) -> list[str]:
    fp = summary["fingerprint"]
    unit = str(summary.get("unit") or "ms")
    key = unit.lower()
    lines = [
        f"{fp['target']} ({unit}) fitted on {summary['networks']} networks "
        f"({summary['with_counters']} with counters) "
        f"and {summary.get('probes', 0)} one-layer probes, engine {fp['engine']}, "
        f"machine {fp['machine_id']}, threads {fp['threads'] or 'default'}",
    ]
    if summary.get("profiles", 0) > summary["networks"] + summary.get("probes", 0):
        lines.append(
            f"  {summary['profiles']} profiles joined by medians (repeats)"
            + (
                f"; {summary['contended']} measured under other load left out"
                if summary.get("contended")
                else ""
            )
        )
    if spread := summary.get("repeat_spread"):
        lines.append(
            f"  the targets' own repeats: each against the others' median {spread['mape']:.1f} "
            f"+- {spread['mape_sd']:.1f} %, within 10 %: {100 * spread['within_10']:.0f} % "
            f"(n={spread['n']})"
        )
    if summary.get("basis"):
        lines.append(
            f"  energy basis: {summary['basis']} energy per inference "
            f"({summary.get('basis_note') or 'metered'}); "
            f"{summary.get('per_kernel', 0)} network(s) with per-layer energy"
        )
    if summary.get("without_per_kernel"):
        lines.append(
            "  no per-layer energy (network terms only, no kernel model): "
            + ", ".join(summary["without_per_kernel"])
        )
    if summary.get("excluded"):
        lines.append(
            "  kernels not trained on (profile disagrees with its own end-to-end time): "
            + ", ".join(summary["excluded"])
        )
    for name, m in summary["held_out_network"].items():
        if m:
            lines.append(
                f"  {name}: held-out network MAPE {m['mape']:.1f} +- {m['mape_sd']:.1f} %, "
                f"within 10 %: {100 * m['within_10']:.0f} % (n={m['n']})"
            )
    for name, why in summary["unavailable"].items():
        lines.append(f"  {name}: unavailable: {why}")
    syn = summary.get("synergy")
    if syn:
        a, b = syn["stage1"]["coef"]
        lines.append(
            f"  synergy stage 1: {'E' if key == 'mj' else 't'} = {a:.3g} x instructions "
            f"+ {b:.3g} x memory + {syn['stage1']['intercept']:.3g} {unit}; "
            f"counts: {syn['source']}"
        )
        for r in syn["networks"]:
            lines.append(
                f"    {r['model']}: measured {r[f'measured_{key}']:.3f} {unit}, stage 1 "
                f"{r[f'stage1_{key}']:.3f}, from MACs {r[f'both_stages_{key}']:.3f}; "
                f"instructions {r['instructions']:.3g} "
                f"(from MACs {r['instructions_from_macs']:.3g})"
            )
    for kind, k in (summary.get("kinds") or {}).items():
        lines.append(f"  kind {kind}: {k['method']} ({k['rows']} kernels)")
    return lines


def show_lines(result: dict[str, Any]) -> list[str]:
    fp = result["fingerprint"]
    unit = str(result.get("unit") or "ms")
    key = unit.lower()
    basis = f", {result['basis']} energy per inference" if result.get("basis") else ""
    lines = [
        f"{result['model']} on {result['engine']}: {result['macs'] / 1e6:.1f} M MACs, "
        f"{result['kernels']} predicted kernels; {result.get('target', 'latency')} in "
        f"{unit}{basis}",
    ]
    if result["forced"]:
        lines.append(f"FORCED: {result['forced']}")
    for name, p in result["predictions"].items():
        unc = p["uncertainty_pct"]
        spread = f" +- {unc:.0f} % (held-out RMSPE)" if unc is not None else ""
        lines.append(f"  {name}: {p[f'predicted_{key}']:.3f} {unit}{spread}")
        if name == "per-layer":
            for term, v in p[f"contributions_{key}"].items():
                lines.append(f"      {term:<12} {v:9.3f} {unit}")
        lines += [f"      note: {n}" for n in p["notes"]]
    for name, why in result.get("unavailable", {}).items():
        lines.append(f"  {name}: unavailable: {why}")
    probes = sum(str(n).startswith("layer/") for n in fp["networks"])
    lines.append(
        f"fitted {fp['created']} on {len(fp['networks']) - probes} networks and {probes} "
        f"one-layer probes, machine {fp['machine_id']}, "
        f"data {fp['data_digest']}, software {fp['software']}"
    )
    return lines
