"""What one web user may ask of a shared server, and how many training runs use the CPU at once.

A public Space serves many strangers from one small CPU process, and every listener
can be called through Gradio's HTTP API with any JSON, so a limit shown only in the
UI is no limit.  :class:`Limits` holds the server's caps, read from the environment
(see ``docs/deploying.md``); the handlers check every value against them on the
server, and :class:`TrainingSlots` (one per app: :class:`trainpad.web.services.App`) counts
the runs that are training *where the work happens*: a run holds a slot from before its data is loaded until its generator has
finished (``finally``), so runs that were cancelled or whose browser went away can
never pile up beyond the cap, whatever Gradio's queue thinks.

The caps are ``TRAINPAD_MAX_*`` settings (:mod:`trainpad.settings`, ``docs/settings.md``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any

from trainpad import settings
from trainpad.engine.config import RUN_PARAMS
from trainpad.engine.message import msg
from trainpad.engine.params import Param, ParamError

if TYPE_CHECKING:
    from trainpad.engine.checkpoint import CheckpointLimits

#: The height and width an uploaded checkpoint's ``input_shape`` may have.
MAX_INPUT_SIDE = 1024


def setting_of(field_name: str) -> str:
    """The setting behind a limit: ``max_epochs`` is ``TRAINPAD_MAX_EPOCHS``."""
    return f"TRAINPAD_{field_name.upper()}"


def _defaults_from_settings(cls: type) -> type:
    """Give each field of ``cls`` its setting's default: a limit is declared once, in the
    settings table (:data:`trainpad.settings.SETTINGS`, with its help and what it accepts),
    and named here with its type."""
    for field_name in cls.__annotations__:
        setattr(cls, field_name, settings.SETTINGS[setting_of(field_name)].default)
    return cls


@dataclass(frozen=True)
@_defaults_from_settings
class Limits:
    """The caps a public server puts on one user's requests: each field is the setting of its
    name (:func:`setting_of`), its default the table's; ``docs/settings.md`` says what each does."""

    max_training_runs: int
    max_epochs: int
    max_batch_size: int
    max_train_samples: int
    max_eval_samples: int
    max_run_seconds: float
    max_eval_seconds: float
    max_lab_seconds: float
    queue_size: int
    concurrency: int
    max_waiting_runs: int
    max_runs_per_client: int
    max_waiting_per_client: int
    max_sessions: int
    max_sessions_per_client: int
    client_memory_mb: float
    max_upload_mb: float
    max_uploads_per_client_mb: float
    max_uploads_mb: float
    max_request_kb: float
    client_gone_seconds: float
    forwarded_hops: int | str
    max_sketch_layers: int
    max_model_mb: float
    max_inside_pixels: int
    max_classes: int
    max_publishes_per_client: int

    @classmethod
    def from_env(cls) -> "Limits":
        """The limits the environment sets now (read on every call, so a test can change them)."""
        return cls(**{f.name: settings.get(setting_of(f.name)) for f in fields(cls)})

    def checkpoint_limits(self) -> "CheckpointLimits":
        """What an uploaded checkpoint may ask for: classes, model size, input size."""
        from trainpad.engine.checkpoint import CheckpointLimits

        return CheckpointLimits(
            max_classes=self.max_classes, max_model_bytes=int(self.max_model_mb * 2**20), max_input_side=MAX_INPUT_SIDE
        )

    def run_params(self, params: tuple[Param, ...] | None = None) -> tuple[Param, ...]:
        """The run settings a web user may choose: ``params`` (the engine's) with these caps."""
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



def time_limit_message(seconds: float, *, gpu: bool = False) -> str:
    """Why a run stopped at ``seconds``: the server's time limit, or (``gpu``) the GPU time
    planned for it on ZeroGPU (see :mod:`trainpad.web.zerogpu`)."""
    minutes = seconds / 60
    span = msg("{count} minute(s)", count=f"{minutes:g}") if seconds >= 60 else msg("{count} second(s)", count=f"{seconds:g}")
    if gpu:
        return msg(
            "the run used the {span} of GPU time planned for it, so it stopped; the model trained so far is kept. "
            "Train with fewer epochs or samples, or carry on training it in another run",
            span=span,
        )
    return msg(
        "the run reached this server's time limit of {span} per run, so it stopped; "
        "the model trained so far is kept. Train with fewer epochs or samples, or carry on training it in another run",
        span=span,
    )


__all__ = ["Limits", "limits", "setting_of", "TrainingSlots", "ParamError", "time_limit_message"]
