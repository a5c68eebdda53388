"""Loading torchvision's datasets with a clear message when the files are not there.

:func:`load_torchvision_tensors` is the fast path for the small ones (MNIST and its
look-alikes): the split is decoded once into ``uint8`` tensors, cached on disk, and
read back on the next start without importing torchvision at all.

Both say what they are doing to whoever waits (:mod:`trainpad.engine.progress`): the
bytes and files of a download as they arrive (torchvision's own download code runs; a
helper thread watches the files it writes), then the decoding.  When the files are
missing and cannot be downloaded, the message for the server's owner names the folder
and the files to put there; the one for a web user (``public``) names no server path.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from pathlib import Path
from typing import Any, Iterator, Sequence

from trainpad import settings
from trainpad.engine.data import DataUnavailable, load_decoded
from trainpad.engine.message import msg
from trainpad.engine.progress import current_listener, say, size_text

log = logging.getLogger("trainpad")

#: Seconds between two looks at a download's files.
WATCH_EVERY = 0.25


def load_torchvision(name: str, root: Path, *, train: bool, files: Sequence[str]) -> Any:
    """``torchvision.datasets.<name>(root, train, download=...)``, downloading when allowed.

    :raises DataUnavailable: the files are missing and cannot be downloaded; the message
        names the folder and the files to put there (its ``public`` one does not).
    """
    import torchvision

    cls = getattr(torchvision.datasets, name)
    root = Path(root)
    raw = root / name / "raw"
    try:
        say(msg("Decoding {name}'s training images…", name=name) if train else msg("Decoding {name}'s test images…", name=name))
        return cls(str(root), train=train, download=False)
    except RuntimeError:
        pass  # not there yet
    if not settings.offline():
        try:
            with reporting_download(name, raw, len(getattr(cls, "resources", None) or files)):
                return cls(str(root), train=train, download=True)
        except Exception as exc:  # no network, a proxy, a full disk...
            log.warning("downloading %s into %s failed: %s: %s", name, raw, type(exc).__name__, exc)
            reason = f"downloading failed ({type(exc).__name__}: {exc})"
            first_line = str(exc).strip().splitlines()[0].rstrip(":") if str(exc).strip() else ""
            said = f": {first_line}" if first_line and "/" not in first_line and "\\" not in first_line else ""
            public_reason = f"downloading it failed ({type(exc).__name__}{said})"
            advice = "Try again in a few minutes; if it keeps failing, the server's owner has to add the dataset's files"
    else:
        reason = "downloads are off (TRAINPAD_OFFLINE)"
        public_reason = "this server does not download datasets"
        advice = "The server's owner has to add the dataset's files"
    listing = "\n".join(f"  {raw / f}" for f in files)
    raise DataUnavailable(
        f"{name} is not in {raw} and {reason}.\n"
        f"Put these files there, uncompressed, or point --data-dir / TRAINPAD_DATA_DIR "
        f"at a folder that has {name}/raw/:\n{listing}",
        public=f"{name} is not on this server yet, and {public_reason}. {advice} (its log says where).",
    )


def download_status(name: str, raw: Path, files: int) -> str:
    """How a download into ``raw`` is going, read from the files torchvision writes there
    (each archive as it arrives, then its unpacked file)."""
    try:
        found = [path for path in raw.iterdir() if path.is_file()]
    except OSError:
        found = []
    archives = [path for path in found if path.suffix in (".gz", ".zip", ".tar", ".bz2", ".xz")]
    received = sum(path.stat().st_size for path in archives if path.exists())
    unpacked = sum(1 for path in found if path.with_name(path.name + ".gz") in archives)
    if not archives:
        return msg("Downloading {name}: connecting…", name=name)
    if unpacked >= files:
        return msg("Downloaded {name} ({size}); decoding…", name=name, size=size_text(received))
    return msg(
        "Downloading {name}: {size} received, {done} of {files} files done",
        name=name, size=size_text(received), done=min(unpacked, files), files=files,
    )


@contextlib.contextmanager
def reporting_download(name: str, raw: Path, files: int) -> Iterator[None]:
    """While the block downloads into ``raw``, tell this thread's listener how it goes,
    a few times a second (nothing is watched when nobody listens)."""
    listener = current_listener()
    if listener is None:
        yield
        return
    done = threading.Event()

    def watch() -> None:
        while not done.wait(WATCH_EVERY):
            listener(download_status(name, raw, files))

    listener(msg("Downloading {name}: connecting…", name=name))
    watcher = threading.Thread(target=watch, name=f"trainpad-download-{name}", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        watcher.join()


def load_torchvision_tensors(name: str, root: Path, *, train: bool, files: Sequence[str], split_files: Sequence[str]) -> tuple[Any, Any]:
    """``(images, targets)`` of a torchvision dataset that has ``.data`` and ``.targets``.

    The first call decodes through :func:`load_torchvision` (downloading when allowed)
    and caches the tensors (see :func:`trainpad.engine.data.load_decoded`); later calls read the
    cache while ``split_files`` (this split's raw files) are unchanged.

    :param files: all the dataset's raw files, named in the message when they are missing.
    :param split_files: the raw files of this split, the cache's key.
    """
    import torch

    root = Path(root)
    raw = root / name / "raw"

    def decode() -> dict[str, Any]:
        data = load_torchvision(name, root, train=train, files=files)
        images = torch.as_tensor(data.data)
        if images.dtype != torch.uint8:
            raise TypeError(f"{name} decoded to {images.dtype}, not uint8; it does not fit the in-memory path")
        return {"images": images.contiguous(), "targets": torch.as_tensor(data.targets).long()}

    tensors = load_decoded(
        f"{name}-{'train' if train else 'test'}",
        [raw / f for f in split_files],
        decode,
        folder=root / name,
    )
    return tensors["images"], tensors["targets"]
