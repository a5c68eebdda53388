"""The training loop, the way the PyTorch tutorial teaches it, reporting events.

:class:`TrainingRun` is built by :meth:`trainpad.engine.engine.Engine.build_run`; iterating
:meth:`TrainingRun.events` trains and yields a :class:`~trainpad.engine.events.StepEnd` per
batch, an :class:`~trainpad.engine.events.EpochEnd` per epoch and one
:class:`~trainpad.engine.events.TrainEnd`.  :meth:`TrainingRun.stop` (from any thread) ends it
at the next batch; closing the generator does the same.  Either way the model
trained so far is kept.
"""

from __future__ import annotations

import copy
import math
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterator

import torch
from torch import nn
from torch.utils.data import DataLoader

from trainpad.engine.callbacks import Callback, StopTraining
from trainpad.engine.config import RUN_PARAMS, SCHEDULES, TrainConfig  # noqa: F401  (their home; imported from here too)
from trainpad.engine.data import make_loader, take
from trainpad.engine.errors import ComponentError, blame
from trainpad.engine.evaluation import Evaluation, evaluate
from trainpad.engine.events import EpochEnd, StepEnd, TrainEnd
from trainpad.engine.stepping import LoopProbe, LoopTrace, StepDetail
from trainpad.engine.trained_model import TrainedModel

if TYPE_CHECKING:
    from trainpad.runtime.distributed import DistContext

#: A loss this many times above what guessing uniformly would give ends the run.
DIVERGENCE_FACTOR = 10.0


def make_scheduler(name: str, optimizer: torch.optim.Optimizer, total_steps: int):
    """A per-step learning-rate schedule; the optimizer's ``lr`` is its peak."""
    if name == "onecycle" and total_steps >= 8:  # shorter runs have no room for a warm-up
        max_lr = [group["lr"] for group in optimizer.param_groups]
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=max_lr, total_steps=total_steps, pct_start=0.25, cycle_momentum=False
        )
    if name == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(total_steps, 1))
    return None


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
    epochs_before: int = 0
    #: this process's part in a torchrun run (see :mod:`trainpad.runtime.distributed`); ``None`` alone
    distributed: "DistContext | None" = None
    #: a sampler whose ``set_epoch(epoch)`` reshuffles it before each epoch (a ``DistributedSampler``)
    train_sampler: Any = None
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
        self.result: TrainEnd | None = None
        self._loop: Iterator[Any] | None = None  # the events' generator, once a step or events() began it
        self._probe: LoopProbe | None = None

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
    def pairing(self) -> str:
        """How the model's output reaches the loss when one returns logits and the other
        expects log-probabilities (or the reverse); ``""`` when they match."""
        return self.parts.pairing

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

    def run(self) -> TrainEnd:
        """Train to the end, ignoring the events; return the final one."""
        for event in self.events():
            pass
        assert self.result is not None
        return self.result

    def events(self) -> Iterator[StepEnd | EpochEnd | TrainEnd]:
        """Train, yielding a :class:`StepEnd` per batch, an :class:`EpochEnd` per epoch and one
        :class:`TrainEnd`.  The run has one such iterator: called again, or after
        :meth:`step`, this returns it, carrying on where it is; closing it ends the run."""
        if self._loop is None:
            self._loop = self._events()
        return self._loop

    def _events(self) -> Iterator[StepEnd | EpochEnd | TrainEnd]:
        p = self.parts
        cfg = self.config
        model, optimizer, loss_fn, device = p.model, p.optimizer, p.loss_fn, p.device
        loader = p.train_loader
        dist = p.distributed
        world = dist.world_size if dist is not None else 1
        steps_per_epoch = len(loader)
        total_steps = steps_per_epoch * cfg.epochs
        with blame(p.labels["optimizer"]):
            scheduler = make_scheduler(cfg.schedule, optimizer, total_steps)
        reference = math.log(max(p.num_classes, 2))  # the loss of a uniform guess
        good_state = copy.deepcopy(model.state_dict())
        step = samples = 0
        status, message = "completed", "training finished"
        train_time = 0.0
        started = time.perf_counter()
        self._notify("on_train_begin")
        epoch = 0
        try:
            for epoch in range(1, cfg.epochs + 1):
                if p.train_sampler is not None:
                    p.train_sampler.set_epoch(p.epochs_before + epoch)
                model.train()
                epoch_loss = 0.0
                epoch_correct = epoch_count = 0
                tick = time.perf_counter()
                for x, y in loader:
                    if self._stop.is_set() and dist is None:  # distributed processes stop together, below
                        break
                    x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
                    if self._probe is not None:  # the loop view and Step watch this batch
                        self._probe.batch(x, y, epoch, step + 1)
                    optimizer.zero_grad(set_to_none=True)
                    with blame(p.labels["model"]):
                        output = model(x)
                    if step == 0:
                        self._check_output(output, len(y))
                    with blame(p.labels["loss"]):
                        loss = loss_fn(output, y)
                        loss_value = loss.item()  # a loss that is not a scalar tensor fails here, named
                    if dist is not None:  # every process takes the global batch's loss, and stops with the others
                        loss_value, stopping = dist.agree(loss_value, self._stop.is_set())
                        if stopping:
                            self._stop.set()
                            break
                    if not math.isfinite(loss_value) or loss_value > DIVERGENCE_FACTOR * reference:
                        model.load_state_dict(good_state)
                        status, message = "diverged", self._divergence_message(loss_value, step + 1)
                        break
                    with blame(p.labels["loss"]):
                        loss.backward()
                    with blame(p.labels["optimizer"]):
                        optimizer.step()
                    if scheduler is not None:
                        scheduler.step()
                    step += 1
                    samples += len(y)
                    epoch_count += len(y)
                    epoch_loss += loss_value * len(y)
                    epoch_correct += int((output.argmax(dim=1) == y).sum())
                    if step % 100 == 0:
                        good_state = copy.deepcopy(model.state_dict())
                    now = time.perf_counter()
                    busy = train_time + (now - tick)
                    rate = samples / busy if busy > 0 else 0.0
                    event = StepEnd(
                        epoch=epoch,
                        epochs=cfg.epochs,
                        step=step,
                        steps=total_steps,
                        loss=loss_value,
                        accuracy=epoch_correct / epoch_count,
                        lr=optimizer.param_groups[0]["lr"],
                        samples=samples * world,
                        elapsed=now - started,
                        samples_per_sec=rate * world,
                        eta=(total_steps - step) * busy / step,
                    )
                    self._notify("on_batch_end", event)
                    yield event
                train_time += time.perf_counter() - tick
                if epoch_count == 0:  # stopped or diverged before the first batch of this epoch
                    epoch -= 1
                    break
                evaluation = self._evaluate()
                epoch_rate = samples / train_time if train_time > 0 else 0.0
                if dist is not None:  # over all processes: the global loss and accuracy, the total samples/s
                    epoch_loss, epoch_correct, epoch_count, epoch_rate = dist.sum(epoch_loss, epoch_correct, epoch_count, epoch_rate)
                epoch_end = EpochEnd(
                    epoch=epoch,
                    epochs=cfg.epochs,
                    step=step,
                    train_loss=epoch_loss / epoch_count,
                    train_accuracy=epoch_correct / epoch_count,
                    test_loss=evaluation.loss if evaluation else None,
                    test_accuracy=evaluation.accuracy if evaluation else None,
                    elapsed=time.perf_counter() - started,
                    samples_per_sec=epoch_rate,
                )
                self.history.append(epoch_end)
                self._notify("on_epoch_end", epoch_end)
                yield epoch_end
                if dist is not None and dist.any(self._stop.is_set()):  # a callback on rank 0 stopped it
                    self._stop.set()
                if status != "completed" or self._stop.is_set():
                    break
        except StopTraining as exc:
            status, message = "stopped", str(exc) or "stopped by a callback"
        except GeneratorExit:
            # The consumer went away (a closed browser tab): keep the model, end quietly.
            self._stop.set()
            self._finish("stopped", "the run was cancelled", epoch, step, started)
            raise
        if status == "completed" and self._stop.is_set():
            status, message = "stopped", self._stop_reason or f"stopped at step {step} of {total_steps}; the model trained so far is kept"
        yield self._finish(status, message, epoch, step, started)

    def _finish(self, status: str, message: str, epoch: int, step: int, started: float) -> TrainEnd:
        p = self.parts
        last = self.history[-1] if self.history else None
        metrics: dict[str, float] = {}
        if last is not None:
            metrics = {k: v for k, v in last.to_dict().items() if k in ("train_loss", "train_accuracy", "test_loss", "test_accuracy") and v is not None}
        trained = p.make_trained(self.model, metrics, p.epochs_before + len(self.history))
        self.result = TrainEnd(
            status=status,
            message=message,
            epochs_done=len(self.history),
            steps_done=step,
            elapsed=time.perf_counter() - started,
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
        what = "became NaN or infinite" if not math.isfinite(loss) else f"exploded to {loss:.3g}"
        if step == 1:  # no weight has changed yet, so the learning rate is not to blame
            labels = self.parts.labels
            return (
                f"{labels['loss']} returned {loss:.3g} on the first batch, before any training step: "
                f"the {labels['loss']} (or the {labels['model']}) is broken, not the learning rate. "
                "Pick another loss or model, or switch off the plugin that provides it."
            )
        return (
            f"training diverged at step {step}: the loss {what} (learning rate {lr:.3g}). "
            "The last good weights are kept. Lower the learning rate (lr) and try again."
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
        trace = self.loop_trace
        return self.result.steps_done if self.result is not None else (trace.step if trace is not None else 0)

    def step(self) -> StepDetail:
        """Train on exactly one batch, the next one of the run, and say everything it did.

        The step is the run's own: :meth:`events` (or the next :meth:`step`) carries on
        after it, and its :class:`~trainpad.engine.events.StepEnd` is in the result's
        ``events`` (after an epoch's end that came due first).  Looking changes nothing the
        run does: the same steps, the same losses as a run never stepped.

        :raises trainpad.engine.errors.ConfigError: the run has ended (Start a new one).
        """
        from trainpad.engine.errors import ConfigError

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
