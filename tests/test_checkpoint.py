"""Checkpoints round-trip exactly and refuse anything that is not plain weights."""

import io
import os
import subprocess
import sys

import pytest
import torch

from trainpad.engine.checkpoint import load_checkpoint, read_payload, save_checkpoint, to_payload
from trainpad.engine.errors import CheckpointError
from trainpad.engine.training import TrainConfig


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from trainpad.engine.engine import Engine
    from trainpad.testing import write_idx_dataset

    data = write_idx_dataset(tmp_path_factory.mktemp("data"))
    engine = Engine.load(entrypoints=False)
    return engine.build_run(TrainConfig(epochs=1, batch_size=32), data_dir=data).run().trained


def test_round_trip_gives_the_same_predictions(engine, trained, tmp_path):
    path = save_checkpoint(trained, tmp_path / "model.pt")
    loaded = load_checkpoint(engine.registry, path)
    x = torch.randn(8, 1, 28, 28)
    with torch.inference_mode():
        assert torch.equal(trained.model(x), loaded.model(x))
    assert loaded.spec == trained.spec and loaded.class_names == trained.class_names
    assert loaded.metrics == pytest.approx(trained.metrics) and loaded.epochs == 1
    assert not loaded.model.training


class Payload:
    """Unpickling this runs a command: what a malicious checkpoint does."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("force_unsafe", [False, True])
def test_a_pickled_payload_never_runs(engine, trained, tmp_path, monkeypatch, force_unsafe):
    marker = tmp_path / "pwned"
    payload = to_payload(trained)
    payload["metrics"] = Payload(marker)
    path = tmp_path / "evil.pt"
    torch.save(payload, path)
    if force_unsafe:
        monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    with pytest.raises(CheckpointError, match="contains Python objects") as info:
        load_checkpoint(engine.registry, path)
    assert "weights_only=False" not in str(info.value)
    assert not marker.exists()


def test_the_unsafe_environment_variable_is_ignored_in_a_fresh_process(trained, tmp_path):
    marker = tmp_path / "pwned"
    payload = to_payload(trained)
    payload["metrics"] = Payload(marker)
    torch.save(payload, tmp_path / "evil.pt")
    code = "from trainpad.engine.checkpoint import read_payload; import sys\ntry: read_payload(sys.argv[1])\nexcept Exception as e: print(type(e).__name__)"
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "evil.pt")],
        env={**os.environ, "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD": "1"}, capture_output=True, text=True, check=True,
    )
    assert out.stdout.strip() == "CheckpointError" and not marker.exists()


def corrupt(trained, tmp_path, change):
    payload = to_payload(trained)
    change(payload)
    path = tmp_path / "bad.pt"
    torch.save(payload, path)
    return path


@pytest.mark.parametrize(
    "change, words",
    [
        (lambda p: p["state_dict"].__setitem__("fc2.weight", torch.full_like(p["state_dict"]["fc2.weight"], float("nan"))), "NaN or infinite"),
        (lambda p: p["state_dict"].__setitem__("fc2.weight", torch.zeros(3, 3)), r"shape \(3, 3\)"),
        (lambda p: p["state_dict"].pop("fc2.bias"), "missing"),
        (lambda p: p["state_dict"].__setitem__("extra", torch.zeros(1)), "unexpected"),
        (lambda p: p["spec"]["model"].__setitem__("name", "gone-model"), "needs model 'gone-model'.*plugin 'mnist_cnn', which is loaded but no longer registers"),
        (lambda p: p["spec"]["model"]["params"].__setitem__("width", -3), "settings are refused"),
        (lambda p: p.__setitem__("format", "something else"), "not a trainpad checkpoint"),
        (lambda p: p.__setitem__("class_names", []), "no class names"),
    ],
)
def test_bad_checkpoints_are_refused_with_the_reason(engine, trained, tmp_path, change, words):
    with pytest.raises(CheckpointError, match=words):
        engine.load_checkpoint(corrupt(trained, tmp_path, change))


def test_garbage_and_oversized_files_are_refused(engine, tmp_path, monkeypatch):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(os.urandom(2000))
    with pytest.raises(CheckpointError, match="not a trainpad checkpoint"):
        load_checkpoint(engine.registry, junk)
    monkeypatch.setenv("TRAINPAD_MAX_CHECKPOINT_MB", "0.001")
    with pytest.raises(CheckpointError, match="more than"):
        read_payload(junk)
    with pytest.raises(CheckpointError, match="more than"):
        read_payload(io.BytesIO(os.urandom(5000)))
    with pytest.raises(CheckpointError, match="no checkpoint file"):
        read_payload(tmp_path / "missing.pt")


def test_non_finite_weights_are_never_saved(trained, tmp_path):
    import copy

    broken = copy.deepcopy(trained)
    with torch.no_grad():
        broken.model.fc2.weight[0, 0] = float("inf")
    with pytest.raises(CheckpointError, match="non-finite"):
        save_checkpoint(broken, tmp_path / "x.pt")
    assert not (tmp_path / "x.pt").exists()


def test_the_shipped_checkpoint_loads(engine):
    from pathlib import Path

    import plugins

    shipped = Path(plugins.__file__).parent / "pretrained" / "mnist-cnn.pt"
    loaded = load_checkpoint(engine.registry, shipped)
    assert loaded.metrics["test_accuracy"] >= 0.99 and shipped.stat().st_size <= 2 * 1024 * 1024


@pytest.mark.parametrize("stored", [0.68, 3, 3.0])
def test_the_epoch_count_keeps_its_fraction(engine, trained, tmp_path, stored):
    payload = to_payload(trained)
    payload["epochs"] = stored
    path = tmp_path / "model.pt"
    torch.save(payload, path)
    assert load_checkpoint(engine.registry, path).epochs == stored


@pytest.mark.parametrize("stored", [float("nan"), float("inf"), -2.0, "three", True, 10**7])
def test_an_epoch_count_that_is_not_one_is_refused(engine, trained, tmp_path, stored):
    payload = to_payload(trained)
    payload["epochs"] = stored
    path = tmp_path / "model.pt"
    torch.save(payload, path)
    with pytest.raises(CheckpointError, match="epochs must be a number from 0 to 1,000,000"):
        load_checkpoint(engine.registry, path)
