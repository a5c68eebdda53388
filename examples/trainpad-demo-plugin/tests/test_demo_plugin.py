"""The demo plugin's own tests.

Run them where trainpad and this plugin are installed (``pip install -e .``)::

    pytest

The fixture ``engine_with`` comes from ``trainpad.testing``, which ``conftest.py`` turns
on with ``pytest_plugins = ["trainpad.testing"]``.
"""

from __future__ import annotations

import importlib.metadata

import pytest
import torch

import trainpad_demo_plugin as demo
from trainpad import Engine, TrainConfig

DEMO_RUN = dict(dataset="shapes", model="mnist-cnn", optimizer="lion", loss="focal")


def test_plugin_is_installed():
    entry_points = {ep.name: ep for ep in importlib.metadata.entry_points(group="trainpad")}
    assert entry_points["demo"].value == "trainpad_demo_plugin"
    info = Engine.load().plugins["demo"]
    assert (info.status, info.dist, info.error) == ("loaded", "trainpad-demo-plugin", None)


def test_it_registers_its_components_and_tab(engine_with):
    engine = engine_with(demo)
    for kind, name in [("dataset", "shapes"), ("optimizer", "lion"), ("loss", "focal")]:
        assert engine.registry.get(kind, name).plugin == "trainpad_demo_plugin"
    shapes = engine.registry.get("dataset", "shapes")
    assert shapes.meta["class_names"] == ["circle", "triangle", "square", "cross"] and shapes.meta["ink"] == "centre"
    assert [p.name for p in shapes.params] == ["count", "noise"]
    assert [p.name for p in engine.registry.get("optimizer", "lion").params] == ["lr", "beta1", "beta2", "weight_decay"]
    assert [tab.label for tab in engine.tabs if tab.plugin == "trainpad_demo_plugin"] == ["Shapes"]
    assert not engine.failed_plugins()


def test_the_shapes_are_the_same_every_time_and_their_statistics_are_the_declared_ones():
    train = demo.shapes(root=None, train=True)
    test = demo.shapes(root=None, train=False)
    assert (len(train), len(test)) == (6000, 1000)
    assert torch.equal(train.images, demo.shapes(root=None, train=True).images)  # made from a fixed seed
    assert not torch.equal(train.images[:1000], test.images)  # another seed for the test split
    assert torch.bincount(train.targets).tolist() == [1500] * 4
    pixels = train.images.float() / 255
    assert abs(pixels.mean().item() - demo.MEAN[0]) < 1e-3 and abs(pixels.std().item() - demo.STD[0]) < 1e-3


def test_the_dataset_hyperparameters_change_the_pictures(engine_with):
    engine = engine_with(demo)
    small = engine.load_dataset("shapes", {"count": 400, "noise": 0.0}, train=True)
    assert len(small) == 400 and len(engine.load_dataset("shapes", {"count": 400}, train=False)) == 66
    assert (small.images > 0).float().mean() < 0.3  # no speckle: only the strokes are lit


def test_lion_steps_every_weight_by_the_learning_rate():
    weight = torch.nn.Parameter(torch.tensor([1.0, -2.0, 3.0]))
    optimizer = demo.lion([weight], lr=0.1)
    weight.grad = torch.tensor([0.5, -4.0, 0.0])
    optimizer.step()
    assert torch.allclose(weight.detach(), torch.tensor([0.9, -1.9, 3.0]))  # the sign, not the size, of the gradient


@pytest.mark.parametrize("gamma", [0.0, 2.0])
def test_focal_loss_is_cross_entropy_that_counts_easy_answers_less(gamma):
    import torch.nn.functional as F

    logits, target = torch.randn(8, 4) * 3, torch.arange(8) % 4
    loss = demo.focal(gamma=gamma)(logits, target)
    if gamma == 0:
        assert torch.allclose(loss, F.cross_entropy(logits, target))
    else:
        assert 0 < loss < F.cross_entropy(logits, target)


def test_it_trains(engine_with):
    engine = engine_with(demo)
    config = TrainConfig(**DEMO_RUN, params={"dataset": {"count": 1200}, "optimizer": {"lr": 0.003}}, epochs=2, batch_size=32, device="cpu")
    end = engine.build_run(config).run()
    assert end.status == "completed", end.message
    assert end.trained.metrics["test_accuracy"] > 0.8  # guessing gives 25%
    assert end.trained.spec["loss"] == {"name": "focal", "plugin": "trainpad_demo_plugin", "params": {"gamma": 2.0}}
