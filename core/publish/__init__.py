"""A trained model as a static web page anyone can open: the pad, the probabilities and the
model's insides, computed in the visitor's browser.

``trainpad publish CHECKPOINT --out DIR`` and the Predict tab's "Publish as a web page" call
:func:`publish` (or :func:`build_site` and :func:`zip_site`).  The page needs no server beyond
a file server and no network beyond its own folder: the model is exported to ONNX
(:mod:`.onnx_model`) and run by the vendored ONNX Runtime Web (:mod:`.runtime_files`); the
sketch's preprocessing is trainpad's own, redone in JavaScript to the same pixels
(``page/picture.js``); the folder's ``README.md`` makes it a static Hugging Face Space as it
is (:mod:`.site`).

This package sits above the engine (it uses :class:`~trainpad.engine.engine.Engine` and
:class:`~trainpad.engine.trained_model.TrainedModel`) and imports neither Gradio nor the web app.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
import trainpad

from trainpad.engine.errors import TrainpadError

if TYPE_CHECKING:
    import torch

    from trainpad.engine.engine import Engine
    from trainpad.engine.trained_model import TrainedModel
    from trainpad.publish.site import TestPictures

#: Test pictures a page offers as "Random test image".
TEST_IMAGES = 60
#: Pictures the exported graph is checked on against PyTorch (test pictures first, then noise).
CHECKED_PICTURES = 32
#: The sides a published model's pictures may have: a page draws, shows and uploads pictures.
MIN_SIDE, MAX_SIDE = 8, 512


class PublishError(TrainpadError):
    """The model cannot be published, or not there; the message says why and what to do."""


@dataclass(frozen=True)
class Site:
    """A published page, not yet written: its files by path, and what the user should know."""

    title: str
    files: dict[str, bytes]
    notes: list[str] = field(default_factory=list)
    #: the largest difference of a probability between the ONNX graph and PyTorch
    difference: float = 0.0

    @property
    def nbytes(self) -> int:
        return sum(len(data) for data in self.files.values())

    @property
    def slug(self) -> str:
        """A folder name for it: ``mnist-cnn-on-mnist``."""
        return re.sub(r"[^a-z0-9]+", "-", self.title.lower()).strip("-") or "trainpad-page"


def check_publishable(trained: "TrainedModel") -> None:
    """Refuse a model whose inputs are not pictures a page can draw, show or upload.

    :raises PublishError: saying what the model takes instead.
    """
    shape = tuple(trained.input_shape)
    dataset = trained.spec["dataset"]["name"]
    if len(shape) != 3 or shape[0] not in (1, 3) or not (MIN_SIDE <= shape[1] <= MAX_SIDE and MIN_SIDE <= shape[2] <= MAX_SIDE):
        raise PublishError(
            f"the model's dataset {dataset!r} is not one of pictures (its inputs are {'x'.join(map(str, shape))}); "
            f"a published page draws and uploads pictures of 1 or 3 channels, {MIN_SIDE} to {MAX_SIDE} pixels a side"
        )


def build_site(engine: "Engine", trained: "TrainedModel", *, data_dir: Path | str | None = None, test_images: int = TEST_IMAGES) -> Site:
    """Export ``trained`` and make every file of its page (nothing is written).

    :param data_dir: where the model's dataset is, for the page's test pictures; without
        them the page offers only drawing and uploads, and :attr:`Site.notes` says why.
    :raises PublishError: not a picture model, or the runtime's files are missing.
    :raises trainpad.publish.onnx_model.OnnxExportError: the model cannot be exported
        (the message names the operation), or its export computes something else.
    """
    from trainpad.publish.onnx_model import check_onnx, export_onnx
    from trainpad.publish.runtime_files import check
    from trainpad.publish.site import site_files, title_of

    check_publishable(trained)
    runtime = check()
    exported = export_onnx(trained)
    pictures, notes = _test_pictures(engine, trained, data_dir, test_images)
    difference = check_onnx(exported, trained, _checked_inputs(trained, pictures))
    label = _dataset_label(engine, trained)
    files = site_files(trained, exported, runtime, pictures=pictures, dataset_label=label, trainpad_version=trainpad.__version__)
    return Site(title_of(trained), files, notes, difference)


def _dataset_label(engine: "Engine", trained: "TrainedModel") -> str:
    name = trained.spec["dataset"]["name"]
    try:
        component = engine.component("dataset", name)
    except TrainpadError:
        return name
    return component.description or component.label or name


def _test_pictures(engine: "Engine", trained: "TrainedModel", data_dir: Path | str | None, count: int) -> tuple["TestPictures | None", list[str]]:
    from trainpad.publish.site import pick_test_pictures

    if count <= 0:
        return None, []
    spec = trained.spec["dataset"]
    meta = trained.dataset_meta
    try:
        test_set = engine.load_dataset(spec["name"], spec.get("params"), train=False, root=Path(data_dir) if data_dir else None)
        pictures = pick_test_pictures(test_set, count, mean=meta.get("mean", (0.0,)), std=meta.get("std", (1.0,)))
    except TrainpadError as exc:
        return None, [f"the page has no test images: the {spec['name']} test split could not be loaded ({exc.public_message})"]
    if pictures.pictures.shape[1:3] != tuple(trained.input_shape[1:]):
        return None, [f"the page has no test images: the {spec['name']} test pictures are not {trained.input_shape[1]}x{trained.input_shape[2]}"]
    return pictures, []


def _checked_inputs(trained: "TrainedModel", pictures: "TestPictures | None") -> "torch.Tensor":
    """Normalised inputs to check the export on: test pictures as the page prepares them, then noise."""
    import torch

    from trainpad.engine.pictures import BlankImage, prepare

    meta = trained.dataset_meta
    inputs = []
    for picture in (pictures.pictures[:CHECKED_PICTURES] if pictures is not None else []):
        try:
            prepared = prepare(picture, input_shape=trained.input_shape, mean=meta.get("mean", (0.0,)), std=meta.get("std", (1.0,)), ink=meta.get("ink"))
        except BlankImage:
            continue
        inputs.append(prepared.tensor[0])
    generator = torch.Generator().manual_seed(0)
    while len(inputs) < CHECKED_PICTURES:
        inputs.append(torch.randn(trained.input_shape, generator=generator))
    return torch.stack(inputs)


def check_destination(out: Path | str, *, force: bool = False) -> Path:
    """Where the page may be written: a folder that does not exist, is empty, or (``force``) is replaced.

    :raises PublishError: a file is there, a non-empty folder without ``force``, or nothing
        can be written there.
    """
    out = Path(out).expanduser()
    if out.exists() and not out.is_dir():
        raise PublishError(f"{out} is a file, not a folder: choose a folder for the page")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise PublishError(f"{out} is not empty: choose another folder, or pass --force to replace what is in it")
    parent = out.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not os.access(parent, os.W_OK | os.X_OK):
        raise PublishError(f"cannot write to {out}: {parent} is not writable; choose a folder you can write to")
    return out


def write_site(site: Site, out: Path | str, *, force: bool = False) -> Path:
    """Write ``site`` into the folder ``out``, all of it or nothing.

    The files are written into a new folder beside ``out``, which then takes its place in
    one rename; a failure leaves ``out`` as it was (an earlier page there included).

    :raises PublishError: the folder is refused (:func:`check_destination`) or a write fails.
    """
    out = check_destination(out, force=force)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.publishing-", dir=out.parent))
    except OSError as exc:
        raise PublishError(f"cannot write to {out}: {exc.strerror or exc}; choose a folder you can write to") from None
    old = None
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(staging, 0o777 & ~umask)  # mkdtemp's 0700 would hide the page from a web server's user
        for name, data in site.files.items():
            path = staging / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        if out.is_dir() and any(out.iterdir()):
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.replaced-", dir=out.parent))
            os.replace(out, old / "site")
        os.replace(staging, out)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if old is not None and (old / "site").exists() and not out.exists():
            os.replace(old / "site", out)  # put the earlier page back
        raise PublishError(f"cannot write the page to {out}: {exc.strerror or exc}; nothing was changed there") from None
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    return out


def zip_site(site: Site) -> bytes:
    """The page as a zip of one folder (named :attr:`Site.slug`), the same bytes every time."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for name in sorted(site.files):
            info = zipfile.ZipInfo(f"{site.slug}/{name}", date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, site.files[name])
    return buffer.getvalue()


def publish(
    engine: "Engine", trained: "TrainedModel", out: Path | str, *, force: bool = False,
    data_dir: Path | str | None = None, test_images: int = TEST_IMAGES,
) -> tuple[Site, Path]:
    """Publish ``trained`` as a page in the folder ``out`` (:func:`build_site`, then :func:`write_site`).

    The folder is checked before the model is exported, so a refused folder costs nothing.
    """
    check_destination(out, force=force)
    site = build_site(engine, trained, data_dir=data_dir, test_images=test_images)
    return site, write_site(site, out, force=force)


__all__ = ["publish", "build_site", "write_site", "zip_site", "check_destination", "check_publishable", "Site", "PublishError"]
