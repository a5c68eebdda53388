"""The trainpad command, run as a user runs it: the installed console script."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

TRAINPAD = shutil.which("trainpad", path=str(Path(sys.executable).parent)) or "trainpad"


def trainpad(*args, cwd=None, env=None):
    return subprocess.run(
        [TRAINPAD, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=600,
        env={**os.environ, "TRAINPAD_LOAD_PLUGINS": "", **(env or {})},
    )


def test_plugins_lists_components_with_their_hyperparameters():
    out = trainpad("plugins")
    assert out.returncode == 0, out.stderr
    assert "sgd (built-in) [loaded]" in out.stdout
    assert "optimizer sgd:" in out.stdout and "lr: float, default 0.1" in out.stdout
    listing = json.loads(trainpad("plugins", "--json").stdout)
    names = {(c["kind"], c["name"]) for c in listing["components"]}
    assert {("dataset", "mnist"), ("model", "mnist-cnn"), ("optimizer", "sgd"), ("loss", "nll")} <= names


def test_help_shows_each_commands_flags():
    out = trainpad("train", "--help")
    assert out.returncode == 0 and "--optimizer-lr" in out.stdout and "--model-width" in out.stdout
    assert "--optimizer-beta1" in trainpad("train", "--optimizer", "adamw", "--help").stdout
    for command in ("evaluate", "predict", "plugins"):
        assert trainpad(command, "--help").returncode == 0


def test_train_evaluate_predict(mnist_dir, tmp_path):
    ckpt = tmp_path / "model.pt"
    out = trainpad("train", "--data-dir", mnist_dir, "--epochs", "2", "--batch-size", "32", "--optimizer-lr", "0.05", "-o", ckpt)
    assert out.returncode == 0, out.stderr
    assert "epoch 2/2" in out.stderr and "test accuracy" in out.stdout and ckpt.exists()

    out = trainpad("evaluate", ckpt, "--data-dir", mnist_dir, "--json")
    result = json.loads(out.stdout)
    assert result["count"] == 128 and len(result["confusion"]) == 10
    assert 0 <= result["accuracy"] <= 1

    # draw class 5's blob (rows 9-15, cols 10-16 of 28) large, dark on white
    picture = np.full((280, 280), 255, dtype=np.uint8)
    picture[90:150, 100:160] = 0
    Image.fromarray(picture).save(tmp_path / "digit.png")
    Image.new("RGB", (64, 64), "white").save(tmp_path / "blank.png")
    out = trainpad("predict", ckpt, tmp_path / "digit.png", tmp_path / "blank.png", "--json")
    results = json.loads(out.stdout)
    # probabilities, not log-probabilities; how confident a model is on this square it
    # never saw in training depends on the architecture, so only the range is checked
    assert len(results[0]["top"]) == 3 and 0 < sum(p for _, p in results[0]["top"]) <= 1 + 1e-6
    assert "nothing drawn" in results[1]["error"]
    assert out.returncode == 1  # one image could not be classified


@pytest.mark.parametrize(
    "args, words",
    [
        (["train", "--epochs", "two"], "epochs must be a number"),
        (["train", "--optimizer-lr", "nan"], "lr must be a finite number"),
        (["train", "--optimizer-lr", "1e20"], "lr must be at most 10"),
        (["train", "--model", "nope"], "no model named 'nope'"),
        (["train", "--batch-size", "2.5"], "whole number"),
        (["evaluate", "missing.pt"], "no checkpoint file"),
        (["train", "--no-such-flag"], "unrecognized arguments"),
    ],
)
def test_bad_input_gets_a_clear_message_not_a_traceback(args, words, tmp_path):
    out = trainpad(*args, cwd=tmp_path)
    assert out.returncode == 2
    assert words in out.stderr and "Traceback" not in out.stderr


def test_missing_data_names_the_folder_and_the_files(tmp_path):
    out = trainpad("train", "--data-dir", tmp_path / "empty", env={"TRAINPAD_OFFLINE": "1"})
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert str(tmp_path / "empty" / "MNIST" / "raw") in out.stderr
    for name in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        assert name in out.stderr


@pytest.mark.parametrize(
    "args, status",
    [(("plugins",), 141), (("plugins", "--json"), 141), (("settings",), 141), (("train", "--help"), 0)],
)  # 141: 128 + SIGPIPE, as a shell reports a program the signal stopped; argparse's --help ignores a closed pipe
def test_a_reader_that_stops_early_ends_the_command_quietly(args, status):
    # `trainpad plugins | head -1`: the reader is gone before the command writes its output
    process = subprocess.Popen(
        [TRAINPAD, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "TRAINPAD_LOAD_PLUGINS": ""},
    )
    process.stdout.close()
    stderr = process.stderr.read()
    assert process.wait(timeout=600) == status
    assert stderr == ""  # no BrokenPipeError traceback, no "Exception ignored" at exit


def test_max_samples_still_works_with_a_warning_on_export(tmp_path):
    # --max-samples was renamed --train-samples; scripts that use it keep working
    out = trainpad("export", "--max-samples", "100", "-o", "-", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "\nTRAIN_SAMPLES = 100  #" in out.stdout
    assert out.stderr.startswith("trainpad: warning: --max-samples is now --train-samples;")
    assert "--max-samples" not in trainpad("export", "--help").stdout  # hidden: the new name is the one taught
    assert trainpad("export", "--train-samples", "100", "-o", "-", cwd=tmp_path).stderr == ""


def test_max_samples_still_works_with_a_warning_on_train(mnist_dir, tmp_path):
    out = trainpad(
        "train", "--data-dir", mnist_dir, "--epochs", "1", "--batch-size", "32", "--max-samples", "64", "--quiet",
        "-o", tmp_path / "model.pt",
    )
    assert out.returncode == 0, out.stderr
    assert "trainpad: warning: --max-samples is now --train-samples;" in out.stderr
    assert ", 64 samples," in out.stderr and (tmp_path / "model.pt").exists()
