"""Kuzushiji-MNIST: ten cursive hiragana from old Japanese books, through torchvision.

Same format as MNIST (28x28 grey, 60,000 training and 10,000 test images), drawn
with a brush by people of the Edo period; harder than digits (a small CNN gets
about 95% where it gets 99% on MNIST).  Each class is one hiragana, named here with
its modern form and reading.  The glyphs are drawn, so the Predict tab's sketch pad
makes sense for them (``ink="centre"``).

The files are downloaded into ``<data dir>/KMNIST/raw/`` when they are missing
(from the ROIS-DS Center for Open Data in the Humanities, CC BY-SA 4.0); offline,
trainpad says which four files to put there.
"""

from __future__ import annotations

from pathlib import Path

from trainpad import Param, hookimpl

#: The four files torchvision reads from ``<root>/KMNIST/raw/``.
FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
#: The hiragana of each label, as in the dataset's ``kmnist_classmap.csv``.
CLASS_NAMES = ["お (o)", "き (ki)", "す (su)", "つ (tsu)", "な (na)", "は (ha)", "ま (ma)", "や (ya)", "れ (re)", "を (wo)"]
#: Pixel mean and standard deviation of the training split (scaled to 0..1).
MEAN, STD = (0.1918,), (0.3483,)


def kmnist(*, root: Path, train: bool, shift: int = 0):
    """Kuzushiji-MNIST: 70,000 28x28 grey cursive hiragana in 10 classes."""
    from trainpad import InMemoryDataset, load_torchvision_tensors

    images, targets = load_torchvision_tensors(
        "KMNIST", root, train=train, files=FILES, split_files=FILES[:2] if train else FILES[2:]
    )
    return InMemoryDataset(images, targets, mean=MEAN, std=STD, shift=shift if train else 0)


@hookimpl
def register_datasets(register):
    register(
        "kmnist",
        kmnist,
        class_names=CLASS_NAMES,
        input_shape=(1, 28, 28),
        mean=MEAN,
        std=STD,
        torchvision="KMNIST",  # the same images in torchvision.datasets: exported scripts load them from there
        ink="centre",
        params=[Param("shift", int, 0, min=0, max=4, help="augmentation: move each training image up to this many pixels at random (0: off)")],
    )
