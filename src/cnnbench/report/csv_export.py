"""``results export --format csv``: one flat row per record (the columns of ``load_results``).

The standard library writes it (no pandas needed). Absent figures are empty cells, never 0;
raw samples are not in the CSV (export JSON lines, or ``load_results(samples=True)``).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import TextIO

from cnnbench.report.frame import COLUMNS, record_row
from cnnbench.results.record import ResultRecord


def write_csv(records: Iterable[ResultRecord], out: TextIO) -> int:
    writer = csv.DictWriter(out, fieldnames=list(COLUMNS), lineterminator="\n")
    writer.writeheader()
    n = 0
    for rec in records:
        writer.writerow({k: "" if v is None else v for k, v in record_row(rec).items()})
        n += 1
    return n
