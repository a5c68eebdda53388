"""A run as a job: plain data in, plain events out, so that it can run anywhere.

A training run of the web app does not need the server's memory: a job takes a
:class:`RunSpec` (the config, and for a run carried on, its
:class:`~trainpad.engine.run_state.RunState`) and yields picklable events
(:mod:`trainpad.engine.events`), so the same job runs in a thread of the server, in a
process of its own or in a ZeroGPU worker (:mod:`trainpad.runtime.executors`) without the
caller knowing which.  Its random numbers are its own (:mod:`trainpad.engine.randomness`):
a seeded run gives the same curves whatever other sessions do meanwhile.  Stop reaches it
as a :class:`StopFlag` (in this process) or a :class:`StopFile` (in another).

What a job yields, in order (:func:`trainpad.engine.job_runner.run_job` runs one):

* :class:`~trainpad.engine.events.Preparing` while the data loads (or downloads) and
  the model is built;
* :class:`~trainpad.engine.events.RunStarted`, once, with what the run is;
* the run's own events (``StepEnd``, ``SpotCheck``, ``EpochEnd``), each step's
  ``LoopTrace`` when the loop is watched, a ``StepDetail`` for a Step, and now and then a
  :class:`~trainpad.engine.events.Snapshot` of the weights (so that a job that dies still
  leaves its model);
* :class:`~trainpad.engine.events.JobEnd`, last: how the run ended, the model as
  checkpoint data, and the :class:`~trainpad.engine.run_state.RunState` to carry on from
  when the job took only some of the run's steps.  A job that cannot run ends with
  :class:`~trainpad.engine.events.JobFailed` instead.

Evaluation is a job too (:class:`EvalSpec`), and so is a Lab experiment (:class:`LabSpec`).  This module imports neither torch nor the
web app: a server describes and stops jobs without loading either.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from trainpad.engine.config import RUN_PARAMS, TrainConfig

if TYPE_CHECKING:
    from trainpad.engine.lab.runner import LabRequest
    from trainpad.engine.params import Param
    from trainpad.engine.run_state import RunState


@dataclass(frozen=True)
class RunSpec:
    """Everything a run job needs, as plain data.

    :param config: the run's settings and components.
    :param run_params: the settings' allowed ranges (a server narrows the engine's).
    :param resume: a model to carry on training, as checkpoint data
        (:func:`trainpad.engine.checkpoint.to_payload`).
    :param state: a run to carry on where it was (after a Step).
    :param steps: train this many steps and stop there, leaving the run's :class:`RunState`
        in the :class:`JobEnd` (``1``: a Step, reported in detail); ``None`` to the end;
        ``0`` to end the run where ``state`` left it (its last epoch tested), as Stop does.
    :param spot_checks: test points per epoch (see :meth:`TrainingRun.events
        <trainpad.engine.training.TrainingRun.events>`).
    :param watch_loop: report each step's :class:`~trainpad.engine.stepping.LoopTrace`.
    :param max_seconds: the run stops by itself after this long, keeping its model.
    :param snapshot_seconds: send the weights this often (``None``: never; a job in the
        caller's own process needs none).
    :param device: train here rather than where ``config.device`` says (a GPU worker
        that has no GPU falls back to ``cpu``).
    """

    config: TrainConfig
    run_params: tuple["Param", ...] = RUN_PARAMS
    data_dir: str | None = None
    resume: dict[str, Any] | None = None
    state: RunState | None = None
    steps: int | None = None
    spot_checks: int = 0
    spot_allowance: float = 0.5
    watch_loop: bool = False
    max_seconds: float | None = None
    snapshot_seconds: float | None = None
    device: str | None = None


@dataclass(frozen=True)
class EvalSpec:
    """An evaluation job: ``model`` (checkpoint data) on its dataset's test split.

    The other fields are :meth:`Engine.evaluate <trainpad.engine.engine.Engine.evaluate>`'s;
    ``max_seconds`` ends it early (after its first batch), with what it saw so far.
    """

    model: dict[str, Any]
    data_dir: str | None = None
    samples: int = 0
    mistakes: int = 24
    answers: int = 0
    seed: int | None = None
    max_seconds: float | None = None


@dataclass(frozen=True)
class LabSpec:
    """A Lab experiment as a job: ``request`` (plain data) prepared and run to its result.

    ``max_seconds`` ends it, from when it is given, at its next event.
    """

    request: "LabRequest"
    data_dir: str | None = None
    max_seconds: float | None = None


class StopFlag:
    """Asks a job in this process to stop (thread-safe)."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.now = False
        self._listeners: list[Callable[[bool], None]] = []
        self._lock = threading.Lock()

    def set(self, *, now: bool = False) -> None:
        """Stop after the current step; with ``now``, cut a test in progress short too."""
        with self._lock:
            self.now = self.now or now
            self._event.set()
            listeners = list(self._listeners)
        for listener in listeners:
            listener(self.now)

    def is_set(self) -> bool:
        return self._event.is_set()

    def watch(self, listener: Callable[[bool], None]) -> Callable[[], None]:
        """Call ``listener(now)`` when asked to stop (at once if it was); returns an unwatch."""
        with self._lock:
            self._listeners.append(listener)
        if self.is_set():
            listener(self.now)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None


class StopFile:
    """Asks a job in another process to stop: a file that appears (picklable).

    Works wherever the two processes share a file system: a spawned process, a forked
    ZeroGPU worker (which gets no channel of its own from the caller).
    """

    #: how often the job looks for the file
    POLL = 0.1

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = str(path)

    def set(self, *, now: bool = False) -> None:
        Path(self.path).write_text("now" if now else "later")

    def is_set(self) -> bool:
        return os.path.exists(self.path)

    @property
    def now(self) -> bool:
        try:
            return Path(self.path).read_text() == "now"
        except OSError:
            return False

    def watch(self, listener: Callable[[bool], None]) -> Callable[[], None]:
        done = threading.Event()

        def poll() -> None:
            while not done.wait(self.POLL):
                if self.is_set():
                    listener(self.now)
                    if self.now:
                        return

        threading.Thread(target=poll, name="trainpad-stop-file", daemon=True).start()
        return done.set


__all__ = ["EvalSpec", "LabSpec", "RunSpec", "StopFile", "StopFlag"]
