"""Fixtures of the graph tests: a private ONNX cache and a one-call export-and-cost helper."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytest.importorskip("onnx")
torch = pytest.importorskip("torch")

from cnnbench.graph import NetworkCost, export_module, network_cost  # noqa: E402

CostOf = Callable[..., NetworkCost]


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty CNNBENCH_CACHE for one test."""
    root = tmp_path / "cache"
    monkeypatch.setenv("CNNBENCH_CACHE", str(root))
    return root


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One CNNBENCH_CACHE for the whole session, so each full-size model is exported once."""
    root = tmp_path_factory.mktemp("cnnbench-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CNNBENCH_CACHE", str(root))
        yield root


@pytest.fixture
def cost_of(tmp_path: Path) -> CostOf:
    """Export a module at one input shape through the exporter and cost the file."""
    counter = iter(range(10_000))

    def run(module: torch.nn.Module, shape: tuple[int, ...]) -> NetworkCost:
        torch.manual_seed(0)
        path = export_module(module, shape, tmp_path / f"m{next(counter)}.onnx", 17)
        return network_cost(path)

    return run
