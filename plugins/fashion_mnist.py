"""Fashion-MNIST: Zalando's photos of clothes, through torchvision.

Same format as MNIST (28x28 grey, 60,000 training and 10,000 test images, 10
classes), so any model built for MNIST trains on it unchanged; it is harder (a good
small CNN gets about 91%, where it gets 99% on digits).  The images are photos, not
drawings, so the Predict tab offers uploads and test images rather than the sketch pad
(no ``ink``).

The files are downloaded into ``<data dir>/FashionMNIST/raw/`` when they are missing.
Offline, Debian and Ubuntu package the original files (``apt install
dataset-fashion-mnist``, in ``/usr/share/datasets/fashion-mnist``): when they are there
this plugin decompresses them into the per-user ``<cache dir>/data`` (``TRAINPAD_CACHE_DIR``,
default ``~/.cache/trainpad``), since torchvision would refuse the ``.gz`` files
themselves (their checksums differ from the upstream downloads').
"""

from __future__ import annotations

import gzip
import shutil
import tempfile
from pathlib import Path

from trainpad import Param, hookimpl, settings

#: The four files torchvision reads from ``<root>/FashionMNIST/raw/``.
FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
#: Where Debian's ``dataset-fashion-mnist`` package puts the original files, gzipped.
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
CLASS_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
#: Pixel mean and standard deviation of the training split (scaled to 0..1).
MEAN, STD = (0.2860,), (0.3530,)


def unpack_debian_files(raw: Path, source: Path | None = None) -> list[Path]:
    """Decompress Debian's Fashion-MNIST files into ``raw`` where they are missing there.

    Each file is written beside its final name and then renamed, so that two
    processes never read half a file.

    :param source: the folder of ``*.gz`` files (default :data:`DEBIAN_DIR`).
    :return: the files written (none when they were all there, or there is no source).
    """
    source = DEBIAN_DIR if source is None else source
    written = []
    for name in FILES:
        target, packed = raw / name, source / f"{name}.gz"
        if target.exists() or not packed.exists():
            continue
        partial = None
        try:
            raw.mkdir(parents=True, exist_ok=True)
            with gzip.open(packed, "rb") as src, tempfile.NamedTemporaryFile("wb", dir=raw, delete=False) as dst:
                partial = Path(dst.name)
                shutil.copyfileobj(src, dst)
            partial.chmod(0o644)  # NamedTemporaryFile makes it private
            partial.replace(target)
        except (OSError, EOFError):  # a read-only folder, a full disk, a damaged file
            if partial is not None:
                partial.unlink(missing_ok=True)
            continue  # loading then says which files are missing
        written.append(target)
    return written


def debian_root(root: Path) -> Path:
    """The data folder to read: ``root`` when it has the files (or there are no Debian
    files), else the per-user ``<cache dir>/data`` with Debian's files unpacked into it
    (never the data folder itself, which may be a team's, read-only)."""
    if all((root / "FashionMNIST" / "raw" / name).exists() for name in FILES) or not DEBIAN_DIR.is_dir():
        return root
    own = settings.cache_dir() / "data"
    unpack_debian_files(own / "FashionMNIST" / "raw")
    return own if all((own / "FashionMNIST" / "raw" / name).exists() for name in FILES) else root


def fashion_mnist(*, root: Path, train: bool, shift: int = 0):
    """Fashion-MNIST: 70,000 28x28 grey photos of clothes in 10 classes (Zalando)."""
    from trainpad import DataUnavailable, InMemoryDataset, load_torchvision_tensors

    root = debian_root(Path(root))
    try:
        images, targets = load_torchvision_tensors(
            "FashionMNIST", root, train=train, files=FILES, split_files=FILES[:2] if train else FILES[2:]
        )
    except DataUnavailable as exc:
        raise DataUnavailable(
            f"{exc}\nOn Debian or Ubuntu, `apt install dataset-fashion-mnist` provides them in {DEBIAN_DIR}, "
            "and trainpad unpacks them from there."
        ) from None
    return InMemoryDataset(images, targets, mean=MEAN, std=STD, shift=shift if train else 0)


@hookimpl
def register_datasets(register):
    register(
        "fashion-mnist",
        fashion_mnist,
        class_names=CLASS_NAMES,
        input_shape=(1, 28, 28),
        mean=MEAN,
        std=STD,
        torchvision="FashionMNIST",  # the same images in torchvision.datasets: exported scripts load them from there
        params=[Param("shift", int, 0, min=0, max=4, help="augmentation: move each training image up to this many pixels at random (0: off)")],
    )
