"""Presets: the recipes themselves, what each puts in the Train tab's fields, "edited", and
``trainpad train --preset``.

The form is driven through the app's own event functions (built, not launched); the
browser test in ``tests/browser`` picks each preset in Chromium and trains the quick one.
How well "Best" does is a benchmark (``bench/best_preset.py``), not a test.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from trainpad import TrainConfig
from trainpad.engine.errors import ConfigError
from trainpad.engine.presets import PRESETS, available_presets, changes, get_preset
from trainpad.testing import write_idx_dataset
from trainpad.web.messages import UserError
from trainpad.web.preset_form import preset_note, preset_values

NAMES = [preset.name for preset in PRESETS]

pytestmark = pytest.mark.usefixtures(
    "clean_knobs",  # the environment running the tests sets none
    "no_debian_files",  # Fashion-MNIST reads the small files below
)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    for folder in ("MNIST", "FashionMNIST", "KMNIST"):
        write_idx_dataset(root, folder)
    return root




# -- the recipes -------------------------------------------------------------------------


def test_the_presets_the_issue_asks_for(engine):
    assert NAMES == ["quick", "best", "tutorial", "fashion-mnist", "kmnist"]
    assert available_presets(engine.registry) == list(PRESETS)  # every component is built in
    assert get_preset("quick").config == TrainConfig()  # Quick is the default run
    tutorial = get_preset("tutorial").resolved(engine.registry)
    assert (tutorial.optimizer, tutorial.loss, tutorial.schedule) == ("sgd", "nll", "constant")
    assert tutorial.params["optimizer"] == {"lr": 0.05, "momentum": 0.0, "weight_decay": 0.0, "nesterov": False}
    # one per dataset other than MNIST
    others = {p.config.dataset for p in PRESETS} - {"mnist"}
    assert others == set(engine.registry.names("dataset")) - {"mnist"}
    assert all(preset.summary and preset.label for preset in PRESETS)


@pytest.mark.parametrize("name", NAMES)
def test_each_preset_builds_and_trains(engine, data, name):
    config = replace(get_preset(name).config, epochs=1, train_samples=96, test_samples=64, device="cpu")
    end = engine.build_run(config, data_dir=data).run()
    assert end.status == "completed", end.message
    assert end.trained.spec["dataset"]["name"] == get_preset(name).config.dataset


def test_a_preset_needs_its_components(engine_with, monkeypatch):
    monkeypatch.setenv("TRAINPAD_DISABLE_PLUGINS", "kmnist")
    engine = engine_with()
    assert "kmnist" not in [p.name for p in available_presets(engine.registry)]
    with pytest.raises(ConfigError, match="preset 'kmnist' needs dataset kmnist, which is not registered"):
        get_preset("kmnist", engine.registry)
    with pytest.raises(ConfigError, match="no preset named 'fast'; presets: quick, best, tutorial, fashion-mnist$"):
        get_preset("fast", engine.registry)


def test_changes_name_each_field_that_differs(engine):
    best = get_preset("best")
    assert changes(best, best.config, engine.registry) == []
    assert changes(best, best.resolved(engine.registry), engine.registry) == []  # defaults spelled out or not
    edited = replace(best.config, batch_size=256, params={**best.config.params, "optimizer": {"nesterov": False}})
    assert changes(best, edited, engine.registry) == ["optimizer nesterov on → off", "batch size 128 → 256"]
    assert changes(best, replace(best.config, model="mlp"), engine.registry) == ["model mnist-cnn → mlp"]
    # what a form sends: strings and floats for whole numbers are the same values
    as_sent = replace(best.config, epochs=float(best.config.epochs), seed="1")
    assert changes(best, as_sent, engine.registry) == []
    assert changes(best, replace(best.config, epochs="many"), engine.registry) == ["epochs 3 → many"]
    emptied = replace(best.config, epochs=None, params={**best.config.params, "optimizer": {"lr": ""}})
    assert changes(best, emptied, engine.registry) == ["optimizer lr 0.1 → (empty)", "epochs 3 → (empty)"]  # not "None"


# -- the Train tab -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def app_engine():
    from trainpad.engine.engine import Engine

    return Engine.load(entrypoints=False)


@pytest.fixture(scope="module")
def train_form(app_engine):
    """The built app's preset event, the form's change event (whose outputs hold the preset's
    note), and the fields they fill, by label."""
    from trainpad.web import app

    demo = app.build_app(app_engine)
    functions = {(f.fn.__module__, f.fn.__qualname__): f for f in demo.fns.values() if f.fn is not None}
    fill = functions["trainpad.plugins.train_tab", "wire_presets.<locals>.on_preset"]
    edit = functions["trainpad.plugins.train_tab", "wire_form_changes.<locals>.on_form"]
    return demo, fill, edit


def preset_note_for(edit, name: str, values: dict) -> Any:
    """What the form's change handler shows in the Preset menu for the fields' ``values``
    (a field the preset does not fill, the device, keeps its own)."""
    menu = edit.inputs[0]
    fields = dict(zip(edit.input_keyword_names, edit.inputs[1:], strict=True))  # the form's fields, by API name
    shown = edit.fn(None, name, **{key: values.get(block, block.value) for key, block in fields.items()})
    return shown[menu]


def labelled(block) -> str:
    return getattr(block, "label", None) or ""


@pytest.mark.parametrize("name", NAMES)
def test_choosing_a_preset_fills_every_field(app_engine, train_form, name):
    demo, fill, edit = train_form
    updates = fill.fn(name)
    filled = {block: value for block, value in updates.items()}
    fields = list(fill.outputs)
    assert set(filled) == set(fields)  # every field of the form, and the menu itself
    preset = get_preset(name)
    by_label = {labelled(block): value for block, value in filled.items() if not hasattr(value, "get_config")}
    assert {kind: by_label[kind.capitalize()] for kind in ("dataset", "model", "optimizer", "loss")} == preset.components()
    settings = preset.settings()
    assert (by_label["Epochs"], by_label["Batch size"], by_label["LR schedule"], by_label["Seed"]) == (
        settings["epochs"], settings["batch_size"], settings["schedule"], settings["seed"]
    )
    assert by_label["Carry on training the current model"] is False
    # hyperparameters: the preset's own for its components, defaults for the others
    values = preset_values(app_engine, name)
    for kind, components in values.params.items():
        for component, params in components.items():
            expected = preset.params(app_engine.registry)[kind] if component == preset.components()[kind] else app_engine.registry.get(kind, component).defaults()
            assert params == expected
    # and the form, read back as the edit check reads it, is the preset's
    note = preset_note_for(edit, name, filled)
    assert (note.label, note.info) == ("Preset", preset.summary)


def test_changing_a_field_after_a_preset_shows_it_was_edited(app_engine, train_form):
    demo, fill, edit = train_form
    filled = fill.fn("best")
    batch = next(block for block in edit.inputs[1:] if labelled(block) == "Batch size")
    lr = next(block for block in edit.inputs[1:] if labelled(block) == "lr" and filled.get(block) == 0.1)  # sgd's
    note = preset_note_for(edit, "best", {**filled, batch: 256, lr: 0.05})
    assert note.label == "Preset (edited)"
    assert note.info == "Edited: optimizer lr 0.1 → 0.05; batch size 128 → 256."
    assert preset_note_for(edit, "best", {**filled, batch: 128, lr: 0.1}).label == "Preset"  # put back: the preset again


def test_the_preset_events_refuse_what_the_page_never_sends(app_engine):
    for bad in ("no-such", None, 7, ["best"]):
        with pytest.raises(UserError, match="(?i)preset"):
            preset_values(app_engine, bad)
    # garbage field values are shown as sent, never raised
    note, edited = preset_note(app_engine, "quick", {"dataset": ["x"], "model": None}, {"optimizer": "lr"}, {"epochs": {"a": 1}})
    assert edited and note.startswith("Edited: dataset mnist → ['x']; model mnist-cnn → None")


# -- the command line ------------------------------------------------------------------------


def test_trainpad_train_preset(data, tmp_path):
    from test_cli import trainpad

    listing = json.loads(trainpad("presets", "--json").stdout)
    assert [p["name"] for p in listing] == NAMES and listing[1]["params"]["loss"] == {"smoothing": 0.1}
    help_text = trainpad("train", "--preset", "best", "--help").stdout
    assert "--loss NAME           the loss (default cross-entropy)" in help_text
    assert "(int, default 1, 0..4)" in help_text  # the dataset's shift, as the preset sets it

    checkpoint = tmp_path / "tutorial.pt"
    out = trainpad("train", "--preset", "tutorial", "--optimizer-lr", "0.02", "--train-samples", "128", "--data-dir", data, "-o", checkpoint)
    assert out.returncode == 0, out.stderr
    assert "with sgd and nll: 1 epoch(s), batch 64, 128 samples" in out.stderr
    from trainpad.engine.checkpoint import load_checkpoint
    from trainpad.engine.engine import Engine

    spec = load_checkpoint(Engine.load(entrypoints=False).registry, checkpoint).spec
    assert spec["optimizer"]["params"] == {"lr": 0.02, "momentum": 0.0, "weight_decay": 0.0, "nesterov": False}
    assert spec["run"]["schedule"] == "constant"

    out = trainpad("train", "--preset", "fast")
    assert out.returncode == 2 and "no preset named 'fast'" in out.stderr and "Traceback" not in out.stderr
