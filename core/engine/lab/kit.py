"""What a Lab experiment gets and gives: its input, its events, and the code it shows.

An experiment (registered through the ``register_experiments`` hook) is a function of
plain data: it gets a :class:`LabInput` (samples of the session's dataset as tensors, a
seed, the learner's drawing) and its hyperparameters, yields :class:`LabProgress` events
while it runs and a :class:`LabResult` last.  Everything it gets and gives can be pickled,
and its randomness is its own: every random number comes from a ``torch.Generator`` seeded
from :attr:`LabInput.seed` (the initial weights, the order of the samples, dropout), never
from torch's global generator, which other runs in the same process use at the same time.
The small recipe experiments train is in :mod:`trainpad.engine.lab.recipe`.

This module imports neither torch nor anything of trainpad, so that a plugin may import
its names at the top of its module (loading plugins does not import torch), and so that
an experiment exported as a script carries its code as it is.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch


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

    def generator(self, offset: int = 0) -> "torch.Generator":
        """A new generator seeded with ``seed + offset``: the same numbers on every call."""
        import torch

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



# -- the code shown ------------------------------------------------------------------------------


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


__all__ = ["FirstConv", "LabInput", "LabProgress", "LabArm", "LabResult", "code_of"]
