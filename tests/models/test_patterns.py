"""The six design patterns of seed 003: depth and width as defined, parameter counts against
closed-form formulas, canonical names, clear errors on bad names."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from cnnbench.errors import BadInput
from cnnbench.models import create_model, get_model_info, list_models
from cnnbench.models.patterns import PATTERNS, PatternConfig, PatternNet, pattern

DEPTHS = (10, 11, 30)  # remainders 0, 1 and 2 for blocks of three convs, 0 and 1 for two


def convs(module: nn.Module) -> list[nn.Conv2d]:
    return [m for m in module.modules() if isinstance(m, nn.Conv2d)]


def expected_params(name: str, depth: int, w: int, classes: int) -> int:
    """Closed form: bias-free convs, 2 BatchNorm parameters per output channel.

    ``conv(cin, cout, kernel_area, groups)`` counts one conv-BN unit. A block of ``k`` convs
    repeats ``q = depth // k`` times after a partial block of its last ``r = depth % k`` convs,
    whose first conv takes ``w`` channels.
    """

    def conv(cin: int, cout: int, area: int, groups: int = 1) -> int:
        return cout * (cin // groups) * area + 2 * cout

    h, e = w // 4, 6 * w
    blocks = {  # pattern: (full block, partial blocks by remainder)
        "standard": (conv(w, w, 9), {}),
        "factorized": (2 * conv(w, w, 3), {1: conv(w, w, 3)}),
        "bottleneck": (
            conv(w, h, 1) + conv(h, h, 9) + conv(h, w, 1),
            {1: conv(w, w, 1), 2: conv(w, h, 9) + conv(h, w, 1)},
        ),
        "depthwise_separable": (conv(w, w, 9, w) + conv(w, w, 1), {1: conv(w, w, 1)}),
        "depthwise_bottleneck": (
            conv(w, e, 1) + conv(e, e, 9, e) + conv(e, w, 1),
            {1: conv(w, w, 1), 2: conv(w, w, 9, w) + conv(w, w, 1)},
        ),
        "grouped": (conv(w, w, 9, w // 4), {}),
    }
    full, partial = blocks[name]
    k = {"standard": 1, "grouped": 1, "factorized": 2, "depthwise_separable": 2}.get(name, 3)
    q, r = divmod(depth, k)
    stem = conv(3, w, 9)
    head = w * classes + classes
    return stem + (partial[r] if r else 0) + q * full + head


@pytest.mark.parametrize("name", PATTERNS)
@pytest.mark.parametrize("depth", DEPTHS)
def test_body_has_depth_convs_at_width(name: str, depth: int) -> None:
    net = pattern(name, depth, 16, input=32, classes=10)
    assert isinstance(net, PatternNet)
    body = convs(net.body)
    assert len(body) == depth
    assert convs(net.stem)[0].out_channels == 16
    for block in net.body:  # every block takes and gives the body width
        inner = convs(block)
        assert inner[0].in_channels == 16
        assert inner[-1].out_channels == 16
    assert net.fc.in_features == 16 and net.fc.out_features == 10
    assert len(convs(net)) == depth + 1  # the stem conv; the head has none
    assert sum(isinstance(m, nn.BatchNorm2d) for m in net.modules()) == depth + 1
    assert sum(isinstance(m, nn.ReLU) for m in net.modules()) == depth + 1


@pytest.mark.parametrize("name", PATTERNS)
@pytest.mark.parametrize("depth", DEPTHS)
def test_parameter_count_closed_form(name: str, depth: int) -> None:
    net = pattern(name, depth, 8, input=32, classes=10)
    assert sum(p.numel() for p in net.parameters()) == expected_params(name, depth, 8, 10)


@pytest.mark.parametrize("name", PATTERNS)
def test_pattern_convolution_kinds(name: str) -> None:
    net = pattern(name, 6, 16, input=32, classes=10)  # 6 is a multiple of 1, 2 and 3
    kinds = [(c.kernel_size, c.groups, c.in_channels, c.out_channels) for c in convs(net.body)]
    expect = {
        "standard": [((3, 3), 1, 16, 16)],
        "factorized": [((1, 3), 1, 16, 16), ((3, 1), 1, 16, 16)],
        "bottleneck": [((1, 1), 1, 16, 4), ((3, 3), 1, 4, 4), ((1, 1), 1, 4, 16)],
        "depthwise_separable": [((3, 3), 16, 16, 16), ((1, 1), 1, 16, 16)],
        "depthwise_bottleneck": [((1, 1), 1, 16, 96), ((3, 3), 96, 96, 96), ((1, 1), 1, 96, 16)],
        "grouped": [((3, 3), 4, 16, 16)],
    }[name]
    assert kinds == expect * (6 // len(expect))


@pytest.mark.parametrize("name", PATTERNS)
def test_forward_shape_and_resolution(name: str) -> None:
    net = pattern(name, 4, 8, input=32, classes=10)
    x = torch.randn(2, 3, 32, 32)
    with torch.inference_mode():
        assert net.stem(x).shape == (2, 8, 8, 8)  # the stem divides the resolution by 4
        assert net.body(net.stem(x)).shape == (2, 8, 8, 8)  # the body keeps it
        out = net(x)
    assert out.shape == (2, 10)
    assert torch.isfinite(out).all()
    assert not net.training


def test_name_round_trip() -> None:
    for name in PATTERNS:
        for query in ("", "?depth=11&width=8", "?width=16,input=32,classes=10,depth=3"):
            config = PatternConfig.parse(f"pattern/{name}{query}")
            canonical = config.name
            assert PatternConfig.parse(canonical) == config
            assert PatternConfig.parse(canonical).name == canonical
    config = PatternConfig.parse("PATTERN/Depthwise-Bottleneck?width=064&depth=30")
    assert config == PatternConfig("depthwise_bottleneck", 30, 64)
    assert config.name == "pattern/depthwise_bottleneck?depth=30&width=64"
    # Defaults: depth and width always written, input and classes only when not 224 and 1000.
    assert PatternConfig.parse("pattern/standard").name == "pattern/standard?depth=30&width=128"
    odd = PatternConfig("grouped", 10, 32, input=32, classes=10)
    assert odd.name == "pattern/grouped?classes=10&depth=10&input=32&width=32"
    spelled = "pattern/grouped?depth=10&width=32&input=224&classes=1000"
    assert PatternConfig.parse(spelled).name == "pattern/grouped?depth=10&width=32"


def test_registry_resolves_pattern_names() -> None:
    info = get_model_info("pattern/depthwise_bottleneck?depth=30&width=128&input=96")
    assert info.family == "pattern"
    assert info.dataset == "synthetic"
    assert info.input_shape == (3, 96, 96)
    assert info.name == "pattern/depthwise_bottleneck?depth=30&input=96&width=128"
    assert get_model_info(info.name).name == info.name
    net = create_model("pattern/factorized?depth=5&width=8&input=32&classes=7")
    assert isinstance(net, PatternNet) and not net.training
    assert len(convs(net.body)) == 5 and net.fc.out_features == 7
    assert create_model("pattern/standard?depth=2&width=8", num_classes=3).fc.out_features == 3


def test_list_models_shows_the_six_defaults() -> None:
    listed = list_models("pattern")
    assert [i.name for i in listed] == sorted(f"pattern/{p}?depth=30&width=128" for p in PATTERNS)
    assert all(i.input_shape == (3, 224, 224) for i in listed)
    assert "resnet50" in {i.name for i in list_models()}


@pytest.mark.parametrize(
    ("ref", "words"),
    [
        ("pattern/standart", "did you mean standard"),
        ("pattern/", "unknown design pattern"),
        ("pattern/standard?depth=0", "positive integer"),
        ("pattern/standard?width=-8", "positive integer"),
        ("pattern/standard?width=8.5", "positive integer"),
        ("pattern/standard?dpth=3", "did you mean depth"),
        ("pattern/standard?depth=3&depth=4", "given twice"),
        ("pattern/standard?depth", "KEY=VALUE"),
        ("pattern/standard?", "KEY=VALUE"),
        ("pattern/grouped?width=18", "multiple of 4"),
        ("pattern/bottleneck?width=10", "multiple of 4"),
    ],
)
def test_bad_names(ref: str, words: str) -> None:
    with pytest.raises(BadInput, match=words) as err:
        get_model_info(ref)
    assert "\n" not in str(err.value)


def test_bad_config_values() -> None:
    with pytest.raises(BadInput, match="positive integer"):
        PatternConfig("standard", depth=True)
    with pytest.raises(BadInput, match="positive integer"):
        pattern("standard", 10, 0)
    with pytest.raises(BadInput, match="did you mean"):
        pattern("depthwise", 10, 32)
