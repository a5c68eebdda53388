"""Running a job (:mod:`trainpad.engine.job`): preparing its run, driving it step by step
under its own random state, within its time, and reporting it as events.

Executors (:mod:`trainpad.runtime.executors`, :mod:`trainpad.web.zerogpu`) call
:func:`run_job`, :func:`evaluate_job` and :func:`lab_job` wherever they run them.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Generator, Iterator

from trainpad.engine.checkpoint import to_payload
from trainpad.engine.config import TrainConfig
from trainpad.engine.errors import CheckpointError, ConfigError
from trainpad.engine.events import EpochEnd, EvalEnd, JobEnd, JobFailed, LabEnd, Preparing, RunStarted, Snapshot, SpotCheck, StepEnd, TrainEnd
from trainpad.engine.job import EvalSpec, LabSpec, RunSpec, StopFile, StopFlag
from trainpad.engine.lab.kit import LabResult
from trainpad.engine.lab.runner import run
from trainpad.engine.progress import Background
from trainpad.engine.randomness import RunRandomness

if TYPE_CHECKING:
    from trainpad.engine.engine import Engine
    from trainpad.engine.training import TrainingRun

#: Seconds between two reports while a job prepares its run.
REPORT_EVERY = 0.3


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
        if stop.is_set() and spec.state is None:  # asked to stop while it prepared: it never trains
            yield JobEnd(None)
            return
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
    yield from _reported(loading)
    loading.result()  # raises what loading raised
    resume = engine.model_from_payload(spec.resume) if spec.resume is not None else None
    # Building seeds and draws (the initial weights): a run carried on builds under a state
    # it then drops, and goes on with the one its last step left.
    building = RunRandomness.seeded(config.seed) if spec.state is not None else randomness
    with building.active():
        built.append(engine.build_run(config, data_dir=spec.data_dir, resume=resume, state=spec.state, run_params=spec.run_params))
    if spec.watch_loop or spec.steps == 1:
        built[0].watch_loop()


def _reported(loading: Background, give_up: Callable[[], bool] = lambda: False) -> Generator[Preparing, None, bool]:
    """A :class:`Preparing` each time ``loading`` says something new, until it has ended
    (``True``) or ``give_up()`` (``False``, asked every :data:`REPORT_EVERY` seconds)."""
    said = None
    while not loading.wait(REPORT_EVERY):
        if give_up():
            return False
        if loading.said and loading.said != said:
            said = loading.said
            yield Preparing(said)
    return True


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
        epochs_before=run.epochs_before,
        pid=os.getpid(),
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
    trained = run.trained_so_far()
    try:
        return Snapshot(to_payload(trained), trained.epochs)
    except CheckpointError:  # diverging right now: the last snapshot stays the one to keep
        return None


def _end(run: "TrainingRun", spec: RunSpec, randomness: Any, timed_out: bool) -> JobEnd:
    if run.result is None:  # the job took its steps; the run goes on from its state
        state = run.state()
        state.randomness = randomness.copy()
        run.pause()
        return JobEnd(None, state=state)
    end = run.result
    if end.status == "stopped" and end.steps_done == 0 and spec.state is None and not timed_out:
        return JobEnd(None)  # stopped before its first step, however close it came: nothing trained, nothing kept
    model = None
    if end.trained is not None:
        try:
            model = to_payload(end.trained)
        except CheckpointError:
            model = None
    return JobEnd(replace(end, trained=None), model=model, timed_out=timed_out, max_seconds=spec.max_seconds)


def evaluate_job(spec: EvalSpec, engine: "Engine", stop: StopFlag | StopFile | None = None) -> Iterator[Any]:
    """Evaluate ``spec.model`` (see :class:`EvalSpec`), yielding :class:`Preparing` while
    the data loads and one :class:`EvalEnd` (or :class:`JobFailed`)."""
    stop = stop if stop is not None else StopFlag()
    try:
        trained = engine.model_from_payload(spec.model)
        dataset = trained.spec["dataset"]
        loading = Background(
            lambda: engine.load_dataset(dataset["name"], dataset.get("params"), train=False, root=Path(spec.data_dir) if spec.data_dir else None),
            name="trainpad-load-data",
        )
        yield from _reported(loading)
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


def lab_job(spec: LabSpec, engine: "Engine", stop: StopFlag | StopFile | None = None) -> Iterator[Any]:
    """Prepare and run a Lab experiment (see :class:`LabSpec`), yielding :class:`Preparing`
    while its samples load, the experiment's progress events, and one :class:`LabEnd` (or
    :class:`JobFailed`).  It ends at its next event once stopped or out of time."""
    stop = stop if stop is not None else StopFlag()
    deadline = time.monotonic() + spec.max_seconds if spec.max_seconds is not None else float("inf")
    try:
        preparing = Background(lambda: engine.prepare_experiment(spec.request, data_dir=spec.data_dir), name="trainpad-lab-prepare")
        if not (yield from _reported(preparing, give_up=lambda: stop.is_set() or time.monotonic() > deadline)):
            yield LabEnd(timed_out=not stop.is_set())  # what it loads is dropped when it ends
            return
        events = run(preparing.result())
        try:
            for event in events:
                if isinstance(event, LabResult):
                    yield LabEnd(event)
                    return
                if stop.is_set() or time.monotonic() > deadline:
                    yield LabEnd(timed_out=not stop.is_set())
                    return
                yield event
        finally:
            events.close()
        yield LabEnd()
    except Exception as exc:
        yield JobFailed.of(exc)


__all__ = ["evaluate_job", "lab_job", "run_job"]
