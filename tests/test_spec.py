"""Specs: validation, the stable content hash, round trips."""

from __future__ import annotations

import hashlib
import json

import pytest

from cnnbench.errors import BadInput
from cnnbench.spec import Budget, ModelRef, RunSpec, Target


def _spec(**target: object) -> RunSpec:
    return RunSpec(ModelRef("resnet18"), (3, 224, 224), 1, Target("torch", **target))  # type: ignore[arg-type]


def test_hash_is_stable_and_known() -> None:
    # Frozen values: changing the canonical form would orphan every stored run.
    assert _spec().spec_hash() == "9239a779fa12c9b5f03b"
    configured = _spec(threads=2, cores=(1, 0), isa="avx2", options=(("compile", "1"),))
    assert configured.spec_hash() == "e028027e01bfe1e2ed47"
    probed = RunSpec(ModelRef("resnet18"), (3, 224, 224), 1, Target("torch"), probes=("null",))
    assert probed.spec_hash() == "c3471d7f6c392d9b4590"  # probes join the identity when named
    identity = {
        "model": "resnet18",
        "input_shape": [3, 224, 224],
        "batch": 1,
        "engine": "torch",
        "device": "cpu",
        "precision": "fp32",
        "threads": None,
        "streams": 1,
        "cores": None,
        "isa": None,
        "mode": "latency",
        "options": {},
    }
    canonical = json.dumps(identity, sort_keys=True, separators=(",", ":")).encode()
    assert _spec().spec_hash() == hashlib.sha256(canonical).hexdigest()[:20]


def test_hash_ignores_budget_but_not_identity() -> None:
    a = _spec()
    b = RunSpec(a.model, a.input_shape, a.batch, a.target, budget=Budget(seconds=9))
    assert a.spec_hash() == b.spec_hash()
    assert _spec(threads=2).spec_hash() != a.spec_hash()
    assert _spec(isa="avx2").spec_hash() != a.spec_hash()
    assert a.with_batch(2).spec_hash() != a.spec_hash()


def test_option_and_core_order_do_not_change_the_hash() -> None:
    a = _spec(options=(("b", "1"), ("a", "2")), cores=(1, 0))
    b = _spec(options=(("a", "2"), ("b", "1")), cores=(0, 1))
    assert a == b and a.spec_hash() == b.spec_hash()


def test_round_trip() -> None:
    a = RunSpec(
        ModelRef("tinynet"),
        (3, 32, 32),
        4,
        Target("torch", threads=2, cores=(0,), isa="avx2", options=(("channels_last", "1"),)),
        "throughput",
        Budget(seconds=2, min_samples=5),
    )
    assert RunSpec.from_dict(a.to_dict()) == a


@pytest.mark.parametrize(
    "make",
    [
        lambda: Target("torch", threads=0),
        lambda: Target("torch", threads=True),
        lambda: Target("torch", streams=-1),
        lambda: Target("torch", precision="fp8"),
        lambda: Target("torch", cores=()),
        lambda: Target("torch", cores=(-1,)),
        lambda: RunSpec(ModelRef("m"), (3, 8, 8), 0, Target("torch")),
        lambda: RunSpec(ModelRef("m"), (3, 0, 8), 1, Target("torch")),
        lambda: RunSpec(ModelRef("m"), (3, 8, 8), 1, Target("torch"), mode="fast"),
        lambda: ModelRef(""),
        lambda: Budget(seconds=0),
        lambda: Budget(min_samples=10, max_samples=5),
    ],
)
def test_bad_values_are_bad_input(make) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(BadInput):
        make()


def test_from_dict_rejects_garbage() -> None:
    with pytest.raises(BadInput):
        RunSpec.from_dict({"model": "x"})


def test_a_strict_isa_cap_joins_the_identity_and_needs_a_cap() -> None:
    strict = _spec(isa="avx2", isa_strict=True)
    assert strict.identity()["isa_strict"] is True
    assert "isa_strict" not in _spec(isa="avx2").identity()  # old hashes hold
    assert strict.spec_hash() != _spec(isa="avx2").spec_hash()
    assert RunSpec.from_dict(strict.to_dict()) == strict
    with pytest.raises(BadInput, match="needs an ISA cap"):
        _spec(isa_strict=True)
