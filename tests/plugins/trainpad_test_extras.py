"""A second component of every kind, and a tab, for the browser tests: installed into the
app they start (as the entry point ``extras``), it is what a plugin package adds.

Some have hyperparameters and some have none, so that each dropdown of the Train tab
switches between the two cases: the dataset ``noisy-mnist`` has one (the built-in
``mnist`` none), the model ``linear`` none (``mnist-cnn`` several), the optimizer
``plain-sgd`` two (``sgd`` four), and the loss ``smoothed-nll`` none, like ``nll``: two
components of one kind without hyperparameters, the case that once emptied the dropdown.
Written as a plugin author would, from the public API only.
"""

from __future__ import annotations

from trainpad import Callback, InMemoryDataset, Param, hookimpl, load_torchvision_tensors

FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
MEAN, STD = (0.1307,), (0.3081,)


def noisy_mnist(*, root, train, noise=0.1):
    """MNIST with random pixels lit: a harder read of the same digits."""
    import torch

    images, targets = load_torchvision_tensors("MNIST", root, train=train, files=FILES, split_files=FILES[:2] if train else FILES[2:])
    generator = torch.Generator().manual_seed(0 if train else 1)
    lit = torch.rand(images.shape, generator=generator) < noise
    return InMemoryDataset(images.masked_fill(lit, 255), targets, mean=MEAN, std=STD)


def linear(*, input_shape, num_classes):
    """One linear layer on the pixels (softmax regression); returns log-probabilities."""
    import math

    from torch import nn

    return nn.Sequential(nn.Flatten(), nn.Linear(math.prod(input_shape), num_classes), nn.LogSoftmax(dim=1))


def plain_sgd(parameters, *, lr=0.05, weight_decay=0.0):
    """SGD without momentum, as in the first PyTorch tutorials."""
    import torch

    return torch.optim.SGD(parameters, lr=lr, weight_decay=weight_decay)


def smoothed_nll():
    """Negative log-likelihood with 10% of the target spread over every class; takes log-probabilities."""
    import torch.nn.functional as F

    def loss(log_probs, target):
        return 0.9 * F.nll_loss(log_probs, target) - 0.1 * log_probs.mean(dim=1).mean()

    return loss


class StepCounter(Callback):
    """Counts the optimizer steps of a run (a callback has no field in the form)."""

    def __init__(self):
        self.steps = 0

    def on_batch_end(self, run, event, **kwargs):
        self.steps = event.step


def extras_tab(engine):
    import gradio as gr

    mine = [c for c in engine.registry if c.plugin == "extras"]
    gr.Markdown("Added by the test plugin `extras`: " + ", ".join(f"{c.kind} {c.name}" for c in mine), elem_id="tp-extras")


@hookimpl
def register_datasets(register):
    register("noisy-mnist", noisy_mnist, class_names=[str(d) for d in range(10)], input_shape=(1, 28, 28), mean=MEAN, std=STD, ink="centre",
             params=[Param("noise", float, 0.1, min=0.0, max=0.5, help="share of pixels lit at random")])


@hookimpl
def register_models(register):
    register("linear", linear, output="log_probs")


@hookimpl
def register_optimizers(register):
    register("plain-sgd", plain_sgd, params=[
        Param("lr", float, 0.05, min=1e-5, max=5.0, help="learning rate"),
        Param("weight_decay", float, 0.0, min=0.0, max=0.1, help="L2 penalty"),
    ])


@hookimpl
def register_losses(register):
    register("smoothed-nll", smoothed_nll, expects="log_probs")


@hookimpl
def register_callbacks(register):
    register("step-counter", StepCounter)


@hookimpl
def register_tabs(register):
    register("Extras", extras_tab, order=95)
