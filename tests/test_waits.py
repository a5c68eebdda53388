"""What a wait says: loading, downloading (torchvision's own download code against a slow
mirror on 127.0.0.1), decoding and building report through trainpad.engine.progress;
a failed download tells a web user what happened without any path of the server's."""

from __future__ import annotations

import re

import pytest

from support import Mirror
from trainpad.engine.config import TrainConfig
from trainpad.engine.data import DataUnavailable
from trainpad.engine.errors import ConfigError
from trainpad.engine.progress import listening, say, size_text
from trainpad.engine.torchvision_data import download_status, load_torchvision_tensors
from trainpad.plugins.mnist import FILES
from trainpad.testing import gzip_files, write_idx_dataset
from trainpad.web.messages import UserError, user_errors


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """Gzipped MNIST-like files served slowly, and torchvision's MNIST pointed at them
    (its download code unchanged; only its mirror and checksums are the test's)."""
    import torchvision

    raw = write_idx_dataset(tmp_path / "source", train=1500, test=300) / "MNIST" / "raw"
    gzip_files(raw)
    served = tmp_path / "served"
    served.mkdir()
    for path in raw.glob("*.gz"):
        (served / path.name).write_bytes(path.read_bytes())
    with Mirror(served, bytes_per_second=1_200_000) as server:
        md5 = server.md5()
        monkeypatch.setattr(torchvision.datasets.MNIST, "mirrors", [server.url])
        monkeypatch.setattr(torchvision.datasets.MNIST, "resources", [(name, md5[name]) for name, _ in torchvision.datasets.MNIST.resources])
        monkeypatch.delenv("TRAINPAD_OFFLINE", raising=False)
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        yield server


def test_nobody_listening_costs_nothing_and_listeners_nest():
    say("nobody hears this")
    heard, inner = [], []
    with listening(heard.append):
        say("one")
        with listening(inner.append):
            say("two")
        say("three")
    assert heard == ["one", "three"] and inner == ["two"]
    assert [size_text(n) for n in (512, 28_881, 9_912_422)] == ["512 bytes", "28.9 kB", "9.9 MB"]


def test_a_download_reports_its_bytes_and_files_as_they_arrive(mirror, tmp_path):
    heard: list[str] = []
    with listening(heard.append):
        images, targets = load_torchvision_tensors("MNIST", tmp_path / "data", train=True, files=FILES, split_files=FILES[:2])
    assert len(images) == 1500 and len(targets) == 1500
    assert heard[0] == "Decoding MNIST's training images…" and "Downloading MNIST: connecting…" in heard
    received = [float(m.group(1)) * {"bytes": 1e-6, "kB": 1e-3, "MB": 1.0}[m.group(2)] for s in heard if (m := re.search(r"([\d.]+) (bytes|kB|MB) received", s))]
    assert len(set(received)) >= 2 and received == sorted(received), heard
    assert {request.lstrip("/") for request in mirror.requests} == {f"{name}.gz" for name in FILES}


def test_the_download_status_is_read_from_the_files_torchvision_writes(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    assert download_status("MNIST", raw, 4) == "Downloading MNIST: connecting…"
    (raw / "train-images-idx3-ubyte.gz").write_bytes(b"x" * 2_500_000)
    (raw / "train-images-idx3-ubyte").write_bytes(b"x")
    (raw / "train-labels-idx1-ubyte.gz").write_bytes(b"x" * 10_000)
    assert download_status("MNIST", raw, 4) == "Downloading MNIST: 2.5 MB received, 1 of 4 files done"
    for name in ("train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (raw / f"{name}.gz").write_bytes(b"x")
        (raw / name).write_bytes(b"x")
    assert download_status("MNIST", raw, 4) == "Downloaded MNIST (2.5 MB); decoding…"


def test_a_failed_download_tells_a_web_user_no_server_path(mirror, tmp_path):
    mirror.broken = True
    root = tmp_path / "the-servers-data"
    with pytest.raises(DataUnavailable) as caught:
        load_torchvision_tensors("MNIST", root, train=True, files=FILES, split_files=FILES[:2])
    full, public = str(caught.value), caught.value.public_message
    assert str(root) in full and "TRAINPAD_DATA_DIR" in full  # the server's owner learns where to put what
    assert public.startswith("MNIST is not on this server yet, and downloading it failed (RuntimeError: Error downloading")
    assert "/" not in public and "the-servers-data" not in public and "TRAINPAD_" not in public, public
    # through the engine and the web app's handlers, the web user gets the public one
    with pytest.raises(UserError) as shown:
        with user_errors("Preparing the run"):
            try:
                raise ConfigError(full, public=caught.value.public)
            except ConfigError:
                raise
    assert shown.value.message == public


def test_loading_and_building_say_what_they_do(engine, tmp_path):
    data = write_idx_dataset(tmp_path / "data")
    heard: list[str] = []
    with listening(heard.append):
        engine.build_run(TrainConfig(epochs=1, batch_size=32), data_dir=data)
    assert heard == [
        "Loading the training split of dataset mnist…",
        "Decoding MNIST's training images…",
        "Loading the test split of dataset mnist…",
        "Decoding MNIST's test images…",
        "Building the model mnist-cnn…",
    ], heard
