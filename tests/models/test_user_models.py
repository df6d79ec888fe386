"""User model references: ONNX files, ``package.module:factory`` (with weights), timm and
torchvision names, and the input-shape override."""

from __future__ import annotations

import sys
import textwrap
import types
import warnings
from collections.abc import Iterator
from pathlib import Path

import onnx
import pytest
import torch
from onnx import TensorProto, helper
from torch import nn

from cnnbench.errors import BadInput, Unsupported
from cnnbench.models import create_model, get_model_info

PKG = "cnnbench_user_model_fixture"  # written into tmp_path, dropped from sys.modules after


class Tiny(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.fc = nn.Linear(4, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.conv(x).mean(dim=(2, 3)))


def export(path: Path, dynamic_axes: dict[str, dict[int, str]] | None = None) -> Path:
    with warnings.catch_warnings():  # the TorchScript exporter warns that it is the old one
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            Tiny().eval(),
            (torch.zeros(1, 3, 32, 24),),
            str(path),
            input_names=["x"],
            output_names=["y"],
            dynamic_axes=dynamic_axes,
            dynamo=False,
        )
    return path


def identity_model(path: Path, dims: list[int | str], with_initialiser: bool = False) -> Path:
    """A one-node ONNX graph whose input has the given dimensions (str: a dim_param)."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, dims)
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    inputs, inits = [x], []
    if with_initialiser:  # old exporters list initialisers among the inputs, sometimes first
        inits = [helper.make_tensor("w", TensorProto.FLOAT, [1], [1.0])]
        inputs = [helper.make_tensor_value_info("w", TensorProto.FLOAT, [1]), x]
    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])], "g", inputs, [y], initializer=inits
    )
    onnx.save(helper.make_model(graph), str(path))
    return path


# ---------------------------------------------------------------------------------------------
# ONNX files


def test_onnx_file_input_shape(tmp_path: Path) -> None:
    path = export(tmp_path / "tiny.onnx")
    info = get_model_info(str(path))
    assert info.family == "onnx"
    assert info.input_shape == (3, 32, 24)
    assert info.onnx_path == path.resolve()
    assert info.name == str(path.resolve())
    assert get_model_info("tiny.onnx").name == info.name  # relative to the working folder
    with pytest.raises(Unsupported, match=r"ONNX-based engines \(onnxruntime, openvino\)"):
        create_model(str(path))
    with pytest.raises(Unsupported, match="not on torch"):
        info.factory()


def test_onnx_dynamic_batch_is_stripped(tmp_path: Path) -> None:
    path = export(tmp_path / "dyn.onnx", {"x": {0: "batch"}, "y": {0: "batch"}})
    assert get_model_info(str(path)).input_shape == (3, 32, 24)


def test_onnx_dynamic_spatial_dims_ask_for_input_shape(tmp_path: Path) -> None:
    path = export(tmp_path / "hw.onnx", {"x": {0: "n", 2: "height", 3: "width"}})
    with pytest.raises(BadInput, match="--input-shape") as err:
        get_model_info(str(path))
    assert "n x 3 x height x width".replace(" x ", "x") in str(err.value)
    info = get_model_info(str(path), input_shape=(3, 64, 48))
    assert info.input_shape == (3, 64, 48)
    with pytest.raises(BadInput, match="does not fit"):
        get_model_info(str(path), input_shape=(1, 64, 48))  # 1 channel, the graph says 3
    with pytest.raises(BadInput, match="does not fit"):
        get_model_info(str(path), input_shape=(64, 48))


def test_onnx_unknown_dims_and_initialiser_inputs(tmp_path: Path) -> None:
    path = identity_model(tmp_path / "id.onnx", [1, 3, 0, 8], with_initialiser=True)
    with pytest.raises(BadInput, match=r"\[1x3x\?x8\].*--input-shape"):
        get_model_info(str(path))
    fixed = identity_model(tmp_path / "fixed.onnx", [4, 3, 16, 8], with_initialiser=True)
    info = get_model_info(str(fixed))
    assert info.input_shape == (3, 16, 8)
    assert "fixed batch 4" in info.description
    flat = identity_model(tmp_path / "flat.onnx", [16])
    with pytest.raises(BadInput, match="not a batch"):
        get_model_info(str(flat))


def test_onnx_bad_files(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="no such ONNX file"):
        get_model_info(str(tmp_path / "missing.onnx"))
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\xff\x00 not a protobuf \x13\x37" * 10)
    with pytest.raises(BadInput, match="not a readable ONNX model"):
        get_model_info(str(junk))
    other = tmp_path / "model.pt"
    other.write_bytes(b"")
    with pytest.raises(BadInput, match=r"not an \.onnx file"):
        get_model_info(str(other))


# ---------------------------------------------------------------------------------------------
# package.module:factory


@pytest.fixture
def user_pkg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A package ``PKG`` with factories in ``PKG.nets``, importable from ``tmp_path / 'src'``."""
    root = tmp_path / "src" / PKG
    root.mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "nets.py").write_text(
        textwrap.dedent(
            '''
            from torch import nn

            input_shape = (3, 20, 20)

            def small():
                """A small convolution net."""
                return nn.Sequential(
                    nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2)
                )

            def wide():
                return nn.Sequential(nn.Conv2d(3, 6, 1), nn.Flatten())

            wide.input_shape = (3, 8, 8)

            class Zoo:
                @staticmethod
                def make():
                    return small()

            def not_a_module():
                return 42

            constant = 3
            '''
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    for name in [m for m in sys.modules if m == PKG or m.startswith(f"{PKG}.")]:
        monkeypatch.delitem(sys.modules, name)
    yield root
    for name in [m for m in sys.modules if m == PKG or m.startswith(f"{PKG}.")]:
        del sys.modules[name]


def test_factory_reference(user_pkg: Path) -> None:
    info = get_model_info(f"{PKG}.nets:small")
    assert info.family == "user"
    assert info.name == f"{PKG}.nets:small"
    assert info.input_shape == (3, 20, 20)  # the module's input_shape
    assert info.description == "A small convolution net."
    assert get_model_info(f"{PKG}.nets:wide").input_shape == (3, 8, 8)  # the factory's own
    net = create_model(f"{PKG}.nets:small")
    assert isinstance(net, nn.Sequential) and not net.training
    assert net(torch.zeros(1, 3, 20, 20)).shape == (1, 2)
    assert isinstance(create_model(f"{PKG}.nets:Zoo.make"), nn.Sequential)


def test_factory_module_found_from_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"{PKG}_cwd"
    (tmp_path / f"{name}.py").write_text(
        "from torch import nn\n\ndef make():\n    return nn.Identity()\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    try:
        assert get_model_info(f"{name}:make").input_shape == (3, 224, 224)  # the default
        assert str(tmp_path) not in sys.path  # the search path is restored
    finally:
        sys.modules.pop(name, None)


def test_factory_weights_loaded_with_weights_only(
    user_pkg: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    torch.manual_seed(1)
    reference = create_model(f"{PKG}.nets:small")
    torch.save(reference.state_dict(), tmp_path / "w.pt")
    torch.save({"state_dict": reference.state_dict(), "epoch": 3}, tmp_path / "wrapped.pt")
    calls: list[object] = []
    real_load = torch.load

    def spy(*args: object, **kwargs: object) -> object:
        calls.append(kwargs.get("weights_only"))
        return real_load(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(torch, "load", spy)
    monkeypatch.chdir(tmp_path)
    for file in ("w.pt", "wrapped.pt"):
        torch.manual_seed(2)
        info = get_model_info(f"{PKG}.nets:small?weights={file}")
        assert info.name == f"{PKG}.nets:small?weights={tmp_path / file}"  # absolute
        net = info.factory()
        for key, value in reference.state_dict().items():
            assert torch.equal(net.state_dict()[key], value)
    assert calls == [True, True]


def test_factory_weights_errors(user_pkg: Path, tmp_path: Path) -> None:
    ref = f"{PKG}.nets:small"
    with pytest.raises(BadInput, match="no such weights file"):
        get_model_info(f"{ref}?weights={tmp_path / 'missing.pt'}")
    torch.save(create_model(f"{PKG}.nets:wide").state_dict(), tmp_path / "other.pt")
    with pytest.raises(BadInput, match="do not fit the model"):
        create_model(f"{ref}?weights={tmp_path / 'other.pt'}")
    torch.save({"net": Tiny()}, tmp_path / "pickled.pt")  # a whole module: not weights-only
    with pytest.raises(BadInput, match="cannot load weights"):
        create_model(f"{ref}?weights={tmp_path / 'pickled.pt'}")
    with pytest.raises(BadInput, match=r"\?weights=PATH"):
        get_model_info(f"{ref}?checkpoint=x.pt")


@pytest.mark.parametrize(
    ("attr", "words"),
    [
        ("missing", "has no attribute 'missing'"),
        ("constant", "not callable"),
    ],
)
def test_factory_lookup_errors(user_pkg: Path, attr: str, words: str) -> None:
    with pytest.raises(BadInput, match=words):
        get_model_info(f"{PKG}.nets:{attr}")


def test_factory_other_errors(user_pkg: Path) -> None:
    with pytest.raises(BadInput, match=r"not a torch\.nn\.Module"):
        create_model(f"{PKG}.nets:not_a_module")
    with pytest.raises(BadInput, match=r"cannot import 'no_such_pkg_xyz\.nets'"):
        get_model_info("no_such_pkg_xyz.nets:make")


# ---------------------------------------------------------------------------------------------
# timm and torchvision


@pytest.mark.parametrize("package", ["timm", "torchvision"])
def test_hub_not_installed(package: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, package, None)  # importing it now fails, installed or not
    monkeypatch.setitem(sys.modules, f"{package}.models", None)
    with pytest.raises(BadInput, match=rf"^{package} is not installed; pip install {package}$"):
        get_model_info(f"{package}:resnet18")
    with pytest.raises(BadInput, match="is not installed"):
        create_model(f"{package}:resnet18")


def test_timm_when_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    timm = types.ModuleType("timm")
    made: list[tuple[str, bool]] = []

    def create(name: str, pretrained: bool = True) -> nn.Module:
        made.append((name, pretrained))
        return nn.Linear(2, 2)

    cfg = types.SimpleNamespace(input_size=(3, 256, 256))
    timm.is_model = lambda name: name == "convnext_atto"  # type: ignore[attr-defined]
    timm.list_models = lambda: ["convnext_atto"]  # type: ignore[attr-defined]
    timm.create_model = create  # type: ignore[attr-defined]
    timm.models = types.SimpleNamespace(get_pretrained_cfg=lambda name: cfg)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "timm", timm)
    info = get_model_info("timm:convnext_atto")
    assert (info.name, info.family, info.input_shape) == (
        "timm:convnext_atto",
        "timm",
        (3, 256, 256),
    )
    assert isinstance(create_model("timm:convnext_atto"), nn.Linear)
    assert made == [("convnext_atto", False)]
    with pytest.raises(BadInput, match="did you mean convnext_atto"):
        get_model_info("timm:convnext_ato")


def test_torchvision_when_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[tuple[str, object]] = []

    def get_model(name: str, weights: object = "DEFAULT") -> nn.Module:
        made.append((name, weights))
        return nn.Identity()

    models = types.ModuleType("torchvision.models")
    models.list_models = lambda: ["resnet18", "inception_v3"]  # type: ignore[attr-defined]
    models.get_model = get_model  # type: ignore[attr-defined]
    models.get_model_weights = lambda name: None  # type: ignore[attr-defined]
    package = types.ModuleType("torchvision")
    package.models = models  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "torchvision", package)
    monkeypatch.setitem(sys.modules, "torchvision.models", models)
    info = get_model_info("torchvision:resnet18")
    assert (info.family, info.input_shape, info.dataset) == (
        "torchvision",
        (3, 224, 224),
        "imagenet",
    )
    assert isinstance(create_model("torchvision:resnet18"), nn.Identity)
    assert made == [("resnet18", None)]
    with pytest.raises(BadInput, match="has no model 'resnet19'; did you mean resnet18"):
        get_model_info("torchvision:resnet19")


# ---------------------------------------------------------------------------------------------
# Registry names with an input shape


def test_input_shape_override_and_unknown_names() -> None:
    assert get_model_info("tinynet").input_shape == (3, 32, 32)
    assert get_model_info("TinyNet", input_shape=(3, 48, 48)).input_shape == (3, 48, 48)
    with pytest.raises(BadInput, match="positive integers"):
        get_model_info("tinynet", input_shape=(3, 0, 48))
    with pytest.raises(BadInput, match="did you mean tinynet"):
        get_model_info("tinynett")
    with pytest.raises(BadInput, match="non-empty"):
        get_model_info("  ")
