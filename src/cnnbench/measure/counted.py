"""A worker entry that runs a fixed number of inferences (no timing, no probes).

Used under a launcher whose counts cover the whole worker (cachegrind): two runs with different
call counts, differenced, isolate the inferences from the model build and engine compilation.
One untimed call comes first in both runs, so lazy initialisation on the first call cancels.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnbench.spec import RunSpec
from cnnbench.system import malloc

INPUT_SEED = 0


def prepared_session(spec: RunSpec) -> tuple[Any, Any]:
    """The spec's engine session and its inputs, built as the measurement builds them."""
    import torch

    from cnnbench.engines import get_engine
    from cnnbench.graph.export import SEED
    from cnnbench.models import create_model, get_model_info
    from cnnbench.models.instance import ModelInstance

    malloc.apply(malloc.setting_of(spec.target.options))  # as the measurement sets it
    engine = get_engine(spec.target.engine)()
    info = get_model_info(spec.model.name, spec.input_shape)
    array = np.random.default_rng(INPUT_SEED).standard_normal(
        spec.full_input_shape, dtype=np.float32
    )
    module = None
    extras: dict[str, Any] = {}
    if info.onnx_path is not None:
        extras["onnx_path"] = str(info.onnx_path)
    else:
        torch.manual_seed(SEED)
        module = create_model(spec.model.name)
    instance = ModelInstance(spec.model.name, module, spec.full_input_shape, extras)
    session = engine.prepare(instance, spec.target)
    return session, session.make_inputs(array)


def run_calls(payload: dict[str, Any]) -> dict[str, Any]:
    """``{"spec": ..., "calls": n}``: one untimed call, then n calls; returns the counts."""
    spec = RunSpec.from_dict(payload["spec"])
    calls = int(payload["calls"])
    session, inputs = prepared_session(spec)
    with session.context():
        session.run(inputs)
        for _ in range(calls):
            session.run(inputs)
    return {"calls": calls, "first_calls": 1}
