"""The Lab's small recipe, and what experiments measure with: plain PyTorch.

A network with one hidden layer whose initial weights come from a generator of the
experiment's own (:func:`lab_model`), a DataLoader shuffled by one (:func:`lab_loader`), the
test accuracy, a gradient's norm, and :class:`TensorMemory`, which counts the bytes of the
tensors a block of code makes.  It also picks an experiment's samples out of a dataset
(:func:`spread_indices`, :func:`gather`).

Plain PyTorch and Python's standard library, so that an experiment exported as a script
carries this file's code as it is, beside :mod:`trainpad.engine.lab.kit`'s.  It imports
torch: a plugin imports these names inside the functions that use them.
"""

from __future__ import annotations

import math
import weakref
from typing import TYPE_CHECKING, Any

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves
from torch.utils.data import DataLoader, TensorDataset

if TYPE_CHECKING:
    from trainpad.engine.lab.kit import LabInput


# -- the samples ---------------------------------------------------------------------------------


def spread_indices(total: int, count: int) -> torch.Tensor:
    """``count`` indices spread evenly over ``range(total)`` (all of them when there are no more):
    samples from the whole split, every class in it, not just its first pictures."""
    if count >= total:
        return torch.arange(total)
    return torch.linspace(0, total - 1, count).long()


def gather(dataset: Any, indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The pictures and labels of ``dataset`` at ``indices``, as two tensors.

    A dataset held in memory (``InMemoryDataset``) gives a whole batch at once; any other
    is read a sample at a time.
    """
    if type(dataset).__name__ == "InMemoryDataset":
        x, y = dataset[indices]
        return x, y
    pairs = [dataset[i] for i in indices.tolist()]
    return torch.stack([torch.as_tensor(x, dtype=torch.float32) for x, _ in pairs]), torch.tensor([int(y) for _, y in pairs])


# -- the small recipe ------------------------------------------------------------------------


class Dropout(nn.Module):
    """``nn.Dropout`` whose masks come from its own generator, not torch's global one.

    In ``train()`` mode each value is zeroed with probability ``p`` and the others are
    scaled by ``1 / (1 - p)``; in ``eval()`` mode it passes everything through.
    """

    def __init__(self, p: float, generator: torch.Generator) -> None:
        super().__init__()
        self.p = p
        self.generator = generator

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        keep = torch.empty_like(x).bernoulli_(1 - self.p, generator=self.generator)
        return x * keep / (1 - self.p)


def lab_model(lab: LabInput, generator: torch.Generator, *, hidden: int = 128, dropout: float = 0.0, batch_norm: bool = False) -> nn.Sequential:
    """The Lab's small recipe: ``Flatten, Linear, [BatchNorm1d], ReLU, [Dropout], Linear``.

    Its initial weights are drawn from ``generator`` the way PyTorch draws them from its
    global one (Kaiming-uniform weights, uniform biases), so one seed gives one model.
    Small enough to train an epoch of thousands of pictures in a fraction of a second.
    """
    channels, height, width = lab.input_shape
    with torch.device("meta"):  # built without drawing a single random number
        layers: list[nn.Module] = [nn.Flatten(), nn.Linear(channels * height * width, hidden)]
        if batch_norm:
            layers.append(nn.BatchNorm1d(hidden))
        layers.append(nn.ReLU())
        layers.append(nn.Linear(hidden, lab.num_classes))
        model = nn.Sequential(*layers)
    model.to_empty(device="cpu")
    for module in model.modules():
        if isinstance(module, nn.Linear):
            nn.init.kaiming_uniform_(module.weight, a=math.sqrt(5), generator=generator)
            bound = 1 / math.sqrt(module.in_features)
            nn.init.uniform_(module.bias, -bound, bound, generator=generator)
        elif isinstance(module, nn.BatchNorm1d):
            module.reset_parameters()
    if dropout:
        model.insert(len(model) - 1, Dropout(dropout, generator))
    return model


def lab_loader(x: torch.Tensor, y: torch.Tensor, *, batch_size: int, shuffle: bool, generator: torch.Generator | None = None) -> DataLoader:
    """A DataLoader of ``(pictures, labels)`` batches, shuffled by ``generator``.

    Every loader gets a generator of its own (a fresh one when none is given): a pass over
    a DataLoader draws a number from its generator, and from torch's global one without.
    """
    return DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=shuffle, generator=generator or torch.Generator())


def lab_accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, batch_size: int = 1000) -> float:
    """The fraction of ``x`` that ``model`` gets right, in ``eval()`` mode with autograd off."""
    model.eval()
    correct = 0
    with torch.no_grad():
        for start in range(0, len(x), batch_size):
            correct += int((model(x[start : start + batch_size]).argmax(dim=1) == y[start : start + batch_size]).sum())
    return correct / max(len(x), 1)


def grad_norm(model: nn.Module) -> float:
    """The norm of every parameter's ``.grad`` together (0 for none)."""
    grads = [p.grad.detach().flatten() for p in model.parameters() if p.grad is not None]
    return float(torch.cat(grads).norm()) if grads else 0.0


class TensorMemory(TorchDispatchMode):
    """Counts the bytes of every tensor that operations make inside ``with TensorMemory() as m:``,
    each from when it is made until it is freed; ``m.peak`` is the most held at once.

    Tensors made before the block (the model's weights, the batch) are not counted, nor
    views of them.  What autograd keeps for the backward pass stays counted until the
    graph is freed: that is the memory ``torch.no_grad()`` saves.  Exact and the same on
    every run (it counts tensors, not the process's memory), at the cost of some Python
    per operation: time nothing inside it.
    """

    def __init__(self) -> None:
        super().__init__()
        self.live = 0
        self.peak = 0
        self._refs: dict[int, Any] = {}

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        out = func(*args, **(kwargs or {}))
        given = {t.untyped_storage().data_ptr() for t in tree_leaves((args, kwargs)) if isinstance(t, torch.Tensor)}
        for tensor in tree_leaves(out):
            if isinstance(tensor, torch.Tensor) and tensor.untyped_storage().data_ptr() not in given:
                self._count(tensor.untyped_storage())
        return out

    def _count(self, storage: Any) -> None:
        key, nbytes = storage.data_ptr(), storage.nbytes()
        if nbytes == 0 or key in self._refs:
            return
        self.live += nbytes
        self.peak = max(self.peak, self.live)
        self._refs[key] = weakref.ref(storage, lambda _ref, key=key, nbytes=nbytes: self._freed(key, nbytes))

    def _freed(self, key: int, nbytes: int) -> None:
        if self._refs.pop(key, None) is not None:
            self.live -= nbytes


__all__ = ["spread_indices", "gather", "Dropout", "lab_model", "lab_loader", "lab_accuracy", "grad_norm", "TensorMemory"]
