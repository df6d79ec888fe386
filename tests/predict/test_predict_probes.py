"""One-layer probes in the training set, cold weights, and the profile consistency filter."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import synthetic

from cnnbench.models.layers import LayerConfig
from cnnbench.predict.collect import PROBE_MAX_MACS, _macs, probe_models, training_models
from cnnbench.predict.dataset import Sample, family_of
from cnnbench.predict.evaluate import cross_validate, splits
from cnnbench.predict.features import (
    KernelFeatures,
    NetworkFeatures,
    in_context,
    largest_cache_bytes,
    padded_macs,
    simd_lanes,
)
from cnnbench.predict.predictors import MacsOnly, PerLayer, consistent


def test_probes_are_seeded_distinct_bounded_and_cover_every_kind() -> None:
    probes = probe_models(120)
    assert probes == probe_models(120) and len(set(probes)) == 120
    assert probes != probe_models(120, seed=1)
    configs = [LayerConfig.parse(p) for p in probes]
    assert all(_macs(p) <= PROBE_MAX_MACS for p in probes)
    kinds = {c.kind for c in configs}
    assert kinds == {"conv", "fc", "maxpool", "avgpool"}
    convs = [c for c in configs if c.kind == "conv"]
    assert any(c.groups == c.cin == c.cout for c in convs)  # depthwise
    assert any(1 < c.groups < c.cin for c in convs)  # grouped
    assert any(c.kh != c.kw for c in convs)  # factorized 1xk / kx1
    assert any(c.kh == c.kw == 1 for c in convs)
    assert all(family_of(p) == "layer" for p in probes)
    assert set(probe_models(4)) <= set(training_models("small"))


def _probe(i: int, kind: str, macs: int, nbytes: int) -> Sample:
    k = synthetic.kernel(kind, macs, nbytes)
    t = synthetic.kernel_ms(k)
    f = NetworkFeatures(f"layer/p{i}", macs, 2 * macs, 0, 0, 0, 1, (k,), True)
    return Sample(f"layer/p{i}", "layer", t + 0.03, f, kernel_ms=(t,), run_ids=(f"p{i}",))


def test_probes_train_kernels_but_are_never_held_out_nor_fit_the_network_terms() -> None:
    nets = synthetic.samples(12, seed=3)
    rng = np.random.default_rng(0)
    probes = [
        _probe(i, "conv_dw", int(rng.integers(1e5, 5e7)), int(rng.integers(1e4, 4e6)))
        for i in range(30)
    ]
    for by in ("network", "family"):
        for fold in splits([*nets, *probes], by):  # type: ignore[arg-type]
            held = {[*nets, *probes][i].model for i in fold.test}
            assert not any(m.startswith("layer/") for m in held)
            assert all(len(nets) + i in fold.train for i in range(len(probes)))
    fit = PerLayer().fit([*nets, *probes])
    assert fit.probes == 30 and fit.kinds["conv_dw"].rows > 30
    # the network line is fitted on networks alone: the probes' 0.03 ms of session time is not
    # the synthetic networks' 0.05 ms overhead
    assert fit.network is not None
    alone = PerLayer().fit(nets)
    assert alone.network is not None
    assert fit.network.intercept == pytest.approx(alone.network.intercept, abs=2e-3)
    macs = MacsOnly().fit([*nets, *probes])
    assert macs.line == MacsOnly().fit(nets).line
    ev = cross_validate([*nets, *probes], "network", ("per-layer",))
    assert {o.model for o in ev.outcomes["per-layer"]} == {s.model for s in nets}


def test_a_network_larger_than_the_last_level_cache_reads_its_weights_cold() -> None:
    s = synthetic.samples(1)[0]
    heavy = replace(s.features, weight_bytes=64 << 20)
    light = replace(s.features, weight_bytes=1 << 20)
    assert all(k.cold_weight_bytes == k.weight_bytes for k in in_context(heavy, 32 << 20))
    assert all(k.cold_weight_bytes == 0 for k in in_context(light, 32 << 20))
    assert not any(k.cold_weight_bytes for k in in_context(heavy, 0))  # cache size unknown
    caches = [{"level": 1, "size_bytes": 48 << 10}, {"level": 3, "size_bytes": 32 << 20}]
    machine = {"caches": caches}
    assert largest_cache_bytes(machine) == 32 << 20 and largest_cache_bytes({}) == 0


def test_a_profile_that_disagrees_with_its_own_latency_does_not_train_kernels() -> None:
    nets = synthetic.samples(8, seed=5)
    assert all(consistent(s) for s in nets)
    bad = replace(nets[0], kernel_ms=tuple(3 * t for t in nets[0].kernel_ms))
    assert not consistent(bad)
    tiny = replace(nets[1], latency_ms=0.002)  # a profiler's few us per node are tolerated...
    tiny = replace(tiny, kernel_ms=tuple(0.001 for _ in tiny.kernel_ms))
    assert consistent(tiny)
    fit = PerLayer().fit([bad, *nets[1:]])
    assert fit.excluded == (bad.model,)
    assert PerLayer().fit(nets).excluded == ()


def test_the_costed_graph_is_the_one_the_engine_ran() -> None:
    from cnnbench.graph.taxonomy import BATCHNORM
    from cnnbench.predict.network_cost import default_cost, engine_folds_bn
    from cnnbench.spec import Target
    from records import make_record

    eager = make_record()  # tinynet on torch: eager runs BatchNorm, so its graph keeps it
    onnx = replace(eager, spec=replace(eager.spec, target=Target("onnxruntime", threads=1)))
    folded = replace(
        eager, spec=replace(eager.spec, target=Target("torch", options=(("fold_bn", "1"),)))
    )
    assert engine_folds_bn(onnx) and engine_folds_bn(folded) and not engine_folds_bn(eager)
    kept = [n for n in default_cost(eager).layers if n.layer_type == BATCHNORM]
    assert kept and not [n for n in default_cost(onnx).layers if n.layer_type == BATCHNORM]
    assert default_cost(eager).macs == default_cost(onnx).macs  # BatchNorm has no MACs


def test_a_kernel_the_profiler_missed_does_not_teach_its_kind_zero() -> None:
    nets = synthetic.samples(16, seed=11)
    rng = np.random.default_rng(1)
    missed = []
    for s in nets:  # a third of the convolutions not seen by the profiler (0 ms)
        ms = tuple(0.0 if k.kind == "conv" and rng.random() < 0.33 else t
                   for k, t in zip(s.features.kernels, s.kernel_ms, strict=True))  # fmt: skip
        missed.append(replace(s, kernel_ms=ms))
    line = PerLayer().fit(missed).kinds["conv"].line
    assert line.coef[0] == pytest.approx(synthetic.TRUTH["conv"][0], rel=0.05)
    elided = []
    for s in nets:  # every fully connected kernel folded away by the engine: learned as 0 ms
        ms = tuple(0.0 if k.kind == "fc" else t
                   for k, t in zip(s.features.kernels, s.kernel_ms, strict=True))  # fmt: skip
        elided.append(replace(s, kernel_ms=ms))
    fc = PerLayer().fit(elided).kinds["fc"]
    assert fc.predict([synthetic.kernel("fc", 10**7, 10**6)])[0] == pytest.approx(0.0, abs=1e-6)


def test_a_factory_is_costed_in_a_worker_with_batchnorm_as_the_engine_runs_it() -> None:
    from cnnbench.execute.costing import detail_cost
    from cnnbench.graph.taxonomy import BATCHNORM

    def bn(cost: object) -> int:
        return sum(n.layer_type == BATCHNORM for n in cost.layers)  # type: ignore[attr-defined]

    assert bn(detail_cost("tinynet", fold_bn=False)) > 0 == bn(detail_cost("tinynet"))


def _conv(cin: int, cout: int, groups: int = 1) -> KernelFeatures:
    macs = 56 * 56 * 9 * cout * (cin // groups)
    return KernelFeatures("conv", ("c",), macs, 2 * macs, 0, 0, 0, 0, 9, 1, groups, cin, cout)


def test_channels_are_padded_to_whole_vectors_of_the_machines_lanes() -> None:
    avx512 = ["avx", "avx2", "avx512f", "avx512bw", "avx512vl", "fma"]  # this machine's kind
    avx2 = ["avx", "avx2", "fma", "sse4_2"]  # an EPYC guest without AVX-512
    assert simd_lanes({"isa": avx512}) == 16 and simd_lanes({"isa": avx2}) == 8
    assert simd_lanes({"isa": ["sse4_2"]}) == 4 and simd_lanes({}) == 0
    k = _conv(24, 24)
    assert padded_macs(k, 16) == round(k.macs * (32 / 24) ** 2)  # two vectors, a third padding
    assert padded_macs(k, 8) == k.macs  # 24 = three 8-lane vectors: no padding
    assert padded_macs(_conv(64, 64), 16) == _conv(64, 64).macs
    stem = _conv(3, 24)
    assert padded_macs(stem, 16) == round(stem.macs * 32 / 24)  # RGB input is not vectorised
    dw = _conv(40, 40, groups=40)
    assert padded_macs(dw, 16) == round(dw.macs * 48 / 40)
    grouped = _conv(64, 64, groups=16)  # 4 channels per group
    assert padded_macs(grouped, 16) == round(grouped.macs * 16 / 4)
    assert padded_macs(k, 0) == k.macs  # lanes unknown
