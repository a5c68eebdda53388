"""What a training run reports while it runs.

The run yields these events; the CLI's progress bar, the web app's curves and plugin
callbacks all read the same ones.  Times are in seconds.
"""

from __future__ import annotations

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
    """After each epoch and its evaluation on the test split."""

    epoch: int
    epochs: int
    step: int
    train_loss: float
    train_accuracy: float
    test_loss: float | None
    test_accuracy: float | None
    elapsed: float
    samples_per_sec: float


@dataclass(frozen=True)
class TrainEnd(Event):
    """Once, last.  ``status`` is ``completed``, ``stopped`` or ``diverged``."""

    status: str
    message: str
    epochs_done: int
    steps_done: int
    elapsed: float
    history: list[EpochEnd] = field(default_factory=list)
    trained: "TrainedModel | None" = None
