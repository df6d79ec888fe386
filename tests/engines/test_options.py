"""The one engine-option parser and the engines' option tables."""

from __future__ import annotations

import pytest

from cnnbench.engines import get_engine
from cnnbench.engines._options import Option, describe_options, parse_options
from cnnbench.errors import Unsupported

TABLE = (
    Option("fast", bool, False, "go fast"),
    Option("mode", ("eager", "lazy"), "eager", "how"),
    Option("workers", int, None, "how many"),
)


def test_defaults_and_typed_values() -> None:
    values = parse_options("demo", TABLE, ())
    assert dict(values.values) == {"fast": False, "mode": "eager", "workers": None}
    assert values.given == frozenset()
    values = parse_options("demo", TABLE, (("fast", "Yes"), ("mode", "LAZY"), ("workers", "4")))
    assert values.flag("fast") is True and values.text("mode") == "lazy"
    assert values.integer("workers") == 4 and values.given == {"fast", "mode", "workers"}
    for word, flag in (("1", True), ("on", True), ("true", True), ("0", False), ("off", False)):
        assert parse_options("demo", TABLE, (("fast", word),)).flag("fast") is flag
    # An empty value is the default, as it always was.
    assert parse_options("demo", TABLE, (("mode", ""),)).text("mode") == "eager"


def test_unknown_keys_list_the_known_ones_and_close_matches() -> None:
    with pytest.raises(Unsupported) as err:
        parse_options("demo", TABLE, (("worker", "2"), ("colour", "blue")))
    text = str(err.value)
    assert "demo engine has no option colour, worker (known: fast, mode, workers)" in text
    assert text.endswith("did you mean workers?")


@pytest.mark.parametrize(
    ("pair", "message"),
    [
        (("fast", "maybe"), r"demo option fast='maybe': use 1 or 0 \(also true/false"),
        (("mode", "eagerly"), r"demo option mode='eagerly': choose one of eager, lazy"),
        (("workers", "x"), r"demo option workers='x' is not a positive integer"),
        (("workers", "0"), r"not a positive integer"),
        (("workers", "-2"), r"not a positive integer"),
    ],
)
def test_bad_values_say_what_is_allowed(pair: tuple[str, str], message: str) -> None:
    with pytest.raises(Unsupported, match=message):
        parse_options("demo", TABLE, (pair,))


def test_describe_options() -> None:
    assert describe_options(TABLE) == [
        "fast: 1 or 0 (also true/false, yes/no, on/off) (default false); go fast",
        "mode: one of eager, lazy (default eager); how",
        "workers: a positive integer (default not set); how many",
    ]


@pytest.mark.parametrize(
    ("engine", "names"),
    [
        ("torch", ["bf16", "channels_last", "compile", "compile_mode", "fold_bn", "malloc"]),
        (
            "onnxruntime",
            [
                "allow_spinning",
                "execution_mode",
                "fold_bn",
                "graph_optimization",
                "inter_op_threads",
                "malloc",
            ],
        ),
        ("openvino", ["fold_bn", "hyper_threading", "malloc", "performance_hint", "pinning"]),
    ],
)
def test_every_engine_declares_its_options(engine: str, names: list[str]) -> None:
    cls = get_engine(engine, require_installed=False)
    assert sorted(o.name for o in cls.options) == names
    assert all(o.doc for o in cls.options)
    defaults = parse_options(engine, cls.options, ())  # the defaults parse
    assert set(defaults.values) == set(names)


def test_which_export_each_engine_runs_follows_fold_bn() -> None:
    from cnnbench.spec import Target

    torch_cls = get_engine("torch", require_installed=False)
    ort = get_engine("onnxruntime", require_installed=False)
    assert torch_cls.folds_batchnorm(Target("torch")) is False  # eager keeps BatchNorm
    assert torch_cls.folds_batchnorm(Target("torch", options=(("fold_bn", "1"),))) is True
    assert ort.folds_batchnorm(Target("onnxruntime")) is True  # the exporter folds it
    assert ort.folds_batchnorm(Target("onnxruntime", options=(("fold_bn", "no"),))) is False
    with pytest.raises(Unsupported):
        ort.folds_batchnorm(Target("onnxruntime", options=(("fold_bn", "maybe"),)))
