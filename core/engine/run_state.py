"""Where a training run is, as plain data: what carries a run on in another thread, process
or machine (a Step after a Step, Start after Step, a job on a GPU worker).

:class:`LoopPosition` is the loop's own bookkeeping between two steps (the epoch, the
batch in it, the running sums the epoch's figures come from); :class:`RunState` adds the
weights, the optimizer's and scheduler's state, the random state at the epoch's start
(so the data order can be made again) and what the run reported so far.  Everything in it
pickles; its tensors are on the CPU.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

    from trainpad.engine.config import TrainConfig
    from trainpad.engine.events import EpochEnd, SpotCheck
    from trainpad.engine.randomness import RunRandomness

#: Every this many steps the loop keeps a copy of the weights, to go back to if the loss diverges.
GOOD_EVERY = 100


@dataclass
class LoopPosition:
    """The training loop's bookkeeping between two steps."""

    #: the epoch in progress, from 1; ``epoch_steps`` of its batches are done
    epoch: int = 1
    epoch_steps: int = 0
    #: steps and samples done in the whole run
    step: int = 0
    samples: int = 0
    #: the epoch's running sums: loss x samples, right answers, samples
    epoch_loss: float = 0.0
    epoch_correct: int = 0
    epoch_count: int = 0
    last_loss: float = 0.0
    #: seconds spent training and on spot checks, and in all (earlier jobs included)
    train_time: float = 0.0
    spot_time: float = 0.0
    elapsed: float = 0.0
    #: the step the copy of good weights was taken at
    good_step: int = 0
    #: the loop has begun (callbacks heard ``on_train_begin``); the starting model was tested
    began: bool = False
    tested_start: bool = False

    def count_step(self, samples: int, loss: float, correct: int) -> None:
        """A step's batch of ``samples`` was trained on, with this loss and right answers."""
        self.step += 1
        self.epoch_steps += 1
        self.samples += samples
        self.epoch_count += samples
        self.epoch_loss += loss * samples
        self.epoch_correct += correct
        self.last_loss = loss

    def next_epoch(self) -> None:
        self.epoch += 1
        self.epoch_steps = self.epoch_count = self.epoch_correct = 0
        self.epoch_loss = 0.0


@dataclass
class RunState:
    """A run between two steps, to be carried on (see :meth:`TrainingRun.state
    <trainpad.engine.training.TrainingRun.state>` and :meth:`~trainpad.engine.training.TrainingRun.restore`).

    :param config: the run's settings (checked); ``spec`` what it trains with, as its
        checkpoint will record it; ``epochs_before`` what a carried-on model held before.
    :param model: the weights (a ``state_dict``); ``optimizer``, ``scheduler`` theirs.
    :param epoch_rng: the data order's generator state and the global generator's at the
        start of the epoch in progress.
    :param good_model: the last weights the loss was sound with (see :data:`GOOD_EVERY`).
    :param randomness: the run's own random state (dropout, augmentation) where it stopped;
        set by the job that took the steps (:mod:`trainpad.engine.job`).
    """

    config: "TrainConfig"
    spec: dict[str, Any]
    epochs_before: float
    model: dict[str, "torch.Tensor"]
    optimizer: dict[str, Any]
    scheduler: dict[str, Any] | None
    epoch_rng: tuple[Any, Any] | None
    position: LoopPosition
    history: list["EpochEnd"] = field(default_factory=list)
    spot_checks: list["SpotCheck"] = field(default_factory=list)
    good_model: dict[str, "torch.Tensor"] | None = None
    randomness: "RunRandomness | None" = None

    @property
    def steps_done(self) -> int:
        return self.position.step

    def nbytes(self) -> int:
        """Bytes its tensors hold (weights, optimizer state, the good copy)."""
        return _nbytes([self.model, self.optimizer, self.good_model])


def to_cpu(value: Any) -> Any:
    """``value`` with every tensor in it (in dicts, lists, tuples) copied to the CPU."""
    import torch

    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, dict):
        return {k: to_cpu(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(to_cpu(v) for v in value)
    return value


def _nbytes(value: Any) -> int:
    import torch

    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    if isinstance(value, dict):
        return sum(_nbytes(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(_nbytes(v) for v in value)
    return 0


__all__ = ["GOOD_EVERY", "LoopPosition", "RunState", "to_cpu"]
