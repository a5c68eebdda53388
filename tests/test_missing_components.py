"""A component that is not there says why: its plugin is not installed, is disabled (by
which setting), or failed to load (with its error), when a checkpoint needs it and
when a run asks for it.  And ``trainpad plugins`` lists tabs, as text and as JSON.

The plugins are the real modules of ``tests/plugins/``, fed to the loader as entry
points (see ``trainpad_test_support``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support import ROOT
from trainpad import ConfigError, TrainConfig
from trainpad.engine.engine import Engine
from trainpad.engine.errors import CheckpointError
from trainpad.engine.checkpoint import save_checkpoint
from trainpad_test_support import entry_point

SHIPPED = ROOT / "plugins" / "pretrained" / "mnist-cnn.pt"
TRAINPAD = shutil.which("trainpad", path=str(Path(sys.executable).parent)) or "trainpad"


@pytest.fixture
def good_checkpoint(use_entry_points, tmp_path) -> Path:
    """A checkpoint of the test plugin ``good``'s model, trained for a few steps."""
    use_entry_points(entry_point("good"))
    engine = Engine.load()
    config = TrainConfig(dataset="blobs", model="tiny-mlp", optimizer="plain-sgd", loss="ce", batch_size=32, device="cpu")
    trained = engine.build_run(config).run().trained
    assert trained.spec["model"]["plugin"] == "good"
    return save_checkpoint(trained, tmp_path / "good.pt")


# -- checkpoints ------------------------------------------------------------------------------


def test_a_checkpoint_whose_builtin_plugin_is_disabled_says_so(clean_knobs, monkeypatch):
    monkeypatch.setenv("TRAINPAD_DISABLE_PLUGINS", "mnist_cnn")
    engine = Engine.load(entrypoints=False)
    with pytest.raises(CheckpointError) as caught:
        engine.load_checkpoint(SHIPPED)
    message = str(caught.value)
    assert "model 'mnist-cnn'" in message and "plugin 'mnist_cnn' is disabled by TRAINPAD_DISABLE_PLUGINS" in message
    assert "not installed" not in message


def test_a_checkpoint_whose_plugin_is_left_out_by_load_plugins_says_which_setting(good_checkpoint, monkeypatch):
    monkeypatch.setenv("TRAINPAD_LOAD_PLUGINS", "")
    with pytest.raises(CheckpointError) as caught:
        Engine.load().load_checkpoint(good_checkpoint)
    message = str(caught.value)
    assert "model 'tiny-mlp'" in message and "plugin 'good' is disabled: TRAINPAD_LOAD_PLUGINS does not name it" in message
    monkeypatch.setenv("TRAINPAD_LOAD_PLUGINS", "good")  # as the message says: name it, and it loads
    assert Engine.load().load_checkpoint(good_checkpoint).spec["model"]["name"] == "tiny-mlp"


def test_a_checkpoint_whose_plugin_failed_names_the_plugin_and_its_error(good_checkpoint, use_entry_points):
    use_entry_points(entry_point("broken_import", name="good"))  # "good" is now a plugin whose import fails
    engine = Engine.load()
    assert engine.plugins["good"].status == "failed"
    with pytest.raises(CheckpointError) as caught:
        engine.load_checkpoint(good_checkpoint)
    message = str(caught.value)
    assert "plugin 'good' failed to load: cannot import it: ModuleNotFoundError" in message
    assert "trainpad_test_missing_dependency" in message and "not installed" not in message


def test_a_checkpoint_whose_plugin_is_not_installed_says_install_it(good_checkpoint, use_entry_points):
    use_entry_points()  # no plugin installed at all
    with pytest.raises(CheckpointError, match="plugin 'good', which is not installed: install it"):
        Engine.load().load_checkpoint(good_checkpoint)


def test_evaluating_a_checkpoint_whose_dataset_plugin_is_disabled_says_so(clean_knobs, monkeypatch, tmp_path):
    monkeypatch.setenv("TRAINPAD_DISABLE_PLUGINS", "mnist")
    engine = Engine.load(entrypoints=False)
    trained = engine.load_checkpoint(SHIPPED)  # the model is there; its dataset is not
    with pytest.raises(ConfigError, match="plugin 'mnist' is disabled by TRAINPAD_DISABLE_PLUGINS"):
        engine.evaluate(trained, data_dir=tmp_path)


def test_the_cli_says_the_plugin_is_disabled_and_exits_2(tmp_path):
    env = {**os.environ, "TRAINPAD_LOAD_PLUGINS": "", "TRAINPAD_DISABLE_PLUGINS": "mnist_cnn"}
    out = subprocess.run([TRAINPAD, "evaluate", str(SHIPPED)], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 2, out.stderr
    assert "plugin 'mnist_cnn' is disabled by TRAINPAD_DISABLE_PLUGINS" in out.stderr and "Traceback" not in out.stderr


def test_the_web_app_says_the_plugin_is_disabled(clean_knobs, monkeypatch, tmp_path):
    from trainpad.web.messages import UserError
    from trainpad.web.sessions import SessionStore
    from trainpad.web.shipped_model import shipped_loader
    from trainpad.web.train_handler import Trainer

    monkeypatch.setenv("TRAINPAD_DISABLE_PLUGINS", "mnist_cnn")
    monkeypatch.setenv("TRAINPAD_PRETRAINED", "")
    engine = Engine.load(entrypoints=False)
    upload = tmp_path / "upload.pt"
    upload.write_bytes(SHIPPED.read_bytes())
    with pytest.raises(UserError) as caught:
        Trainer(engine, SessionStore(shipped_loader(engine))).load("alice", str(upload))
    assert "plugin 'mnist_cnn' is disabled" in str(caught.value) and str(tmp_path) not in str(caught.value)


# -- runs -----------------------------------------------------------------------------------------


def test_a_run_asking_for_a_component_of_a_plugin_that_raised_names_it_and_the_error(use_entry_points):
    use_entry_points(entry_point("raises"))  # registers the loss raises-loss, then its other hook raises
    engine = Engine.load()
    assert "raises-loss" not in engine.registry.names("loss")
    with pytest.raises(ConfigError) as caught:
        engine.build_run(TrainConfig(loss="raises-loss"))
    message = str(caught.value)
    assert "no loss named 'raises-loss'" in message
    assert "plugin 'raises' failed to load: register_models raised RuntimeError: the model server is down" in message


def test_a_run_asking_for_a_component_when_a_plugin_failed_to_import_names_that_plugin(use_entry_points):
    use_entry_points(entry_point("broken_import", name="broken"), entry_point("good"))
    with pytest.raises(ConfigError) as caught:
        Engine.load().build_run(TrainConfig(model="resnet-from-broken"))
    message = str(caught.value)
    assert "no model named 'resnet-from-broken'" in message and "available: " in message
    assert "may come from a plugin that is switched off: plugin 'broken' failed to load: cannot import it" in message


def test_a_typo_with_every_plugin_loaded_lists_the_alternatives_only(use_entry_points):
    use_entry_points(entry_point("good"))
    with pytest.raises(ConfigError) as caught:
        Engine.load().build_run(TrainConfig(optimizer="sdg"))
    assert str(caught.value).startswith("no optimizer named 'sdg' is registered (available: ")
    assert "switched off" not in str(caught.value)


# -- trainpad plugins lists tabs ------------------------------------------------------------------------


def test_trainpad_plugins_lists_tabs_as_text_and_json():
    env = {**os.environ, "TRAINPAD_LOAD_PLUGINS": ""}
    text = subprocess.run([TRAINPAD, "plugins"], capture_output=True, text=True, env=env, timeout=300, check=True).stdout
    listing = json.loads(subprocess.run([TRAINPAD, "plugins", "--json"], capture_output=True, text=True, env=env, timeout=300, check=True).stdout)
    engine = Engine.load(entrypoints=False)
    assert [(t["label"], t["order"], t["plugin"]) for t in listing["tabs"]] == [(t.label, t.order, t.plugin) for t in engine.tabs]
    assert len(engine.tabs) >= 4
    for tab in engine.tabs:
        block = text.split(f"{tab.plugin} (built-in)", 1)[1].split("\n\n", 1)[0]
        assert f"  tab {tab.label!r} (order {tab.order})" in block.splitlines()[:8], block
