"""The training loop, the way the PyTorch tutorial teaches it, reporting events.

:class:`TrainingRun` is built by :meth:`trainpad.engine.engine.Engine.build_run`; iterating
:meth:`TrainingRun.events` trains and yields a :class:`~trainpad.engine.events.StepEnd` per
batch, an :class:`~trainpad.engine.events.EpochEnd` per epoch and one
:class:`~trainpad.engine.events.TrainEnd`.  :meth:`TrainingRun.stop` (from any thread) ends it
at the next batch; closing the generator does the same.  Either way the model
trained so far is kept.  With ``events(spot_checks=N)`` the run also tests the model on a
fixed sample of the test split N times an epoch (:class:`~trainpad.engine.events.SpotCheck`),
within a budget of the training time, so that even one epoch draws a real test curve.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Generator, Iterator

import torch
from torch import nn
from torch.utils.data import DataLoader

from trainpad.engine.callbacks import Callback, StopTraining
from trainpad.engine.checkpoint import unwrap as unwrap_model
from trainpad.engine.config import RUN_PARAMS, SCHEDULES, TrainConfig  # noqa: F401  (their home; imported from here too)
from trainpad.engine.data import make_loader, skip_batches, spread, take
from trainpad.engine.errors import ComponentError, ConfigError, blame
from trainpad.engine.evaluation import Evaluation, evaluate
from trainpad.engine.events import EpochEnd, SpotCheck, StepEnd, TrainEnd
from trainpad.engine.message import msg
from trainpad.engine.run_state import GOOD_EVERY, LoopPosition, RunState, to_cpu
from trainpad.engine.script_template import DIVERGENCE_FACTOR, diverged, make_scheduler  # noqa: F401  (the exported script's, shared)
from trainpad.engine.stepping import LoopProbe, LoopTrace, StepDetail
from trainpad.engine.trained_model import TrainedModel

if TYPE_CHECKING:
    from trainpad.runtime.distributed import DistContext

#: Test samples a spot check uses (spread evenly over the test split), and the share of
#: the training time spot checks may take (see :meth:`TrainingRun.events`).
SPOT_SAMPLES = 1000
SPOT_BUDGET = 0.1
#: Seconds of spot checks any run may spend beyond its budget, so that a short run too
#: draws a real test curve (a few checks of a fraction of a second each).
SPOT_ALLOWANCE = 0.5


@dataclass(frozen=True)
class SpotSchedule:
    """When a run tests its model on a fixed sample of the test split
    (:meth:`TrainingRun.spot_check`): ``per_epoch - 1`` times an epoch, evenly spaced, while
    the checks' seconds stay within ``budget`` of the training time plus ``allowance``."""

    per_epoch: int
    samples: int = SPOT_SAMPLES
    budget: float = SPOT_BUDGET
    allowance: float = SPOT_ALLOWANCE

    def due(self, epoch_steps: int, steps_per_epoch: int) -> bool:
        """Whether step ``epoch_steps`` of an epoch is one of its evenly spaced checks (never
        its last step, which the full evaluation follows)."""
        if epoch_steps >= steps_per_epoch:
            return False
        n = self.per_epoch
        return epoch_steps * n // steps_per_epoch > (epoch_steps - 1) * n // steps_per_epoch

    def affordable(self, spent: float, trained: float) -> bool:
        """Whether checks taking ``spent`` seconds in all fit the budget of ``trained`` seconds of training."""
        return spent <= self.budget * trained + self.allowance


@dataclass
class _EpochClock:
    """The training time of the epoch in progress: seconds since it began, less its spot checks'."""

    began: float = field(default_factory=time.perf_counter)
    paused: float = 0.0

    def trained(self) -> float:
        return time.perf_counter() - self.began - self.paused


@dataclass
class RunParts:
    """The built pieces of a run; :meth:`trainpad.engine.engine.Engine.build_run` makes them."""

    config: TrainConfig
    model: nn.Module
    optimizer: torch.optim.Optimizer
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    train_loader: DataLoader
    test_loader: DataLoader | None
    device: torch.device
    labels: dict[str, str]  #: kind -> "kind name", for messages
    make_trained: Callable[[nn.Module, dict[str, float], int], TrainedModel]
    num_classes: int
    to_probs: Callable[[torch.Tensor], torch.Tensor]
    callbacks: list[tuple[str, Callback]] = field(default_factory=list)
    #: epochs the resumed model had trained before this run (fractional, see :class:`TrainEnd`)
    epochs_before: float = 0
    #: this process's part in a torchrun run (see :mod:`trainpad.runtime.distributed`); ``None`` alone
    distributed: "DistContext | None" = None
    #: a sampler whose ``set_epoch(epoch)`` reshuffles it before each epoch (a ``DistributedSampler``)
    train_sampler: Any = None
    #: the generator the training data's order is drawn from (``None`` in a distributed run)
    data_generator: torch.Generator | None = None
    #: per kind ``{"name", "plugin", "params"}`` with every hyperparameter's value, and ``run``: the settings
    spec: dict[str, Any] = field(default_factory=dict)
    #: how the model's output reaches the loss, when their kinds differ (see :mod:`trainpad.engine.pairing`)
    pairing: str = ""


class TrainingRun:
    """One training run; iterate :meth:`events` to train."""

    def __init__(self, parts: RunParts) -> None:
        self.parts = parts
        self.config = parts.config
        self.model = parts.model
        self._stop = threading.Event()
        self._abort = threading.Event()  # stop(now=True): tests end too
        self._stop_reason: str | None = None  # a callback's StopTraining, in a distributed run
        self.history: list[EpochEnd] = []
        self.spot_checks: list[SpotCheck] = []
        self.result: TrainEnd | None = None
        self._spot_loader: DataLoader | None = None
        self._loop: Iterator[Any] | None = None  # the events' generator, once a step or events() began it
        self._probe: LoopProbe | None = None
        #: where the loop is between two steps (see :mod:`trainpad.engine.run_state`)
        self.at = LoopPosition()
        self._scheduler: Any = None
        self._good_state: dict[str, torch.Tensor] | None = None
        self._epoch_rng: tuple[Any, Any] | None = None
        self._restored: tuple[dict[str, Any], dict[str, Any] | None] | None = None
        self._paused = False
        self._started = time.perf_counter()
        self._world = parts.distributed.world_size if parts.distributed is not None else 1

    def stop(self, *, now: bool = False) -> None:
        """Ask the run to stop after the current batch (thread-safe).

        :param now: also cut short a test of the model in progress (the time limit, a client
            that has gone); its epoch then has no test metrics.  Without it, the test of the
            epoch the run stopped in still runs, so the kept model has a test accuracy.
        """
        if now:
            self._abort.set()
        self._stop.set()

    @property
    def stop_requested(self) -> bool:
        """Whether :meth:`stop` was called (or a callback stopped the run)."""
        return self._stop.is_set()

    @property
    def device(self) -> torch.device:
        """The device the model trains on."""
        return self.parts.device

    @property
    def train_samples(self) -> int:
        """Training samples per epoch (in this process, for a distributed run)."""
        return len(self.parts.train_loader.dataset)

    @property
    def steps_per_epoch(self) -> int:
        return len(self.parts.train_loader)

    @property
    def total_steps(self) -> int:
        """Optimizer steps the whole run takes if it is not stopped."""
        return self.steps_per_epoch * self.config.epochs

    @property
    def lr(self) -> float:
        """The optimizer's learning rate now (of its first parameter group)."""
        return float(self.parts.optimizer.param_groups[0]["lr"])

    @property
    def spec(self) -> dict[str, Any]:
        """What the run trains with: per kind ``{"name", "plugin", "params"}`` (every
        hyperparameter, defaults included) and ``run`` (epochs, batch size...), as its
        checkpoint will record them."""
        return self.parts.spec

    @property
    def pairing(self) -> str:
        """How the model's output reaches the loss when one returns logits and the other
        expects log-probabilities (or the reverse); ``""`` when they match."""
        return self.parts.pairing

    @property
    def epochs_before(self) -> float:
        """Epochs the model held before this run (a model carried on: see :class:`TrainEnd`)."""
        return self.parts.epochs_before

    @property
    def has_test_split(self) -> bool:
        return self.parts.test_loader is not None

    def evaluate(self, samples: int | None = None) -> Evaluation | None:
        """The model as it is now on the test split, or on its first ``samples`` images
        (``None`` without a test split).  The model's training mode is restored."""
        p = self.parts
        if p.test_loader is None:
            return None
        if samples is None:
            return self._evaluate()
        loader = make_loader(take(p.test_loader.dataset, samples), batch_size=min(samples, 1000), shuffle=False)
        with blame(p.labels["model"]):
            return evaluate(
                self.model, loader, loss_fn=p.loss_fn, to_probs=p.to_probs, num_classes=p.num_classes, device=p.device,
                should_stop=self._abort.is_set if p.distributed is None else None,
            )

    def spot_check(self, *, epoch: int = 0, step: int = 0, samples: int = SPOT_SAMPLES) -> SpotCheck | None:
        """Test the model as it is now on a fixed sample of the test split: ``samples``
        images spread evenly over it, the same ones at every call (``None`` without a test
        split).  The model's training mode is restored."""
        p = self.parts
        if p.test_loader is None:
            return None
        if self._spot_loader is None or len(self._spot_loader.dataset) != min(samples, len(p.test_loader.dataset)):
            chosen = spread(p.test_loader.dataset, samples)
            self._spot_loader = make_loader(chosen, batch_size=min(len(chosen), 1000), shuffle=False)
        started = time.perf_counter()
        rng = torch.get_rng_state()  # a DataLoader draws its seed from it: a run with checks trains as one without
        try:
            with blame(p.labels["model"]):
                result = evaluate(self.model, self._spot_loader, loss_fn=p.loss_fn, to_probs=p.to_probs, num_classes=p.num_classes, device=p.device)
        finally:
            torch.set_rng_state(rng)
        steps_per_epoch = max(self.steps_per_epoch, 1)
        check = SpotCheck(
            epoch=epoch,
            step=step,
            epochs_done=step / steps_per_epoch,
            test_loss=result.loss,
            test_accuracy=result.accuracy,
            samples=result.count,
            seconds=time.perf_counter() - started,
            lr=self.lr,
        )
        self.spot_checks.append(check)
        return check

    def run(self) -> TrainEnd:
        """Train to the end, ignoring the events; return the final one."""
        for event in self.events():
            pass
        assert self.result is not None
        return self.result

    def events(
        self,
        *,
        spot_checks: int = 0,
        spot_samples: int = SPOT_SAMPLES,
        spot_budget: float = SPOT_BUDGET,
        spot_allowance: float = SPOT_ALLOWANCE,
    ) -> Iterator[StepEnd | EpochEnd | SpotCheck | TrainEnd]:
        """Train, yielding a :class:`StepEnd` per batch, an :class:`EpochEnd` per epoch and
        one :class:`TrainEnd`.  The run has one such iterator: called again, or after
        :meth:`step`, this returns it, carrying on where it is (with the spot checks its
        first call asked for); closing it ends the run.

        :param spot_checks: also test the model on ``spot_samples`` fixed test images (see
            :meth:`spot_check`) before the first step and ``spot_checks - 1`` times during
            each epoch, evenly spaced (the epoch's end has its full evaluation), yielding a
            :class:`SpotCheck` each time.  A check during an epoch is skipped while those so
            far and it would take more than ``spot_budget`` of the training time plus
            ``spot_allowance`` seconds.  Off in a distributed run.
        """
        if self._loop is None:
            self._loop = self._events(spot_checks, spot_samples, spot_budget, spot_allowance)
        return self._loop

    def _events(self, spot_checks: int = 0, spot_samples: int = SPOT_SAMPLES, spot_budget: float = SPOT_BUDGET, spot_allowance: float = SPOT_ALLOWANCE) -> Iterator[StepEnd | EpochEnd | SpotCheck | TrainEnd]:
        at = self.at
        spot = None
        if spot_checks > 0 and self.parts.test_loader is not None and self.parts.distributed is None:
            spot = SpotSchedule(spot_checks, spot_samples, spot_budget, spot_allowance)
        self._begin()
        status, message = "completed", "training finished"
        try:
            if spot is not None and not at.tested_start:  # the starting point, before the clock of the budget starts
                at.tested_start = True
                yield self.spot_check(samples=spot.samples)
            while at.epoch <= self.config.epochs:
                outcome = yield from self._epoch(spot)
                if outcome is not None:  # diverged, or stopped with the other processes
                    status, message = outcome
                if at.epoch_count == 0:  # stopped or diverged before the first batch of this epoch
                    break
                yield self._close_epoch(status)
                self._agree_to_stop()
                if status != "completed" or self._stop.is_set():
                    break
        except StopTraining as exc:
            status, message = "stopped", str(exc) or "stopped by a callback"
        except GeneratorExit:
            if self._paused:  # handed on as a RunState: the run goes on elsewhere
                raise
            # The consumer went away (a closed browser tab): keep the model, end quietly.
            self._stop.set()
            went_back = status == "diverged"
            self._finish(status if went_back else "stopped", message if went_back else "the run was cancelled", at.good_step if went_back else at.step)
            raise
        if status == "completed" and self._stop.is_set():
            status, message = "stopped", self._stop_reason or msg(
                "stopped at step {step} of {steps}; the model trained so far is kept",
                step=at.step, steps=self.total_steps,
            )
        yield self._finish(status, message, at.good_step if status == "diverged" else at.step)

    def _begin(self) -> None:
        """Set the run going where it is: its schedule and its clock; its callbacks' ``on_train_begin``
        if it had not begun."""
        at = self.at
        self._start_schedule()
        self._started = time.perf_counter() - at.elapsed
        if at.step == 0 and not at.began:
            self._notify("on_train_begin")
        at.began = True

    def _epoch(self, spot: SpotSchedule | None) -> Generator[StepEnd | SpotCheck, None, tuple[str, str] | None]:
        """Train the epoch in progress from its first batch not trained yet, yielding a
        :class:`StepEnd` per batch and the spot checks ``spot`` has due.

        :return: ``None`` when the epoch ran out of batches or the run was asked to stop;
            ``(status, message)`` when a step ended the run (see :meth:`_train_step`).
        """
        at = self.at
        batches = self._epoch_batches()
        self.model.train()
        clock = _EpochClock()
        outcome = None
        for x, y in batches:
            if self._stop.is_set() and self.parts.distributed is None:  # distributed processes stop together, in a step
                break
            outcome = self._train_step(x, y)
            if outcome is not None:
                break
            event = self._step_end(busy=at.train_time + clock.trained())
            self._notify("on_batch_end", event)
            yield event
            check = self._spot_check_due(spot, clock)
            if check is not None:
                yield check
        at.train_time += clock.trained()
        return outcome

    def _spot_check_due(self, spot: SpotSchedule | None, clock: _EpochClock) -> SpotCheck | None:
        """The spot check after the step just taken, where ``spot`` has one due and its budget
        allows it (the next check is reckoned to cost what the last one did)."""
        at = self.at
        if spot is None or self._stop.is_set() or not spot.due(at.epoch_steps, self.steps_per_epoch):
            return None
        last_cost = self.spot_checks[-1].seconds if self.spot_checks else 0.0
        if not spot.affordable(at.spot_time + last_cost, at.train_time + clock.trained()):
            return None
        check = self.spot_check(epoch=at.epoch, step=at.step, samples=spot.samples)
        at.spot_time += check.seconds
        clock.paused += check.seconds
        return check

    def _close_epoch(self, status: str) -> EpochEnd:
        """The epoch's end (:meth:`_epoch_end`), kept in :attr:`history` and told to the
        callbacks; the run's position moves on to the next epoch."""
        epoch_end = self._epoch_end(status)
        self.history.append(epoch_end)
        self._notify("on_epoch_end", epoch_end)
        self.at.next_epoch()
        return epoch_end

    def _agree_to_stop(self) -> None:
        """In a distributed run, every process stops when one was asked to (a callback on rank 0 stopped it)."""
        dist = self.parts.distributed
        if dist is not None and dist.any(self._stop.is_set()):
            self._stop.set()

    def _start_schedule(self) -> None:
        """The learning-rate schedule, set where the run is (a run carried on from a
        :class:`RunState` gets its scheduler's and optimizer's state back)."""
        optimizer = self.parts.optimizer
        with blame(self.parts.labels["optimizer"]):
            self._scheduler = make_scheduler(self.config.schedule, optimizer, self.total_steps)
        if self._restored is not None:
            optimizer_state, scheduler_state = self._restored
            optimizer.load_state_dict(optimizer_state)  # again: a new scheduler set the learning rate of step 0
            if self._scheduler is not None and scheduler_state is not None:
                self._scheduler.load_state_dict(scheduler_state)
            self._restored = None
        if self._good_state is None:
            self._good_state = copy.deepcopy(self.model.state_dict())

    def _epoch_batches(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """The batches of the epoch in progress, from the first one not trained yet.

        At an epoch's start the data order's generator and the global one are noted, so
        that a run carried on in the middle of the epoch (:meth:`restore`) makes the same
        order again and skips the batches it has done, without reading them.
        """
        p, at = self.parts, self.at
        if p.train_sampler is not None:
            p.train_sampler.set_epoch(int(p.epochs_before) + at.epoch)
        order = p.data_generator
        if at.epoch_steps == 0:
            self._epoch_rng = (order.get_state() if order is not None else None, torch.get_rng_state())
            return iter(p.train_loader)
        assert self._epoch_rng is not None, "a run carried on mid-epoch needs the epoch's random state"
        now = torch.get_rng_state()
        order_state, global_state = self._epoch_rng
        if order is not None and order_state is not None:
            order.set_state(order_state)
        torch.set_rng_state(global_state)
        try:
            return skip_batches(iter(p.train_loader), at.epoch_steps)
        finally:
            torch.set_rng_state(now)

    def _train_step(self, x: torch.Tensor, y: torch.Tensor) -> tuple[str, str] | None:
        """One step of the loop on the batch ``(x, y)``, the way the PyTorch tutorial writes it.

        :return: ``None`` when the weights were updated; ``(status, message)`` when the run
            ends here instead (its loss diverged; a distributed run's processes stopped).
        """
        p, at = self.parts, self.at
        x, y = x.to(p.device, non_blocking=True), y.to(p.device, non_blocking=True)
        if self._probe is not None:  # the loop view and Step watch this batch
            self._probe.batch(x, y, at.epoch, at.step + 1)
        p.optimizer.zero_grad(set_to_none=True)
        output, loss, loss_value = self._forward(x, y)
        if p.distributed is not None:
            loss_value = self._agree(loss_value)
            if loss_value is None:
                return "completed", "training finished"
        ended = self._divergence_guard(loss_value)
        if ended is not None:
            return ended
        self._update(loss)
        at.count_step(len(y), loss_value, int((output.argmax(dim=1) == y).sum()))
        self._keep_if_good()
        return None

    def _forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[Any, torch.Tensor, float]:
        """The model's output on ``x``, and its loss against ``y`` as a tensor and as a number;
        a fault is blamed on the model or the loss."""
        p = self.parts
        with blame(p.labels["model"]):
            output = self.model(x)
        if self.at.step == 0:
            self._check_output(output, len(y))
        with blame(p.labels["loss"]):
            loss = p.loss_fn(output, y)
            loss_value = loss.item()  # a loss that is not a scalar tensor fails here, named
        return output, loss, loss_value

    def _agree(self, loss_value: float) -> float | None:
        """In a distributed run, the loss of the global batch, which every process takes;
        ``None`` when the processes stop together here (one of them was asked to)."""
        loss_value, stopping = self.parts.distributed.agree(loss_value, self._stop.is_set())
        if stopping:
            self._stop.set()
            return None
        return loss_value

    def _divergence_guard(self, loss_value: float) -> tuple[str, str] | None:
        """``None`` while the loss is sound (see :func:`diverged`); else the model goes back to
        its last good weights (:meth:`_keep_if_good`) and the run ends, diverged."""
        if not diverged(loss_value, self.parts.num_classes):
            return None
        self.model.load_state_dict(self._good_state)
        return "diverged", self._divergence_message(loss_value, self.at.step + 1)

    def _update(self, loss: torch.Tensor) -> None:
        """Backward, the optimizer's step and the schedule's; a fault is blamed on the loss or the optimizer."""
        p = self.parts
        with blame(p.labels["loss"]):
            loss.backward()
        with blame(p.labels["optimizer"]):
            p.optimizer.step()
        if self._scheduler is not None:
            self._scheduler.step()

    def _keep_if_good(self) -> None:
        """Every :data:`GOOD_EVERY` steps, a copy of the weights for the divergence guard to go back to."""
        at = self.at
        if at.step % GOOD_EVERY == 0:
            self._good_state, at.good_step = copy.deepcopy(self.model.state_dict()), at.step

    def _step_end(self, busy: float) -> StepEnd:
        at, world = self.at, self._world
        rate = at.samples / busy if busy > 0 else 0.0
        return StepEnd(
            epoch=at.epoch,
            epochs=self.config.epochs,
            step=at.step,
            steps=self.total_steps,
            loss=at.last_loss,
            accuracy=at.epoch_correct / at.epoch_count,
            lr=self.parts.optimizer.param_groups[0]["lr"],
            samples=at.samples * world,
            elapsed=time.perf_counter() - self._started,
            samples_per_sec=rate * world,
            eta=(self.total_steps - at.step) * busy / at.step,
        )

    def _epoch_end(self, status: str) -> EpochEnd:
        """The epoch's end: its training figures, and the model tested on the test split."""
        p, at = self.parts, self.at
        evaluation = self._evaluate()
        loss, correct, count = at.epoch_loss, at.epoch_correct, at.epoch_count
        rate = at.samples / at.train_time if at.train_time > 0 else 0.0
        if p.distributed is not None:  # over all processes: the global loss and accuracy, the total samples/s
            loss, correct, count, rate = p.distributed.sum(loss, correct, count, rate)
        kept = at.good_step if status == "diverged" else at.step
        return EpochEnd(
            epoch=at.epoch,
            epochs=self.config.epochs,
            step=at.step,
            train_loss=loss / count,
            train_accuracy=correct / count,
            test_loss=evaluation.loss if evaluation else None,
            test_accuracy=evaluation.accuracy if evaluation else None,
            elapsed=time.perf_counter() - self._started,
            samples_per_sec=rate,
            epochs_done=kept / self.steps_per_epoch,
        )

    # -- carrying a run on elsewhere ---------------------------------------------------------

    def state(self) -> RunState:
        """The run as plain data, between two steps: enough for :meth:`restore` on a run
        built from the same config (in this process or another) to carry on exactly as
        this one would.  Tensors are copied to the CPU.  The global generator's state is
        not in it: the run's :class:`~trainpad.engine.randomness.RunRandomness` holds it.

        :raises ConfigError: the run has ended.
        """
        if self.finished:
            raise ConfigError("this run has ended; there is nothing to carry on")
        at = dataclasses.replace(self.at)
        if self._loop is not None:
            at.elapsed = time.perf_counter() - self._started
        return RunState(
            config=self.config,
            spec=self.spec,
            epochs_before=self.parts.epochs_before,
            model=to_cpu(unwrap_model(self.model).state_dict()),
            optimizer=to_cpu(self.parts.optimizer.state_dict()),
            scheduler=to_cpu(self._scheduler.state_dict()) if self._scheduler is not None else None,
            epoch_rng=to_cpu(self._epoch_rng),
            position=at,
            history=list(self.history),
            spot_checks=list(self.spot_checks),
            good_model=to_cpu(self._good_state) if self._good_state is not None else None,
        )

    def restore(self, state: RunState) -> None:
        """Carry on from ``state`` (see :meth:`state`) before the first step of this run."""
        if self._loop is not None:
            raise ConfigError("a run is restored before it starts")
        unwrap_model(self.model).load_state_dict(state.model)
        self.parts.optimizer.load_state_dict(state.optimizer)
        self._restored = (state.optimizer, state.scheduler)
        self._epoch_rng = state.epoch_rng
        self.at = dataclasses.replace(state.position)
        self.history = list(state.history)
        self.spot_checks = list(state.spot_checks)
        if state.good_model is not None:
            self._good_state = {k: v.to(self.parts.device) for k, v in state.good_model.items()}

    def trained_so_far(self) -> TrainedModel:
        """The model as it is now, with the last epoch's figures (its weights are the run's own, not a copy)."""
        return self.parts.make_trained(self.model, self._last_metrics(), self.parts.epochs_before + self.at.step / max(self.steps_per_epoch, 1))

    def _last_metrics(self) -> dict[str, float]:
        """The last epoch's figures, as a model keeps them (``test_accuracy``...)."""
        last = self.history[-1].to_dict() if self.history else {}
        return {k: v for k, v in last.items() if k in ("train_loss", "train_accuracy", "test_loss", "test_accuracy") and v is not None}

    def pause(self) -> None:
        """Leave the run where it is, to be carried on from its :meth:`state` elsewhere:
        closing its events then neither ends it nor tells its callbacks it ended."""
        self._paused = True
        if self._loop is not None:
            self._loop.close()
        if self._probe is not None:
            self._probe.close()

    def _finish(self, status: str, message: str, kept_steps: int) -> TrainEnd:
        """The run's end: the model holds ``kept_steps`` of its steps (fewer when it
        diverged and went back to its last good weights)."""
        p = self.parts
        epochs_done = kept_steps / max(self.steps_per_epoch, 1)
        trained = p.make_trained(self.model, self._last_metrics(), p.epochs_before + epochs_done)
        self.result = TrainEnd(
            status=status,
            message=message,
            epochs_done=epochs_done,
            steps_done=self.at.step,
            elapsed=time.perf_counter() - self._started if self._loop is not None else self.at.elapsed,
            history=list(self.history),
            trained=trained,
        )
        self._notify("on_train_end", self.result)
        return self.result

    def _evaluate(self) -> Evaluation | None:
        p = self.parts
        if p.test_loader is None:
            return None
        with blame(p.labels["model"]):
            evaluation = evaluate(
                self.model if p.distributed is None else p.distributed.local(self.model),
                p.test_loader,
                loss_fn=p.loss_fn,
                to_probs=p.to_probs,
                num_classes=p.num_classes,
                device=p.device,
                # stop(now=True) ends the test too (processes of a distributed run test to the end together)
                should_stop=self._abort.is_set if p.distributed is None else None,
            )
        if evaluation.stopped:  # a test cut short says nothing about the model: no test metrics
            return None
        return evaluation if p.distributed is None else p.distributed.reduce_evaluation(evaluation)

    def _check_output(self, output: Any, batch: int) -> None:
        expected = (batch, self.parts.num_classes)
        shape = tuple(getattr(output, "shape", ()))
        if not isinstance(output, torch.Tensor) or shape != expected:
            raise ComponentError(
                self.parts.labels["model"],
                f"its output has shape {shape}, but this dataset needs {expected} (batch, classes)",
            )

    def _divergence_message(self, loss: float, step: int) -> str:
        lr = self.parts.optimizer.param_groups[0]["lr"]
        what = "became NaN or infinite" if not math.isfinite(loss) else msg("exploded to {value}", value=f"{loss:.3g}")
        if step == 1:  # no weight has changed yet, so the learning rate is not to blame
            labels = self.parts.labels
            return (
                f"{labels['loss']} returned {loss:.3g} on the first batch, before any training step: "
                f"the {labels['loss']} (or the {labels['model']}) is broken, not the learning rate. "
                "Pick another loss or model, or switch off the plugin that provides it."
            )
        return (
            msg(
                "training diverged at step {step}: the loss {what} (learning rate {lr}). The last good weights are kept. Lower the learning rate "
                "(lr) and try again.",
                step=step, what=msg(what), lr=f"{lr:.3g}",
            )
        )

    # -- watching the loop, and stepping it ------------------------------------------------

    def watch_loop(self) -> None:
        """Keep :attr:`loop_trace` up to date at every step (a few hooks; see
        :mod:`trainpad.engine.stepping`).  Calling it again does nothing."""
        if self._probe is None:
            p = self.parts
            self._probe = LoopProbe(self.model, p.optimizer, p.loss_fn, p.to_probs)

    @property
    def loop_trace(self) -> LoopTrace | None:
        """What the loop's lines did in the last step (after :meth:`watch_loop` or :meth:`step`)."""
        return self._probe.trace if self._probe is not None else None

    @property
    def started(self) -> bool:
        """Whether a step or :meth:`events` began the run."""
        return self._loop is not None

    @property
    def finished(self) -> bool:
        return self.result is not None

    @property
    def steps_done(self) -> int:
        """Optimizer steps taken so far."""
        return self.result.steps_done if self.result is not None else self.at.step

    def step(self) -> StepDetail:
        """Train on exactly one batch, the next one of the run, and say everything it did.

        The step is the run's own: :meth:`events` (or the next :meth:`step`) carries on
        after it, and its :class:`~trainpad.engine.events.StepEnd` is in the result's
        ``events`` (after an epoch's end that came due first).  Looking changes nothing the
        run does: the same steps, the same losses as a run never stepped.

        :raises trainpad.engine.errors.ConfigError: the run has ended (Start a new one).
        """
        if self.finished:
            raise ConfigError("this run has ended; start a new one to step through")
        self.watch_loop()
        probe = self._probe
        assert probe is not None
        loop = self.events()
        events: list[Any] = []
        probe.want_detail, probe.detail = True, None
        try:
            for event in loop:
                events.append(event)
                if isinstance(event, (StepEnd, TrainEnd)):
                    break
        finally:
            probe.want_detail = False
        detail = probe.detail
        if detail is None or not isinstance(events[-1], StepEnd):  # the run ended (diverged, or no batch left)
            raise ConfigError(self.result.message if self.result is not None else "the run has no batch left to step")
        return StepDetail(trace=probe.trace, events=events, **detail)

    def close(self) -> None:
        """End a run that a step began and nothing carries on: it stops where it is, its
        model kept (:attr:`result` says how far it got), as a cancelled run does."""
        if self._loop is not None and not self.finished:
            self.stop()
            self._loop.close()
        if self._probe is not None:
            self._probe.close()

    def _notify(self, method: str, event: Any = None) -> None:
        for name, callback in self.parts.callbacks:
            try:
                with blame(f"callback {name}"):
                    if event is None:
                        getattr(callback, method)(self)
                    else:
                        getattr(callback, method)(self, event)
            except StopTraining as exc:
                if self.parts.distributed is None or method == "on_train_end":
                    raise
                # Rank 0 alone runs callbacks: the processes agree to stop at the next step or epoch end.
                self._stop_reason = str(exc) or "stopped by a callback"
                self._stop.set()
