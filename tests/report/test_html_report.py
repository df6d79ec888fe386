"""The HTML report: built from a store filled by real runs (one of them a model file whose path
holds ``<script>`` and ``&``), parsed back with html.parser, every section, figure and table
present, everything escaped, nothing fetched; layers, studies and a missing matplotlib."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterator
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")
pytest.importorskip("pandas")

from report_records import LAYERS, latency_record, throughput_record

from cnnbench.cli.main import main
from cnnbench.errors import BadInput
from cnnbench.report.build import build_report, report_from_store, write_report
from cnnbench.report.doc import STUDY_REPORTS, Section, register_study_report
from cnnbench.report.html import render_html
from cnnbench.results.profile import Profile

EVIL_DIR = "<script>&"  # with the file name below, the path reads <script>&/alert(1)</script>
EVIL_FILE = "alert(1)</script>.onnx"


class Page(HTMLParser):
    """What a browser would see: elements with their ids, text, and every attribute."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sections: list[str] = []
        self.figures: dict[str, dict[str, str | None]] = {}
        self.tables: list[str] = []
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []
        self.captions: dict[str, str] = {}
        self._figure: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append(tag)
        self.attrs += attrs
        if tag == "section":
            self.sections.append(str(a.get("data-section")))
        elif tag == "figure":
            self._figure = str(a.get("data-figure"))
            self.figures[self._figure] = a
            self.captions[self._figure] = ""
        elif tag == "table":
            self.tables.append(str(a.get("data-table")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "figure":
            self._figure = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._figure is not None:
            self.captions[self._figure] += data


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page


def _export_onnx(path: Path) -> None:
    import torch
    from torch import nn

    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(64, 5))
    path.parent.mkdir(parents=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model.eval(),
            (torch.zeros(1, 3, 4, 4),),
            str(path),
            input_names=["x"],
            output_names=["y"],
            dynamo=False,
        )


@pytest.fixture(scope="module")
def real_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """tinynet and the evil-named ONNX file on torch and onnxruntime, one round each: torch
    cannot run an ONNX file, so that configuration is recorded as unsupported."""
    folder = tmp_path_factory.mktemp("real")
    model = folder / EVIL_DIR / EVIL_FILE
    _export_onnx(model)
    db = folder / "store.db"
    code = main(
        [
            "run",
            "tinynet",
            str(model),
            "-e",
            "torch",
            "-e",
            "onnxruntime",
            "--rounds",
            "1",
            "--budget",
            "0.2",
            "--min-samples",
            "5",
            "--threads",
            "1",
            "--db",
            str(db),
        ]
    )
    assert code == 1  # the unsupported configuration is recorded; the sweep went on
    yield db, str(model)


def test_report_of_a_real_store(
    real_store: tuple[Path, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db, model = real_store
    # no saved predictor of this machine (another test may have fitted one): no Prediction
    monkeypatch.setenv("CNNBENCH_CACHE", str(tmp_path / "cache"))
    assert "<script>" in model and "&" in model
    html_path, figures = tmp_path / "r.html", tmp_path / "figs"
    assert (
        main(["report", "--db", str(db), "--html", str(html_path), "--figures", str(figures)]) == 0
    )
    assert f"report: {html_path}" in capsys.readouterr().out
    html = html_path.read_text()
    page = parse(html)

    report = report_from_store(db)
    want_sections = [s.id for s in report.sections]
    assert want_sections == ["overview", "latency", "engines-compared", "warnings", "machines"]
    assert page.sections == want_sections
    assert sorted(page.figures) == sorted(f.id for s in report.sections for f in s.figures)
    assert sorted(page.figures) == ["engines-compared", "latency-bars"]
    assert page.tables == [t.id for s in report.sections for t in s.tables]
    for fid, attrs in page.figures.items():  # every figure says its source and its error bars
        assert attrs["data-source"] == "measured"
        assert "CI95" in page.captions[fid] and "source: measured" in page.captions[fid]
        assert (figures / f"{fid}.png").read_bytes()[:4] == b"\x89PNG"
        assert (figures / f"{fid}.svg").read_text().lstrip().startswith("<?xml")

    # Escaped everywhere: no element came from the name, yet the name reads as written.
    assert "script" not in page.tags
    assert model in "".join(page.text)  # table cells (the unsupported run's row too)
    assert "alert(1)&lt;/script&gt;" in html and "&lt;script&gt;&amp;" in html
    # Nothing to fetch: no script, links only to the page itself, a CSP that forbids the rest.
    assert not [v for k, v in page.attrs if k in ("src", "href") and not (v or "").startswith("#")]
    assert "default-src 'none'" in html
    text = "".join(page.text)
    assert "unsupported" in text and "failed: unsupported" in text  # in the warnings section


def test_layer_types_throughput_and_failed_points_from_constructed_records(tmp_path: Path) -> None:
    records = [
        latency_record("resnet", "torch", 5.0, seed=1, layers=LAYERS),
        latency_record("resnet", "openvino", 4.0, seed=2, layers=LAYERS[:4]),
        throughput_record("resnet", "torch", 1.0, seed=3),
        throughput_record("resnet", "openvino", 0.5, seed=4),
    ]
    report = build_report(records, png=True)
    ids = [s.id for s in report.sections]
    assert ids == [
        "overview",
        "latency",
        "throughput",
        "layers",
        "engines-compared",
        "warnings",
        "machines",
    ]
    layers = next(s for s in report.sections if s.id == "layers")
    (table,) = layers.tables
    rows = {(r[1], r[2]): r for r in table.rows}
    # torch: 5 ms of layers; batchnorm 1 ms is 20 % of the time and 0 % of the MACs
    assert rows[("torch t1", "batchnorm")][3:] == ("1.000", "20.0", "0.0")
    assert rows[("torch t1", "conv")][5] == "90.0"
    assert ("torch t1", "overhead") in rows and ("openvino t1", "overhead") not in rows
    assert ("torch t1", "fused(conv+activation)") in rows
    assert rows[("torch t1", "overhead")][5] == "-"  # overhead has no FLOPs
    warnings_section = next(s for s in report.sections if s.id == "warnings")
    failed = [r for r in warnings_section.tables[0].rows if r[4] == "failed point"]
    assert len(failed) == 2 and all("batch 8: oom" in r[5] for r in failed)
    html = render_html(report)
    page = parse(html)
    assert sorted(page.figures) == sorted(
        [
            "latency-bars",
            "throughput-bars",
            "throughput-vs-batch",
            "layer-types",
            "engines-compared",
        ]
    )
    assert set(page.tables) >= {"layer-types-table", "throughput-table", "warnings-table"}
    written = write_report(report, tmp_path / "x.html", tmp_path / "figs")
    assert len(written) == 1 + 2 * 5


def test_profile_records_take_their_overhead_from_the_unprofiled_time() -> None:
    layers = LAYERS[:4]  # 3.75 ms of layers
    rec = replace(
        latency_record("m", "torch", 5.0, seed=1, layers=layers),
        profile=Profile("torch.profiler", calls=5, end_to_end_ms=5.0, layers_ms=3.75),
    )
    short = replace(
        latency_record("m", "openvino", 3.0, seed=2, layers=layers),
        profile=Profile("openvino PERF_COUNT", calls=5, end_to_end_ms=3.0, layers_ms=3.75),
    )
    section = next(s for s in build_report([rec, short]).sections if s.id == "layers")
    rows = {(r[1], r[2]): r for r in section.tables[0].rows}
    assert rows[("torch t1", "overhead")][3:5] == ("1.250", "25.0")  # 5.0 - 3.75 ms of 5.0
    assert ("openvino t1", "overhead") not in rows  # negative: not drawn, and said so
    assert any("negative" in n and "openvino t1" in n for n in section.notes)


def test_study_sections_plug_in_by_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seen: list[int] = []

    def build(records: object, ctx: object) -> list[Section]:
        seen.append(len(records))  # type: ignore[arg-type]
        return [Section("paper-fig-1", "Paper figure 1", "from the study")]

    register_study_report(
        "toy-study",
        title="A toy <study>",
        select=lambda rs: [r for r in rs if r.spec.model.name == "a"],
    )(build)
    try:
        records = [latency_record("a", "torch", 1.0), latency_record("b", "torch", 1.0)]
        report = build_report(records, study="toy-study")
        assert [s.id for s in report.sections] == ["paper-fig-1", "warnings", "machines"]
        assert seen == [1] and report.title == "cnnbench report: A toy <study>"
        assert "A toy &lt;study&gt;" in render_html(report)
        with pytest.raises(BadInput, match="did you mean toy-study"):
            build_report(records, study="toy-studdy")
        assert main(["report", "--study", "toy-studdy"]) == 2
        err = capsys.readouterr().err
        assert "did you mean toy-study" in err and err.count("\n") == 1
    finally:
        STUDY_REPORTS.pop("toy-study", None)


def test_report_needs_matplotlib_and_a_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "--db", str(tmp_path / "none.db")]) == 2
    assert "no store" in capsys.readouterr().err
    assert not (tmp_path / "report.html").exists()
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails
    assert main(["report"]) == 2
    assert "pip install 'cnnbench[report]'" in capsys.readouterr().err
