"""A broken plugin loses only its own contribution, and a broken component fails only its run.

Start-up: a plugin that raises inside a hook, registers something invalid or takes a
name that is already taken is reported with its name and the reason, and every other
component is registered.  Use: a component whose factory raises, whose model gives the
wrong shape or whose loss is NaN fails that run with a message naming it, and the
engine trains the next run as usual.
"""

from __future__ import annotations

import types

import pytest

from trainpad import Param, hookimpl
from trainpad.engine.callbacks import Callback
from trainpad.engine.errors import ComponentError
from trainpad.engine.plugin_loader import PluginError
from trainpad.engine.training import TrainConfig

GOOD_RUN = dict(dataset="blobs", model="tiny-mlp", optimizer="plain-sgd", loss="ce", batch_size=32, device="cpu", schedule="constant")

pytestmark = pytest.mark.usefixtures("clean_knobs")  # the environment running the tests sets none


def assert_still_trains(engine) -> None:
    """The app keeps serving: a run of good components completes and learns."""
    end = engine.build_run(TrainConfig(**GOOD_RUN)).run()
    assert end.status == "completed", end.message
    assert end.trained.metrics["test_accuracy"] > 0.9


# -- start-up --------------------------------------------------------------------------


def test_a_plugin_raising_in_a_hook_loses_only_its_own_components(engine_with, plugin_module, caplog):
    good, raises = plugin_module("good"), plugin_module("raises")
    engine = engine_with(raises, good)
    info = engine.plugins["trainpad_test_raises"]
    assert info.status == "failed"
    assert info.error == "register_models raised RuntimeError: the model server is down"
    assert 'Error in plugin "trainpad_test_raises": register_models raised RuntimeError' in caplog.text
    # the loss it registered before raising is gone too; the others' components are all there
    assert "raises-loss" not in engine.registry.names("loss")
    builtins = {name for name, info in engine.plugins.items() if info.builtin and not name.endswith("_tab")}
    assert {c.plugin for c in engine.registry} == {"trainpad_test_good"} | builtins
    assert [i.name for i in engine.failed_plugins()] == ["trainpad_test_raises"]
    assert_still_trains(engine)


def model_factory(*, input_shape, num_classes, width=4):
    return None


def no_default(*, input_shape, num_classes, width):
    return None


INVALID = {
    "bad name": ("register_models", lambda r: r("Tiny MLP", model_factory),
                 "plugin 'test-plugin-0' registering model 'Tiny MLP': the name must be lowercase"),
    "empty name": ("register_models", lambda r: r("", model_factory), "the name must be lowercase"),
    "factory not callable": ("register_models", lambda r: r("not-callable", "model_factory"),
                             "the factory 'model_factory' is not callable"),
    "param the factory lacks": ("register_models", lambda r: r("extra", model_factory, params=[Param("depth", int, 2)]),
                                "declares parameter(s) depth that model_factory() does not accept"),
    "param not a Param": ("register_models", lambda r: r("dict-param", model_factory, params=[{"name": "width"}]),
                          "params must be a list of trainpad.Param"),
    "param without default": ("register_models", lambda r: r("no-default", no_default),
                              "no_default() argument 'width' has no default; give every hyperparameter a default"),
    "param of a bad type": ("register_losses", lambda r: r("bad-type", lambda weight=(): None, params=[Param("weight", list, [])]),
                            "register_losses raised ParamDeclarationError: parameter 'weight' has type"),
    "dataset without class_names": ("register_datasets", lambda r: r("no-classes", lambda *, root, train: None),
                                    "registering dataset 'no-classes': a dataset needs class_names=[...]"),
    "tab without label": ("register_tabs", lambda r: r("", lambda engine: None),
                          "register(label, build) needs a label and a callable build(engine)"),
    "tab without build": ("register_tabs", lambda r: r("No build", None), "needs a label and a callable build(engine)"),
}


@pytest.mark.parametrize("hook, call, reason", INVALID.values(), ids=INVALID.keys())
def test_an_invalid_registration_fails_its_plugin_with_the_reason(engine_with, plugin_module, hook, call, reason):
    def valid(register):
        register("valid-optimizer", lambda parameters, lr=0.1: None)

    def invalid(register):
        call(register)

    plugin = types.SimpleNamespace(register_optimizers=hookimpl(valid), **{hook: hookimpl(invalid)})
    engine = engine_with(plugin, plugin_module("good"))
    info = engine.plugins["test-plugin-0"]
    assert info.status == "failed" and reason in info.error
    assert "valid-optimizer" not in engine.registry.names("optimizer")  # all its components go
    assert_still_trains(engine)


def test_strict_mode_raises_for_a_plugin_that_raises(engine_with, plugin_module, monkeypatch):
    raises = plugin_module("raises")
    monkeypatch.setenv("TRAINPAD_STRICT_PLUGINS", "1")
    with pytest.raises(PluginError, match='plugin "trainpad_test_raises": the model server is down'):
        engine_with(raises)


@pytest.mark.parametrize("clash_first", [True, False])
def test_a_name_taken_twice_keeps_the_first_and_reports_the_other(engine_with, plugin_module, clash_first):
    good, clash = plugin_module("good"), plugin_module("clash")
    engine = engine_with(*((clash, good) if clash_first else (good, clash)))
    # the built-in keeps its name even though the clashing hook is tryfirst
    assert engine.registry.get("model", "mnist-cnn").plugin == "mnist_cnn"
    assert engine.registry.get("model", "clash-only").plugin == "trainpad_test_clash"
    info = engine.plugins["trainpad_test_clash"]
    assert info.status == "loaded"  # it keeps what it could register
    assert "model 'mnist-cnn' is registered twice: by plugin 'mnist_cnn' and by plugin 'trainpad_test_clash'; " \
        "the one from 'mnist_cnn' is kept" in info.error
    # between two third-party plugins, the first called wins: pluggy calls the last registered first,
    # but tryfirst puts the clashing hook ahead either way
    assert engine.registry.get("model", "tiny-mlp").plugin == "trainpad_test_clash"
    assert "model 'tiny-mlp' is registered twice" in engine.plugins["trainpad_test_good"].error
    assert engine.plugins["trainpad_test_good"].status == "loaded"
    assert {i.name for i in engine.failed_plugins()} == {"trainpad_test_clash", "trainpad_test_good"}


def test_between_third_party_plugins_the_first_called_wins(engine_with):
    def make(label):
        class Plugin:
            @hookimpl
            def register_optimizers(self, register):
                register("shared", lambda parameters, lr=0.1: None, description=label)

        return Plugin()

    engine = engine_with(make("registered first"), make("registered last"))
    # pluggy calls the plugin registered last first (LIFO)
    assert engine.registry.get("optimizer", "shared").description == "registered last"
    assert "registered twice: by plugin 'test-plugin-1' and by plugin 'test-plugin-0'" in engine.plugins["test-plugin-0"].error


def test_strict_mode_raises_for_a_name_taken_twice(engine_with, plugin_module, monkeypatch):
    clash = plugin_module("clash")
    monkeypatch.setenv("TRAINPAD_STRICT_PLUGINS", "1")
    with pytest.raises(PluginError, match="model 'mnist-cnn' is registered twice"):
        engine_with(clash)


def test_a_tab_label_taken_twice_keeps_the_first(engine_with):
    class Tabs:
        def __init__(self, text):
            self.text = text

        @hookimpl
        def register_tabs(self, register):
            register("Notes", lambda engine: self.text)

    engine = engine_with(Tabs("first"), Tabs("second"))
    notes = [tab for tab in engine.tabs if tab.label == "Notes"]
    assert len(notes) == 1 and notes[0].plugin == "test-plugin-1"
    assert "tab 'Notes' is registered twice" in engine.plugins["test-plugin-0"].error


# -- use ---------------------------------------------------------------------------------


@pytest.fixture
def use_time_engine(engine_with, plugin_module, mnist_dir, monkeypatch):
    monkeypatch.setenv("TRAINPAD_DATA_DIR", str(mnist_dir))
    engine = engine_with(plugin_module("use_time"), plugin_module("good"))
    assert not engine.failed_plugins()  # they all register fine
    return engine


def test_a_model_factory_that_raises_fails_the_run_naming_it(use_time_engine):
    with pytest.raises(ComponentError, match="model broken-factory failed: RuntimeError: weights file not found"):
        use_time_engine.build_run(TrainConfig(**{**GOOD_RUN, "model": "broken-factory"}))
    assert_still_trains(use_time_engine)


def test_a_model_with_the_wrong_output_shape_fails_the_run_naming_it(use_time_engine):
    run = use_time_engine.build_run(TrainConfig(**{**GOOD_RUN, "dataset": "mnist", "model": "wrong-shape"}))
    with pytest.raises(ComponentError, match=r"model wrong-shape failed: its output has shape \(32, 3\), but this dataset needs \(32, 10\)"):
        run.run()
    assert_still_trains(use_time_engine)


def test_a_loss_that_returns_nan_fails_the_run_naming_it(use_time_engine):
    config = TrainConfig(**{**GOOD_RUN, "model": "mnist-cnn", "loss": "nan-loss", "optimizer": "sgd"})
    end = use_time_engine.build_run(config).run()
    assert end.status == "diverged" and end.epochs_done == 0
    assert end.message.startswith("loss nan-loss returned nan on the first batch, before any training step")
    assert "the loss nan-loss (or the model mnist-cnn) is broken, not the learning rate" in end.message
    assert_still_trains(use_time_engine)


def test_a_loss_that_returns_no_tensor_fails_the_run_naming_it(use_time_engine):
    config = TrainConfig(**{**GOOD_RUN, "model": "mnist-cnn", "loss": "float-loss", "optimizer": "sgd"})
    with pytest.raises(ComponentError, match="loss float-loss failed: AttributeError"):
        use_time_engine.build_run(config).run()
    assert_still_trains(use_time_engine)


def test_an_optimizer_factory_that_returns_no_optimizer_fails_the_run_naming_it(use_time_engine):
    with pytest.raises(ComponentError, match="optimizer not-an-optimizer failed: its factory returned list, not an Optimizer"):
        use_time_engine.build_run(TrainConfig(**{**GOOD_RUN, "optimizer": "not-an-optimizer"}))
    assert_still_trains(use_time_engine)


def test_a_callback_that_raises_fails_the_run_naming_it(engine_with, plugin_module):
    class Boom(Callback):
        def on_epoch_end(self, run, event, **kwargs):
            raise OSError("disk full")

    class Plugin:
        @hookimpl
        def register_callbacks(self, register):
            register("boom", Boom)

    engine = engine_with(Plugin(), plugin_module("good"))
    run = engine.build_run(TrainConfig(**GOOD_RUN))
    with pytest.raises(ComponentError, match="callback boom failed: OSError: disk full"):
        run.run()
    assert run.history and run.history[0].epoch == 1  # the epoch it was told about did finish


def test_a_callback_factory_that_raises_fails_the_run_naming_it(engine_with, plugin_module):
    def broken():
        raise KeyError("token")

    class Plugin:
        @hookimpl
        def register_callbacks(self, register):
            register("needs-token", broken)

    engine = engine_with(Plugin(), plugin_module("good"))
    plugin = engine.component("callback", "needs-token").plugin
    with pytest.raises(ComponentError, match="callback needs-token failed: KeyError") as failed:
        engine.build_run(TrainConfig(**GOOD_RUN))
    assert str(failed.value).endswith(f"is fixed or switched off (TRAINPAD_DISABLE_PLUGINS={plugin})")


def test_a_missing_dataset_file_is_a_message_not_a_crash(use_time_engine, tmp_path, monkeypatch):
    from trainpad.engine.errors import TrainpadError

    monkeypatch.setenv("TRAINPAD_OFFLINE", "1")
    with pytest.raises(TrainpadError, match="MNIST is not in"):
        use_time_engine.build_run(TrainConfig(**{**GOOD_RUN, "dataset": "mnist", "model": "tiny-mlp"}), data_dir=tmp_path / "empty")
    assert_still_trains(use_time_engine)


def test_a_plugins_model_returning_logits_trains_with_the_built_in_nll_loss(use_time_engine):
    run = use_time_engine.build_run(TrainConfig(**{**GOOD_RUN, "loss": "nll"}))
    assert run.pairing.startswith("model tiny-mlp returns logits and loss nll expects log-probabilities")
    end = run.run()
    assert end.status == "completed" and end.trained.metrics["test_accuracy"] > 0.9


# -- the app ------------------------------------------------------------------------------


def test_the_app_starts_beside_broken_plugins_and_its_plugins_tab_shows_them(use_entry_points):
    from trainpad.web import app
    import gradio as gr

    from trainpad.engine.engine import Engine
    from trainpad.web.plugin_listing import listing_html, plugin_listing
    from trainpad_test_support import entry_point

    use_entry_points(
        entry_point("broken_import", name="broken"),
        entry_point("typo_hook", name="typo"),
        entry_point("raises"),
        entry_point("clash"),
        entry_point("good"),
    )
    engine = Engine.load()
    demo = app.build_app(engine)
    tabs = {b.label for b in demo.blocks.values() if isinstance(b, gr.Tab) and b.visible is not False}
    assert {"Train", "Evaluate", "Predict", "Plugins", "Good tab"} <= tabs
    dropdowns = {b.label: [v for _, v in b.choices] for b in demo.blocks.values() if isinstance(b, gr.Dropdown)}
    assert {"mnist-cnn", "tiny-mlp", "clash-only"} <= set(dropdowns["Model"]) and "raises-loss" not in dropdowns["Loss"]

    listing = plugin_listing(engine)
    # clash and good stay loaded, each with a name refused (clash's hook is tryfirst, so it takes tiny-mlp)
    assert set(listing["failed"]) == {"broken", "typo", "raises", "clash", "good"}
    errors = {p["name"]: p["error"] for p in listing["plugins"]}
    assert errors["broken"].startswith("cannot import it: ModuleNotFoundError")
    assert errors["typo"].startswith("implements register_model, which is not a trainpad hook")
    assert errors["raises"] == "register_models raised RuntimeError: the model server is down"
    assert "model 'mnist-cnn' is registered twice" in errors["clash"]
    page = listing_html(engine)
    assert "5 with errors" in page and "the model server is down" in page and "which is not a trainpad hook" in page
