"""Terminal tables: user-supplied names and messages are shown as written, never as markup."""

from __future__ import annotations

import io
from dataclasses import replace

from rich.console import Console

from cnnbench.report.tables import key_value_table, runs_list_table, runs_table
from cnnbench.spec import ModelRef
from records import make_record


def _render(table: object) -> str:
    buffer = io.StringIO()
    Console(file=buffer, width=400, color_system=None).print(table)
    return buffer.getvalue()


def test_markup_in_names_errors_and_warnings_is_printed_literally() -> None:
    ok = make_record()
    ok = replace(ok, spec=replace(ok.spec, model=ModelRef("[/m]<script>&")), warnings=("[/oops]",))
    failed = replace(make_record(status="failed"), error="[bold]boom[/bold] [/x]")
    text = _render(runs_table([ok, failed], title="run -> [/db].db"))
    assert "[/m]<script>&" in text and "[/oops]" in text
    assert "[bold]boom[/bold] [/x]" in text and "run -> [/db].db" in text
    assert "[/m]<script>&" in _render(runs_list_table([ok]))
    assert "[/k]" in _render(key_value_table([("[/k]", "[/v]")], title="[t]"))
