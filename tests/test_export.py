"""Export as plain PyTorch: the exported script trains exactly as trainpad does.

Each case exports a run, runs the script in a fresh interpreter where ``import trainpad``
fails, and checks that its first 20 losses equal the engine's within 1e-5.  The cases are
made from whatever the registry holds when the tests run (the built-in plugins and the
example plugin): together they use every dataset, model, optimizer and loss, and every
learning-rate schedule, at least once.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from trainpad import ConfigError, TrainConfig
from trainpad.testing import make_engine, write_idx_dataset
from trainpad_test_support import entry_point

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "trainpad-demo-plugin"
STEPS = 20
BATCH = 32
#: Runs the script given as the first argument with trainpad made unimportable.
WITHOUT_TRAINPAD = (
    "import runpy, sys; sys.modules['trainpad'] = None; sys.argv = sys.argv[1:]; "
    "runpy.run_path(sys.argv[0], run_name='__main__')"
)

pytestmark = pytest.mark.usefixtures("clean_knobs")


def _demo_module():
    if str(EXAMPLE) not in sys.path:
        sys.path.insert(0, str(EXAMPLE))
    import trainpad_demo_plugin

    return trainpad_demo_plugin


def _test_plugin():
    import trainpad_test_export  # tests/plugins is on sys.path (conftest)

    return trainpad_test_export


def _cases() -> list[tuple[str, str, str, str, str]]:
    """(dataset, model, optimizer, loss, schedule) runs that use every registered component once at least."""
    registry = make_engine(_demo_module()).registry
    names = {kind: registry.names(kind) for kind in ("dataset", "model", "optimizer", "loss")}
    todo = {kind: list(items) for kind, items in names.items()}
    schedules = ["onecycle", "cosine", "constant"]

    def fits(model: str, loss: str) -> bool:
        return registry.get("model", model).meta.get("output", "logits") == registry.get("loss", loss).meta.get("expects", "logits")

    cases = []
    while any(todo.values()) or schedules:
        if todo["model"]:
            model = todo["model"][0]
        elif todo["loss"]:  # every model is covered: one that fits the next loss
            model = next((m for m in names["model"] if fits(m, todo["loss"][0])), None)
            if model is None:  # no model takes what this loss expects: nothing can train with it
                todo["loss"].pop(0)
                continue
        else:
            model = names["model"][0]
        losses = [loss for loss in names["loss"] if fits(model, loss)]
        if not losses:
            todo["model"].remove(model)
            continue
        pick = {
            "dataset": (todo["dataset"] or names["dataset"])[0],
            "model": model,
            "optimizer": (todo["optimizer"] or names["optimizer"])[0],
            "loss": next((loss for loss in todo["loss"] if loss in losses), losses[0]),
        }
        for kind, name in pick.items():
            if name in todo[kind]:
                todo[kind].remove(name)
        schedule = schedules.pop(0) if schedules else "onecycle"
        cases.append((pick["dataset"], pick["model"], pick["optimizer"], pick["loss"], schedule))
    return cases


def _data_dir(tmp_path: Path) -> Path:
    """Small MNIST-format files for every torchvision dataset that reads that format."""
    root = tmp_path / "data"
    for name in ("MNIST", "FashionMNIST", "KMNIST", "EMNIST", "QMNIST"):
        write_idx_dataset(root, name, train=BATCH * STEPS, test=128)
    return root


def _engine_losses(engine, config: TrainConfig, data: Path) -> list[float]:
    from trainpad import StepEnd

    run = engine.build_run(config, data_dir=data)
    return [event.loss for event in run.events() if isinstance(event, StepEnd)][:STEPS]


def _script_losses(script: Path, data: Path) -> list[float]:
    proc = subprocess.run(
        [sys.executable, "-c", WITHOUT_TRAINPAD, str(script), "--data-dir", str(data), "--device", "cpu",
         "--log-every", "1", "--steps", str(STEPS)],
        capture_output=True, text=True, timeout=300, cwd=script.parent,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return [float(value) for value in re.findall(r" loss (\S+) lr ", proc.stdout)]


@pytest.mark.parametrize("dataset,model,optimizer,loss,schedule", _cases())
def test_the_exported_script_trains_as_trainpad_does(dataset, model, optimizer, loss, schedule, tmp_path, monkeypatch):
    monkeypatch.setenv("TRAINPAD_OFFLINE", "1")
    monkeypatch.setenv("TRAINPAD_CACHE_DIR", str(tmp_path / "cache"))
    engine = make_engine(_demo_module())
    data = _data_dir(tmp_path)
    config = TrainConfig(dataset, model, optimizer, loss, batch_size=BATCH, train_samples=BATCH * STEPS,
                         test_samples=100, schedule=schedule, seed=7, device="cpu")  # fmt: skip
    try:
        expected = _engine_losses(engine, config, data)
    except ConfigError as exc:  # a dataset whose files this machine does not have
        pytest.skip(f"{dataset} cannot be loaded here: {exc}")
    exported = engine.export_script(config)
    assert exported.missing == ()
    script = tmp_path / exported.filename
    script.write_text(exported.source)
    got = _script_losses(script, data)
    assert len(expected) == STEPS and len(got) == STEPS
    assert max(abs(a - b) for a, b in zip(expected, got)) < 1e-5, list(zip(expected, got))


def test_helpers_constants_and_a_self_made_dataset_are_written_out(tmp_path):
    engine = make_engine(_test_plugin())
    config = TrainConfig("stripes", "helper-mlp", "sgd", "nll", batch_size=8, epochs=3, seed=3, device="cpu",
                         params={"model": {"hidden": 20}, "optimizer": {"lr": 0.05}})  # fmt: skip
    expected = _engine_losses(engine, config, tmp_path)
    exported = engine.export_script(config)
    assert exported.missing == ()
    source = exported.source
    for piece in ("def _block(", "def helper_mlp(", "def stripes(", "SIDE = 12", "CLASSES = ('left', 'middle', 'right')",
                  "from torch import nn", "return helper_mlp(input_shape=(1, 12, 12), num_classes=3, hidden=20, dropout=0.2)",
                  "return sgd(parameters, lr=0.05, momentum=0.9, weight_decay=0.0005, nesterov=True)"):  # fmt: skip
        assert piece in source, piece
    assert "import numpy" not in source  # the module imports it, but nothing written out uses it
    script = tmp_path / exported.filename
    script.write_text(source)
    assert _script_losses(script, tmp_path) == pytest.approx(expected, abs=1e-5)


def test_what_cannot_be_written_out_says_so_in_the_file(tmp_path):
    engine = make_engine(_test_plugin())
    exported = engine.export_script(TrainConfig("stripes", "helper-mlp", "lambda-sgd", "numpy-nll"))
    assert [line.split(":")[0] for line in exported.missing] == [
        "optimizer lambda-sgd (plugin trainpad_test_export)",
        "loss numpy-nll (plugin trainpad_test_export)",
    ]
    assert "lambda" in exported.missing[0] and "numpy" in exported.missing[1]
    source = exported.source
    compile(source, exported.filename, "exec")  # still a valid script
    docstring = source.split('"""')[1]
    assert "could not be written out raises NotImplementedError" in docstring and "numpy-nll" in docstring
    script = tmp_path / exported.filename
    script.write_text(source)
    proc = subprocess.run([sys.executable, "-c", WITHOUT_TRAINPAD, str(script), "--steps", "1"],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)  # fmt: skip
    assert proc.returncode != 0
    assert "NotImplementedError: optimizer lambda-sgd could not be written out: it is a lambda" in proc.stderr


def test_an_export_checks_the_run_as_training_would(engine):
    with pytest.raises(ConfigError, match="no model named 'nope'"):
        engine.export_script(TrainConfig(model="nope"))
    with pytest.raises(ConfigError, match="lr must be at most 10"):
        engine.export_script(TrainConfig(params={"optimizer": {"lr": 50}}))
    with pytest.raises(ConfigError, match="batch_size must be at least 1"):
        engine.export_script(TrainConfig(batch_size=0))


def test_a_plugins_strings_cannot_break_out_of_the_docstring():
    import ast
    import types

    from trainpad import Param, hookimpl

    @hookimpl
    def register_losses(register):
        register("quoted-nll", quoted_nll, expects="log_probs", params=[Param("note", str, 'a """ b \\ c')])

    plugin = types.ModuleType("trainpad_test_quoting")
    plugin.register_losses = register_losses
    engine = make_engine(plugin)
    exported = engine.export_script(TrainConfig(loss="quoted-nll", params={"loss": {"note": '""" import os; os.system("x") """'}}))
    tree = ast.parse(exported.source)
    assert "os.system" in tree.body[0].value.value  # inside the docstring, not code
    assert not any(isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "system" for node in ast.walk(tree))


def quoted_nll(*, note=""):
    """NLL with a note."""
    import torch.nn.functional as F

    return F.nll_loss


def test_trainpad_export_writes_the_script(tmp_path, capsys):
    from trainpad import cli

    target = tmp_path / "mine.py"
    assert cli.main(["export", "--optimizer", "adamw", "--optimizer-lr", "0.002", "--epochs", "2", "-o", str(target)]) == 0
    source = target.read_text()
    assert "return adamw(parameters, lr=0.002, weight_decay=0.0001, beta1=0.9, beta2=0.999)" in source
    assert "EPOCHS = 2" in source
    assert str(target) in capsys.readouterr().out
    assert cli.main(["export", "-o", "-"]) == 0
    assert capsys.readouterr().out.startswith("#!/usr/bin/env python3")


def test_trainpad_export_says_what_to_fill_in_when_it_writes_a_stub(use_entry_points, tmp_path, capsys):
    from trainpad import cli

    use_entry_points(entry_point("export"))  # installed, as a user's plugin is
    target = tmp_path / "numpy.py"
    args = ["export", "--dataset", "numpy-stripes", "--model", "helper-mlp", "--optimizer", "sgd", "--loss", "nll"]
    assert cli.main([*args, "-o", str(target)]) == 0
    out, err = capsys.readouterr()
    assert "torch and torchvision alone" not in out  # it would not: its dataset is a stub
    assert out == f"wrote {target}: not complete: fill in what it lacks before running it (below)\n"
    assert err.startswith("1 part(s) of the run could not be written out; the script has a stub for each")
    assert "  dataset numpy-stripes (plugin export" in err and "numpy" in err.split("): ", 1)[1]
    assert err.rstrip().endswith("fill in load_split() in the script")
    source = target.read_text()
    assert "raise NotImplementedError" in source.split("def load_split(", 1)[1].split("\ndef ", 1)[0]
    assert "It is not complete: fill in what is listed below first" in source.split('"""')[1]

    assert cli.main([*args, "-o", "-"]) == 0  # printed, the script on stdout and the same note on stderr
    out, err_printed = capsys.readouterr()
    assert out == target.read_text() and err_printed == err


def test_download_as_a_script_writes_the_forms_run_into_the_session(engine, monkeypatch):
    from trainpad.web.export_handler import Exporter
    from trainpad.web.messages import UserError
    from trainpad.web.sessions import SessionStore

    monkeypatch.setenv("TRAINPAD_MAX_TRAIN_SAMPLES", "5000")
    monkeypatch.setenv("TRAINPAD_MAX_EPOCHS", "3")
    store = SessionStore()
    exporter = Exporter(engine, store)
    written = exporter.export("alice", TrainConfig(epochs=2, params={"optimizer": {"lr": 0.05}}))
    assert written.path.parent == store.get("alice").folder() and written.path.name == "train_mnist_cnn_on_mnist.py"
    source = written.path.read_text()
    assert "TRAIN_SAMPLES = 5000" in source  # "all" means the server's cap, as Start trains
    assert "lr=0.05" in source and "EPOCHS = 2" in source
    assert "torch and torchvision alone" in written.message
    with pytest.raises(UserError, match="epochs must be at most 3"):
        exporter.export("alice", TrainConfig(epochs=4))
    with pytest.raises(UserError, match="no loss named"):
        exporter.export("alice", TrainConfig(loss="../../etc/passwd"))
    store.close()


@pytest.mark.parametrize(
    "model, loss, params",
    [
        ("mlp", "nll", {}),  # logits into a loss expecting log-probabilities: log_softmax between them
        ("mnist-cnn", "cross-entropy", {"dataset": {"shift": 2}}),  # log-probabilities as logits; digits moved at random
    ],
)
def test_the_script_pairs_the_loss_and_augments_as_trainpad_does(model, loss, params, tmp_path, monkeypatch):
    monkeypatch.setenv("TRAINPAD_OFFLINE", "1")
    monkeypatch.setenv("TRAINPAD_CACHE_DIR", str(tmp_path / "cache"))
    engine = make_engine()
    data = _data_dir(tmp_path)
    config = TrainConfig("mnist", model, "sgd", loss, params=params, batch_size=BATCH, train_samples=BATCH * STEPS,
                         test_samples=100, seed=5, device="cpu")  # fmt: skip
    expected = _engine_losses(engine, config, data)
    exported = engine.export_script(config)
    assert exported.missing == ()
    assert ("output.log_softmax(dim=1)" in exported.source) == (loss == "nll")
    assert ("shift=2 if train else 0" in exported.source) == bool(params)
    script = tmp_path / exported.filename
    script.write_text(exported.source)
    assert _script_losses(script, data) == pytest.approx(expected, abs=1e-5)
