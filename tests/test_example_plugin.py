"""The example package examples/trainpad-demo-plugin, and the guide's quick-start plugin.

The first tests import the example from its folder and check that its components reach
the web app through the registry.  The others ``pip install`` it into a temporary
virtual environment, so that trainpad's own environment (and other tests running at the
same time) never see it.  That venv reuses trainpad's environment through a ``.pth``
file.  In it, the CLI lists the plugin with its distribution and version, trains its
dataset with its optimizer and loss, and forgets the plugin once it is uninstalled.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest


ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "trainpad-demo-plugin"
GUIDE = ROOT / "docs" / "plugins.md"
DEMO = {("dataset", "shapes"), ("optimizer", "lion"), ("loss", "focal")}
#: Every subprocess gets at most this long (seconds).
TIMEOUT = 300

pytestmark = pytest.mark.usefixtures("clean_knobs")  # the environment running the tests sets none


@pytest.fixture
def demo(monkeypatch):
    """The example plugin's module, imported from its folder (not installed)."""
    monkeypatch.syspath_prepend(str(EXAMPLE))
    import trainpad_demo_plugin

    yield trainpad_demo_plugin
    sys.modules.pop("trainpad_demo_plugin", None)


# -- from source: the registry and the web app -----------------------------------------


def test_the_demo_plugin_appears_in_the_web_app(engine_with, demo):
    from trainpad.web import app
    import gradio as gr

    engine = engine_with(demo)
    built = app.build_app(engine)
    blocks = built.blocks.values()
    dropdowns = {b.label: [value for _, value in b.choices] for b in blocks if isinstance(b, gr.Dropdown)}
    for kind, name in DEMO:
        assert name in dropdowns[kind.capitalize()], f"{kind} {name} is not in the Train tab's dropdown"
    # the built-ins are still there beside it
    assert {"mnist", "fashion-mnist", "shapes"} <= set(dropdowns["Dataset"]) and {"sgd", "adam", "lion"} <= set(dropdowns["Optimizer"])
    tabs = {b.label: b for b in blocks if isinstance(b, gr.Tab)}
    assert "Shapes" in tabs and tabs["Shapes"].visible is not False
    assert not engine.failed_plugins()

    # its tab's button shows six pictures of each class, a class per column
    show = next(f.fn for f in built.fns.values() if getattr(f.fn, "__qualname__", "") == "shapes_tab.<locals>.show")
    pictures = show()
    assert len(pictures) == 24 and pictures[0][0].shape == (28, 28)
    assert [caption for _, caption in pictures[:4]] == demo.SHAPES


def test_the_demo_plugin_components_in_the_registry(engine_with, demo):
    engine = engine_with(demo)
    assert {(c.kind, c.name) for c in engine.registry if c.plugin == "trainpad_demo_plugin"} == DEMO
    assert engine.registry.get("loss", "focal").meta["expects"] == "logits"
    assert [p.name for p in engine.registry.get("dataset", "shapes").params] == ["count", "noise"]


def test_the_demo_plugin_shows_what_the_built_ins_do_not(engine, demo):
    # none of its components is a built-in's, and its dataset needs no torchvision
    builtin = {(c.kind, c.name) for c in engine.registry}
    assert not DEMO & builtin
    source = (EXAMPLE / "trainpad_demo_plugin" / "__init__.py").read_text()
    assert "load_torchvision" not in source and "import torchvision" not in source and "(torch.optim.Optimizer)" in source


# -- installed in a temporary venv ------------------------------------------------------


def run(argv, *, env=None, cwd=None, check=True) -> subprocess.CompletedProcess:
    result = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT)
    if check and result.returncode != 0:
        pytest.fail(f"{' '.join(map(str, argv))} exited {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


def code_block(language: str, containing: str) -> str:
    """The first ```language block of docs/plugins.md that contains ``containing``."""
    blocks = re.findall(rf"^```{language}\n(.*?)^```", GUIDE.read_text(), flags=re.MULTILINE | re.DOTALL)
    return next(block for block in blocks if containing in block)


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    """A venv with the demo plugin and the guide's quick-start plugin installed, over trainpad's environment.

    Yields ``(python, env, sources)``.  The venv is deleted afterwards, whatever happened.
    """
    import importlib.util

    if importlib.util.find_spec("setuptools") is None:  # venvs of Python 3.12+ come without it
        pytest.skip("installing the example offline needs setuptools>=77 in this environment (pip install setuptools)")
    base = tmp_path_factory.mktemp("plugin-venv")
    home = base / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(home)])
    python = home / "bin" / "python"
    site = Path(run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    # trainpad, torch, pip, setuptools... from this environment, after the venv's own packages
    (site / "_trainpad_env.pth").write_text(f"import site; site.addsitedir({sysconfig.get_paths()['purelib']!r})\n")

    sources = base / "src"
    shutil.copytree(EXAMPLE, sources / "demo", ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    quick = sources / "quickstart"
    quick.mkdir()
    (quick / "trainpad_adagrad.py").write_text(code_block("python", '"""trainpad_adagrad:'))
    (quick / "pyproject.toml").write_text(code_block("toml", 'name = "trainpad-adagrad"'))
    (sources / "quickstart-tests").mkdir()  # not beside the module: setuptools would package it
    (sources / "quickstart-tests" / "test_adagrad.py").write_text(code_block("python", "def test_plugin_is_installed"))

    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRAINPAD_", "PYTHON", "VIRTUAL_ENV"))}
    env.update(TRAINPAD_OFFLINE="1", OMP_NUM_THREADS="1", PYTHONDONTWRITEBYTECODE="1")
    env["PATH"] = f"{home / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    run([python, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index", "--quiet",
         str(sources / "demo"), str(quick)], env=env)  # fmt: skip
    yield python, env, sources
    shutil.rmtree(home, ignore_errors=True)


#: Runs ``trainpad`` (trainpad.cli.main) once per ``[knobs, argv]`` pair of argv[1], in one process:
#: the knobs are read when plugins load, so each call sees its own.  Prints the outputs as JSON.
CLI_MANY = """
import contextlib, io, json, os, sys
from trainpad import cli
outputs = []
for knobs, argv in json.loads(sys.argv[1]):
    os.environ.update(knobs)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            cli.main(argv)
        except SystemExit:  # --help
            pass
    outputs.append(out.getvalue())
    for knob in knobs:
        del os.environ[knob]
print(json.dumps(outputs))
"""


def trainpad(python: Path, env: dict[str, str], *calls: tuple[dict[str, str], list[str]]) -> list[str]:
    """The outputs of ``trainpad ARGV`` under each ``(knobs, argv)``, from one process (torch loads once)."""
    return json.loads(run([python, "-c", CLI_MANY, json.dumps(calls)], env=env).stdout)


def plugins_json(python: Path, env: dict[str, str], *knobs: dict[str, str]) -> list[dict]:
    """``trainpad plugins --json`` under each set of knobs."""
    return [json.loads(out) for out in trainpad(python, env, *[(k, ["plugins", "--json"]) for k in knobs])]


def test_the_installed_plugin_is_listed_with_its_dist_and_version(venv):
    python, env, _ = venv
    as_json, text, help_text = trainpad(
        python, env, ({}, ["plugins", "--json"]), ({}, ["plugins"]), ({}, ["train", "--dataset", "shapes", "--optimizer", "lion", "--help"])
    )
    listing = json.loads(as_json)
    plugins = {p["name"]: p for p in listing["plugins"]}
    demo = plugins["demo"]
    assert (demo["dist"], demo["version"], demo["status"], demo["error"], demo["builtin"]) == (
        "trainpad-demo-plugin", "0.1.0", "loaded", None, False
    )
    assert demo["hooks"] == ["register_datasets", "register_losses", "register_optimizers", "register_tabs"]
    components = {(c["kind"], c["name"]): c for c in listing["components"]}
    assert {key for key, c in components.items() if c["plugin"] == "demo"} == DEMO
    assert [p["name"] for p in components[("optimizer", "lion")]["params"]] == ["lr", "beta1", "beta2", "weight_decay"]
    assert components[("dataset", "shapes")]["meta"]["class_names"][0] == "circle"
    # the guide's quick-start plugin, installed from the guide's own text, works too
    assert plugins["adagrad"]["dist"] == "trainpad-adagrad" and plugins["adagrad"]["status"] == "loaded"
    assert components[("optimizer", "adagrad")]["plugin"] == "adagrad"

    assert "demo (trainpad-demo-plugin 0.1.0) [loaded]\n  dataset shapes: Pen-drawn circles" in text
    # what the guide shows `trainpad plugins` printing for its quick-start plugin is what it prints
    shown = code_block("console", "$ trainpad plugins\n").split("$ trainpad plugins\n")[1].split("...")[0]
    assert shown.count("\n") == 4 and shown in text
    assert "--dataset-count VALUE" in help_text and "--optimizer-beta2 VALUE" in help_text


def test_the_installed_plugin_is_listed_by_the_app(venv):
    if not (ROOT / "app.py").exists():
        pytest.skip("app.py is not there yet")
    python, env, _ = venv
    listing = json.loads(run([python, "-m", "app", "--list-plugins"], env=env).stdout)
    assert {(c["kind"], c["name"]) for c in listing["components"] if c["plugin"] == "demo"} == DEMO
    assert {"label": "Shapes", "order": 90, "plugin": "demo"} in listing["tabs"]


def test_the_installed_plugin_can_be_switched_off(venv):
    python, env, _ = venv
    knobs = [{"TRAINPAD_LOAD_PLUGINS": ""}, {"TRAINPAD_DISABLE_PLUGINS": "trainpad-demo-plugin"}, {"TRAINPAD_LOAD_PLUGINS": "demo"}]
    none, no_demo, only_demo = plugins_json(python, env, *knobs)
    for listing in (none, no_demo):
        assert {p["name"]: p["status"] for p in listing["plugins"]}["demo"] == "blocked"
        assert not [c for c in listing["components"] if c["plugin"] == "demo"]
    assert {p["name"]: p["status"] for p in none["plugins"]}["adagrad"] == "blocked"
    assert {p["name"]: p["status"] for p in no_demo["plugins"]}["adagrad"] == "loaded"
    statuses = {p["name"]: p["status"] for p in only_demo["plugins"]}
    assert (statuses["demo"], statuses["adagrad"]) == ("loaded", "blocked")


def test_the_installed_plugins_pass_their_own_tests(venv):
    # the demo's tests/, and the tests the guide shows for its quick-start plugin
    python, env, sources = venv
    argv = [python, "-m", "pytest", "-v", "-p", "no:cacheprovider", "demo/tests", "quickstart-tests"]
    result = run(argv, env=env, cwd=sources, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "test_demo_plugin.py::test_plugin_is_installed PASSED" in result.stdout
    assert "test_adagrad.py::test_plugin_is_installed PASSED" in result.stdout
    assert "test_adagrad.py::test_it_trains PASSED" in result.stdout


def test_the_installed_plugin_trains_from_the_cli(venv, tmp_path):
    python, env, _ = venv
    checkpoint = tmp_path / "shapes.pt"
    result = run([
        python, "-m", "trainpad.cli", "train",
        "--dataset", "shapes", "--optimizer", "lion", "--loss", "focal", "--dataset-count", "3000",
        "--optimizer-lr", "0.001", "--loss-gamma", "1.5", "--batch-size", "64", "--epochs", "2",
        "--device", "cpu", "--data-dir", str(tmp_path / "data"), "--output", str(checkpoint),
    ], env=env)  # fmt: skip
    assert "training mnist-cnn on shapes with lion and focal" in result.stderr and "completed:" in result.stderr
    # mnist-cnn returns log-probabilities; the focal loss takes them as logits
    assert "model mnist-cnn returns log-probabilities, which loss focal takes as logits" in result.stderr
    accuracy = float(re.search(r"test accuracy ([\d.]+)%", result.stdout).group(1))
    assert accuracy > 90.0, result.stdout  # guessing gives 25%
    # the checkpoint names the plugin's components and loads again to be evaluated
    evaluation = json.loads(run([python, "-m", "trainpad.cli", "evaluate", str(checkpoint), "--json"], env=env).stdout)
    assert evaluation["count"] == 500 and abs(evaluation["accuracy"] * 100 - accuracy) < 0.01
    assert list(evaluation["per_class_accuracy"]) == ["circle", "triangle", "square", "cross"]


def test_the_uninstalled_plugin_is_gone(venv):
    python, env, _ = venv
    run([python, "-m", "pip", "uninstall", "--yes", "--quiet", "trainpad-demo-plugin", "trainpad-adagrad"], env=env)
    (listing,) = plugins_json(python, env, {})
    assert not {"demo", "adagrad"} & {p["name"] for p in listing["plugins"]}
    assert not {"shapes", "lion", "focal", "adagrad"} & {c["name"] for c in listing["components"]}
    assert {"mnist", "mnist-cnn", "sgd", "nll"} <= {c["name"] for c in listing["components"]}
