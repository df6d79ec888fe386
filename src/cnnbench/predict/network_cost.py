"""The cost model of the graph a record's engine ran: what a sample's features come from.

The ONNX engines fold BatchNorm into the convolution before them; torch eager does not, so its
cost model keeps BatchNorm nodes (and their time is a kernel of its own, not a fused tail).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

from cnnbench.errors import CnnbenchError
from cnnbench.graph.cost import NetworkCost
from cnnbench.results.record import ResultRecord


@contextlib.contextmanager
def _silenced_stdout() -> Iterator[None]:
    """File descriptor 1 (C and Python) sent to the null device for the block: a failing
    exporter dumps its whole graph there (``--json -`` stays pure; the fallback is the news)."""
    sys.stdout.flush()
    saved = os.dup(1)
    with open(os.devnull, "wb") as null:
        os.dup2(null.fileno(), 1)
        try:
            yield
        finally:
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)


def engine_folds_bn(rec: ResultRecord) -> bool:
    """Whether the record's engine ran its network with BatchNorm folded (its ``fold_bn``
    option, else the engine's default: the ONNX engines fold, torch eager does not)."""
    from cnnbench.engines import get_engine

    return get_engine(rec.spec.target.engine, require_installed=False).folds_batchnorm(
        rec.spec.target
    )


def default_cost(rec: ResultRecord) -> NetworkCost:
    """The cost model of the graph the record's engine ran (BatchNorm folded or not, as the
    engine ran it: see :func:`engine_folds_bn`)."""
    from cnnbench.graph.cost import model_cost
    from cnnbench.models import is_builtin_ref

    name = rec.spec.model.name
    if not is_builtin_ref(name):  # a user's model is built in a worker, never here
        from cnnbench.execute.costing import detail_cost

        return detail_cost(name, rec.spec.input_shape, fold_bn=engine_folds_bn(rec))
    shape, batch = rec.spec.input_shape, rec.spec.batch
    if engine_folds_bn(rec):
        return model_cost(name, shape, batch, fold_bn=True)
    try:
        with _silenced_stdout():  # a failing exporter dumps its graph on file descriptor 1
            return model_cost(name, shape, batch, fold_bn=False)
    except CnnbenchError:  # no export keeps BatchNorm (a dynamic shape): its layers stay loose
        return model_cost(name, shape, batch, fold_bn=True)
