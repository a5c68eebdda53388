"""The demo plugin's own tests.

Run them where trainpad and this plugin are installed (``pip install -e .``)::

    pytest

The fixture ``engine_with`` comes from ``trainpad.testing``, which ``conftest.py`` turns
on with ``pytest_plugins = ["trainpad.testing"]``.
"""

from __future__ import annotations

import importlib.metadata

import pytest

import trainpad_demo_plugin as demo
from trainpad import Engine, TrainConfig
from trainpad.testing import gzip_files, write_idx_dataset

DEMO_RUN = dict(dataset="fashion-mnist", model="lenet5", optimizer="adam", loss="label-smoothing-ce")


def test_plugin_is_installed():
    entry_points = {ep.name: ep for ep in importlib.metadata.entry_points(group="trainpad")}
    assert entry_points["demo"].value == "trainpad_demo_plugin"
    info = Engine.load().plugins["demo"]
    assert (info.status, info.dist, info.error) == ("loaded", "trainpad-demo-plugin", None)


def test_it_registers_its_components_and_tab(engine_with):
    engine = engine_with(demo)
    for kind, name in [("dataset", "fashion-mnist"), ("model", "lenet5"), ("optimizer", "adam"), ("loss", "label-smoothing-ce")]:
        assert engine.registry.get(kind, name).plugin == "trainpad_demo_plugin"
    assert engine.registry.get("dataset", "fashion-mnist").meta["class_names"][9] == "Ankle boot"
    assert [p.name for p in engine.registry.get("optimizer", "adam").params] == [
        "lr", "beta1", "beta2", "eps", "weight_decay", "amsgrad"
    ]
    assert [tab.label for tab in engine.tabs if tab.plugin == "trainpad_demo_plugin"] == ["Fashion-MNIST"]
    assert not engine.failed_plugins()


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32), (1, 12, 12)])
def test_lenet5_gives_one_logit_per_class(shape):
    import torch

    model = demo.lenet5(input_shape=shape, num_classes=7, activation="tanh", pooling="avg", dropout=0.2)
    assert model(torch.zeros(2, *shape)).shape == (2, 7)


def test_lenet5_refuses_images_too_small():
    with pytest.raises(ValueError, match="at least 12x12"):
        demo.lenet5(input_shape=(1, 8, 8), num_classes=10)


def test_debian_files_are_unpacked_once(tmp_path):
    packed = write_idx_dataset(tmp_path / "debian", "x") / "x" / "raw"
    gzip_files(packed)
    raw = tmp_path / "data" / "FashionMNIST" / "raw"
    written = demo.unpack_debian_files(raw, packed)
    assert sorted(p.name for p in written) == sorted(demo.FILES)
    assert all((raw / name).read_bytes() == (packed / name).read_bytes() for name in demo.FILES)
    assert demo.unpack_debian_files(raw, packed) == []  # already there


def test_missing_files_say_how_to_get_them(engine_with, tmp_path, monkeypatch):
    from trainpad import TrainpadError

    monkeypatch.setenv("TRAINPAD_OFFLINE", "1")
    monkeypatch.setattr(demo, "DEBIAN_DIR", tmp_path / "not-installed")
    with pytest.raises(TrainpadError, match="apt install dataset-fashion-mnist"):
        engine_with(demo).load_dataset("fashion-mnist", train=False, root=tmp_path / "empty")


def test_it_trains(engine_with, tmp_path, monkeypatch):
    monkeypatch.setattr(demo, "DEBIAN_DIR", tmp_path / "not-installed")  # the small files below, not Debian's
    root = write_idx_dataset(tmp_path / "data", "FashionMNIST")
    engine = engine_with(demo)
    config = TrainConfig(**DEMO_RUN, params={"optimizer": {"lr": 0.003}}, epochs=3, batch_size=32, device="cpu")
    end = engine.build_run(config, data_dir=root).run()
    assert end.status == "completed", end.message
    assert end.trained.metrics["test_accuracy"] > 0.5
    assert end.trained.spec["loss"] == {"name": "label-smoothing-ce", "plugin": "trainpad_demo_plugin", "params": {"smoothing": 0.1}}
