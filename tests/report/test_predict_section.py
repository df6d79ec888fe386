"""The report's Prediction section: read from the saved fit's JSON (written here in the exact
form ``cnnbench predict fit`` saves), one table per engine with the fit's own numbers, one
predicted-against-measured figure; absent without a fit; a broken or foreign fit is a note."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("matplotlib")
pytest.importorskip("pandas")

from report_records import MACHINE, latency_record

from cnnbench.predict.saved import FORMAT, model_path
from cnnbench.report.build import build_report, write_report
from cnnbench.report.doc import Section
from cnnbench.report.html import render_html
from cnnbench.results.record import ResultRecord

MID = str(MACHINE["id"])


def _outcomes(scale: float, key: str = "ms") -> list[dict[str, Any]]:
    out = []
    for model, family, ms in (
        ("resnet18", "resnet", 12.5),
        ("mobilenet_v2", "mobilenet", 3.2),
        ("pattern/standard?depth=4&input=112&width=32", "pattern/standard", 0.81),
    ):
        predicted = ms * scale
        out.append(
            {
                "model": model,
                "family": family,
                f"measured_{key}": ms,
                f"predicted_{key}": predicted,
                "rel_error": (predicted - ms) / ms,
            }
        )
    return out


def fit_doc(engine: str, machine_id: str = MID, **summary: Any) -> dict[str, Any]:
    """A fit file as :func:`cnnbench.predict.saved.save` writes it."""
    doc: dict[str, Any] = {
        "format": FORMAT,
        "fingerprint": {
            "target": "latency",
            "machine_id": machine_id,
            "engine": engine,
            "threads": 1,
            "software": {engine: "1.0"},
            "networks": ["resnet18", "mobilenet_v2"],
            "data_digest": "cb4beea169c1f36c",
            "study": None,
            "statistic": "median",
            "created": "2026-11-22T05:56:02.831+00:00",
        },
        "networks": 41,
        "probes": 12,
        "with_counters": 0,
        "unavailable": {"synergy": "needs 3 training networks with counters, has 0"},
        "held_out_network": {
            "per-layer": {
                "n": 41,
                "mape": 16.700214445329557,
                "mape_sd": 14.766627399730824,
                "median_ape": 13.446718873430102,
                "rmspe": 22.172777780047998,
                "within_5": 0.1951219512195122,
                "within_10": 0.3902439024390244,
            },
            "macs-only": {
                "n": 41,
                "mape": 23.561317697033466,
                "mape_sd": 22.01746680264176,
                "median_ape": 15.298260231858151,
                "rmspe": 32.06370074827019,
                "within_5": 0.1951219512195122,
                "within_10": 0.34146341463414637,
            },
            "synergy": None,
            "synergy-stage1": None,
        },
        "held_out_outcomes": {
            "per-layer": _outcomes(1.08),
            "macs-only": _outcomes(0.7),
            "synergy": [],
            "synergy-stage1": [],
        },
        "kinds": {"conv": {"method": "linear", "rows": 120}},
        "excluded": [],
    }
    doc.update(summary)
    return doc


def energy_doc(engine: str) -> dict[str, Any]:
    """An energy fit's file: the target, its unit and basis, figures in mJ."""
    doc = fit_doc(engine, unit="mJ", basis="dynamic", basis_note="idle power subtracted")
    doc["fingerprint"] |= {"target": "energy", "statistic": "dynamic"}
    doc["held_out_outcomes"] = {
        "per-layer": _outcomes(1.08, "mj"),
        "macs-only": _outcomes(0.7, "mj"),
    }
    doc["without_per_kernel"] = ["resnet18"]
    return doc


def write_fit(
    doc: dict[str, Any] | str, engine: str, machine_id: str = MID, target: str = "latency"
) -> Path:
    path = model_path(target, engine, machine_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc, indent=1))
    return path


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CNNBENCH_CACHE", str(tmp_path / "cache"))


def _records() -> list[ResultRecord]:
    return [
        latency_record("resnet", "torch", 5.0, seed=1),
        latency_record("resnet", "onnxruntime", 4.0, seed=2),
    ]


def _section(records: list[ResultRecord], png: bool = False) -> Section | None:
    return next((s for s in build_report(records, png=png).sections if s.id == "prediction"), None)


def test_the_section_shows_the_fits_own_numbers(tmp_path: Path) -> None:
    torch_fit = write_fit(fit_doc("torch"), "torch")
    ort = fit_doc("onnxruntime")
    ort["fingerprint"]["threads"] = None
    write_fit(ort, "onnxruntime")
    write_fit(fit_doc("openvino"), "openvino")  # no openvino record: not shown
    write_fit(fit_doc("torch", "m-other"), "torch", "m-other")  # another machine: not shown
    report = build_report(_records(), png=True)
    ids = [s.id for s in report.sections]
    assert ids[-3:] == ["prediction", "warnings", "machines"]
    section = next(s for s in report.sections if s.id == "prediction")
    assert [t.id for t in section.tables] == [
        f"prediction-torch-{MID}",
        f"prediction-onnxruntime-{MID}",
    ]
    rows = {r[0]: r for r in section.tables[0].rows}
    assert rows["per-layer"] == (
        "per-layer",
        "41",
        "16.7 \u00b1 14.8",
        "13.4",
        "22.2",
        "20 %",
        "39 %",
        "41 + 12",
        "1",
        "2026-11-22 05:56",
    )
    assert rows["macs-only"][2:7] == ("23.6 \u00b1 22.0", "15.3", "32.1", "20 %", "34 %")
    # unavailable: a row without numbers, and the reason in the notes; never a zero error
    assert rows["synergy (MACs->counts->t): unavailable"][1:7] == ("0", "-", "-", "-", "-", "-")
    assert rows["synergy stage 1 (counts->t): none held out"][1:3] == ("0", "-")
    assert list(rows)[:2] == ["per-layer", "macs-only"]
    assert str(torch_fit) in (section.tables[0].note or "")
    assert any("needs 3 training networks with counters" in n for n in section.notes)
    assert section.tables[1].rows[0][8] == "default"  # threads None: the engine's default

    (figure,) = section.figures
    assert figure.id == "prediction" and figure.source == "estimated"
    caption = " ".join(figure.caption.split())  # wrapped to the panels' width
    for words in ("leave-one-network-out", MID, "2026-11-22 05:56", "not measured in this report"):
        assert words in caption
    assert "per-layer" in figure.svg and "macs-only" in figure.svg  # legend text, per panel
    assert figure.svg.count(">torch<") == 1 and figure.svg.count(">onnxruntime<") == 1
    assert figure.png is not None and figure.png[:4] == b"\x89PNG"

    html = render_html(report)
    assert 'data-section="prediction"' in html and "16.7 \u00b1 14.8" in html
    written = write_report(report, None, tmp_path / "figs")
    assert tmp_path / "figs" / "prediction.svg" in written


def test_no_fit_no_section() -> None:
    assert _section(_records()) is None
    write_fit(fit_doc("openvino"), "openvino")  # an engine the records do not have
    write_fit(fit_doc("torch", "m-other"), "torch", "m-other")  # another machine
    assert _section(_records()) is None


def test_a_broken_or_foreign_fit_is_a_note_not_a_crash() -> None:
    write_fit('{"format": 2, "fingerprint": {"engine": "torch"', "torch")  # cut short
    write_fit(fit_doc("onnxruntime", format=1), "onnxruntime")  # an older format
    section = _section(_records())
    assert section is not None and not section.tables and not section.figures
    assert len(section.notes) == 2
    assert "torch: fitted model" in section.notes[0] and "cannot be read" in section.notes[0]
    assert "has format 1, expected" in section.notes[1]

    # readable JSON with a summary of the wrong shape; a file naming another engine
    write_fit(fit_doc("torch", held_out_network={"per-layer": {"n": "many"}}), "torch")
    write_fit(fit_doc("openvino"), "onnxruntime")
    section = _section(_records())
    assert section is not None and not section.tables
    assert len(section.notes) == 2
    assert any(n.startswith("torch:") and "cannot be read" in n for n in section.notes)
    assert any("fitted for engine openvino, not onnxruntime" in n for n in section.notes)


def test_a_fit_without_held_out_outcomes_has_its_table_and_no_figure() -> None:
    doc = fit_doc("torch")
    del doc["held_out_outcomes"]  # saved before the outcomes were kept
    write_fit(doc, "torch")
    section = _section(_records())
    assert section is not None and not section.figures
    assert section.tables[0].rows[0][:2] == ("per-layer", "41")
    assert any("no held-out outcomes" in n for n in section.notes)


def test_the_cli_figure_shares_the_panel(tmp_path: Path) -> None:
    from cnnbench.predict.evaluate import Evaluation, Outcome
    from cnnbench.report.predict_plot import save_scatter

    outcomes = (Outcome("a", "f", 1.0, 1.05), Outcome("b", "g", 10.0, 8.0))
    by_network = Evaluation("network", {"per-layer": outcomes, "synergy-stage1": ()}, {}, {})
    by_family = Evaluation("family", {"macs-only": outcomes[:1]}, {}, {})
    svg = save_scatter([by_network, by_family], tmp_path / "cv.svg", "onnxruntime")
    text = svg.read_text()
    assert "held out by network" in text and "held out by family" in text
    assert "per-layer" in text and "macs-only" in text and "synergy" not in text


def test_an_energy_fit_has_its_own_table_and_figure_in_millijoules() -> None:
    write_fit(fit_doc("torch"), "torch")
    energy = write_fit(energy_doc("torch"), "torch", target="energy")
    write_fit(fit_doc("onnxruntime"), "onnxruntime", target="energy")  # a latency fit, misplaced
    section = _section(_records(), png=False)
    assert section is not None
    assert [t.id for t in section.tables] == [
        f"prediction-torch-{MID}",
        f"prediction-energy-torch-{MID}",
    ]
    table = section.tables[1]
    assert table.title.startswith("Energy predictors (dynamic energy per inference, mJ) on torch")
    assert str(energy) in (table.note or "") and "basis dynamic" in (table.note or "")
    assert {r[0]: r for r in table.rows}["per-layer"][2] == "16.7 \u00b1 14.8"
    latency, joules = section.figures
    assert latency.id == "prediction" and "measured ms" in latency.svg
    assert joules.id == "prediction-energy" and joules.title.endswith("energy (mJ)")
    assert "measured mJ" in joules.svg and "measured ms" not in joules.svg
    assert any("no per-layer energy" in n and "resnet18" in n for n in section.notes)
    assert any(
        n.startswith("onnxruntime:") and "it predicts latency, not energy" in n
        for n in section.notes
    )


def test_a_fit_on_repeated_profiles_shows_the_targets_own_spread() -> None:
    spread = {"n": 123, "mape": 14.5, "mape_sd": 12.8, "median_ape": 11.7, "rmspe": 19.3,
              "within_5": 0.23, "within_10": 0.44}  # fmt: skip
    write_fit(fit_doc("torch", profiles=195, repeat_spread=spread), "torch")
    section = _section(_records())
    assert section is not None
    rows = {r[0]: r for r in section.tables[0].rows}
    assert rows["repeats vs each other"][1:7] == (
        "123",
        "14.5 \u00b1 12.8",
        "11.7",
        "19.3",
        "23 %",
        "44 %",
    )
    assert list(rows)[-1] == "repeats vs each other"  # after the predictors
    assert any("195 profiles joined by medians" in n for n in section.notes)
    write_fit(fit_doc("torch"), "torch")  # one profile per network: no such row
    section = _section(_records())
    assert section is not None and "repeats vs each other" not in {
        r[0] for r in section.tables[0].rows
    }
