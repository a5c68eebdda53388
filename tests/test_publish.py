"""``trainpad publish``: a checkpoint's model as a static page, without a browser (the page in
Chromium is tests/browser/test_published_page.py).

The folder is complete and small, a static Space as it is; its ONNX model computes what the
PyTorch model computes; every built-in model and dataset publishes; what cannot be published
(not a checkpoint, not pictures, an operation without ONNX, a folder that is taken or not
writable) is refused with one line and exit status 2, leaving the folder as it was.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from support import ROOT, untrained_model
from trainpad.cli import main
from trainpad.publish import PublishError, build_site, check_destination, publish, write_site, zip_site
from trainpad.publish.onnx_model import OnnxExportError, export_onnx
from trainpad.publish.runtime_files import FOLDER, MANIFEST, check
from trainpad.publish.texts import TEXTS
from trainpad.testing import make_engine, write_idx_dataset

SHIPPED = ROOT / "plugins" / "pretrained" / "mnist-cnn.pt"
#: The size the issue allows the folder of the shipped model (ONNX Runtime Web included).
MAX_FOLDER_BYTES = 15_000_000

sys.path.insert(0, str(ROOT / "tests" / "plugins"))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    """Real MNIST when there is some, else small IDX files of the same shape."""
    from support import real_mnist_dir

    return real_mnist_dir() or write_idx_dataset(tmp_path_factory.mktemp("data"), train=64, test=256)


@pytest.fixture(scope="module")
def published(tmp_path_factory, data_dir) -> tuple[Path, str]:
    """``trainpad publish`` of the shipped model, as a user runs it; ``(folder, what it printed)``."""
    out = tmp_path_factory.mktemp("site") / "digits"
    printed = io.StringIO()
    with _captured(printed):
        status = main(["publish", str(SHIPPED), "--out", str(out), "--data-dir", str(data_dir)])
    assert status == 0, printed.getvalue()
    return out, printed.getvalue()


class _captured:
    """stdout into ``buffer`` while the block runs (the CLI prints its one-line report)."""

    def __init__(self, buffer: io.StringIO) -> None:
        self.buffer = buffer

    def __enter__(self) -> None:
        self.stdout, sys.stdout = sys.stdout, self.buffer

    def __exit__(self, *exc: object) -> None:
        sys.stdout = self.stdout


def front_matter(readme: str) -> dict[str, str]:
    head = readme.split("---\n")[1]
    return dict(line.split(": ", 1) for line in head.splitlines() if ": " in line and not line.startswith(" "))


# -- the folder ------------------------------------------------------------------------------------


def test_the_folder_is_a_static_space_with_the_page_the_model_and_the_runtime(published):
    out, printed = published
    names = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    assert {"index.html", "page.js", "pad.js", "picture.js", "insides.js", "style.css", "model.onnx", "model.json",
            "test-images.png", "README.md", "onnxruntime-web/LICENSE", "onnxruntime-web/ort.wasm.bundle.min.mjs",
            "onnxruntime-web/ort-wasm-simd-threaded.wasm.gz"} == names
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    assert size < MAX_FOLDER_BYTES, f"the folder is {size:,} bytes"
    assert f"published mnist-cnn on mnist in {out} (13 files, {size / 1e6:.1f} MB)" in printed
    fields = front_matter((out / "README.md").read_text())
    assert fields["sdk"] == "static" and fields["app_file"] == "index.html" and (out / fields["app_file"]).is_file()
    assert fields["title"] == "mnist-cnn on mnist" and len(fields["short_description"]) <= 60
    assert "MIT License" in (out / "onnxruntime-web" / "LICENSE").read_text()
    assert "<title>mnist-cnn on mnist</title>" in (out / "index.html").read_text()
    assert oct(out.stat().st_mode & 0o777) == oct(0o777 & ~_umask())  # a web server's user can read it


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_the_model_card_says_what_the_model_is_and_how_to_feed_it(published):
    out, _ = published
    card = json.loads((out / "model.json").read_text())
    assert card["classes"] == [str(d) for d in range(10)] and card["input_shape"] == [1, 28, 28]
    assert card["mean"] == [0.1307] and card["std"] == [0.3081] and card["ink"] == "centre"
    assert card["metrics"]["test_accuracy"] == pytest.approx(0.9939) and card["epochs"] == 3
    assert card["training"]["optimizer"]["name"] == "sgd" and card["run"]["batch_size"] == 128
    outputs = card["onnx"]["outputs"]
    assert [o["name"] for o in outputs] == ["probabilities", "maps0", "maps1", "maps2"]
    assert [o["description"] for o in outputs[1:]] == ["Conv2d 1→16, 3×3", "Conv2d 16→32, 3×3", "Conv2d 32→64, 3×3"]
    assert card["saliency"]["method"] == "occlusion"
    assert card["runtime"]["version"] == json.loads(MANIFEST.read_text())["version"]
    assert set(card["texts"]) == {"en", "ko"} and card["texts"]["ko"]["clear"] == "지우기"
    images = card["test_images"]
    from PIL import Image

    sprite = Image.open(out / images["file"])
    assert sprite.size == (28 * images["count"], 28) and len(images["labels"]) == images["count"] == 60


def test_the_onnx_model_computes_what_pytorch_computes_on_100_test_images(published, data_dir):
    import onnxruntime

    from trainpad.engine.inside import look_inside
    from trainpad.engine.pictures import dataset_picture, prepare

    engine = make_engine()
    trained = engine.load_checkpoint(SHIPPED)
    test_set = engine.load_dataset("mnist", train=False, root=data_dir)
    meta = trained.dataset_meta
    inputs = torch.stack([
        prepare(dataset_picture(test_set, i), input_shape=(1, 28, 28), mean=meta["mean"], std=meta["std"], ink="centre").tensor[0]
        for i in range(100)
    ])
    out, _ = published
    session = onnxruntime.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    probabilities, *maps = session.run(None, {"input": inputs.numpy()})
    with torch.inference_mode():
        expected = trained.model(inputs).exp().numpy()
    assert probabilities.shape == (100, 10)
    assert np.abs(probabilities - expected).max() < 1e-4
    assert (probabilities.argmax(1) == expected.argmax(1)).all()
    # the feature maps are the Predict tab's
    inside = look_inside(trained, inputs[:1], np.zeros((28, 28), np.uint8))
    for ours, layer in zip(maps, inside.layers):
        assert ours.shape[1:] == layer.maps.shape and np.abs(ours[0] - layer.maps).max() < 1e-4


def test_the_runtime_is_the_one_recorded(published):
    manifest = json.loads(MANIFEST.read_text())
    assert check().version == manifest["version"]
    packed = manifest["files"]["ort-wasm-simd-threaded.wasm.gz"]
    wasm = gzip.decompress((FOLDER / "ort-wasm-simd-threaded.wasm.gz").read_bytes())
    assert wasm[:4] == b"\0asm" and hashlib.sha256(wasm).hexdigest() == packed["sha256_unpacked"]
    out, _ = published
    for name in manifest["files"]:
        assert (out / "onnxruntime-web" / name).read_bytes() == (FOLDER / name).read_bytes()


def test_the_pages_korean_is_the_apps_where_they_say_the_same():
    from trainpad.web.i18n_ko import KOREAN

    shared = [(english, korean) for english, korean in TEXTS.values() if english in KOREAN]
    assert len(shared) >= 8
    assert [(english, KOREAN[english]) for english, _ in shared] == shared


# -- every built-in model and dataset --------------------------------------------------------------


BUILT_IN = [("mnist", "mnist-cnn"), ("mnist", "lenet5"), ("mnist", "mlp"), ("mnist", "softmax-regression"),
            ("fashion-mnist", "mnist-cnn"), ("kmnist", "mnist-cnn")]


@pytest.mark.parametrize("dataset, model", BUILT_IN, ids=[f"{d}-{m}" for d, m in BUILT_IN])
def test_every_built_in_model_and_dataset_publishes(dataset, model):
    import onnxruntime

    engine = make_engine()
    trained = untrained_model(engine, dataset, model)
    site = build_site(engine, trained, test_images=0)
    assert site.difference < 1e-4 and site.notes == []
    card = json.loads(site.files["model.json"])
    assert card["classes"] == trained.class_names and card["ink"] == trained.dataset_meta.get("ink")
    kinds = [o.get("kind") for o in card["onnx"]["outputs"][1:]]
    assert kinds and set(kinds) == ({"maps"} if model in ("mnist-cnn", "lenet5") else {"units"})
    session = onnxruntime.InferenceSession(site.files["model.onnx"], providers=["CPUExecutionProvider"])
    batch = np.random.default_rng(0).normal(size=(5, 1, 28, 28)).astype(np.float32)  # any batch size: the occlusion asks for many
    outputs = session.run(None, {"input": batch})
    assert outputs[0].shape == (5, 10) and np.allclose(outputs[0].sum(1), 1, atol=1e-5)
    assert [list(o.shape[1:]) for o in outputs[1:]] == [o["shape"] for o in card["onnx"]["outputs"][1:]]
    assert site.nbytes < MAX_FOLDER_BYTES


def test_a_page_without_its_dataset_says_it_has_no_test_images(tmp_path):
    engine = make_engine()
    site = build_site(engine, untrained_model(engine, "mnist", "softmax-regression"), data_dir=tmp_path / "empty")
    assert "test-images.png" not in site.files and "test_images" not in json.loads(site.files["model.json"])
    assert len(site.notes) == 1 and site.notes[0].startswith("the page has no test images: the mnist test split could not be loaded")


def test_the_zip_is_one_folder_and_the_same_bytes_every_time():
    engine = make_engine()
    site = build_site(engine, untrained_model(engine, "mnist", "softmax-regression"), test_images=0)
    data = zip_site(site)
    assert data == zip_site(site)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        assert {name.split("/")[0] for name in names} == {"softmax-regression-on-mnist"}
        assert archive.read("softmax-regression-on-mnist/model.onnx") == site.files["model.onnx"]


# -- what is refused -------------------------------------------------------------------------------


def refused(capsys, argv: list[str]) -> str:
    """Run the CLI, expecting exit status 2 and one line on stderr; returns the line."""
    with pytest.raises(SystemExit) as stopped:
        status = main(argv)
        raise SystemExit(status)
    assert stopped.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("trainpad: error: ") and "\n" not in err, err
    return err


def test_a_file_that_is_not_a_trainpad_checkpoint_is_refused(capsys, tmp_path):
    other = tmp_path / "weights.pt"
    torch.save({"weight": torch.zeros(3)}, other)
    notes = tmp_path / "notes.pt"
    notes.write_text("not a checkpoint at all")
    for path in (other, notes, tmp_path / "missing.pt"):
        line = refused(capsys, ["publish", str(path), "--out", str(tmp_path / "site")])
        assert "not a trainpad checkpoint" in line or "no checkpoint file" in line, line
    assert not (tmp_path / "site").exists()


def test_a_dataset_of_other_things_than_pictures_is_refused(capsys, tmp_path, monkeypatch):
    import trainpad_test_publish

    from trainpad.engine.checkpoint import save_checkpoint
    from trainpad.engine.engine import Engine

    engine = make_engine(trainpad_test_publish)
    trained = untrained_model(engine, "signals", "softmax-regression")
    save_checkpoint(trained, tmp_path / "signals.pt")
    monkeypatch.setattr(Engine, "load", classmethod(lambda cls, **kwargs: make_engine(trainpad_test_publish)))
    line = refused(capsys, ["publish", str(tmp_path / "signals.pt"), "--out", str(tmp_path / "site")])
    assert "the model's dataset 'signals' is not one of pictures (its inputs are 1x1x64)" in line, line
    assert not (tmp_path / "site").exists()


def test_an_operation_without_onnx_is_named_and_nothing_is_written(tmp_path):
    import trainpad_test_publish

    engine = make_engine(trainpad_test_publish)
    trained = untrained_model(engine, "mnist", "running-max-net")
    with pytest.raises(OnnxExportError, match=r"model 'running-max-net' cannot be exported to ONNX: its operation aten\.cummax has no ONNX"):
        export_onnx(trained)
    out = tmp_path / "site"
    with pytest.raises(OnnxExportError) as error:
        publish(engine, trained, out)
    assert "\n" not in str(error.value)
    assert list(tmp_path.iterdir()) == []  # no folder, no half-written one beside it


def test_a_folder_in_use_is_kept_unless_forced(capsys, tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "mine.txt").write_text("keep me")
    line = refused(capsys, ["publish", str(SHIPPED), "--out", str(site)])
    assert f"{site} is not empty: choose another folder, or pass --force" in line
    assert [p.name for p in site.iterdir()] == ["mine.txt"]
    (tmp_path / "file").write_text("x")
    assert "is a file, not a folder" in refused(capsys, ["publish", str(SHIPPED), "--out", str(tmp_path / "file")])
    # --force replaces the folder in one move, nothing of the old one left
    engine = make_engine()
    page = build_site(engine, untrained_model(engine, "mnist", "softmax-regression"), test_images=0)
    write_site(page, site, force=True)
    assert not (site / "mine.txt").exists() and (site / "index.html").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "site"]  # no staging folders left


def test_a_folder_that_cannot_be_written_is_refused(capsys, tmp_path):
    if os.geteuid() == 0:  # root writes through permission bits: a folder no one may create
        target = Path("/sys/trainpad-site")
    else:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        target = locked / "site"
    try:
        line = refused(capsys, ["publish", str(SHIPPED), "--out", str(target), "--test-images", "0"])
    finally:
        if os.geteuid() != 0:
            locked.chmod(0o700)
    assert f"cannot write to {target}: " in line and "choose a folder you can write to" in line, line
    assert not target.exists()
    with pytest.raises(PublishError, match="is not writable; choose a folder you can write to"):
        check_destination("/proc/self/trainpad-site")


# -- the Predict tab's "Publish as a web page" -----------------------------------------------------


def test_the_predict_tab_publishes_the_sessions_model_once_and_bounds_each_visitor(monkeypatch, tmp_path):
    import trainpad.web.publish_handler as publishing
    from trainpad.web.messages import UserError
    from trainpad.web.publish_handler import Publisher
    from trainpad.web.sessions import SessionStore
    from trainpad.web.shipped_model import shipped_loader

    engine = make_engine()
    shipped = shipped_loader(engine)()
    store = SessionStore(lambda: shipped)
    now = [0.0]
    publisher = Publisher(engine, store, data_dir=tmp_path / "no-data", clock=lambda: now[0])
    built = []
    monkeypatch.setattr(publishing, "build_site", lambda *a, **k: built.append(1) or build_site(*a, **{**k, "test_images": 0}))
    monkeypatch.setenv("TRAINPAD_MAX_PUBLISHES_PER_CLIENT", "2")

    page = publisher.publish("alice", "10.0.0.1")
    assert page.path.name == "mnist-cnn-on-mnist.zip" and page.path.parent.parent == store.root
    with zipfile.ZipFile(page.path) as archive:
        assert "mnist-cnn-on-mnist/index.html" in archive.namelist()
    # every session on the shipped model gets the page made once, one file, whoever asks
    assert publisher.publish("bob", "10.0.0.2").path == page.path and len(built) == 1

    def another_model(session: str) -> None:
        store.get(session).set_model(untrained_model(engine, "mnist", "softmax-regression"), "a test")

    for session in ("carol", "dave"):
        another_model(session)
        publisher.publish(session, "10.0.0.3")
    another_model("erin")
    with pytest.raises(UserError, match=r"at most 2 pages an hour per visitor \(TRAINPAD_MAX_PUBLISHES_PER_CLIENT\): try again in 60 minute"):
        publisher.publish("erin", "10.0.0.3")
    assert publisher.publish("erin", "10.0.0.4").path.is_file()  # another visitor
    now[0] = 3601.0
    another_model("frank")
    assert publisher.publish("frank", "10.0.0.3").path.is_file()  # an hour later
    monkeypatch.setenv("TRAINPAD_MAX_PUBLISHES_PER_CLIENT", "0")
    another_model("gina")
    with pytest.raises(UserError, match="This server does not publish pages"):
        publisher.publish("gina", "10.0.0.5")
    with pytest.raises(UserError, match="There is no model to publish yet"):
        Publisher(engine, SessionStore(lambda: None)).publish("alice", "10.0.0.1")
    assert len(built) == 5
    # the last four pages are kept on disk, one file each; the oldest went
    zips = sorted(p.name for p in store.root.rglob("*.zip"))
    assert len(zips) == 4 and not page.path.exists(), zips


def test_a_model_that_cannot_be_published_says_why_in_the_app(tmp_path):
    import trainpad_test_publish

    from trainpad.web.messages import UserError
    from trainpad.web.publish_handler import Publisher
    from trainpad.web.sessions import SessionStore

    engine = make_engine(trainpad_test_publish)
    store = SessionStore(lambda: untrained_model(engine, "mnist", "running-max-net"))
    with pytest.raises(UserError, match=r"its operation aten\.cummax has no ONNX equivalent"):
        Publisher(engine, store, data_dir=tmp_path).publish("alice", "10.0.0.1")
    assert list(store.root.rglob("*.zip")) == []
