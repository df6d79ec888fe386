"""NAS networks of the zoo (DARTS, NASNet-A): counts against the papers, forward shapes.

MACs are conv + linear multiply-accumulates, ``FlopCounterMode`` total flops / 2 at batch 1 and
the registered input size. Each network runs one real forward (module-scoped fixture) that gives
both its MACs and its output; NASNet-A Large at 331 is ~24 GMACs, a few seconds on two cores.

DARTS is the exception to "within 1 % of the paper": the paper's 574 M multiply-adds cannot be
reproduced from the released network (see ``cnnbench.models.darts``), so its MACs are checked
exactly against a closed-form count of the reference ``NetworkImageNet`` and the gap to the
paper is pinned to the documented -7.7 %.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from cnnbench.models import create_model, get_model_info
from cnnbench.models.nasnet import SameConv2d, SamePool2d, same_padding

NAMES = ("darts", "nasnet_a_mobile", "nasnet_a_large")

# (params, MACs) as published: DARTS Table 3 (mobile setting), NASNet Table 2.
PUBLISHED = {
    "darts": (4.7e6, 574e6),
    "nasnet_a_mobile": (5.3e6, 564e6),
    "nasnet_a_large": (88.9e6, 23.8e9),
}
# Exact parameter counts of the reference implementations (quark0/darts NetworkImageNet without
# its auxiliary head; Cadene's nasnetamobile / nasnetalarge with a 1000-way classifier).
REFERENCE_PARAMS = {
    "darts": 4_718_752,
    "nasnet_a_mobile": 5_289_978,
    "nasnet_a_large": 88_753_150,
}
SIDE = {"darts": 224, "nasnet_a_mobile": 224, "nasnet_a_large": 331}
DARTS_PAPER_GAP = -0.0768  # measured / 574 M - 1, documented in the darts module docstring


def darts_reference_macs(c: int = 48, layers: int = 14, hw: int = 224, classes: int = 1000) -> int:
    """Conv + linear MACs of quark0/darts ``NetworkImageNet`` with the DARTS-V2 genotype.

    Stems: 3x3/2 convs 3 -> C/2 -> C, then C -> C. Every cell preprocesses both inputs to C_cell
    channels with 1x1 convs at the input resolution (a factorized reduction costs the same as a
    1x1 conv: two half-width stride-2 convs). A DARTS-V2 normal cell then has five sep_conv_3x3
    (two depthwise 3x3 + pointwise layers each) and one dil_conv_3x3 (one layer): 11 x (9 C + C^2)
    per pixel; the reduction cell holds only max pools and identities.
    """
    h = hw // 2
    macs = h * h * 3 * 9 * (c // 2)
    h //= 2
    macs += h * h * (c // 2) * 9 * c
    h //= 2
    macs += h * h * c * 9 * c
    c_prev_prev = c_prev = c_cell = c
    for i in range(layers):
        reduction = i in (layers // 3, 2 * layers // 3)
        if reduction:
            c_cell *= 2
        macs += (c_prev_prev + c_prev) * c_cell * h * h
        if reduction:
            h //= 2
        else:
            macs += 11 * (9 * c_cell + c_cell * c_cell) * h * h
        c_prev_prev, c_prev = c_prev, 4 * c_cell
    return macs + c_prev * classes


@pytest.fixture(scope="module")
def measured() -> dict[str, tuple[int, int, torch.Tensor]]:
    """(params, MACs, output) of each network, from one forward at batch 1."""
    torch.manual_seed(0)
    threads = torch.get_num_threads()
    # One thread: these graphs have hundreds of small ops, and on a shared two-core machine
    # intra-op synchronisation costs more than the second core gives.
    torch.set_num_threads(1)
    out: dict[str, tuple[int, int, torch.Tensor]] = {}
    try:
        for name in NAMES:
            model = create_model(name)
            params = sum(p.numel() for p in model.parameters())
            x = torch.randn(1, *get_model_info(name).input_shape)
            with torch.no_grad(), FlopCounterMode(display=False) as counter:
                y = model(x)
            out[name] = (params, counter.get_total_flops() // 2, y)
            del model
    finally:
        torch.set_num_threads(threads)
    return out


@pytest.mark.parametrize("name", NAMES)
def test_registered(name: str) -> None:
    info = get_model_info(name)
    assert info.name == name
    assert info.family == "nas"
    assert info.dataset == "imagenet"
    assert info.input_shape == (3, SIDE[name], SIDE[name])
    assert info.description


@pytest.mark.parametrize("name", NAMES)
def test_params_match_paper_and_reference(
    name: str, measured: dict[str, tuple[int, int, torch.Tensor]]
) -> None:
    params = measured[name][0]
    assert params == REFERENCE_PARAMS[name]
    assert params == pytest.approx(PUBLISHED[name][0], rel=0.01)


@pytest.mark.parametrize("name", ["nasnet_a_mobile", "nasnet_a_large"])
def test_nasnet_macs_match_paper(
    name: str, measured: dict[str, tuple[int, int, torch.Tensor]]
) -> None:
    assert measured[name][1] == pytest.approx(PUBLISHED[name][1], rel=0.01)


def test_darts_macs_match_reference_network(
    measured: dict[str, tuple[int, int, torch.Tensor]],
) -> None:
    macs = measured["darts"][1]
    assert macs == darts_reference_macs() == 529_911_552
    # The paper's 574 M is not reachable from the released network; the gap is documented.
    assert macs / PUBLISHED["darts"][1] - 1 == pytest.approx(DARTS_PAPER_GAP, abs=5e-4)


@pytest.mark.parametrize("name", NAMES)
def test_forward_shape(name: str, measured: dict[str, tuple[int, int, torch.Tensor]]) -> None:
    y = measured[name][2]
    assert y.shape == (1, 1000)
    assert torch.isfinite(y).all()


@pytest.mark.parametrize("n", [7, 8, 42, 83])
@pytest.mark.parametrize("stride", [1, 2])
def test_same_padding_layers_match_tf_same(n: int, stride: int) -> None:
    """NASNet's SAME conv / pools equal explicit TF-style padding (pads excluded from pools)."""
    x = torch.randn(1, 2, n, n + 1)
    top, bottom = same_padding(n, 3, stride)
    left, right = same_padding(n + 1, 3, stride)
    pads = (left, right, top, bottom)
    expected_max = F.max_pool2d(F.pad(x, pads, value=float("-inf")), 3, stride)
    valid = F.avg_pool2d(F.pad(torch.ones(1, 1, n, n + 1), pads), 3, stride)
    expected_avg = F.avg_pool2d(F.pad(x, pads), 3, stride) / valid
    assert torch.equal(SamePool2d("max", 3, stride)(x), expected_max)
    torch.testing.assert_close(SamePool2d("avg", 3, stride)(x), expected_avg)
    for k in (3, 5, 7):
        conv = SameConv2d(2, 2, k, stride, groups=2, bias=False)
        top, bottom = same_padding(n, k, stride)
        left, right = same_padding(n + 1, k, stride)
        expected = F.conv2d(
            F.pad(x, (left, right, top, bottom)), conv.weight, None, stride, 0, 1, 2
        )
        with torch.no_grad():
            torch.testing.assert_close(conv(x), expected)
        assert conv(x).shape[-2:] == (-(-n // stride), -(-(n + 1) // stride))
