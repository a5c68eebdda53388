"""A plugin for the publishing tests: a model with an operation ONNX has no equivalent of
(``torch.cummax``), which ``trainpad publish`` must refuse by name, and a dataset of
sequences rather than pictures (1 x 1 x 64), which it must refuse too."""

from __future__ import annotations

from trainpad import hookimpl


def running_max_net(*, input_shape, num_classes):
    """The running maximum of the pixels, then a linear layer; returns logits."""
    import math

    import torch
    from torch import nn

    class RunningMax(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = nn.Linear(math.prod(input_shape), num_classes)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.linear(torch.cummax(torch.flatten(x, 1), dim=1).values)

    return RunningMax()


def signals(*, root, train, count=64):
    """Sequences of 64 numbers, two classes (rising, falling)."""
    import torch

    labels = torch.arange(count) % 2
    ramp = torch.linspace(-1, 1, 64)
    values = torch.stack([ramp if int(label) == 0 else -ramp for label in labels]).view(count, 1, 1, 64)
    return torch.utils.data.TensorDataset(values, labels)


@hookimpl
def register_models(register):
    register("running-max-net", running_max_net, output="logits")


@hookimpl
def register_datasets(register):
    register("signals", signals, class_names=["rising", "falling"], input_shape=(1, 1, 64))
