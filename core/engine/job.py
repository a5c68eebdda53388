"""A run as a job: plain data in, plain events out, so that it can run anywhere.

A training run of the web app does not need the server's memory: :func:`run_job` takes a
:class:`RunSpec` (the config, and for a run carried on, its :class:`RunState`) and yields
picklable events, so the same job runs in a thread of the server, in a process of its own
or in a ZeroGPU worker (:mod:`trainpad.runtime.executors`) without the caller knowing
which.  Its random numbers are its own (:mod:`trainpad.engine.randomness`): a seeded run
gives the same curves whatever other sessions do meanwhile.

What a job yields, in order:

* :class:`Preparing` while the data loads (or downloads) and the model is built;
* :class:`RunStarted`, once, with what the run is (its samples, steps, parameters);
* the run's own events (:class:`~trainpad.engine.events.StepEnd`, ``SpotCheck``,
  ``EpochEnd``), each step's :class:`~trainpad.engine.stepping.LoopTrace` when the loop is
  watched, a :class:`~trainpad.engine.stepping.StepDetail` for a Step, and now and then a
  :class:`Snapshot` of the weights (so that a job that dies still leaves its model);
* :class:`JobEnd`, last: how the run ended (a :class:`~trainpad.engine.events.TrainEnd`
  without its model), the model as checkpoint data, and the :class:`RunState` to carry
  on from when the job only took some of the run's steps.  A job that cannot run ends
  with :class:`JobFailed` instead.

Evaluation is a job too (:func:`evaluate_job`).  Nothing here imports the web app.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from trainpad.engine.config import RUN_PARAMS, TrainConfig
from trainpad.engine.errors import TrainpadError
from trainpad.engine.events import EpochEnd, SpotCheck, StepEnd, TrainEnd
from trainpad.engine.progress import Background
from trainpad.engine.randomness import RunRandomness
from trainpad.engine.run_state import RunState

if TYPE_CHECKING:
    from trainpad.engine.engine import Engine
    from trainpad.engine.evaluation import Evaluation
    from trainpad.engine.params import Param
    from trainpad.engine.training import TrainingRun

#: Seconds between two reports while a job prepares its run.
REPORT_EVERY = 0.3


# -- what goes in --------------------------------------------------------------------------------


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


# -- what comes out ------------------------------------------------------------------------------


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


@dataclass(frozen=True)
class Snapshot:
    """The weights as they are now (checkpoint data), and the epochs they hold."""

    model: dict[str, Any]
    epochs: float


@dataclass(frozen=True)
class JobEnd:
    """The job's last event.

    :param end: how the run ended (``None`` when the job only took some of its steps: the
        run goes on from ``state``); its ``trained`` is ``None``: the model is ``model``.
    :param model: the trained model as checkpoint data (``None`` if it kept none).
    :param state: the run to carry on (a Step's), or ``None`` when it has ended.
    :param timed_out: it stopped at ``max_seconds``.
    """

    end: TrainEnd | None
    model: dict[str, Any] | None = None
    state: RunState | None = None
    timed_out: bool = False


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
        import traceback

        if isinstance(exc, TrainpadError):
            return cls(str(exc), exc.public_message, type(exc).__name__)
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        return cls(f"{type(exc).__name__}: {exc}", "", type(exc).__name__, expected=False, traceback=text)


@dataclass(frozen=True)
class EvalEnd:
    """An evaluation job's result."""

    evaluation: "Evaluation"


# -- stopping a job from outside -----------------------------------------------------------------


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


# -- the jobs ------------------------------------------------------------------------------------


def run_job(spec: RunSpec, engine: "Engine", stop: StopFlag | StopFile | None = None) -> Iterator[Any]:
    """Run ``spec`` (see the module for what it yields).  Never raises for the run's own
    failures: they end it as a :class:`JobFailed`."""
    stop = stop if stop is not None else StopFlag()
    config = spec.config if spec.device is None else replace(spec.config, device=spec.device)
    carried = spec.state.randomness if spec.state is not None else None
    randomness = carried.copy() if carried is not None else RunRandomness.seeded(config.seed)
    run: TrainingRun | None = None
    try:
        built: list[TrainingRun] = []
        for event in _prepare(engine, spec, config, randomness, built):
            yield event
        run = built[0]
        yield _started(run, spec)
        yield from _train(run, spec, randomness, stop)
    except Exception as exc:  # a setting, a plugin's component, a bug: the run fails, saying so; the caller lives on
        yield JobFailed.of(exc)
    finally:
        if run is not None:
            run.close()


def _prepare(engine: "Engine", spec: RunSpec, config: TrainConfig, randomness: Any, built: list[Any]) -> Iterator[Preparing]:
    """Load the data (reporting what it does), then build the run under its own random state."""
    loading = Background(lambda: engine.load_data(config, data_dir=spec.data_dir, run_params=spec.run_params), name="trainpad-load-data")
    said = None
    while not loading.wait(REPORT_EVERY):
        if loading.said and loading.said != said:
            said = loading.said
            yield Preparing(said)
    loading.result()  # raises what loading raised
    resume = engine.model_from_payload(spec.resume) if spec.resume is not None else None
    # Building seeds and draws (the initial weights): a run carried on builds under a state
    # it then drops, and goes on with the one its last step left.
    building = RunRandomness.seeded(config.seed) if spec.state is not None else randomness
    with building.active():
        built.append(engine.build_run(config, data_dir=spec.data_dir, resume=resume, state=spec.state, run_params=spec.run_params))
    if spec.watch_loop or spec.steps == 1:
        built[0].watch_loop()


def _started(run: "TrainingRun", spec: RunSpec) -> RunStarted:
    return RunStarted(
        config=run.config,
        spec=run.spec,
        train_samples=run.train_samples,
        steps_per_epoch=run.steps_per_epoch,
        total_steps=run.total_steps,
        lr=run.lr,
        device=str(run.device),
        pairing=run.pairing,
        parameters=sum(p.numel() for p in run.model.parameters()),
        has_test_split=run.has_test_split,
        steps_done=run.steps_done,
        epochs_before=spec.state.epochs_before if spec.state is not None else 0.0,
    )


def _train(run: "TrainingRun", spec: RunSpec, randomness: Any, stop: StopFlag | StopFile) -> Iterator[Any]:
    """Drive the built run: each of its steps under its own random state, within its time."""
    timed_out = threading.Event()

    def on_stop(now: bool) -> None:
        run.stop(now=now)

    def expire() -> None:  # wherever the run is (a step, a test): it stops within a batch
        timed_out.set()
        run.stop(now=True)

    unwatch = stop.watch(on_stop)
    timer = threading.Timer(spec.max_seconds, expire) if spec.max_seconds is not None else None
    if timer is not None:
        timer.daemon = True
        timer.start()
    try:
        if spec.steps == 1:
            yield from _step(run, randomness)
        elif spec.steps == 0:
            run.stop()
        if spec.steps != 1:
            yield from _loop(run, spec, randomness)
    finally:
        unwatch()
        if timer is not None:
            timer.cancel()
    yield _end(run, spec, randomness, timed_out.is_set())


def _step(run: "TrainingRun", randomness: Any) -> Iterator[Any]:
    """One step, taken alone and reported in detail (a Step).  A run with no batch left
    ends instead (its last epoch tested), as the next Step of a run at its end does."""
    from trainpad.engine.errors import ConfigError

    tested = len(run.history)
    with randomness.active(run.device):
        if run.has_test_split and not run.at.tested_start:
            run.at.tested_start = True
            start = run.spot_check()  # the test curve starts at epoch 0, as a started run's does
            if start is not None:
                yield start
        try:
            detail = run.step()
        except ConfigError:
            if not run.finished:
                raise
            detail = None
    if detail is None:
        yield from run.history[tested:]
        return
    yield from detail.events
    if detail.trace is not None:
        yield detail.trace
    yield replace(detail, events=[])


def _loop(run: "TrainingRun", spec: RunSpec, randomness: Any) -> Iterator[Any]:
    """The run's events to its end (or ``spec.steps`` steps), each step under its own random state."""
    events = run.events(spot_checks=spec.spot_checks, spot_allowance=spec.spot_allowance)
    last_snapshot = time.monotonic()
    taken = 0
    while True:
        with randomness.active(run.device):
            event = next(events, None)
        if event is None or isinstance(event, TrainEnd):
            return
        yield event
        if isinstance(event, StepEnd):
            taken += 1
            if spec.watch_loop and run.loop_trace is not None:
                yield run.loop_trace
            if spec.steps is not None and taken >= spec.steps:
                return
        if spec.snapshot_seconds is not None and isinstance(event, (StepEnd, EpochEnd, SpotCheck)):
            if time.monotonic() - last_snapshot >= spec.snapshot_seconds or isinstance(event, EpochEnd):
                last_snapshot = time.monotonic()
                snapshot = _snapshot(run)
                if snapshot is not None:
                    yield snapshot


def _snapshot(run: "TrainingRun") -> Snapshot | None:
    from trainpad.engine.checkpoint import to_payload
    from trainpad.engine.errors import CheckpointError

    trained = run.trained_so_far()
    try:
        return Snapshot(to_payload(trained), trained.epochs)
    except CheckpointError:  # diverging right now: the last snapshot stays the one to keep
        return None


def _end(run: "TrainingRun", spec: RunSpec, randomness: Any, timed_out: bool) -> JobEnd:
    from trainpad.engine.checkpoint import to_payload
    from trainpad.engine.errors import CheckpointError

    if run.result is None:  # the job took its steps; the run goes on from its state
        state = run.state()
        state.randomness = randomness.copy()
        run.pause()
        return JobEnd(None, state=state)
    end = run.result
    model = None
    if end.trained is not None:
        try:
            model = to_payload(end.trained)
        except CheckpointError:
            model = None
    return JobEnd(replace(end, trained=None), model=model, timed_out=timed_out)


def evaluate_job(spec: EvalSpec, engine: "Engine", stop: StopFlag | StopFile | None = None) -> Iterator[Any]:
    """Evaluate ``spec.model`` (see :class:`EvalSpec`), yielding :class:`Preparing` while
    the data loads and one :class:`EvalEnd` (or :class:`JobFailed`)."""
    import itertools

    stop = stop if stop is not None else StopFlag()
    try:
        trained = engine.model_from_payload(spec.model)
        dataset = trained.spec["dataset"]
        loading = Background(
            lambda: engine.load_dataset(dataset["name"], dataset.get("params"), train=False, root=Path(spec.data_dir) if spec.data_dir else None),
            name="trainpad-load-data",
        )
        while not loading.wait(REPORT_EVERY):
            if loading.said:
                yield Preparing(loading.said)
        loading.result()
        deadline = time.monotonic() + spec.max_seconds if spec.max_seconds is not None else None
        batches = itertools.count()

        def should_stop() -> bool:  # asked before each batch; the first always runs, so there is a result
            late = deadline is not None and time.monotonic() > deadline
            return next(batches) > 0 and (late or stop.is_set())

        evaluation = engine.evaluate(
            trained, data_dir=spec.data_dir, samples=spec.samples, mistakes=spec.mistakes, answers=spec.answers, seed=spec.seed,
            should_stop=should_stop,
        )
        yield EvalEnd(evaluation)
    except Exception as exc:
        yield JobFailed.of(exc)


#: What a run job may yield before its end (for readers of the stream).
PROGRESS_EVENTS = (Preparing, RunStarted, StepEnd, SpotCheck, EpochEnd, Snapshot)
#: The events that end a job's stream.
LAST_EVENTS = (JobEnd, JobFailed, EvalEnd)

__all__ = [
    "EvalEnd",
    "EvalSpec",
    "JobEnd",
    "JobFailed",
    "LAST_EVENTS",
    "PROGRESS_EVENTS",
    "Preparing",
    "RunSpec",
    "RunStarted",
    "Snapshot",
    "StopFile",
    "StopFlag",
    "evaluate_job",
    "run_job",
]
