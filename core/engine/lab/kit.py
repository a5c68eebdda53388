"""What a Lab experiment is made of: its input, what it reports, and the small recipe it trains.

An experiment (registered through the ``register_experiments`` hook) is a function of
plain data: it gets a :class:`LabInput` (samples of the session's dataset as tensors, a
seed, the learner's drawing) and its hyperparameters, yields :class:`LabProgress` events
while it runs and a :class:`LabResult` last.  Everything it gets and gives can be pickled,
and its randomness is its own: every random number comes from a ``torch.Generator`` seeded
from :attr:`LabInput.seed` (the initial weights, the order of the samples, dropout), never
from torch's global generator, which other runs in the same process use at the same time.

This module is plain PyTorch and Python's standard library on purpose: an experiment
exported as a script (``trainpad lab NAME --script``, the Lab's "Download as a script")
carries this file's code as it is, so the script runs exactly what the Lab ran.
"""

from __future__ import annotations

import ast
import inspect
import math
import re
import textwrap
import weakref
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves
from torch.utils.data import DataLoader, TensorDataset


@dataclass(frozen=True)
class FirstConv:
    """The first convolution of a model: what the ``conv`` experiment slides over a picture.

    :param weight: ``(out_channels, in_channels, kh, kw)``, one filter per output channel.
    :param bias: ``(out_channels,)``, or ``None`` for a convolution without one.
    :param stride: the model's own stride ``(sh, sw)``; ``padding`` likewise.
    :param name: the module's path in the model (``convs.0``).
    """

    weight: torch.Tensor
    bias: torch.Tensor | None
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    name: str = ""


@dataclass(frozen=True)
class LabInput:
    """What an experiment gets: samples of the dataset the learner chose, as tensors.

    :param dataset: the dataset's name (``mnist``); ``class_names`` its labels in order.
    :param input_shape: ``(channels, height, width)`` of one picture.
    :param train_x: ``(N, C, H, W)`` float32 training pictures, normalised as the dataset
        normalises them; ``train_y`` their ``(N,)`` labels.  ``test_x`` and ``test_y`` the
        same for test pictures.
    :param seed: where every random number of the experiment starts (:meth:`generator`).
    :param picture: the learner's drawing as the session's model sees it, ``(C, H, W)``
        normalised, for experiments that need one; ``None`` otherwise.
    :param conv: the session's model's first convolution, with ``picture``.
    """

    dataset: str
    class_names: tuple[str, ...]
    input_shape: tuple[int, int, int]
    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    seed: int = 1
    picture: torch.Tensor | None = None
    conv: FirstConv | None = None

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def generator(self, offset: int = 0) -> torch.Generator:
        """A new generator seeded with ``seed + offset``: the same numbers on every call."""
        return torch.Generator().manual_seed(self.seed + offset)


@dataclass(frozen=True)
class LabProgress:
    """How far one arm of an experiment is.

    :param arm: the arm's label, as its :class:`LabArm` will have it.
    :param done: steps (or batches) of this arm done; ``total`` how many it takes.
    :param values: the latest measurements, by name (``{"loss": 0.41}``).
    """

    arm: str
    done: int
    total: int
    values: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class LabArm:
    """One arm of an experiment: a version of the loop, run, and what was measured.

    :param name: a short id (``with``, ``without``, ``seed-2``): the key of ``--json``'s ``arms``.
    :param label: what a person reads (``with optimizer.zero_grad()``).
    :param figures: the measured figures by name: numbers, booleans or short lists
        (each experiment documents its own in ``docs/learning.md``).
    :param curves: series per step by name (``{"loss": [...]}``), for the Lab's charts.
    :param version: which of the experiment's code versions this arm ran (an index).
    """

    name: str
    label: str
    figures: dict[str, Any] = field(default_factory=dict)
    curves: dict[str, list[float]] = field(default_factory=dict)
    version: int = 0


@dataclass(frozen=True)
class LabResult:
    """What an experiment found: its arms, the figures that compare them, and what they show.

    :param arms: every arm, in the order it ran.
    :param finding: one or two sentences saying what the measurements show, with the
        numbers in them.
    :param figures: figures across the arms (``identical_curves``, ``answers_equal``).
    """

    arms: tuple[LabArm, ...]
    finding: str
    figures: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{"finding", "figures", "arms": {name: {"label", "figures", "curves"}}}``."""
        data = asdict(self)
        return {
            "finding": data["finding"],
            "figures": data["figures"],
            "arms": {arm["name"]: {k: arm[k] for k in ("label", "figures", "curves")} for arm in data["arms"]},
        }


# -- the samples and the code shown --------------------------------------------------------


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


def code_of(function: Any, **values: Any) -> str:
    """The body of ``function`` as the Lab shows it: without its ``def`` line, its docstring and
    the imports it starts with, dedented, each argument named in ``values`` written as that value where the code uses it.

    ``code_of(train, shuffle=False)`` turns ``lab_loader(..., shuffle=shuffle)`` into
    ``lab_loader(..., shuffle=False)``: two versions of one function, side by side, differ
    in that line only.
    """
    source = textwrap.dedent(inspect.getsource(function))
    lines = source.splitlines()
    body = ast.parse(source).body[0].body
    docstring = isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str)
    if docstring:
        body = body[1:]
    while len(body) > 1 and isinstance(body[0], (ast.Import, ast.ImportFrom)):  # imports inside, to keep start-up light
        body = body[1:]
    start = body[0].lineno - 1  # from the first statement, with the comments right above it
    while start > 0 and lines[start - 1].strip().startswith("#"):
        start -= 1
    body = textwrap.dedent("\n".join(lines[start:])).strip("\n")
    for name, value in values.items():  # a use of the name, not a keyword argument's own name (name=...)
        body = re.sub(rf"\b{re.escape(name)}\b(?!\s*=[^=])", repr(value), body)
    return body.rstrip() + "\n"


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


__all__ = [
    "FirstConv", "LabInput", "LabProgress", "LabArm", "LabResult", "spread_indices", "gather", "code_of", "Dropout",
    "lab_model", "lab_loader", "lab_accuracy", "grad_norm", "TensorMemory",
]  # fmt: skip
