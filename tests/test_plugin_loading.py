"""Finding and loading plugins: entry points, the knobs, and plugins that fail to load.

The installed plugins are replaced by fake entry points that import real modules
from ``tests/plugins/`` (see ``trainpad_test_support``).  Every test checks both
sides of a failure: the failing plugin is reported with its reason, and everything
else (built-ins, the other plugins, the CLI) still works.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from trainpad_test_support import entry_point

from trainpad import cli
from trainpad.engine.engine import Engine
from trainpad import hookimpl
from trainpad.engine.plugin_loader import (
    DEFAULT_PLUGINS, PluginError, PluginInfo, PluginLoader, hook_names, make_plugin_manager,
)

BUILTINS = {module.rsplit(".", 1)[-1] for module in DEFAULT_PLUGINS}
GOOD = {("dataset", "blobs"), ("model", "tiny-mlp"), ("optimizer", "plain-sgd"), ("loss", "ce"), ("callback", "recorder")}

pytestmark = pytest.mark.usefixtures("clean_knobs")  # the environment running the tests sets none


def components(engine: Engine, plugin: str) -> set[tuple[str, str]]:
    return {(c.kind, c.name) for c in engine.registry if c.plugin == plugin}


def builtins_all_there(engine: Engine) -> bool:
    return all(engine.plugins[name].status == "loaded" for name in BUILTINS) and {
        "mnist",
        "mnist-cnn",
        "sgd",
        "nll",
    } <= {c.name for c in engine.registry}


def test_an_installed_plugin_loads_with_its_dist_version_and_hooks(use_entry_points):
    use_entry_points(entry_point("good", version="2.5"))
    engine = Engine.load()
    info = engine.plugins["good"]
    assert (info.status, info.dist, info.version, info.builtin, info.error) == (
        "loaded", "trainpad-test-good", "2.5", False, None
    )
    assert info.hooks == [
        "register_callbacks", "register_datasets", "register_losses", "register_models",
        "register_optimizers", "register_tabs",
    ]
    assert components(engine, "good") == GOOD
    assert builtins_all_there(engine) and not engine.failed_plugins()


def test_an_import_error_fails_that_plugin_only(use_entry_points, caplog):
    use_entry_points(entry_point("broken_import", name="broken"), entry_point("good"))
    with caplog.at_level(logging.WARNING, logger="trainpad.plugins"):
        engine = Engine.load()
    broken = engine.plugins["broken"]
    assert broken.status == "failed" and broken.dist == "trainpad-test-broken-import"
    assert broken.error == "cannot import it: ModuleNotFoundError: No module named 'trainpad_test_missing_dependency'"
    assert 'Error in plugin "broken": cannot import it' in caplog.text
    assert engine.pm.get_plugin("broken") is None
    assert engine.plugins["good"].status == "loaded" and components(engine, "good") == GOOD
    assert builtins_all_there(engine)
    assert [info.name for info in engine.failed_plugins()] == ["broken"]


def test_a_plugin_that_exits_while_importing_fails_only_itself(use_entry_points):
    use_entry_points(entry_point("exits"), entry_point("good"))
    engine = Engine.load()
    assert engine.plugins["exits"].status == "failed"
    assert "SystemExit: trainpad_test_exits refuses to load" in engine.plugins["exits"].error
    assert components(engine, "good") == GOOD


def test_strict_mode_raises_at_the_first_failure(use_entry_points, monkeypatch):
    use_entry_points(entry_point("broken_import", name="broken"), entry_point("good"))
    monkeypatch.setenv("TRAINPAD_STRICT_PLUGINS", "1")
    with pytest.raises(PluginError, match='plugin "broken": cannot import it: ModuleNotFoundError') as caught:
        Engine.load()
    assert isinstance(caught.value.__cause__, ModuleNotFoundError)


def test_a_hook_that_does_not_exist_fails_the_plugin(use_entry_points):
    use_entry_points(entry_point("typo_hook", name="typo"), entry_point("good"))
    engine = Engine.load()
    info = engine.plugins["typo"]
    assert info.status == "failed"
    assert info.error.startswith("implements register_model, which is not a trainpad hook (did you mean register_models")
    # it points at what a pip install has (there is no docs/ folder there), and names every hook
    assert "docs/plugins.md" not in info.error and "`python -m pydoc trainpad.hookspecs`" in info.error
    assert all(hook in info.error for hook in hook_names())
    # unregistered, so its valid hook (register_losses) is not called either
    assert engine.pm.get_plugin("typo") is None and "typo-loss" not in engine.registry.names("loss")
    assert components(engine, "good") == GOOD


def test_the_misspelled_hook_message_points_at_documentation_an_installed_trainpad_has():
    out = subprocess.run([sys.executable, "-m", "pydoc", "trainpad.hookspecs"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert all(f"{hook}(register" in out.stdout for hook in hook_names())
    assert hook_names() == sorted(make_plugin_manager().hook.__dict__)  # every hook the manager knows, no more


MISSPELLED = """
from trainpad import hookimpl

@hookimpl
def register_dataset(register):  # a typo for register_datasets
    register("misspelled-data", lambda *, root, train: None, class_names=["a", "b"], input_shape=(1, 2, 2))
"""


def misspelled_module(tmp_path: Path) -> ModuleType:
    """A plugin module, imported from its file, that implements ``register_dataset``."""
    path = tmp_path / "my_misspelled_plugin.py"
    path.write_text(MISSPELLED)
    spec = importlib.util.spec_from_file_location("my_misspelled_plugin", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_engine_with_fails_a_misspelled_hook_as_the_installed_path_does(engine_with, tmp_path):
    engine = engine_with(misspelled_module(tmp_path))
    info = engine.plugins["my_misspelled_plugin"]
    assert (info.status, info.hooks) == ("failed", [])
    assert info.error.startswith(
        "implements register_dataset, which is not a trainpad hook (did you mean register_datasets for register_dataset?)"
    )
    assert engine.pm.get_plugin("my_misspelled_plugin") is None and builtins_all_there(engine)


def test_engine_with_raises_on_a_misspelled_hook_in_strict_mode(engine_with, tmp_path, monkeypatch):
    monkeypatch.setenv("TRAINPAD_STRICT_PLUGINS", "1")
    with pytest.raises(PluginError, match=r'plugin "my_misspelled_plugin": implements register_dataset, which is not'):
        engine_with(misspelled_module(tmp_path))


def test_engine_with_loads_a_correct_plugin(engine_with, plugin_module):
    engine = engine_with(plugin_module("good"))
    info = engine.plugins["trainpad_test_good"]
    assert (info.status, info.error) == ("loaded", None) and "register_models" in info.hooks
    assert components(engine, "trainpad_test_good") == GOOD


def test_an_optional_hook_that_does_not_exist_is_allowed():
    class Future:
        @hookimpl(optionalhook=True)
        def register_metrics(self, register):  # a hook of a later trainpad
            pass

    loader = PluginLoader(make_plugin_manager())
    loader._register("future", Future, PluginInfo("future"))
    assert loader.infos["future"].status == "loaded" and loader.infos["future"].hooks == []


def test_hook_arguments_that_the_spec_lacks_fail_the_plugin():
    class WrongArgs:
        @hookimpl
        def register_models(self, register, extra):
            pass

    loader = PluginLoader(make_plugin_manager())
    loader._register("wrong-args", WrongArgs, PluginInfo("wrong-args"))
    info = loader.infos["wrong-args"]
    assert info.status == "failed" and info.error.startswith("cannot register it: PluginValidationError")
    assert "extra" in info.error and loader.pm.get_plugin("wrong-args") is None


def test_a_dist_seen_twice_loads_once(use_entry_points):
    # a venv's lib64 symlink to lib lists every distribution twice
    use_entry_points(entry_point("good"), entry_point("good"))
    engine = Engine.load()
    assert engine.plugins["good"].status == "loaded" and not engine.failed_plugins()
    assert components(engine, "good") == GOOD


def test_two_dists_with_one_entry_point_name_keep_the_first(use_entry_points):
    use_entry_points(entry_point("good"), entry_point("clash", name="good", dist="impostor"))
    engine = Engine.load()
    assert engine.plugins["good"].dist == "trainpad-test-good" and components(engine, "good") == GOOD
    impostor = engine.plugins["good (impostor)"]
    assert impostor.status == "failed"
    assert "entry point 'good' is already taken by 'trainpad-test-good'" in impostor.error


def test_an_entry_point_named_like_a_builtin_cannot_replace_it(use_entry_points):
    use_entry_points(entry_point("clash", name="sgd", dist="evil-sgd"))
    engine = Engine.load()
    assert engine.plugins["sgd"].builtin and engine.plugins["sgd"].status == "loaded"
    assert engine.registry.get("optimizer", "sgd").plugin == "sgd"
    assert engine.plugins["sgd (evil-sgd)"].status == "failed"
    assert "is the name of a built-in plugin" in engine.plugins["sgd (evil-sgd)"].error


@pytest.mark.parametrize("blocked", ["good,sgd", " sgd , Trainpad_Test.Good "])
def test_blocked_plugins_built_ins_included(use_entry_points, monkeypatch, blocked):
    # by entry-point name or by distribution name (compared the way pip does)
    use_entry_points(entry_point("good"), entry_point("typo_hook", name="typo"))
    monkeypatch.setenv("TRAINPAD_DISABLE_PLUGINS", blocked)
    engine = Engine.load()
    assert engine.plugins["good"].status == "blocked" and engine.plugins["good"].dist == "trainpad-test-good"
    assert engine.plugins["sgd"].status == "blocked" and engine.plugins["sgd"].builtin
    assert not components(engine, "good") and "sgd" not in engine.registry.names("optimizer")
    assert "mnist-cnn" in engine.registry.names("model") and "adamw" in engine.registry.names("optimizer")
    assert engine.plugins["typo"].status == "failed"  # the rest load as usual


def test_load_plugins_empty_means_built_ins_only(use_entry_points, monkeypatch):
    use_entry_points(entry_point("good"), entry_point("broken_import", name="broken"))
    monkeypatch.setenv("TRAINPAD_LOAD_PLUGINS", "")
    engine = Engine.load()
    assert {c.plugin for c in engine.registry} <= BUILTINS and builtins_all_there(engine)
    assert engine.plugins["good"].status == engine.plugins["broken"].status == "blocked"
    assert not engine.failed_plugins()  # the broken plugin is not even imported


@pytest.mark.parametrize("wanted", ["good", "trainpad-test-good", "trainpad_test_good"])
def test_load_plugins_names_the_ones_to_load(use_entry_points, monkeypatch, wanted):
    use_entry_points(entry_point("good"), entry_point("broken_import", name="broken"))
    monkeypatch.setenv("TRAINPAD_LOAD_PLUGINS", wanted)
    engine = Engine.load()
    assert engine.plugins["good"].status == "loaded" and engine.plugins["broken"].status == "blocked"
    assert components(engine, "good") == GOOD and builtins_all_there(engine)


def test_load_plugins_warns_about_a_name_that_is_not_installed(use_entry_points, monkeypatch, caplog):
    use_entry_points(entry_point("good"))
    monkeypatch.setenv("TRAINPAD_LOAD_PLUGINS", "good,not-installed")
    with caplog.at_level(logging.WARNING, logger="trainpad.plugins"):
        Engine.load()
    assert "TRAINPAD_LOAD_PLUGINS names not-installed, which is not installed" in caplog.text


def test_knobs_are_read_when_plugins_load_not_at_import(use_entry_points, monkeypatch):
    use_entry_points(entry_point("good"))
    assert Engine.load().plugins["good"].status == "loaded"
    monkeypatch.setenv("TRAINPAD_DISABLE_PLUGINS", "good")
    assert Engine.load().plugins["good"].status == "blocked"


def test_tracing_writes_loading_hook_calls_and_registrations_to_stderr(use_entry_points, monkeypatch, capsys):
    use_entry_points(entry_point("good"))
    monkeypatch.setenv("TRAINPAD_TRACE_PLUGINS", "1")
    Engine.load()
    out, err = capsys.readouterr()
    assert out == ""
    assert "loaded good (trainpad-test-good 1.0) [load]" in err
    assert "loaded sgd (built-in) [load]" in err
    assert "register_models plugin good [startup]" in err
    assert "registered model 'tiny-mlp' [startup]" in err
    assert "registered tab 'Good tab' [startup]" in err


def test_no_tracing_by_default(use_entry_points, capsys):
    use_entry_points(entry_point("good"))
    Engine.load()
    assert capsys.readouterr().err == ""


# -- the CLI keeps working, and shows the failures -------------------------------------


def test_cli_plugins_lists_failures_and_the_others(use_entry_points, capsys):
    use_entry_points(entry_point("broken_import", name="broken"), entry_point("good", version="2.5"))
    assert cli.main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert "broken (trainpad-test-broken-import 1.0) [failed]\n  error: cannot import it: ModuleNotFoundError" in out
    assert "good (trainpad-test-good 2.5) [loaded]\n" in out and "  model tiny-mlp: One hidden layer; returns logits." in out
    assert "sgd (built-in) [loaded]" in out


def test_cli_plugins_json_names_each_components_plugin(use_entry_points, capsys):
    use_entry_points(entry_point("broken_import", name="broken"), entry_point("good"))
    assert cli.main(["plugins", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    plugins = {p["name"]: p for p in listing["plugins"]}
    assert plugins["broken"]["status"] == "failed" and "ModuleNotFoundError" in plugins["broken"]["error"]
    assert plugins["good"]["dist"] == "trainpad-test-good" and plugins["good"]["version"] == "1.0"
    owners = {(c["kind"], c["name"]): c["plugin"] for c in listing["components"]}
    assert all(owners[component] == "good" for component in GOOD)
    assert owners[("optimizer", "sgd")] == "sgd"


def test_cli_trains_beside_a_broken_plugin(use_entry_points, mnist_dir, tmp_path, capsys):
    use_entry_points(entry_point("broken_import", name="broken"), entry_point("good"))
    output = tmp_path / "run.pt"
    status = cli.main([
        "train", "--dataset", "mnist", "--model", "tiny-mlp", "--optimizer", "plain-sgd", "--loss", "ce",
        "--model-hidden", "8", "--data-dir", str(mnist_dir), "--batch-size", "32", "--device", "cpu",
        "--quiet", "--output", str(output),
    ])
    assert status == 0 and output.exists()
    assert "test accuracy" in capsys.readouterr().out
