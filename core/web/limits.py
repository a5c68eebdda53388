"""What one web user may ask of a shared server, and how many training runs use the CPU at once.

A public Space serves many strangers from one small CPU process, and every listener
can be called through Gradio's HTTP API with any JSON, so a limit shown only in the
UI is no limit.  :class:`Limits` holds the server's caps, read from the environment
(see ``docs/deploying.md``); the handlers check every value against them on the
server, and :data:`TRAINING_SLOTS` counts the runs that are training *where the work
happens*: a run holds a slot from before its data is loaded until its generator has
finished (``finally``), so runs that were cancelled or whose browser went away can
never pile up beyond the cap, whatever Gradio's queue thinks.

The caps are ``TRAINPAD_MAX_*`` settings (:mod:`trainpad.settings`, ``docs/settings.md``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from typing import Any

from trainpad import settings
from trainpad.engine.params import Param, ParamError

#: The setting (see :mod:`trainpad.settings`) behind each limit.
ENV: dict[str, str] = {
    "max_training_runs": "TRAINPAD_MAX_TRAINING_RUNS",
    "max_epochs": "TRAINPAD_MAX_EPOCHS",
    "max_batch_size": "TRAINPAD_MAX_BATCH_SIZE",
    "max_train_samples": "TRAINPAD_MAX_TRAIN_SAMPLES",
    "max_eval_samples": "TRAINPAD_MAX_EVAL_SAMPLES",
    "max_run_seconds": "TRAINPAD_MAX_RUN_SECONDS",
}


@dataclass(frozen=True)
class Limits:
    """The caps a public server puts on one user's requests."""

    max_training_runs: int = 1
    max_epochs: int = 20
    max_batch_size: int = 1024
    max_train_samples: int = 60_000
    max_eval_samples: int = 10_000
    max_run_seconds: float = 900.0

    @classmethod
    def from_env(cls) -> "Limits":
        """The limits the environment sets now (read on every call, so a test can change them)."""
        return cls(**{field_name: settings.get(name) for field_name, name in ENV.items()})

    def run_params(self, params: tuple[Param, ...] | None = None) -> tuple[Param, ...]:
        """The run settings a web user may choose: ``params`` (the engine's) with these caps."""
        from trainpad.engine.config import RUN_PARAMS

        caps = {"epochs": self.max_epochs, "batch_size": self.max_batch_size, "train_samples": self.max_train_samples}
        return tuple(
            replace(p, max=min(caps[p.name], p.max) if p.max is not None else caps[p.name]) if p.name in caps else p
            for p in (params or RUN_PARAMS)
        )

    def capped(self, config: Any) -> Any:
        """``config`` (a :class:`~trainpad.engine.config.TrainConfig`) as the server trains it:
        "all the training samples" (0) becomes the server's cap on them."""
        if config.train_samples == 0 and not isinstance(config.train_samples, bool):
            return replace(config, train_samples=self.max_train_samples)
        return config

    def eval_samples(self, value: Any) -> int:
        """The number of test images asked for, checked; 0 (all) becomes the cap.

        :raises ParamError: not a whole number from 0 to the cap.
        """
        samples = Param("samples", int, 0, min=0, max=self.max_eval_samples, help="test images").validate(value)
        return samples or self.max_eval_samples


def limits() -> Limits:
    """The server's limits, from the environment."""
    return Limits.from_env()


class TrainingSlots:
    """At most ``capacity`` training runs at once in this process, counted where they train.

    The capacity is read from :func:`limits` at each :meth:`acquire`.  ``active`` is how
    many runs hold a slot now and ``peak`` the most that ever did (for tests and the
    load test).
    """

    def __init__(self, capacity: int | None = None) -> None:
        self._capacity = capacity
        self._cond = threading.Condition()
        self.active = 0
        self.peak = 0

    @property
    def capacity(self) -> int:
        return self._capacity if self._capacity is not None else limits().max_training_runs

    def acquire(self, timeout: float | None = None) -> bool:
        """Take a slot, waiting up to ``timeout`` seconds; ``False`` if none came free."""
        with self._cond:
            if not self._cond.wait_for(lambda: self.active < self.capacity, timeout=timeout):
                return False
            self.active += 1
            self.peak = max(self.peak, self.active)
            return True

    def release(self) -> None:
        with self._cond:
            if self.active <= 0:
                raise RuntimeError("released a training slot that was not held")
            self.active -= 1
            self._cond.notify_all()

    def reset_peak(self) -> None:
        with self._cond:
            self.peak = self.active


#: The process's training slots (every web session's runs share them).
TRAINING_SLOTS = TrainingSlots()


def time_limit_message(seconds: float) -> str:
    minutes = seconds / 60
    span = f"{minutes:g} minute(s)" if seconds >= 60 else f"{seconds:g} second(s)"
    return (
        f"the run reached this server's time limit of {span} per run, so it stopped; "
        "the model trained so far is kept. Train with fewer epochs or samples, or carry on training it in another run"
    )


__all__ = ["Limits", "limits", "TrainingSlots", "TRAINING_SLOTS", "ParamError", "time_limit_message"]
