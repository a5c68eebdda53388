"""trainpad's example plugin: Fashion-MNIST, LeNet-5, Adam and label-smoothing cross-entropy.

Installed, it is the plugin ``demo`` (see ``[project.entry-points.trainpad]`` in
``pyproject.toml``).  Each ``@hookimpl`` function below is called once, when trainpad
starts, with a ``register`` function; each component it registers then appears in
``trainpad plugins``, in the ``trainpad train`` flags and in the web app's dropdowns.

Heavy imports (torch, torchvision, Gradio) happen inside the factories, so that
loading the plugin costs nothing until a component is used.
"""

from __future__ import annotations

import gzip
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

from trainpad import Param, hookimpl

if TYPE_CHECKING:
    import torch

    from trainpad import Engine

# -- dataset: fashion-mnist ---------------------------------------------------------

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

    torchvision would refuse Debian's ``.gz`` files (their checksums differ from the
    upstream downloads'), but it reads the decompressed files as they are.  Each file
    is written beside its final name and then renamed, so that two processes never
    read half a file.

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
            continue  # load_torchvision then says which files are missing
        written.append(target)
    return written


def fashion_mnist(*, root: Path, train: bool) -> "torch.utils.data.Dataset":
    """Fashion-MNIST: 70,000 28x28 grey photos of clothes in 10 classes (Zalando)."""
    from trainpad import DataUnavailable, InMemoryDataset, load_torchvision

    unpack_debian_files(Path(root) / "FashionMNIST" / "raw")
    try:
        data = load_torchvision("FashionMNIST", Path(root), train=train, files=FILES)
    except DataUnavailable as exc:
        raise DataUnavailable(
            f"{exc}\nOn Debian or Ubuntu, `apt install dataset-fashion-mnist` provides them in {DEBIAN_DIR}, "
            "and this plugin unpacks them from there."
        ) from None
    return InMemoryDataset(data.data, data.targets, mean=MEAN, std=STD)


@hookimpl
def register_datasets(register: Callable[..., None]) -> None:
    register(
        "fashion-mnist",
        fashion_mnist,
        class_names=CLASS_NAMES,
        input_shape=(1, 28, 28),
        mean=MEAN,
        std=STD,
        torchvision="FashionMNIST",  # scripts exported from trainpad load the same images from torchvision
    )


# -- model: lenet5 ------------------------------------------------------------------


def lenet5(
    *,
    input_shape: Iterable[int],
    num_classes: int,
    activation: str = "relu",
    pooling: str = "max",
    dropout: float = 0.0,
) -> "torch.nn.Module":
    """LeNet-5 (LeCun et al., 1998): two 5x5 convolutions and three linear layers; returns logits."""
    from torch import nn

    channels, height, width = input_shape
    # conv 5x5 (padded to keep the size), pool 2; conv 5x5, pool 2
    height, width = (height // 2 - 4) // 2, (width // 2 - 4) // 2
    if height < 1 or width < 1:
        raise ValueError(f"LeNet-5 needs images of at least 12x12 pixels, not {tuple(input_shape)[1:]}")
    act = {"relu": nn.ReLU, "tanh": nn.Tanh}[activation]
    pool = {"max": nn.MaxPool2d, "avg": nn.AvgPool2d}[pooling]
    return nn.Sequential(
        nn.Conv2d(channels, 6, 5, padding=2), act(), pool(2),
        nn.Conv2d(6, 16, 5), act(), pool(2),
        nn.Flatten(),
        nn.Linear(16 * height * width, 120), act(), nn.Dropout(dropout),
        nn.Linear(120, 84), act(), nn.Dropout(dropout),
        nn.Linear(84, num_classes),
    )  # fmt: skip


@hookimpl
def register_models(register: Callable[..., None]) -> None:
    register(
        "lenet5",
        lenet5,
        output="logits",  # pair it with a loss that expects logits
        params=[
            Param("activation", str, "relu", choices=("relu", "tanh"), help="non-linearity (the 1998 paper: tanh)"),
            Param("pooling", str, "max", choices=("max", "avg"), help="2x2 pooling after each convolution"),
            Param("dropout", float, 0.0, min=0.0, max=0.9, help="dropout after each hidden linear layer"),
        ],
    )


# -- optimizer: adam ----------------------------------------------------------------


def adam(
    parameters: "Iterable[torch.nn.Parameter]",
    *,
    lr: float = 1e-3,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 0.0,
    amsgrad: bool = False,
) -> "torch.optim.Optimizer":
    """Adam (torch.optim.Adam), with L2 weight decay added to the gradient."""
    import torch

    return torch.optim.Adam(
        parameters, lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad
    )


@hookimpl
def register_optimizers(register: Callable[..., None]) -> None:
    register(
        "adam",
        adam,
        params=[
            Param("lr", float, 1e-3, min=1e-6, max=1.0, help="learning rate (the peak, with a schedule)"),
            Param("beta1", float, 0.9, min=0.0, max=0.999, help="decay of the gradient average"),
            Param("beta2", float, 0.999, min=0.0, max=0.9999, help="decay of the squared-gradient average"),
            Param("eps", float, 1e-8, min=1e-12, max=1e-2, help="added to the denominator"),
            Param("weight_decay", float, 0.0, min=0.0, max=0.1, help="L2 penalty (coupled, unlike adamw)"),
            Param("amsgrad", bool, False, help="use the AMSGrad variant"),
        ],
    )


# -- loss: label-smoothing-ce ---------------------------------------------------------


def label_smoothing_ce(*, smoothing: float = 0.1) -> Callable[["torch.Tensor", "torch.Tensor"], "torch.Tensor"]:
    """Cross-entropy against targets smoothed towards uniform (Szegedy et al., 2016); takes logits."""
    import torch.nn.functional as F

    def loss(logits: "torch.Tensor", target: "torch.Tensor") -> "torch.Tensor":
        return F.cross_entropy(logits, target, label_smoothing=smoothing)

    return loss


@hookimpl
def register_losses(register: Callable[..., None]) -> None:
    register(
        "label-smoothing-ce",
        label_smoothing_ce,
        expects="logits",
        params=[
            Param("smoothing", float, 0.1, min=0.0, max=0.9, help="probability mass spread over all classes"),
        ],
    )


# -- tab: a look at the data ----------------------------------------------------------


def samples_tab(engine: "Engine") -> None:
    """The "Fashion-MNIST" tab: a button that shows a few test images of each class."""
    import gradio as gr

    from trainpad import TrainpadError

    gr.Markdown("Ten test images of each Fashion-MNIST class, as the models see them (28x28, grey).")
    button = gr.Button("Show samples")
    gallery = gr.Gallery(label="Fashion-MNIST test images", columns=10, format="png")

    def show(per_class: int = 10) -> list[tuple[Any, str]]:
        try:
            data = engine.load_dataset("fashion-mnist", train=False)
        except TrainpadError as exc:
            raise gr.Error(str(exc)) from None
        return sample_images(data.images, data.targets, per_class)

    button.click(show, outputs=gallery)


def sample_images(images: "torch.Tensor", targets: "torch.Tensor", per_class: int) -> list[tuple[Any, str]]:
    """The first ``per_class`` images of each class, as ``(uint8 array, class name)`` pairs.

    They come a class at a time, so that each row of a 10-column gallery shows every class.
    """
    firsts = [(targets == label).nonzero().flatten()[:per_class].tolist() for label in range(len(CLASS_NAMES))]
    return [
        (images[indices[row], 0].numpy(), CLASS_NAMES[label])
        for row in range(per_class)
        for label, indices in enumerate(firsts)
        if row < len(indices)
    ]


@hookimpl
def register_tabs(register: Callable[..., None]) -> None:
    register("Fashion-MNIST", samples_tab, order=90)
