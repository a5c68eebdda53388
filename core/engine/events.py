"""What a training run reports while it runs.

The run yields these events; the CLI's progress bar, the web app's curves and plugin
callbacks all read the same ones.  Times are in seconds.  Epochs are counted by what
was trained: a run stopped at step 32 of a 47-step epoch has done 0.68 of an epoch.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trainpad.engine.trained_model import TrainedModel


@dataclass(frozen=True)
class Event:
    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if isinstance(v, (int, float, str, bool, type(None)))}


@dataclass(frozen=True)
class StepEnd(Event):
    """After each optimizer step."""

    epoch: int
    epochs: int
    step: int  #: steps done in the whole run, from 1
    steps: int  #: steps the whole run will take
    loss: float  #: this batch's loss
    accuracy: float  #: running accuracy over this epoch so far
    lr: float
    samples: int  #: training samples seen in the whole run
    elapsed: float
    samples_per_sec: float
    eta: float  #: estimated seconds left


@dataclass(frozen=True)
class EpochEnd(Event):
    """After each epoch and its evaluation on the test split.

    A run that stops (or diverges) part-way through an epoch ends it early: that
    epoch's ``EpochEnd`` comes with ``epochs_done`` short of ``epoch``.
    """

    epoch: int
    epochs: int
    step: int
    train_loss: float
    train_accuracy: float
    test_loss: float | None
    test_accuracy: float | None
    elapsed: float
    samples_per_sec: float
    #: epochs of training in this run that the model holds, a partial epoch as its fraction
    epochs_done: float = 0.0

    @property
    def complete(self) -> bool:
        """Whether this epoch ran to its last step."""
        return self.epochs_done >= self.epoch - 1e-9


@dataclass(frozen=True)
class SpotCheck(Event):
    """The model on a fixed sample of the test split, during an epoch (see
    :meth:`trainpad.engine.training.TrainingRun.events`, ``spot_checks``): what puts test
    points on a curve between epoch ends.  Not passed to callbacks."""

    epoch: int
    step: int  #: steps done in the whole run (0: before training)
    epochs_done: float  #: the x of this point: epochs trained in this run so far
    test_loss: float
    test_accuracy: float
    samples: int  #: test samples it used
    seconds: float  #: what it cost
    lr: float


@dataclass(frozen=True)
class TrainEnd(Event):
    """Once, last.  ``status`` is ``completed``, ``stopped`` or ``diverged``."""

    status: str
    message: str
    #: epochs of training in this run that the model holds: a partial epoch counts as its
    #: fraction, and a diverged run counts up to the weights it went back to
    epochs_done: float
    steps_done: int
    elapsed: float
    history: list[EpochEnd] = field(default_factory=list)
    trained: "TrainedModel | None" = None


def epochs_text(epochs: float) -> str:
    """``1 epoch``, ``3 epochs``, ``0.68 of an epoch``, ``1.25 epochs``: epochs as trained
    (a fraction is rounded down, so 468 of 469 steps never reads as a whole epoch)."""
    epochs = max(float(epochs), 0.0)
    whole = round(epochs)
    if abs(epochs - whole) < 1e-6:
        return "1 epoch" if whole == 1 else f"{whole} epochs"
    shown = math.floor(epochs * 100) / 100
    text = f"{shown:.2f}" if shown > 0 else f"{epochs:.1g}"
    return f"{text} of an epoch" if epochs < 1 else f"{text} epochs"
