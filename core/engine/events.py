"""What a training run reports while it runs, and what a job reports of its run.

The run yields these events; the CLI's progress bar, the web app's curves and plugin
callbacks all read the same ones.  A job (:mod:`trainpad.engine.job`) adds its own:
what it prepares, what the run is, snapshots of the weights and how it ended.  Every one
of them pickles, and this module imports no torch: the web app reads them without it.  Times are in seconds.  Epochs are counted by what
was trained: a run stopped at step 32 of a 47-step epoch has done 0.68 of an epoch.
"""

from __future__ import annotations

import math
import traceback
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from trainpad.engine.errors import TrainpadError
from trainpad.engine.message import message_of, msg

if TYPE_CHECKING:
    import torch

    from trainpad.engine.config import TrainConfig
    from trainpad.engine.evaluation import Evaluation
    from trainpad.engine.run_state import RunState
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


# -- what a step reports, in detail (Step, the loop view) -------------------------------------------

@dataclass(frozen=True)
class LoopTrace:
    """What the loop's lines did in one step.

    :param step: the step, counted from 1 over the whole run.
    :param batch_shape: ``x.shape``, e.g. ``(128, 1, 28, 28)``; ``label_shape`` is ``y.shape``.
    :param device: where the batch and the model were (``cpu``, ``cuda:0``).
    :param output_shape: the model's output, ``(batch, classes)``.
    :param loss: the batch's loss, before the update.
    :param grad_norm: the norm of every parameter's gradient together, after ``loss.backward()``.
    :param lr: the learning rate ``optimizer.step()`` used (of its first parameter group).
    """

    epoch: int
    step: int
    batch_shape: tuple[int, ...]
    label_shape: tuple[int, ...]
    dtype: str
    device: str
    output_shape: tuple[int, ...]
    loss: float
    grad_norm: float
    lr: float


@dataclass(frozen=True)
class LayerChange:
    """One layer's part in a step: the parameters a module holds itself (a convolution's
    weight and bias, a batch norm's scale and shift).

    :param name: the module's path in the model (``convs.0``), with its type (``Conv2d``).
    :param grad_norm: the norm of its parameters' gradients.
    :param update: the norm of what the step changed in them, ``‖w_after - w_before‖``.
    :param weight_norm: the norm of its parameters before the step.
    """

    name: str
    kind: str
    grad_norm: float
    update: float
    weight_norm: float

    @property
    def relative_update(self) -> float:
        return self.update / self.weight_norm if self.weight_norm > 0 else 0.0


@dataclass(frozen=True)
class StepDetail:
    """One step of a run, taken alone (:meth:`TrainingRun.step <trainpad.engine.training.TrainingRun.step>`).

    :param trace: what the loop's lines did.
    :param images: the first pictures of the batch as the model got them, ``(k, C, H, W)``
        float32 on the CPU (normalised); ``labels`` their labels.
    :param probabilities: the model's probabilities for them, ``(k, classes)``, from the
        step's own forward pass.
    :param loss_before: the batch's loss before the update (the step's own).
    :param loss_after: the same batch's loss after the update, computed the same way.
    :param layers: each layer's gradient norm and update size.
    :param events: what the run reported on the way: the step's
        :class:`~trainpad.engine.events.StepEnd`, and an epoch's end or the run's end
        that came before it.
    """

    trace: LoopTrace
    images: torch.Tensor
    labels: list[int]
    probabilities: torch.Tensor
    loss_before: float
    loss_after: float
    layers: list[LayerChange]
    events: list["StepEnd | EpochEnd | TrainEnd | Any"] = field(default_factory=list)


# -- what a job reports (see :mod:`trainpad.engine.job`) ---------------------------------------------

@dataclass(frozen=True)
class Preparing:
    """The job is loading the data or building the model; ``text`` says what, in a few words."""

    text: str


@dataclass(frozen=True)
class RunStarted:
    """The run is built and about to train: what it is.

    :param spec: what it trains with, as its checkpoint will record it.
    :param steps_done: steps it had taken before this job (a run carried on).
    :param parameters: the model's parameter count; ``device`` where it trains.
    :param epochs_before: epochs the model held before the run (a model carried on).
    :param pid: the process the job runs in.
    """

    config: TrainConfig
    spec: dict[str, Any]
    train_samples: int
    steps_per_epoch: int
    total_steps: int
    lr: float
    device: str
    pairing: str
    parameters: int
    has_test_split: bool
    steps_done: int
    epochs_before: float
    pid: int = 0


@dataclass(frozen=True)
class Snapshot:
    """The weights as they are now (checkpoint data), and the epochs they hold."""

    model: dict[str, Any]
    epochs: float


@dataclass(frozen=True)
class JobEnd:
    """The job's last event.

    :param end: how the run ended; its ``trained`` is ``None``: the model is ``model``.
        ``None`` when the job took some of the run's steps (the run goes on from ``state``),
        or was stopped before it trained (no ``state`` either).
    :param model: the trained model as checkpoint data (``None`` if it kept none).
    :param state: the run to carry on (a Step's), or ``None`` when it has ended.
    :param timed_out: it stopped at its time limit, ``max_seconds``.
    """

    end: TrainEnd | None
    model: dict[str, Any] | None = None
    state: RunState | None = None
    timed_out: bool = False
    max_seconds: float | None = None


@dataclass(frozen=True)
class JobFailed:
    """The job could not run, or its run failed.

    :param message: what went wrong; ``public`` the same for a web user (it names no
        server folder: see :attr:`~trainpad.engine.errors.TrainpadError.public_message`).
    :param expected: the user can fix it (a :class:`~trainpad.engine.errors.TrainpadError`:
        a setting, a plugin's component failing, named); otherwise it is a bug, and
        ``traceback`` tells where.
    """

    message: str
    public: str
    kind: str = ""
    expected: bool = True
    traceback: str = ""

    @classmethod
    def of(cls, exc: BaseException) -> "JobFailed":
        if isinstance(exc, TrainpadError):
            return cls(message_of(exc), exc.public_message, type(exc).__name__)
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        return cls(f"{type(exc).__name__}: {exc}", "", type(exc).__name__, expected=False, traceback=text)


@dataclass(frozen=True)
class EvalEnd:
    """An evaluation job's result."""

    evaluation: "Evaluation"


@dataclass(frozen=True)
class LabEnd:
    """A Lab job's end: its :class:`~trainpad.engine.lab.kit.LabResult`, or ``None`` when it
    was stopped or ran out of time (``timed_out``)."""

    result: Any = None
    timed_out: bool = False


def epochs_text(epochs: float) -> str:
    """``1 epoch``, ``3 epochs``, ``0.68 of an epoch``, ``1.25 epochs``: epochs as trained
    (a fraction is rounded down, so 468 of 469 steps never reads as a whole epoch)."""
    epochs = max(float(epochs), 0.0)
    whole = round(epochs)
    if abs(epochs - whole) < 1e-6:
        return msg("1 epoch") if whole == 1 else msg("{count} epochs", count=whole)
    shown = math.floor(epochs * 100) / 100
    text = f"{shown:.2f}" if shown > 0 else f"{epochs:.1g}"
    return msg("{count} of an epoch", count=text) if epochs < 1 else msg("{count} epochs", count=text)


#: What a run job may yield before its end (for readers of the stream).
PROGRESS_EVENTS = (Preparing, RunStarted, StepEnd, SpotCheck, EpochEnd, Snapshot, LoopTrace, StepDetail)
#: The events that end a job's stream.
LAST_EVENTS = (JobEnd, JobFailed, EvalEnd, LabEnd)
