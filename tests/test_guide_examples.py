"""The plugin code that docs/plugins.md shows works as shown: each block that registers
something is loaded as a plugin module, its components register, the app builds its
tab, and a run made of the guide's dataset, model, optimizer and loss trains.

(The quick-start plugin is also installed from the guide's text and tested in
``test_example_plugin.py``.)
"""

from __future__ import annotations

import re
import types

import pytest

from source_reading import ROOT, python_blocks
from trainpad import TrainConfig
from trainpad.testing import write_idx_dataset

GUIDE = ROOT / "docs" / "plugins.md"


def plugin_blocks() -> list[tuple[int, str]]:
    return [(line, code) for line, code in python_blocks(GUIDE) if "@hookimpl" in code]


def as_module(line: int, code: str) -> types.ModuleType:
    import linecache

    filename = f"docs/plugins.md (block at line {line})"
    linecache.cache[filename] = (len(code), None, code.splitlines(keepends=True), filename)  # its source, as a file's
    module = types.ModuleType(f"guide_block_{line}")
    exec(compile(code, filename, "exec"), module.__dict__)
    return module


@pytest.fixture
def guide_engine(engine_with, clean_knobs):
    modules = [as_module(line, code) for line, code in plugin_blocks()]
    return engine_with(*modules), modules


def registered_names(code: str) -> set[str]:
    return set(re.findall(r'register\(\s*"([^"]+)"', code))


def test_every_plugin_block_of_the_guide_registers_what_it_says(guide_engine):
    engine, modules = guide_engine
    assert len(modules) >= 6, "the guide shows a plugin for each hook"
    assert not engine.failed_plugins(), [(p.name, p.error) for p in engine.failed_plugins()]
    names = {c.name for c in engine.registry} | {t.label for t in engine.tabs}
    for line, code in plugin_blocks():
        assert registered_names(code) <= names, f"the block at line {line} registers {registered_names(code) - names}"


def test_the_guides_components_train_together_and_its_tab_builds(guide_engine):
    from trainpad.web import app

    engine, _ = guide_engine
    config = TrainConfig(
        dataset="shapes", model="lenet1", optimizer="adamax", loss="focal",
        params={"model": {"activation": "relu"}, "optimizer": {"lr": 0.01}, "loss": {"gamma": 1.0}},
        batch_size=64, epochs=2, device="cpu",
    )  # fmt: skip
    end = engine.build_run(config).run()
    assert end.status == "completed" and end.trained.metrics["test_accuracy"] > 0.9, end.trained.metrics
    assert end.trained.spec["model"]["params"] == {"maps": 4, "activation": "relu"}
    assert end.trained.spec["optimizer"]["params"] == {"lr": 0.01, "weight_decay": 0.0}

    blocks = app.build_app(engine).blocks.values()
    assert "Shapes" in {getattr(b, "label", None) for b in blocks}
    show = next(f.fn for f in app.build_app(engine).fns.values() if getattr(f.fn, "__qualname__", "") == "shapes_tab.<locals>.show")
    pictures = show()
    assert len(pictures) == 30 and pictures[0][0].shape == (28, 28) and pictures[0][1] in ("square", "cross", "ring")


def test_the_guides_torchvision_factory_gets_the_decoded_cache(tmp_path, monkeypatch):
    (line, code) = next((line, code) for line, code in python_blocks(GUIDE) if "def mnist(" in code)
    module = as_module(line, code)
    data = write_idx_dataset(tmp_path / "data", train=64, test=32)
    monkeypatch.setenv("TRAINPAD_OFFLINE", "1")
    dataset = module.mnist(root=data, train=True)
    assert len(dataset) == 64 and tuple(dataset[0][0].shape) == (1, 28, 28)
    assert (data / "MNIST" / "decoded" / "MNIST-train.pt").is_file()


def test_the_guides_callback_stops_a_run_at_its_target(guide_engine, mnist_dir, monkeypatch):
    engine, _ = guide_engine
    monkeypatch.setenv("ACCURACY_TARGET", "0.0")  # any accuracy reaches it: the first epoch ends the run
    end = engine.build_run(TrainConfig(batch_size=32, epochs=3, device="cpu"), data_dir=mnist_dir).run()
    assert end.status == "stopped" and end.epochs_done == 1 and "reached" in end.message
