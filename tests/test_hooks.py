"""Each hook in core/hookspecs.py: a test that uses it, and its entry in docs/plugins.md.

Like datasette's ``test_plugin_hooks_have_tests`` and ``test_plugin_hooks_are_documented``:
adding a hook without a ``test_hook_<name>`` here, or without a heading
``<name>(<arguments>)`` in the guide, fails the meta-tests at the end.
"""

from __future__ import annotations

import csv
import inspect
import re
from pathlib import Path

import pytest

from trainpad import Param, hookimpl, hookspecs
from trainpad.engine.training import TrainConfig

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "plugins.md"
GOOD_RUN = dict(dataset="blobs", model="tiny-mlp", optimizer="plain-sgd", loss="ce", batch_size=32, device="cpu", schedule="constant")

pytestmark = pytest.mark.usefixtures("clean_knobs")  # the environment running the tests sets none


def hook_names() -> list[str]:
    """The hooks that core/hookspecs.py specifies."""
    return sorted(name for name, _ in inspect.getmembers(hookspecs, inspect.isfunction) if hasattr(_, "trainpad_spec"))


@pytest.fixture
def good_engine(engine_with, plugin_module):
    return engine_with(plugin_module("good"))


# -- one test per hook -----------------------------------------------------------------


def test_hook_register_datasets(good_engine):
    dataset = good_engine.registry.get("dataset", "blobs")
    assert (dataset.plugin, dataset.description) == ("trainpad_test_good", "Three classes of bright squares on noise, made in memory.")
    assert dataset.meta["class_names"] == ["left", "middle", "right"] and dataset.meta["input_shape"] == (1, 12, 12)
    # root and train are context, count is a hyperparameter derived from the signature
    assert [(p.name, p.type, p.default) for p in dataset.params] == [("count", int, 96)]
    data = good_engine.load_dataset("blobs", {"count": "30"}, train=True)
    assert len(data) == 30 and data[0][0].shape == (1, 12, 12)
    assert good_engine.load_dataset("blobs", {"count": 30}, train=True) is data  # loaded once, shared
    run = good_engine.build_run(TrainConfig(**GOOD_RUN))
    assert run.parts.num_classes == 3


def test_hook_register_models(good_engine):
    model = good_engine.registry.get("model", "tiny-mlp")
    assert model.plugin == "trainpad_test_good" and model.meta.get("output", "logits") == "logits"
    assert model.params == (Param("hidden", int, 16, min=1, max=1024, help="hidden units"),)
    module = good_engine.build_model("tiny-mlp", {"hidden": 5}, input_shape=(1, 12, 12), num_classes=3)
    assert module[1].out_features == 5 and module[3].out_features == 3


def test_hook_register_optimizers(good_engine):
    import torch

    optimizer = good_engine.registry.get("optimizer", "plain-sgd")
    assert [(p.name, p.type, p.default) for p in optimizer.params] == [("lr", float, 0.5)]  # parameters is context
    built = optimizer.factory(torch.nn.Linear(2, 2).parameters(), **optimizer.validate({"lr": "0.25"}))
    assert isinstance(built, torch.optim.SGD) and built.param_groups[0]["lr"] == 0.25


def test_hook_register_losses(good_engine):
    import torch

    loss = good_engine.registry.get("loss", "ce")
    assert loss.meta["expects"] == "logits" and [p.name for p in loss.params] == ["smoothing"]
    value = loss.factory(smoothing=0.0)(torch.tensor([[10.0, 0.0, 0.0]]), torch.tensor([0]))
    assert value.dim() == 0 and value.item() < 0.001


def test_hook_register_callbacks(good_engine, plugin_module):
    good = plugin_module("good")
    good.SEEN.clear()
    run = good_engine.build_run(TrainConfig(**{**GOOD_RUN, "epochs": 2}))
    assert [name for name, _ in run.parts.callbacks] == ["recorder"]  # csv-log stays out: its factory gave None
    run.run()
    steps = len(run.parts.train_loader)
    assert good.SEEN == ["train_begin", *["batch_end"] * steps, "epoch_end", *["batch_end"] * steps, "epoch_end", "train_end:completed"]


def test_builtin_csv_log_is_off_by_default(good_engine, monkeypatch, tmp_path):
    monkeypatch.delenv("TRAINPAD_METRICS_CSV", raising=False)
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    assert good_engine.registry.get("callback", "csv-log").plugin == "csv_log"
    run = good_engine.build_run(TrainConfig(**GOOD_RUN))
    assert "csv-log" not in [name for name, _ in run.parts.callbacks]
    assert run.run().status == "completed"
    assert not list((tmp_path / "cwd").iterdir())


def test_builtin_csv_log_writes_a_row_per_epoch_when_switched_on(good_engine, monkeypatch, tmp_path):
    path = tmp_path / "logs" / "metrics.csv"
    monkeypatch.setenv("TRAINPAD_METRICS_CSV", str(path))
    for epochs in (2, 1):  # a second run appends
        good_engine.build_run(TrainConfig(**{**GOOD_RUN, "epochs": epochs})).run()
    rows = list(csv.DictReader(path.open()))
    assert [row["epoch"] for row in rows] == ["1", "2", "1"]
    assert {row["model"] for row in rows} == {"tiny-mlp"} and {row["optimizer"] for row in rows} == {"plain-sgd"}
    assert all(0.0 <= float(row["test_accuracy"]) <= 1.0 and float(row["train_loss"]) > 0 for row in rows)


def test_builtin_csv_log_can_be_blocked(use_entry_points, monkeypatch):
    from trainpad.engine.engine import Engine

    monkeypatch.setenv("TRAINPAD_DISABLE_PLUGINS", "csv_log")
    engine = Engine.load()
    assert engine.plugins["csv_log"].status == "blocked" and "csv-log" not in engine.registry.names("callback")


def test_hook_register_experiments(engine_with, plugin_module, mnist_dir):
    from trainpad import LabProgress, LabResult
    from trainpad.engine.lab.runner import LabRequest, run

    engine = engine_with(plugin_module("lab"))
    component = engine.registry.get("experiment", "momentum")
    assert (component.plugin, component.description) == ("trainpad_test_lab", "Plain SGD against SGD with momentum 0.9: the loss at every step.")
    assert [(p.name, p.default) for p in component.params] == [("steps", 8)]  # lab is context
    experiment = next(e for e in engine.experiments() if e.name == "momentum")
    assert experiment.title == "SGD(momentum=0.9)" and experiment.needs == "data" and experiment.samples == (256, 64)
    (first, second) = experiment.versions
    assert [first.lines[i] for i in first.changed] == ["optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)"]
    assert [second.lines[i] for i in second.changed] == ["optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.0)"]

    prepared = engine.prepare_experiment(LabRequest("momentum", "mnist", {"steps": "3"}), data_dir=mnist_dir)
    assert prepared.params == {"steps": 3} and tuple(prepared.lab.train_x.shape) == (256, 1, 28, 28)
    events = list(run(prepared))
    assert [type(e) for e in events] == [LabProgress] * 6 + [LabResult]
    result = events[-1]
    assert [arm.name for arm in result.arms] == ["momentum-0.9", "momentum-0.0"] and len(result.arms[0].curves["loss"]) == 3
    assert result.arms[0].curves["loss"][0] == result.arms[1].curves["loss"][0]  # the same start: momentum acts from step 2
    assert result.arms[0].curves["loss"][1:] != result.arms[1].curves["loss"][1:]
    script = engine.export_experiment(prepared)
    assert script.missing == () and "def momentum(lab, *, steps=8):" in script.source and "def train(lab, momentum, steps):" in script.source


def test_hook_register_tabs(good_engine):
    tabs = [(tab.label, tab.order, tab.plugin) for tab in good_engine.tabs]
    assert ("Good tab", 95, "trainpad_test_good") in tabs
    assert [order for _, order, _ in tabs] == sorted(order for _, order, _ in tabs)  # by order
    assert all(tab.order < 95 for tab in good_engine.tabs if tab.plugin != "trainpad_test_good")  # built-ins first


def test_plugin_tabs_are_built_into_the_app_and_a_broken_one_is_reported(engine_with, plugin_module):
    from trainpad.web import app
    import gradio as gr

    class Broken:
        @hookimpl
        def register_tabs(self, register):
            register("Broken tab", self.build, order=96)

        def build(self, engine):
            raise RuntimeError("no widgets today")

    engine = engine_with(plugin_module("good"), Broken())
    demo = app.build_app(engine)
    tabs = {block.label: block for block in demo.blocks.values() if isinstance(block, gr.Tab)}
    assert tabs["Good tab"].visible is not False
    assert any(isinstance(b, gr.Markdown) and "components" in str(b.value) for b in demo.blocks.values())
    assert tabs["Broken tab"].visible is False  # left out ...
    # ... and reported against its plugin, for the Plugins tab and `trainpad plugins`
    assert 'tab "Broken tab" failed to build: RuntimeError: no widgets today' in engine.plugins["test-plugin-1"].error
    assert "Train" in tabs and "Plugins" in tabs


# -- how hooks are called --------------------------------------------------------------


def test_each_hook_is_called_once_at_startup_and_impls_may_take_fewer_arguments(engine_with):
    calls = []

    class Counting:
        @hookimpl
        def register_models(self, register):
            calls.append("register_models")

        @hookimpl
        def register_tabs(self):  # takes none of the arguments: allowed
            calls.append("register_tabs")

    engine = engine_with(Counting())
    engine.startup()  # a second startup() does nothing
    assert calls == ["register_models", "register_tabs"]
    assert engine.plugins["test-plugin-0"].status == "loaded"


# -- meta-tests ---------------------------------------------------------------------------


def test_hookspecs_are_the_documented_set():
    assert hook_names() == [
        "register_callbacks", "register_datasets", "register_experiments", "register_losses", "register_models",
        "register_optimizers", "register_tabs",
    ]


@pytest.mark.parametrize("hook", hook_names())
def test_every_hook_has_a_test(hook):
    assert f"test_hook_{hook}" in globals(), f"add test_hook_{hook} to tests/test_hooks.py"


def documented_hooks() -> dict[str, str]:
    """``name -> "name(args)"`` for each hook heading in docs/plugins.md."""
    headings = re.findall(r"^#{2,4} `(\w+)\(([\w, ]*)\)`\s*$", GUIDE.read_text(), flags=re.MULTILINE)
    return {name: f"{name}({args})" for name, args in headings if name.startswith("register_")}


@pytest.mark.parametrize("hook", hook_names())
def test_every_hook_is_documented_with_its_signature(hook):
    spec = getattr(hookspecs, hook)
    signature = f"{hook}({', '.join(inspect.signature(spec).parameters)})"
    assert documented_hooks().get(hook) == signature, f"docs/plugins.md needs a heading ### `{signature}`"


def test_the_guide_documents_no_hook_that_does_not_exist():
    assert sorted(documented_hooks()) == hook_names()


def test_the_guide_names_every_knob_the_loader_reads():
    import trainpad.engine.plugin_loader

    guide = GUIDE.read_text()
    knobs = set(re.findall(r"TRAINPAD_[A-Z_]+", inspect.getsource(trainpad.engine.plugin_loader)))
    assert knobs and all(knob in guide for knob in knobs)
