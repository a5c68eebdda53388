"""A plugin for the exporter's tests: what can be written out into a standalone script
(a self-contained dataset, a model built from module-level helpers and constants), and
what cannot (a lambda, a factory that needs numpy)."""

from __future__ import annotations

import numpy
from torch import nn

from trainpad import Param, hookimpl

#: Module-level constants and helpers that the factories below use: the exporter copies them.
SIDE = 12
CLASSES = ("left", "middle", "right")


def stripes(*, root, train, count=192):
    """Three classes of bright squares on noise, made with torch alone."""
    import torch

    generator = torch.Generator().manual_seed(0 if train else 1)
    labels = torch.arange(count) % len(CLASSES)
    images = torch.rand((count, 1, SIDE, SIDE), generator=generator) * 0.3
    for i, label in enumerate(labels.tolist()):
        images[i, 0, 4:8, 4 * label : 4 * label + 4] = 1.0
    return torch.utils.data.TensorDataset((images - 0.2) / 0.3, labels)


def numpy_stripes(*, root, train):
    """The same stripes, made with numpy (which cannot go into the script): not torchvision's."""
    import torch

    rng = numpy.random.default_rng(0 if train else 1)
    labels = numpy.arange(96) % len(CLASSES)
    images = rng.random((96, 1, SIDE, SIDE), dtype=numpy.float32) * 0.3
    for i, label in enumerate(labels):
        images[i, 0, 4:8, 4 * label : 4 * label + 4] = 1.0
    return torch.utils.data.TensorDataset(torch.from_numpy((images - 0.2) / 0.3), torch.from_numpy(labels))


def _block(width_in, width_out, dropout):
    return nn.Sequential(nn.Linear(width_in, width_out), nn.ReLU(), nn.Dropout(dropout))


def helper_mlp(*, input_shape, num_classes, hidden=24, dropout=0.2):
    """Two hidden layers made by a module-level helper; returns log-probabilities."""
    import math

    layers = [nn.Flatten(), _block(math.prod(input_shape), hidden, dropout), _block(hidden, hidden, dropout)]
    return nn.Sequential(*layers, nn.Linear(hidden, num_classes), nn.LogSoftmax(dim=1))


def numpy_nll():
    """Negative log-likelihood, with a numpy constant in it (numpy cannot go into the script)."""
    import torch.nn.functional as F

    scale = float(numpy.float32(1.0))
    return lambda log_probs, target: F.nll_loss(log_probs * scale, target)


@hookimpl
def register_datasets(register):
    register("stripes", stripes, class_names=list(CLASSES), input_shape=(1, SIDE, SIDE))
    register("numpy-stripes", numpy_stripes, class_names=list(CLASSES), input_shape=(1, SIDE, SIDE))


@hookimpl
def register_models(register):
    register("helper-mlp", helper_mlp, output="log_probs", params=[Param("hidden", int, 24, min=1, max=512)])


@hookimpl
def register_optimizers(register):
    register("lambda-sgd", lambda parameters, *, lr=0.1: __import__("torch").optim.SGD(parameters, lr=lr))


@hookimpl
def register_losses(register):
    register("numpy-nll", numpy_nll, expects="log_probs")
