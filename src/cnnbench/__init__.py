"""cnnbench: measure, explain and predict CNN inference across engines and processors."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from cnnbench.errors import BadInput, CnnbenchError, Unsupported
from cnnbench.spec import Budget, ModelRef, RunSpec, Target

if TYPE_CHECKING:
    import pandas as pd

__version__ = "0.1.0"

__all__ = [
    "BadInput",
    "Budget",
    "CnnbenchError",
    "ModelRef",
    "RunSpec",
    "Target",
    "Unsupported",
    "__version__",
    "load_results",
]


def load_results(
    db: str | Path | None = None, *, samples: bool = False, **filters: str
) -> pd.DataFrame:
    """The store's records as a pandas DataFrame: one row per record, flat columns with units
    in their names; ``samples=True`` adds the raw samples. Needs pandas (the ``report``
    extra). See :func:`cnnbench.report.frame.load_results`."""
    from cnnbench.report.frame import load_results as _load

    return _load(db, samples=samples, **filters)
