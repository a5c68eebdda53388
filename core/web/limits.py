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
from typing import TYPE_CHECKING, Any

from trainpad import settings
from trainpad.engine.params import Param, ParamError

if TYPE_CHECKING:
    from trainpad.engine.checkpoint import CheckpointLimits

#: The setting (see :mod:`trainpad.settings`) behind each limit.
ENV: dict[str, str] = {
    "max_training_runs": "TRAINPAD_MAX_TRAINING_RUNS",
    "max_epochs": "TRAINPAD_MAX_EPOCHS",
    "max_batch_size": "TRAINPAD_MAX_BATCH_SIZE",
    "max_train_samples": "TRAINPAD_MAX_TRAIN_SAMPLES",
    "max_eval_samples": "TRAINPAD_MAX_EVAL_SAMPLES",
    "max_run_seconds": "TRAINPAD_MAX_RUN_SECONDS",
    "max_eval_seconds": "TRAINPAD_MAX_EVAL_SECONDS",
    "max_lab_seconds": "TRAINPAD_MAX_LAB_SECONDS",
    "queue_size": "TRAINPAD_QUEUE_SIZE",
    "concurrency": "TRAINPAD_CONCURRENCY",
    "max_waiting_runs": "TRAINPAD_MAX_WAITING_RUNS",
    "max_runs_per_client": "TRAINPAD_MAX_RUNS_PER_CLIENT",
    "max_waiting_per_client": "TRAINPAD_MAX_WAITING_PER_CLIENT",
    "max_sessions": "TRAINPAD_MAX_SESSIONS",
    "max_sessions_per_client": "TRAINPAD_MAX_SESSIONS_PER_CLIENT",
    "client_memory_mb": "TRAINPAD_CLIENT_MEMORY_MB",
    "max_upload_mb": "TRAINPAD_MAX_UPLOAD_MB",
    "max_uploads_per_client_mb": "TRAINPAD_MAX_UPLOADS_PER_CLIENT_MB",
    "max_uploads_mb": "TRAINPAD_MAX_UPLOADS_MB",
    "max_request_kb": "TRAINPAD_MAX_REQUEST_KB",
    "client_gone_seconds": "TRAINPAD_CLIENT_GONE_SECONDS",
    "forwarded_hops": "TRAINPAD_FORWARDED_HOPS",
    "max_sketch_layers": "TRAINPAD_MAX_SKETCH_LAYERS",
    "max_model_mb": "TRAINPAD_MAX_MODEL_MB",
    "max_inside_pixels": "TRAINPAD_MAX_INSIDE_PIXELS",
    "max_classes": "TRAINPAD_MAX_CLASSES",
    "max_publishes_per_client": "TRAINPAD_MAX_PUBLISHES_PER_CLIENT",
}
#: The height and width an uploaded checkpoint's ``input_shape`` may have.
MAX_INPUT_SIDE = 1024


@dataclass(frozen=True)
class Limits:
    """The caps a public server puts on one user's requests."""

    max_training_runs: int = 1
    max_epochs: int = 20
    max_batch_size: int = 1024
    max_train_samples: int = 60_000
    max_eval_samples: int = 10_000
    max_run_seconds: float = 900.0
    max_eval_seconds: float = 60.0
    max_lab_seconds: float = 60.0
    queue_size: int = 64
    concurrency: int = 4
    max_waiting_runs: int = 16
    max_runs_per_client: int = 2
    max_waiting_per_client: int = 16
    max_sessions: int = 1000
    max_sessions_per_client: int = 64
    client_memory_mb: float = 256.0
    max_upload_mb: float = 20.0
    max_uploads_per_client_mb: float = 100.0
    max_uploads_mb: float = 2048.0
    max_request_kb: float = 1024.0
    client_gone_seconds: float = 10.0
    forwarded_hops: int | str = "auto"
    max_sketch_layers: int = 4
    max_model_mb: float = 16.0
    max_inside_pixels: int = 128 * 128
    max_classes: int = 1000
    max_publishes_per_client: int = 6

    @classmethod
    def from_env(cls) -> "Limits":
        """The limits the environment sets now (read on every call, so a test can change them)."""
        return cls(**{field_name: settings.get(name) for field_name, name in ENV.items()})

    def checkpoint_limits(self) -> "CheckpointLimits":
        """What an uploaded checkpoint may ask for: classes, model size, input size."""
        from trainpad.engine.checkpoint import CheckpointLimits

        return CheckpointLimits(
            max_classes=self.max_classes, max_model_bytes=int(self.max_model_mb * 2**20), max_input_side=MAX_INPUT_SIDE
        )

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


def time_limit_message(seconds: float, *, gpu: bool = False) -> str:
    """Why a run stopped at ``seconds``: the server's time limit, or (``gpu``) the GPU time
    planned for it on ZeroGPU (see :mod:`trainpad.web.zerogpu`)."""
    minutes = seconds / 60
    span = f"{minutes:g} minute(s)" if seconds >= 60 else f"{seconds:g} second(s)"
    if gpu:
        return (
            f"the run used the {span} of GPU time planned for it, so it stopped; the model trained so far is kept. "
            "Train with fewer epochs or samples, or carry on training it in another run"
        )
    return (
        f"the run reached this server's time limit of {span} per run, so it stopped; "
        "the model trained so far is kept. Train with fewer epochs or samples, or carry on training it in another run"
    )


__all__ = ["Limits", "limits", "TrainingSlots", "TRAINING_SLOTS", "ParamError", "time_limit_message"]
