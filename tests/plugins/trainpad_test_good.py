"""A well-behaved plugin with one component of every kind and a tab.

Its dataset is made in memory, so tests need no files: class ``k`` is a bright
square at a position that depends on ``k``.
"""

from __future__ import annotations

from trainpad import Callback, Param, hookimpl

CLASS_NAMES = ["left", "middle", "right"]


def blobs(*, root, train, count=96):
    """Three classes of bright squares on noise, made in memory."""
    import torch

    from trainpad import InMemoryDataset

    generator = torch.Generator().manual_seed(0 if train else 1)
    labels = torch.arange(count) % 3
    images = torch.randint(0, 40, (count, 1, 12, 12), dtype=torch.uint8, generator=generator)
    for i, label in enumerate(labels.tolist()):
        images[i, 0, 4:8, 4 * label : 4 * label + 4] = 255
    return InMemoryDataset(images, labels)


def tiny_mlp(*, input_shape, num_classes, hidden=16):
    """One hidden layer; returns logits."""
    import math

    from torch import nn

    return nn.Sequential(nn.Flatten(), nn.Linear(math.prod(input_shape), hidden), nn.ReLU(), nn.Linear(hidden, num_classes))


def plain_sgd(parameters, *, lr=0.5):
    """SGD without momentum."""
    import torch

    return torch.optim.SGD(parameters, lr=lr)


def ce(*, smoothing=0.0):
    """Cross-entropy on logits."""
    import torch.nn.functional as F

    return lambda output, target: F.cross_entropy(output, target, label_smoothing=smoothing)


class Recorder(Callback):
    """Keeps the name of every event it sees, in :data:`SEEN`."""

    def on_train_begin(self, run, **kwargs):
        SEEN.append("train_begin")

    def on_batch_end(self, run, event, **kwargs):
        SEEN.append("batch_end")

    def on_epoch_end(self, run, event, **kwargs):
        SEEN.append("epoch_end")

    def on_train_end(self, run, event, **kwargs):
        SEEN.append(f"train_end:{event.status}")


SEEN: list[str] = []


def good_tab(engine):
    import gradio as gr

    gr.Markdown(f"{len(engine.registry)} components")


@hookimpl
def register_datasets(register):
    register("blobs", blobs, class_names=CLASS_NAMES, input_shape=(1, 12, 12), mean=(0.0,), std=(1.0,))


@hookimpl
def register_models(register):
    register("tiny-mlp", tiny_mlp, params=[Param("hidden", int, 16, min=1, max=1024, help="hidden units")])


@hookimpl
def register_optimizers(register):
    register("plain-sgd", plain_sgd)


@hookimpl
def register_losses(register):
    register("ce", ce, expects="logits")


@hookimpl
def register_callbacks(register):
    register("recorder", Recorder)


@hookimpl
def register_tabs(register):
    register("Good tab", good_tab, order=95)
