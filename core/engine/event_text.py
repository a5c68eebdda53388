"""A run's events as the lines people read: one module for the web app and the CLI.

Each function turns an event (:mod:`trainpad.engine.events`) into a message by key
(:func:`~trainpad.engine.message.msg`): the CLI prints it in English, the web app's log and
status render it in the visitor's language.  Numbers are formatted here, once, as they read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trainpad.engine.events import epochs_text
from trainpad.engine.message import Message, msg

if TYPE_CHECKING:
    from trainpad.engine.events import EpochEnd, SpotCheck, StepEnd, TrainEnd


def clock_text(seconds: float) -> str:
    """``1:05`` (minutes and seconds), ``1:02:05`` from an hour on."""
    seconds = int(max(seconds, 0))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def step_status(event: "StepEnd") -> Message:
    """Where a run is, for a status line (Markdown): epoch, step, loss, learning rate, speed, time left."""
    return msg(
        "**Epoch {epoch}/{epochs}** · step {step} of {steps} · loss {loss} · lr {lr} · {rate} samples/s · about {left} left",
        epoch=event.epoch, epochs=event.epochs, step=f"{event.step:,}", steps=f"{event.steps:,}", loss=f"{event.loss:.4f}",
        lr=f"{event.lr:.3g}", rate=f"{event.samples_per_sec:,.0f}", left=clock_text(event.eta),
    )  # fmt: skip


def epoch_line(event: "EpochEnd") -> Message:
    """An epoch's end: its train loss and accuracy, its test's if it had one, its speed."""
    test = ""
    if event.test_accuracy is not None and event.test_loss is not None:
        test = msg("; test loss {loss}, accuracy {accuracy}", loss=f"{event.test_loss:.4f}", accuracy=f"{event.test_accuracy:.2%}")
    early = "" if event.complete else msg(" (ended early, {epochs} in)", epochs=epochs_text(event.epochs_done))
    return msg(
        "epoch {epoch}/{epochs}{early}: train loss {loss}, accuracy {accuracy}{test} ({rate} samples/s)",
        epoch=event.epoch, epochs=event.epochs, early=early, loss=f"{event.train_loss:.4f}",
        accuracy=f"{event.train_accuracy:.2%}", test=test, rate=f"{event.samples_per_sec:,.0f}",
    )  # fmt: skip


def spot_line(event: "SpotCheck") -> Message:
    """A test point taken during the run (or before it: step 0)."""
    if event.step == 0:
        when = msg("before training")
    else:
        when = msg("at epoch {epochs} (step {step})", epochs=f"{event.epochs_done:.2f}", step=f"{event.step:,}")
    return msg(
        "{when}: test loss {loss}, accuracy {accuracy} on {samples} test samples, lr {lr}",
        when=when, loss=f"{event.test_loss:.4f}", accuracy=f"{event.test_accuracy:.2%}", samples=f"{event.samples:,}", lr=f"{event.lr:.3g}",
    )  # fmt: skip


def end_line(end: "TrainEnd") -> Message:
    """How a run ended: ``completed: training finished (1 epoch in 0:10)``."""
    return msg(
        "{status}: {message} ({epochs} in {elapsed})",
        status=msg(end.status), message=msg(end.message), epochs=epochs_text(end.epochs_done), elapsed=clock_text(end.elapsed),
    )


def metrics_line(end: "TrainEnd") -> Message:
    """What a run's model measured, for its summary (Markdown): test accuracy and loss, train accuracy, time."""
    metrics = end.trained.metrics if end.trained is not None else {}
    parts = []
    if "test_accuracy" in metrics:
        parts.append(msg("**Test accuracy {accuracy}**", accuracy=f"{metrics['test_accuracy']:.2%}"))
    if "test_loss" in metrics:
        parts.append(msg("test loss {loss}", loss=f"{metrics['test_loss']:.4f}"))
    if "train_accuracy" in metrics:
        parts.append(msg("train accuracy {accuracy}", accuracy=f"{metrics['train_accuracy']:.2%}"))
    steps = msg("{epochs}, {steps} steps in {time}", epochs=epochs_text(end.epochs_done), steps=f"{end.steps_done:,}", time=clock_text(end.elapsed))
    return Message.joined(" · ", [*parts, steps])


__all__ = ["clock_text", "end_line", "epoch_line", "metrics_line", "spot_line", "step_status"]
