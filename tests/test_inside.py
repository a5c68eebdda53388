"""Inside the model on Predict: every class's probability, each convolution's feature maps,
a saliency map over the picture the model saw, and the units of a model without
convolutions, for any model, without changing it and without mixing up sessions."""

from __future__ import annotations

import re
import threading

import numpy as np
import pytest
import torch
from torch import nn

from support import sketch_of
from trainpad.engine.trained_model import TrainedModel
from trainpad.web.inside_html import inside_html, map_grid, saliency_overlay
from trainpad.web.predict_handler import EMPTY_INSIDE, Predictor
from trainpad.web.sessions import SessionStore
from trainpad.web.shipped_model import shipped_loader

MNIST_META = {"input_shape": [1, 28, 28], "mean": [0.1307], "std": [0.3081], "ink": "centre"}
NAMES = [str(d) for d in range(10)]


def trained_from(model: nn.Module, output: str = "log_probs") -> TrainedModel:
    spec = {kind: {"name": kind, "plugin": "test", "params": {}} for kind in ("dataset", "model", "optimizer", "loss")}
    return TrainedModel(model, spec, NAMES, output, MNIST_META)


def mlp() -> TrainedModel:
    torch.manual_seed(0)
    return trained_from(nn.Sequential(nn.Flatten(), nn.Linear(784, 48), nn.ReLU(), nn.Linear(48, 10)), "logits")


class Functional(nn.Module):
    """A model with no layer modules: its weights are used through torch.nn.functional."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(10, 784) * 0.01)

    def forward(self, x):
        return torch.nn.functional.linear(x.flatten(1), self.weight)


class NoGradient(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(784, 10)

    def forward(self, x):
        with torch.no_grad():
            return self.fc(x.flatten(1))


@pytest.fixture(scope="module")
def shipped(engine_module):
    return shipped_loader(engine_module)()


@pytest.fixture(scope="module")
def engine_module():
    from trainpad.testing import make_engine

    return make_engine()


@pytest.fixture
def digit(real_digits):
    images, labels = real_digits
    return images[0], int(labels[0])


def test_the_cnn_shows_its_feature_maps_saliency_and_every_class(engine_module, shipped, digit):
    image, label = digit
    inside = engine_module.look_inside(shipped, sketch_of(image))
    plain = engine_module.predict(shipped, sketch_of(image))
    assert list(inside.probabilities) == NAMES
    assert inside.probabilities == pytest.approx(plain.probabilities, abs=1e-5)  # the same answer as a plain prediction
    assert inside.predicted == label
    shapes = [(layer.name, layer.maps.shape) for layer in inside.layers if layer.maps is not None]
    assert shapes == [("convs.0", (16, 28, 28)), ("convs.1", (32, 14, 14)), ("convs.2", (64, 7, 7))]
    assert [layer.description for layer in inside.layers][:3] == ["Conv2d 1→16, 3×3", "Conv2d 16→32, 3×3", "Conv2d 32→64, 3×3"]
    assert [(layer.name, layer.total) for layer in inside.layers if layer.units is not None] == [("fc1", 128), ("fc2", 10)]
    # the saliency map lies over the picture: strongest where the ink is
    saliency, seen = inside.saliency, inside.seen
    assert saliency.shape == seen.shape == (28, 28) and saliency.max() == pytest.approx(1.0) and saliency.min() >= 0
    ink = seen > 64
    assert saliency[ink].mean() > 2 * saliency[~ink].mean()
    # the first convolution's maps are its real outputs for that picture
    with torch.inference_mode():
        x = torch.from_numpy(seen.astype(np.float32) / 255).sub(0.1307).div(0.3081).view(1, 1, 28, 28)
        first = shipped.model.convs[0](x.contiguous(memory_format=torch.channels_last))[0].numpy()
    assert np.allclose(inside.layers[0].maps, first, atol=1e-4)


def test_looking_inside_changes_nothing_in_the_model(engine_module, shipped, digit):
    before = {name: p.detach().clone() for name, p in shipped.model.state_dict().items()}
    engine_module.look_inside(shipped, sketch_of(digit[0]))
    assert all(p.grad is None for p in shipped.model.parameters())  # the gradient went to the picture only
    assert all(torch.equal(before[name], p) for name, p in shipped.model.state_dict().items())
    assert not shipped.model.training
    assert not nn.modules.module._global_forward_hooks  # the hook is gone once nobody looks
    assert all(not m._forward_hooks for m in shipped.model.modules())


def test_a_model_without_convolutions_shows_its_layers_as_bars(engine_module, digit):
    trained = mlp()
    inside = engine_module.look_inside(trained, sketch_of(digit[0]))
    assert not inside.has_convolutions
    assert [(layer.name, layer.description, layer.units.shape) for layer in inside.layers] == [
        ("1", "Linear 784→48", (48,)),
        ("3", "Linear 48→10", (10,)),
    ]
    assert inside.saliency is not None and inside.saliency.shape == (28, 28)
    page = inside_html(inside, NAMES)
    assert page.count('data-tp="units"') == 2 and 'data-tp="maps"' not in page and 'data-tp="saliency"' in page
    assert "the first 32 of 48 units" in page  # wide layers show their first units
    assert "Linear 48→10" in page


def test_any_model_gets_a_saliency_map_even_without_layer_modules(engine_module, digit):
    torch.manual_seed(0)
    inside = engine_module.look_inside(trained_from(Functional(), "logits"), sketch_of(digit[0]))
    assert inside.layers == [] and inside.saliency is not None
    assert 'data-tp="saliency"' in inside_html(inside, NAMES)
    # a model whose output has no gradient still answers, without a saliency map
    inside = engine_module.look_inside(trained_from(NoGradient(), "logits"), sketch_of(digit[0]))
    assert inside.saliency is None and len(inside.probabilities) == 10
    page = inside_html(inside, NAMES)
    assert 'data-tp="saliency"' not in page and 'data-tp="units"' in page


def test_sessions_looking_at_once_each_see_only_their_own_model(engine_module, shipped, real_digits):
    images, _ = real_digits
    other = mlp()
    failures: list[str] = []

    def look(trained, expected: list[str]) -> None:
        for i in range(15):
            names = [layer.name for layer in engine_module.look_inside(trained, sketch_of(images[i])).layers]
            if names != expected:
                failures.append(f"{names} != {expected}")

    def train_something() -> None:  # a training step elsewhere is not recorded by anyone
        model = nn.Sequential(nn.Linear(4, 4))
        for _ in range(300):
            model(torch.randn(2, 4)).sum().backward()

    threads = [
        threading.Thread(target=look, args=(shipped, ["convs.0", "convs.1", "convs.2", "fc1", "fc2"])),
        threading.Thread(target=look, args=(other, ["1", "3"])),
        threading.Thread(target=train_something),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert not nn.modules.module._global_forward_hooks


def test_the_pictures_drawn_from_the_layers():
    maps = np.zeros((6, 3, 4), np.float32)
    maps[0, 0, 0], maps[1, 0, 0] = 2.0, -2.0
    grid = map_grid(maps)
    assert grid.shape == (3 * 2 + 1, 3 * 4 + 2, 3) and grid.dtype == np.uint8  # 3 columns, 2 rows, 1-pixel gaps
    assert map_grid(np.zeros((32, 2, 2), np.float32)).shape[:2] == (4 * 3 - 1, 8 * 3 - 1)  # 8 x 4, no empty tile
    assert tuple(grid[0, 0]) == (255, 200, 30)  # the strongest positive: yellow-orange
    assert grid[0, 5][2] == 255 and grid[0, 5][0] < 100  # the strongest negative: blue
    assert tuple(grid[1, 1]) == (0, 0, 0)  # zero is black
    assert tuple(grid[3, 0]) == (60, 60, 60)  # the gap
    seen = np.zeros((28, 28), np.uint8)
    heat = np.zeros((28, 28), np.float32)
    heat[10, 10] = 1.0
    overlay = saliency_overlay(seen, heat)
    assert tuple(overlay[10, 10]) == (255, 255, 40) and tuple(overlay[0, 0]) == (0, 0, 0)


def test_the_predict_tab_shows_all_classes_and_the_insides(engine_module, digit):
    store = SessionStore(shipped_loader(engine_module))
    predictor = Predictor(engine_module, store)
    view = predictor.predict("alice", sketch_of(digit[0]))
    assert isinstance(view.label, dict) and len(view.label) == 10
    assert view.inside.count('data-tp="maps"') == 3 and view.inside.count('data-tp="saliency"') == 1
    assert re.search(r"convs\.0</b> · Conv2d 1→16, 3×3 · 16 feature maps of 28×28", view.inside)
    assert "the first" not in view.inside  # 64 maps at most: every map of the shipped model is shown
    assert view.inside.count("data:image/png;base64,") == 5  # the picture, its saliency, three grids
    blank = predictor.predict("alice", {"background": None, "layers": [], "composite": None})
    assert blank.inside == EMPTY_INSIDE
    store.close()
