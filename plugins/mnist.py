"""The MNIST handwritten digits, through torchvision.

The data folder comes from ``--data-dir``, else ``TRAINPAD_DATA_DIR``, else a per-user
cache folder; torchvision downloads the files there when they are missing.  The
decoded images are cached (``MNIST/decoded/``, or a per-user folder when the data
folder is read-only), so later starts load a tensor instead of decoding.
"""

from __future__ import annotations

from pathlib import Path

from trainpad import Param, hookimpl

#: The four files torchvision reads from ``<root>/MNIST/raw/``.
FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
MEAN, STD = (0.1307,), (0.3081,)


def mnist(*, root: Path, train: bool, shift: int = 0):
    """MNIST handwritten digits: 60,000 training and 10,000 test images, 28x28 grey."""
    from trainpad import InMemoryDataset, load_torchvision_tensors

    # Decoded once, then read back from a cache beside the files (or per user).
    images, targets = load_torchvision_tensors(
        "MNIST", root, train=train, files=FILES, split_files=FILES[:2] if train else FILES[2:]
    )
    return InMemoryDataset(images, targets, mean=MEAN, std=STD, shift=shift if train else 0)


@hookimpl
def register_datasets(register):
    register(
        "mnist",
        mnist,
        class_names=[str(digit) for digit in range(10)],
        input_shape=(1, 28, 28),
        mean=MEAN,
        std=STD,
        ink="centre",
        torchvision="MNIST",  # the same images in torchvision.datasets: exported scripts load them from there
        params=[Param("shift", int, 0, min=0, max=4, help="augmentation: move each training image up to this many pixels at random (0: off)")],
    )
