"""Every zoo network runs through the worker's measurement code on the torch engine.

Smoke runs at small inputs (the full-size counts are checked per family elsewhere); one full-size
network goes through the real command line. The cost model's MACs are compared with PyTorch's
own counter for every network in an opt-in test (``CNNBENCH_SLOW=1``): exporting the whole zoo
writes about 3 GB and takes minutes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from cnnbench.cli.main import main
from cnnbench.measure.job import run_measurement
from cnnbench.models import list_models
from cnnbench.spec import Budget, ModelRef, RunSpec, Target
from torch_count import torch_count

ZOO = [i for i in list_models() if i.family != "pattern"]
SMALL = {"tinynet": (3, 32, 32), "resnet101_cifar": (3, 32, 32), "inception_v3": (3, 96, 96)}
QUICK = Budget(seconds=0.05, min_samples=3, warmup_max_s=0.05)


@pytest.fixture(autouse=True)
def _restore_threads() -> Iterator[None]:
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("info", ZOO, ids=lambda i: i.name)
def test_every_zoo_network_runs_on_torch(info) -> None:  # type: ignore[no-untyped-def]
    shape = SMALL.get(info.name, (3, 64, 64))
    spec = RunSpec(ModelRef(info.name), shape, 1, Target("torch", threads=1), budget=QUICK)
    result = run_measurement({"spec": spec.to_dict(), "cost": False})
    assert result["status"] == "ok"
    # The loop never stops below the budget's minimum count (a count, not a speed).
    assert len(result["samples_ns"]) >= QUICK.min_samples and min(result["samples_ns"]) > 0
    assert result["effective"]["precision"] == "fp32"
    assert result["agreement"]["max_rel_err"] < 1e-4  # the engine ran the very module


def test_a_full_size_network_through_the_command_line() -> None:
    args = ["run", "resnet18", "-e", "torch", "--budget", "0.5", "--json", "r.json"]
    assert main(args) == 0
    rec = json.loads(Path("r.json").read_text())[0]
    assert rec["spec"]["input_shape"] == [3, 224, 224]
    assert rec["cost"]["macs"] == 1_814_073_344
    resnet18 = next(i for i in ZOO if i.name == "resnet18")
    assert rec["cost"]["macs"] == torch_count(resnet18).macs  # an independent count


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("CNNBENCH_SLOW"), reason="set CNNBENCH_SLOW=1 (minutes)")
@pytest.mark.parametrize("info", ZOO, ids=lambda i: i.name)
def test_cost_model_macs_equal_torch_counter_for_every_network(info) -> None:  # type: ignore[no-untyped-def]
    from cnnbench.graph import model_cost

    cost = model_cost(info.name, info.input_shape, 1)
    torch_macs = torch_count(info).macs
    assert abs(cost.macs - torch_macs) <= 0.01 * torch_macs
    assert cost.uncounted == ()
