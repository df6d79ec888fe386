"""A session's profile: the wrapper's wall clock (injected), overhead, distortion, BatchNorm."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

from cnnbench.engines.base import Around, EngineLayer, Session, call_with
from cnnbench.graph.cost import model_cost
from cnnbench.measure.profile_job import batchnorm_note, profile_session
from cnnbench.results.profile import Profile


class _Clock:
    """A clock that advances 2 ms per profiled call (start and end read once each)."""

    def __init__(self) -> None:
        self.ticks: Iterator[int] = iter(range(0, 10**12, 1_000_000))

    def __call__(self) -> int:
        return next(self.ticks)


class _Fake(Session):
    def __init__(self, layers: list[EngineLayer], use_around: bool = True) -> None:
        self.layers = layers
        self.use_around = use_around
        self.ran = 0

    def make_inputs(self, array: np.ndarray) -> Any:
        return array

    def run(self, inputs: Any) -> Any:
        self.ran += 1
        return inputs

    def to_numpy(self, outputs: Any) -> np.ndarray:
        return np.asarray(outputs)

    def effective(self) -> dict[str, Any]:
        return {}

    def profile(
        self, inputs: Any, calls: int, around: Around | None = None
    ) -> list[list[EngineLayer]]:
        self.run(inputs)  # an unreported warm-up: never through the wrapper
        out = []
        for _ in range(calls):
            call: Callable[[], object] = lambda: self.run(inputs)  # noqa: E731
            call_with(around if self.use_around else None, call)
            out.append(list(self.layers))
        return out


def test_profiled_calls_are_timed_by_the_wrapper_and_compared_with_unprofiled() -> None:
    cost = model_cost("tinynet", (3, 32, 32), 1)
    conv = next(x for x in cost.layers if x.layer_type.startswith("conv"))
    session = _Fake(
        [EngineLayer("c", "Convolution", 600.0, (conv.name,)), EngineLayer("r", "Reorder", 200.0)]
    )
    layers, profile = profile_session(
        session,
        None,
        calls=4,
        engine="openvino",
        cost=cost,
        end_to_end_ms=1.6,
        folded_bn=True,
        clock=_Clock(),
    )
    assert session.ran == 5  # the warm-up and four profiled calls
    assert profile.calls == 4 and profile.profiled_end_to_end_ms == pytest.approx(1.0)
    assert profile.layers_ms == pytest.approx(0.8)
    assert profile.overhead_ms == pytest.approx(0.8) and profile.overhead_share == pytest.approx(
        0.5
    )
    assert profile.distortion == pytest.approx(1.0 / 1.6 - 1)
    assert profile.notes == ()
    assert layers[0].flops == conv.flops and layers[1].flops is None
    assert Profile.from_json(profile.to_json()) == profile


def test_negative_overhead_and_a_profiler_without_the_wrapper_are_said() -> None:
    session = _Fake([EngineLayer("c", "Convolution", 3000.0)], use_around=False)
    _, profile = profile_session(
        session, None, calls=2, engine="x", cost=None, end_to_end_ms=1.0, folded_bn=True
    )
    assert profile.overhead_ms == pytest.approx(-2.0)
    assert profile.profiled_end_to_end_ms is None and profile.distortion is None
    text = " ".join(profile.notes)
    assert "negative" in text and "distortion: not measured" in text and "costs" in text


def test_batchnorm_note_counts_the_graph_and_the_executed_layers() -> None:
    from cnnbench.results.sections import LayerRecord

    cost = model_cost("resnet18", (3, 64, 64), 1, fold_bn=False)
    in_graph = sum(1 for x in cost.layers if x.layer_type == "batchnorm")
    assert in_graph == 20  # resnet18: one BatchNorm per conv
    layers = [
        LayerRecord("a", "batchnorm"),
        LayerRecord("b", "fused(conv+batchnorm+activation)"),
        LayerRecord("c", "conv"),
    ]
    kept = batchnorm_note(False, cost, layers)
    assert "20 in the graph" in kept and "1 ran as layers" in kept and "1 inside" in kept
    folded = batchnorm_note(True, model_cost("resnet18", (3, 64, 64), 1), [])
    assert folded.startswith("folded") and "stay in the graph" not in folded


def test_isa_warning_gives_the_time_share_of_nodes_above_the_cap() -> None:
    from cnnbench.measure.records import isa_warning
    from cnnbench.results.effective import Effective, IsaException
    from cnnbench.results.sections import LayerRecord

    effective = Effective(isa_exceptions=(IsaException("reduce1", "Reduce", "jit_avx512"),))
    layers = [
        LayerRecord("conv", "conv", time_ms=3.0),
        LayerRecord("reduce1", "other", time_ms=1.0),
    ]
    text = isa_warning(effective, "avx2", layers)
    assert text is not None and "1 node(s)" in text and "25.0% of the profiled layer time" in text
    plain = isa_warning(effective, "avx2")  # no profile: no share claimed
    assert plain is not None and "profiled" not in plain
    assert isa_warning(Effective(), "avx2", layers) is None
