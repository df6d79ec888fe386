"""The cost of an ONNX file is computed once and read back by later workers of a sweep."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from cnnbench.measure import job
from cnnbench.models.instance import ModelInstance


def _instance(path: Path) -> ModelInstance:
    return ModelInstance("user", None, (1, 3, 32, 32), {"onnx_path": str(path)})


def test_a_files_cost_is_cached_and_a_damaged_or_changed_file_recomputed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cnnbench.graph.export import onnx_path

    path = tmp_path / "user.onnx"
    shutil.copy(onnx_path("tinynet", (1, 3, 32, 32)), path)
    first = job.worker_cost(_instance(path))
    assert first.available and first.macs == 272_544
    cache = job._cost_cache_path(path)
    assert cache.is_file()

    def no_cost_model(instance: object) -> None:
        raise AssertionError("the cost model ran again")

    real = job.graph_cost
    monkeypatch.setattr(job, "graph_cost", no_cost_model)
    assert job.worker_cost(_instance(path)) == first  # read back, not recomputed

    cache.write_text("{not json")
    monkeypatch.setattr(job, "graph_cost", real)
    assert job.worker_cost(_instance(path)) == first  # a damaged cache file is recomputed
    assert cache.read_text().startswith("{") and "272544" in cache.read_text()

    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert job._cost_cache_path(path) != cache  # the file changed: another key
