"""Worker entries for the OpenVINO engine tests (run in a child with an ISA cap set)."""

from __future__ import annotations

import os
from typing import Any


def prepare_tinynet(payload: dict[str, Any]) -> dict[str, Any]:
    """Prepare tinynet on OpenVINO with ``payload["isa"]``, run it once, return effective()
    and every node of the runtime model (name, type, kernel)."""
    import numpy as np
    import torch

    from cnnbench.engines import ModelInstance, get_engine
    from cnnbench.engines.openvino.inspect import analyse_runtime_model
    from cnnbench.models import create_model
    from cnnbench.spec import Target

    torch.manual_seed(0)
    module = create_model("tinynet")
    instance = ModelInstance("tinynet", module, (1, 3, 32, 32))
    target = Target("openvino", threads=1, isa=payload.get("isa"))
    session = get_engine("openvino")().prepare(instance, target)
    array = np.random.default_rng(0).standard_normal((1, 3, 32, 32), dtype=np.float32)
    out = session.to_numpy(session.run(session.make_inputs(array)))
    runtime = analyse_runtime_model(session.compiled.get_runtime_model())
    return {
        "effective": session.effective(),
        "nodes": [n.to_dict() for n in runtime["nodes"]],
        "env": {k: os.environ.get(k) for k in ("ONEDNN_MAX_CPU_ISA", "OV_CPU_MAX_ISA")},
        "output_shape": list(out.shape),
    }
