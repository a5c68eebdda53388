"""``trainpad lab``, the Lab's experiments written out as scripts, and an experiment run as a job
in another process: each gives the figures the Lab measures in-process, to the bit."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import pytest

from trainpad import cli
from trainpad.engine.lab.runner import LabRequest, result_of


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    from trainpad.testing import write_idx_dataset

    return write_idx_dataset(tmp_path_factory.mktemp("lab-cli") / "data")


@pytest.fixture(scope="module")
def lab_engine():
    from trainpad.testing import make_engine

    return make_engine()


def lab(capsys, *args: str) -> tuple[int, str, str]:
    status = cli.main(["lab", *args])
    out = capsys.readouterr()
    return status, out.out, out.err


def test_trainpad_lab_lists_the_experiments(capsys, clean_knobs):
    status, out, _ = lab(capsys)
    assert status == 0 and out.splitlines()[1].startswith("zero-grad: optimizer.zero_grad() - Training with and without")
    status, out, _ = lab(capsys, "--json")
    listed = {e["name"]: e for e in json.loads(out)}
    assert list(listed) == ["seed", "zero-grad", "train-eval", "no-grad", "batch-size", "shuffle", "conv"]
    assert listed["conv"]["needs"] == "picture" and listed["zero-grad"]["versions"][1]["changed"] == [2]


def test_trainpad_lab_zero_grad_json_prints_each_arms_figures(capsys, clean_knobs, data_dir):
    status, out, _ = lab(capsys, "zero-grad", "--json", "--data-dir", str(data_dir), "--steps", "5", "--lr", "0.1")
    assert status == 0
    printed = json.loads(out)
    assert {k: printed[k] for k in ("experiment", "dataset", "seed", "params")} == {
        "experiment": "zero-grad", "dataset": "mnist", "seed": 1, "params": {"lr": 0.1, "steps": 5},
    }  # fmt: skip
    assert printed["seconds"] > 0 and printed["finding"].startswith("Without optimizer.zero_grad() each gradient is the sum")
    assert set(printed["arms"]) == {"with", "without"}
    without = printed["arms"]["without"]
    assert without["label"] == "without it" and without["figures"]["steps"] == 4  # 256 pictures in batches of 64
    assert len(without["curves"]["loss"]) == len(without["curves"]["grad_norm"]) == 4
    assert printed["figures"]["grad_norm_growth"] == pytest.approx(without["figures"]["grad_norm_last"] / without["figures"]["grad_norm_first"])


def test_trainpad_lab_refuses_what_it_cannot_run(capsys, clean_knobs, data_dir):
    for args, message in [
        (["zero-grad", "--steps", "1000"], "steps must be at most 64"),
        (["nope"], "no experiment named 'nope'"),
        (["conv", "--filter", "99"], "the first convolution has 16 filters"),
        (["conv", "--image", str(data_dir / "missing.png")], "cannot read the picture"),
    ]:
        with pytest.raises(SystemExit) as exit_info:
            lab(capsys, *args, "--data-dir", str(data_dir))
        assert exit_info.value.code == 2
        assert message in capsys.readouterr().err


@pytest.mark.parametrize("name", ["zero-grad", "conv"])
def test_the_exported_script_prints_the_labs_figures(capsys, clean_knobs, lab_engine, data_dir, tmp_path, name):
    from trainpad.web.shipped_model import shipped_loader

    script = tmp_path / "experiment.py"
    status, out, _ = lab(capsys, name, "--script", "-o", str(script), "--data-dir", str(data_dir))
    assert status == 0 and f"wrote {script}" in out
    ran = subprocess.run([sys.executable, str(script), "--json"], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr[-2000:]
    printed = json.loads(ran.stdout)
    ready = lab_engine.prepare_experiment(LabRequest(name, "mnist", {}), data_dir=data_dir, trained=shipped_loader(lab_engine)())
    expected = result_of(ready).to_dict()
    assert printed["experiment"] == name and printed["finding"] == expected["finding"]
    assert printed["arms"] == expected["arms"] and printed["figures"] == expected["figures"]  # to the bit
    imports = [node for node in ast.walk(ast.parse(script.read_text())) if isinstance(node, (ast.Import, ast.ImportFrom))]
    assert not [ast.unparse(node) for node in imports if "trainpad" in ast.unparse(node)]  # torch, torchvision and Python only


def events_of(factory, lab, params):
    """Run an experiment where this is called (a spawned process): its events."""
    return list(factory(lab, **params))


def test_an_experiment_is_a_job_that_runs_in_a_spawned_process(lab_engine, data_dir):
    ready = lab_engine.prepare_experiment(LabRequest("seed", "mnist", {"others": 1}), data_dir=data_dir)
    here = list(events_of(ready.component.factory, ready.lab, ready.params))
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        there = pool.submit(events_of, ready.component.factory, ready.lab, ready.params).result(timeout=300)
    assert there == here and there[-1].figures["identical_curves"] is True
