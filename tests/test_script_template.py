"""The exported script's skeleton (:mod:`trainpad.engine.script_template`) is real Python:
imported here and run on a tiny dataset held in memory, and it is what the export writes
and what trainpad trains with."""

from __future__ import annotations

import ast
import inspect
import re
import sys

import pytest
import torch

from trainpad import TrainConfig
from trainpad.engine import export, script_template, training
from trainpad.testing import make_engine

#: The skeleton's sections that every exported script carries as they are.
CARRIED = ("the data", "the batches", "training")


def tiny_split(count: int, *, seed: int) -> script_template.InMemoryDataset:
    """``count`` 6x6 pictures of two classes: class 1 has a bright left half."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 2, (count,), generator=generator)
    images = torch.randint(0, 60, (count, 6, 6), generator=generator, dtype=torch.uint8)
    images[labels == 1, :, :3] += 150
    return script_template.InMemoryDataset(images, labels, mean=(0.3,), std=(0.3,))


@pytest.fixture
def tiny_run(monkeypatch):
    """The skeleton with components for the tiny dataset put in, as the export would write them."""
    parts = {
        "load_split": lambda root, *, train: tiny_split(96 if train else 40, seed=0 if train else 1),
        "build_model": lambda: torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(36, 2), torch.nn.LogSoftmax(dim=1)),
        "build_optimizer": lambda parameters: torch.optim.SGD(parameters, lr=0.2),
        "build_loss": lambda: torch.nn.functional.nll_loss,
        "CLASS_NAMES": ["dark", "bright"],
        "BATCH_SIZE": 16,
        "SCHEDULE": "onecycle",
    }
    for name, value in parts.items():
        monkeypatch.setattr(script_template, name, value)
    return script_template


def test_main_trains_the_tiny_run_and_learns_it(tiny_run, capsys, tmp_path):
    tiny_run.main(["--epochs", "3", "--log-every", "1", "--device", "cpu", "--save", str(tmp_path / "w.pt")])
    out = capsys.readouterr().out
    losses = [float(v) for v in re.findall(r" loss (\S+) lr ", out)]
    assert len(losses) == 3 * 6  # 96 samples in batches of 16, three epochs
    assert sum(losses[-6:]) < sum(losses[:6]) / 2
    accuracy = float(re.findall(r"test accuracy ([\d.]+)%", out)[-1])
    assert accuracy > 90
    assert set(torch.load(tmp_path / "w.pt")) == {"1.weight", "1.bias"}


def test_the_loader_batches_in_order_for_testing_and_by_the_generator_for_training():
    data = tiny_split(10, seed=3)
    batches = list(script_template.make_loader(data, batch_size=4, shuffle=False))
    assert [len(y) for _, y in batches] == [4, 4, 2]
    assert torch.equal(torch.cat([y for _, y in batches]), data.targets)
    orders = [
        torch.cat([y for _, y in script_template.make_loader(data, batch_size=4, shuffle=True, generator=torch.Generator().manual_seed(5))])
        for _ in range(2)
    ]
    assert torch.equal(orders[0], orders[1]) and sorted(orders[0].tolist()) == sorted(data.targets.tolist())
    assert len(script_template.first(data, 3)) == 3 and script_template.first(data, 0) is data


def test_a_diverged_step_ends_the_script_before_the_update(tiny_run):
    model = tiny_run.build_model()
    before = [p.detach().clone() for p in model.parameters()]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = tiny_split(4, seed=0)[[0, 1, 2, 3]]
    with pytest.raises(SystemExit, match=r"training diverged at step 7: the loss is nan; lower the learning rate"):
        tiny_run.train_step(model, optimizer, None, lambda output, target: output.sum() * float("nan"), x, y, 7)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
    assert tiny_run.train_step(model, optimizer, None, torch.nn.functional.nll_loss, x, y, 1) > 0
    assert not all(torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_trainpad_trains_with_the_scripts_schedule_and_divergence_guard():
    assert training.make_scheduler is script_template.make_scheduler
    assert training.diverged is script_template.diverged
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.4)
    onecycle = script_template.make_scheduler("onecycle", optimizer, 100)
    assert isinstance(onecycle, torch.optim.lr_scheduler.OneCycleLR) and onecycle.total_steps == 100
    assert script_template.make_scheduler("onecycle", optimizer, 7) is None  # no room for a warm-up
    assert script_template.make_scheduler("constant", optimizer, 100) is None
    assert script_template.diverged(float("inf"), 10) and not script_template.diverged(2.3, 10)


def test_the_settings_export_reads_are_the_ones_the_module_has():
    assert export.template_value("ONECYCLE") == script_template.ONECYCLE
    assert export.template_value("DIVERGENCE_FACTOR") == script_template.DIVERGENCE_FACTOR
    with pytest.raises(KeyError):
        export.template_value("NOT_THERE")
    with pytest.raises(KeyError):
        export.template_section("not a section")


def test_the_script_is_the_skeleton_with_the_runs_settings_and_components(engine):
    config = TrainConfig(epochs=2, batch_size=64, seed=9, schedule="cosine", train_samples=640, device="cpu")
    source = engine.export_script(config).source
    for section in CARRIED:  # carried as they are
        assert export.template_section(section) in source
    for function in (script_template.train_step, script_template.make_scheduler, script_template.main, script_template.InMemoryDataset):
        assert inspect.getsource(function) in source
    for placeholder in ("load_split", "build_model", "build_optimizer", "build_loss"):  # the skeleton's stubs are replaced
        assert "the export writes the run's" not in source.split(f"def {placeholder}(", 1)[1].split("\ndef ", 1)[0]
    tree = ast.parse(source)
    settings = {
        ast.unparse(node.targets[0]): ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]).isupper()
    }
    assert settings["SEED"] == 9 and settings["EPOCHS"] == 2 and settings["BATCH_SIZE"] == 64
    assert settings["SCHEDULE"] == "cosine" and settings["TRAIN_SAMPLES"] == 640 and settings["DEVICE"] == "cpu"
    assert settings["ONECYCLE"] == script_template.ONECYCLE
    skeleton = {ast.unparse(n.targets[0]) for n in ast.parse(inspect.getsource(script_template)).body if isinstance(n, ast.Assign)}
    assert skeleton <= set(settings)  # every setting of the skeleton is in the script, once
    assert sum(isinstance(n, ast.Assign) and ast.unparse(n.targets[0]) == "SEED" for n in tree.body) == 1


def test_the_skeleton_imports_only_torch_and_the_standard_library():
    tree = ast.parse(inspect.getsource(script_template))
    roots = {
        (alias.name if isinstance(node, ast.Import) else node.module).split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }
    assert {root for root in roots if root not in sys.stdlib_module_names} == {"torch"}


def test_a_component_may_not_define_a_name_of_the_skeleton():
    import types

    from trainpad import hookimpl

    @hookimpl
    def register_losses(register):
        register("clash", train_step, expects="log_probs")

    plugin = types.ModuleType("trainpad_test_clash")
    plugin.register_losses = register_losses
    exported = make_engine(plugin).export_script(TrainConfig(loss="clash"))
    assert len(exported.missing) == 1 and "'train_step', a name the script itself uses" in exported.missing[0]


def train_step():
    """A loss factory named like the skeleton's step."""
    import torch.nn.functional as F

    return F.nll_loss
