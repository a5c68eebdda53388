"""Loading torchvision's datasets with a clear message when the files are not there.

:func:`load_torchvision_tensors` is the fast path for the small ones (MNIST and its
look-alikes): the split is decoded once into ``uint8`` tensors, cached on disk, and
read back on the next start without importing torchvision at all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from trainpad import settings
from trainpad.engine.data import DataUnavailable, load_decoded


def load_torchvision(name: str, root: Path, *, train: bool, files: Sequence[str]) -> Any:
    """``torchvision.datasets.<name>(root, train, download=...)``, downloading when allowed.

    :raises DataUnavailable: the files are missing and cannot be downloaded; the message
        names the folder and the files to put there.
    """
    import torchvision

    cls = getattr(torchvision.datasets, name)
    root = Path(root)
    raw = root / name / "raw"
    try:
        return cls(str(root), train=train, download=False)
    except RuntimeError:
        pass  # not there yet
    if not settings.offline():
        try:
            return cls(str(root), train=train, download=True)
        except Exception as exc:  # no network, a proxy, a full disk...
            reason = f"downloading failed ({type(exc).__name__}: {exc})"
        else:  # pragma: no cover - returned above
            pass
    else:
        reason = "downloads are off (TRAINPAD_OFFLINE)"
    listing = "\n".join(f"  {raw / f}" for f in files)
    raise DataUnavailable(
        f"{name} is not in {raw} and {reason}.\n"
        f"Put these files there, uncompressed, or point --data-dir / TRAINPAD_DATA_DIR "
        f"at a folder that has {name}/raw/:\n{listing}"
    )


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
