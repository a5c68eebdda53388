"""LeNet-5 (LeCun, Bottou, Bengio and Haffner, 1998), the classic convolutional network.

Two 5x5 convolutions, each followed by 2x2 pooling, then three linear layers of 120,
84 and ``num_classes`` units.  The first convolution pads the image by 2 pixels, so
that a 28x28 MNIST digit is seen as the paper's 32x32 input.  The paper used tanh and
average pooling (``activation="tanh"``, ``pooling="avg"``); ReLU and max pooling, the
defaults, train faster.  It returns logits.
"""

from __future__ import annotations

from trainpad import Param, hookimpl


def lenet5(*, input_shape, num_classes, activation="relu", pooling="max", dropout=0.0):
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
def register_models(register):
    register(
        "lenet5",
        lenet5,
        output="logits",
        params=[
            Param("activation", str, "relu", choices=("relu", "tanh"), help="non-linearity (the 1998 paper: tanh)"),
            Param("pooling", str, "max", choices=("max", "avg"), help="2x2 pooling after each convolution (the paper: avg)"),
            Param("dropout", float, 0.0, min=0.0, max=0.9, help="dropout after each hidden linear layer"),
        ],
    )
