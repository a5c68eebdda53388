"""The Train tab's work, apart from its layout: a session's training runs as page updates.

:class:`Trainer` starts a session's run as a job (:mod:`trainpad.engine.job`) on the
server's executor (a thread, a process of its own or a ZeroGPU worker:
:mod:`trainpad.web.jobs`), applies the job's events to the session's run
(:class:`~trainpad.web.session_run.SessionRun`) and its row in the runs table, and streams
what the page shows (:class:`TrainView`: status, curves, metrics, log, the runs table) a
few times a second.  The job's events are all the web layer sees of a run.

Every wait says what it waits for: a free training slot, the data (downloading,
decoding), the starting model's test.  The test curve is drawn from spot checks during
each epoch, so even one epoch has one.  Each run is kept in the session's runs table
(:mod:`trainpad.web.runs`) whichever way it ended (finished, stopped, cancelled by Gradio,
diverged, its process crashed).  Its model takes the place of the one in use only when it
is at least as good; otherwise both are in the table, the status says so, and the user
picks (:meth:`Trainer.use`).  It raises :class:`~trainpad.web.messages.UserError` for
what the user must fix and is free of Gradio, so tests call it directly.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Generator, Iterator

from trainpad.engine.config import TrainConfig
from trainpad.engine.errors import CheckpointError, TrainpadError
from trainpad.engine.event_text import clock_text, end_line, epoch_line, metrics_line, spot_line, step_status
from trainpad.engine.events import (
    EpochEnd, JobEnd, JobFailed, LoopTrace, Preparing, RunStarted, Snapshot, SpotCheck, StepDetail, StepEnd, TrainEnd, epochs_text,
)
from trainpad.engine.job import RunSpec
from trainpad.engine.message import capitalized, lines, msg, sentence
from trainpad.engine.model_size import megabytes, plan_model
from trainpad.engine.params import ParamError
from trainpad.runtime.memory import release_memory
from trainpad.web.jobs import make_job_executor
from trainpad.web.limits import TrainingSlots, limits, time_limit_message
from trainpad.web.messages import UserError, user_errors
from trainpad.web.plots import Curves, chart
from trainpad.web.runs import RunRecord, compare, max_runs
from trainpad.web.session_run import Phase, SessionRun
from trainpad.web.train_form import train_config

if TYPE_CHECKING:
    import pandas as pd

    from trainpad.engine.engine import Engine
    from trainpad.engine.params import Param
    from trainpad.runtime.executors import JobHandle
    from trainpad.web.plots import Chart
    from trainpad.web.run_watch import RunWatch, Ticket
    from trainpad.web.runs import Comparison
    from trainpad.web.sessions import Session, SessionStore


log = logging.getLogger("trainpad.web")

#: Seconds between two updates of the page while training (the run itself never waits).
UPDATE_EVERY = 0.3
#: Seconds Stop waits for the run to wrap up before answering (the run ends by itself).
STOP_WAIT = 5.0
#: Test points per epoch: spot checks during it (a fixed sample of the test split, within
#: a tenth of the training time) and its full evaluation at the end; plus one before training.
SPOT_CHECKS = 4
#: How long a Start that was let through waits for its run to begin before another may be.
START_PENDING_SECONDS = 600.0
#: How long a new run waits for the session's stopped run to wrap up (its last step and test).
WRAP_UP_SECONDS = 60.0
WRAP_UP_STATUS = "**Waiting for the stopped run to wrap up:** it is testing the model it keeps…"
#: Seconds past its time limit after which a job that has not ended is ended by force.
KILL_AFTER = 60.0
#: Why a second run of a session is refused while one is going.
ALREADY_GOING = "A run is already going in this session: stop it first, or wait for it to end."
#: What the status says before anything happened.
START_HERE = "Choose the components and settings, then **Start training**."
STOPPED_BEFORE = "**Stopped** before training began. Your current model is unchanged."


class AlreadyTraining(UserError):
    """Start was pressed while this session's run is going."""


def max_training_runs() -> int:
    """How many runs may train at once in this process (``TRAINPAD_MAX_TRAINING_RUNS``, default 1)."""
    return limits().max_training_runs


def server_run_params() -> tuple["Param", ...]:
    """The run settings a web user may choose: the engine's, with the server's caps
    (epochs, batch size, training samples: see :mod:`trainpad.web.limits`)."""
    return limits().run_params()


@dataclass
class TrainView:
    """Everything the Train tab's outputs show at one moment.

    :param loss: the loss plot (:class:`~trainpad.web.plots.Chart`); ``accuracy`` likewise.
    :param checkpoint: the selected run's checkpoint file, ``curves_csv`` its curves', for download.
    :param fraction: progress of the run (0 to 1), or ``None`` when not running.
    :param runs: the runs table; ``choices`` the runs to pick from, ``selected`` the one
        shown; ``curve_choices`` the runs with curves, ``compared`` those overlaid.
    :param runs_version: changes whenever the runs table does.
    :param can_use: the selected run has a model that is not the one in use.
    """

    status: str
    loss: "Chart"
    accuracy: "Chart"
    metrics: str = ""
    checkpoint: str | None = None
    log: str = ""
    current: str = ""
    fraction: float | None = None
    desc: str = ""
    #: a message to pop up once (the run diverged)
    warning: str | None = None
    curves_csv: str | None = None
    runs: "pd.DataFrame | None" = None
    choices: list[tuple[str, str]] = field(default_factory=list)
    selected: str | None = None
    curve_choices: list[tuple[str, str]] = field(default_factory=list)
    compared: list[str] = field(default_factory=list)
    runs_version: int = 0
    can_use: bool = False


def describe_config(run: "RunStarted") -> str:
    cfg = run.config
    return (
        lines(
            msg(
                "training {model} on {dataset} ({samples} samples) with {optimizer} (lr {lr}) and {loss}: {epochs} epoch(s), "
                "batch {batch}, {schedule} schedule, seed {seed}, device {device}",
                model=cfg.model, dataset=cfg.dataset, samples=f"{run.train_samples:,}", optimizer=cfg.optimizer, lr=f"{run.lr:g}",
                loss=cfg.loss, epochs=cfg.epochs, batch=cfg.batch_size, schedule=cfg.schedule, seed=cfg.seed, device=run.device,
            ),
            run.pairing,
        )
    )


def outcome_status(end: "TrainEnd", record: RunRecord, verdict: "Comparison", before: str) -> str:
    """The status line once a run has left a model: what it reached, and which model is in use.

    One sentence a line (Markdown shows them as one paragraph), each a message of its own.

    :param before: the model in use before it ended (``shipped``, ``run 2``), or empty.
    """
    accuracy = record.test_accuracy
    epochs = epochs_text(end.epochs_done)
    reached = msg("{epochs}, {accuracy} test accuracy", epochs=epochs, accuracy=f"{accuracy:.2%}") if accuracy is not None else epochs
    name = capitalized(record.label)
    head = {
        "completed": msg("**Done.** {name} reached {reached}.", name=name, reached=reached),
        "stopped": msg("**Stopped.** The model trained so far is kept as {label} ({reached}).", label=record.label, reached=reached),
        "diverged": lines(msg(
            "**Diverged.** {message}",
            message=end.message,
        ), msg(
            "{name} reached {reached} with those weights.",
            name=name, reached=reached,
        )),
        "failed": lines(
            msg("**The run failed.** {message}", message=end.message),
            msg("{name} reached {reached} with the weights of its last snapshot, which are kept.", name=name, reached=reached),
        ),
    }.get(end.status, end.message)
    if not verdict.better:
        return lines(head, kept_beside(verdict, before, record.label))
    if not before:
        return lines(head, msg("Evaluate and Predict now use it."))
    if verdict.old is None:
        return lines(head, msg("Evaluate and Predict now use it; the model before it ({before}) is still in the runs table.", before=before))
    return lines(
        head, msg(
            "Evaluate and Predict now use it; the model before it ({before}, {old}) is still in the runs table.",
            before=before, old=f"{verdict.old:.2%}",
        )
    )


def kept_beside(verdict: "Comparison", before: str, label: str) -> str:
    """Why a new model (``label``) is kept beside the model in use (``before``), not in its
    place, and how to use it all the same."""
    if verdict.datasets is not None:
        why = msg(
            "It is for {new}, and the model in use ({before}) for {old}: that one stays in use.",
            new=verdict.datasets[0], before=msg(before), old=verdict.datasets[1],
        )
    elif verdict.new is not None:
        why = msg("It is below the {old} of the model in use ({before}), which stays in use.", old=f"{verdict.old:.2%}", before=msg(before))
    else:
        why = msg(
            "It was not tested, unlike the {old} of the model in use ({before}), which stays in use.",
            old=f"{verdict.old:.2%}", before=msg(before),
        )
    return lines(why, msg("Both are in the runs table; press **Use this run** to use {label} instead.", label=label))


class _Slot:
    """A training slot held for one run, released once: by the run's follower when its job
    has ended, or by the request that took it when no job started."""

    def __init__(self, slots: TrainingSlots) -> None:
        self._slots = slots
        self._held = True
        self._lock = threading.Lock()
        #: a run's follower took it, and releases it when the run's job ends
        self.handed = False

    def release(self) -> None:
        with self._lock:
            if not self._held:
                return
            self._held = False
        self._slots.release()


class Trainer:
    """The Train tab's handlers, bound to an engine, a session store and an executor.

    Gradio-free apart from raising ``gr.Error``, so tests drive it directly.

    :param executor: where runs' jobs run (by default one of its own, as ``TRAINPAD_RUN_IN`` says).
    :param slots: the server's training slots, shared with the Lab (:class:`trainpad.web.services.App`
        hands both the same); by default its own.
    """

    def __init__(
        self,
        engine: "Engine",
        store: "SessionStore",
        *,
        data_dir: Path | str | None = None,
        update_every: float = UPDATE_EVERY,
        clock: Callable[[], float] = time.monotonic,
        watch: "RunWatch | None" = None,
        executor: Any = None,
        slots: TrainingSlots | None = None,
    ) -> None:
        self.engine = engine
        self.store = store
        self.data_dir = data_dir
        self.update_every = update_every
        self.clock = clock
        self.run_params = server_run_params()
        #: notices runs whose client has gone (see :mod:`trainpad.web.run_watch`); none in tests
        self.watch = watch
        self.executor = executor if executor is not None else make_job_executor(engine)
        self.slots = slots if slots is not None else TrainingSlots()
        #: seconds of spot checks a run may take beyond a tenth of its training time
        #: (see :meth:`trainpad.engine.training.TrainingRun.events`)
        self.spot_allowance = 0.5

    # configuration

    def config(
        self,
        choices: dict[str, str],
        params: dict[str, dict[str, Any]],
        settings: dict[str, Any],
    ) -> "TrainConfig":
        """A :class:`~trainpad.engine.config.TrainConfig` from the form's values (checked by the run's job):
        :func:`trainpad.web.train_form.train_config`."""
        return train_config(choices, params, settings)

    def spec(self, config: "TrainConfig", **fields: Any) -> RunSpec:
        """A job for ``config`` as this server runs it (its ranges, its data, its time limit)."""
        server = limits()
        defaults = {
            "run_params": self.run_params,
            "data_dir": str(self.data_dir) if self.data_dir is not None else None,
            "max_seconds": server.max_run_seconds,
            "spot_allowance": self.spot_allowance,
            "snapshot_seconds": None if self.executor.where == "thread" else 5.0,
        }
        return RunSpec(server.capped(config), **{**defaults, **fields})

    # training

    def check_start(self, session_id: str) -> str | None:
        """What to tell a user pressing Start, before the run is queued.

        :raises AlreadyTraining: this session's run is going.
        :return: why the run will wait (every training slot is taken), or ``None``.
        """
        session = self.store.get(session_id)
        run = session.run
        with session.lock:
            if run.busy and not run.stopping:  # a stopped run wrapping up: the new one waits for it
                raise AlreadyTraining(ALREADY_GOING)
            if run.queued(START_PENDING_SECONDS):
                raise AlreadyTraining(
                    "This session's run is already starting (it may be waiting for its turn): "
                    "press Stop first to start another."
                )
            run.queue()  # until the run begins, or Stop
            if run.stopping:
                return WRAP_UP_STATUS
        capacity = self.slots.capacity
        if self.slots.active >= capacity:
            runs = msg("one run") if capacity == 1 else msg("{count} runs", count=capacity)
            return msg(
                "**Waiting in line.** Another user is training, and this server trains {runs} at a time: "
                "your run starts by itself as soon as a slot is free (your place in the queue is shown above).",
                runs=runs,
            )
        return None

    def train(self, session_id: str, config: "TrainConfig", *, resume: bool = False) -> Iterator[TrainView]:
        """Train and yield what the page shows, a few times a second at most.

        The run holds one of the server's training slots (:attr:`slots`)
        from before its data is loaded until its job has ended, however it ends, so
        cancelled or abandoned runs never add up past ``TRAINPAD_MAX_TRAINING_RUNS``; while
        every slot is taken it waits, saying so.  A run still going after
        ``TRAINPAD_MAX_RUN_SECONDS`` (its loading and tests included) stops within a step and
        keeps its model; so does a run whose client has gone (:mod:`trainpad.web.run_watch`),
        or whose request is cancelled (Stop, a closed tab): its job then winds down by itself.

        :param resume: carry on training the session's current model.
        :raises AlreadyTraining: this session's run is going.
        """
        ticket = self.watch.ticket(session_id) if self.watch is not None else None
        generator = self._watched(session_id, config, resume=resume, ticket=ticket)
        if ticket is not None:
            ticket.generator = generator
        return generator

    def _watched(self, session_id: str, config: "TrainConfig", *, resume: bool, ticket: "Ticket | None") -> Iterator[TrainView]:
        """:meth:`_slot_and_train`, telling the watch when it waits to be pulled from."""
        try:
            if ticket is not None and self.watch is not None and self.watch.gone(session_id, since=float("-inf")):
                self.store.get(session_id).run.unqueue()
                raise UserError("This run's page had already gone when its turn came, so it did not start.")
            for view in self._slot_and_train(session_id, config, resume=resume, ticket=ticket):
                if ticket is not None:
                    ticket.yielded()
                yield view
                if ticket is not None:
                    ticket.resumed()
        finally:
            if ticket is not None:
                ticket.finish()

    def _slot_and_train(self, session_id: str, config: "TrainConfig", *, resume: bool, ticket: "Ticket | None") -> Iterator[TrainView]:
        session = self.store.get(session_id)
        run = session.run
        try:
            slotted = yield from self._wait_for_turn(session, resume=resume, config=config)
        except BaseException:
            run.unqueue()  # refused or cancelled before it began: Start may be pressed again
            raise
        if not slotted:  # Stop came while this Start waited its turn
            yield self.view(session, idle_status=STOPPED_BEFORE)
            return
        slot = _Slot(self.slots)
        try:
            yield from self._train(session, config, resume=resume, slot=slot, ticket=ticket)
        finally:
            run.queued_at = None
            if not slot.handed:
                slot.release()  # refused before a job took it

    def _wait_for_turn(self, session: "Session", *, resume: bool, config: "TrainConfig") -> Generator[TrainView, None, bool]:
        """Wait, saying so, for the stopped run's wrap-up (a Start right after Stop) and then a
        training slot; ``True`` once this run holds one, ``False`` if Stop withdrew it meanwhile.

        :raises AlreadyTraining: this session's run is going, or another Start already waits for it.
        """
        run = session.run
        if run.take_withdrawal():  # Stop came while this Start waited in Gradio's queue
            return False
        if run.stopping:  # Start right after Stop: wait for the stopped run's last step and test
            with session.lock:
                if run.successor_waiting:
                    raise AlreadyTraining(ALREADY_GOING)
                run.successor_waiting = True
            try:
                waited = self.clock()
                while run.stopping and self.clock() - waited < WRAP_UP_SECONDS:
                    yield self.view(session, idle_status=WRAP_UP_STATUS)
                    run.wait_for(lambda r: not r.stopping or r.withdrawn, 0.25)
                    if run.take_withdrawal():
                        return False
            finally:
                run.successor_waiting = False
        if run.busy:
            raise AlreadyTraining(ALREADY_GOING)
        if not resume:
            self.check_model_size(config)
        while not self.slots.acquire(timeout=0.5):
            # a run that was just stopped or cancelled is still wrapping up, or another is training
            if run.take_withdrawal():
                return False
            yield self.view(session, idle_status="**Waiting for a free training slot:** another run is still training or wrapping up…")
        return True

    def check(self, config: "TrainConfig") -> None:
        """Refuse at once what a run's job would refuse of ``config``'s settings and
        components (its data may take a while to arrive; these need not wait for it)."""
        with user_errors("Preparing the run"):
            self.engine.check_config(limits().capped(config), self.run_params)

    def check_model_size(self, config: "TrainConfig") -> None:
        """Refuse, before building anything, a model over ``TRAINPAD_MAX_MODEL_MB``: planned on the
        meta device, so a model of gigabytes costs nothing to measure."""
        try:
            model = self.engine.component("model", config.model)
            dataset = self.engine.component("dataset", config.dataset)
            params = model.validate(config.params.get("model"))
        except (TrainpadError, ParamError, TypeError, KeyError):
            return  # the run's job says what is wrong with the choice
        meta = self.engine.dataset_meta(dataset)
        planned = plan_model(
            model.factory, input_shape=tuple(meta["input_shape"]), num_classes=len(dataset.meta.get("class_names", ())), **params
        )
        limit = int(limits().max_model_mb * 2**20)
        if planned is not None and planned.nbytes > limit:
            raise UserError(
                msg(
                    "That model would take {size}, more than the {limit} this server allows per model (TRAINPAD_MAX_MODEL_MB); choose a smaller "
                    "width or fewer hidden units.",
                    size=megabytes(planned.nbytes), limit=megabytes(limit),
                )
            )

    def _train(self, session: "Session", config: "TrainConfig", *, resume: bool, slot: _Slot, ticket: "Ticket | None") -> Iterator[TrainView]:
        self.check(config)
        run = session.run
        with run.step_lock:  # a Step taking its batch ends first
            job = self._begin(session, config, resume=resume)
        if ticket is not None:
            ticket.run = run
        record = run.record
        self.store.changed(session)
        slot.handed = True
        threading.Thread(
            target=self.follow, args=(session, job, record), kwargs={"slot": slot, "resumed": session.describe() if resume else None},
            name="trainpad-follow-run", daemon=True,
        ).start()
        try:
            yield from self._views(session, record)
        except GeneratorExit:  # cancelled (Stop, a closed tab): the job winds down by itself, keeping its model
            run.ask_stop()
            if ticket is not None and ticket.abandoned:
                record.say(msg("stopped: {reason}", reason=ticket.abandoned))
            raise

    def _begin(self, session: "Session", config: TrainConfig, *, resume: bool) -> "JobHandle":
        """Start the run's job: a new run in the runs table, or the stepped run carried on
        (the one Step began from this very form, ``config`` as it was sent)."""
        from trainpad.engine.checkpoint import to_payload

        run = session.run
        with session.lock:
            if run.busy:
                raise AlreadyTraining(ALREADY_GOING)
            if resume and session.model is None:
                raise UserError("There is no current model to carry on training: untick “Carry on training”.")
            carry = run.stepped and run.step_config == config and not resume  # Start carries on where Step left off
        if run.stepped and not carry:
            self.end_stepped(session)  # a stepped run the form no longer describes: kept in the runs table, tested
        with session.lock:
            if carry:
                record = run.record
                spec = self.spec(config, state=run.state, spot_checks=SPOT_CHECKS, watch_loop=True)
            else:
                record = session.runs.add(RunRecord(Curves(epochs=config.epochs), spec=planned_spec(config)))
                record.status = "**Preparing the run…**"
                base = to_payload(session.model) if resume and session.model is not None else None
                spec = self.spec(config, resume=base, spot_checks=SPOT_CHECKS, watch_loop=True)
            session.runs.note = ""
            job = self.executor.run(spec)
            if carry:
                run.carry_on(job)
                record.outcome = "training"
            else:
                run.prepare(record, job)
        return job

    def _views(self, session: "Session", record: RunRecord) -> Iterator[TrainView]:
        """What the page shows while ``record``'s run goes, until it has ended."""
        run = session.run
        version, last = -1, -1e9
        while True:
            version = run.wait_change(version, self.update_every)
            now = self.clock()
            with session.lock:  # not halfway through keeping the run's model
                if run.record is not record or run.phase in (Phase.DONE, Phase.STEPPING):
                    break
                view = self.view(session, **self._progress(run)) if now - last >= self.update_every else None
            if view is not None:
                last = now
                yield view
        if run.record is record and run.failure is not None:
            raise UserError(failure_text(run.failure))
        view = self.view(session)
        end = run.train_end if run.record is record else None
        if end is not None and end.status == "diverged":
            view.warning = end.message
        yield view

    @staticmethod
    def _progress(run: SessionRun) -> dict[str, Any]:
        """The progress bar's fraction and words for the run now."""
        step, facts = run.last_step, run.facts
        if run.phase is Phase.PREPARING or facts is None:
            return {"fraction": 0.0, "desc": run.said or "preparing the run"}
        if step is None:
            return {"fraction": 0.0, "desc": "testing the starting model"}
        return {"fraction": step.step / max(step.steps, 1), "desc": Trainer._desc(step)}

    # following a job

    def follow(self, session: "Session", job: "JobHandle", record: RunRecord, *, slot: _Slot | None = None, resumed: str | None = None) -> None:
        """Apply ``job``'s events to the session's run and ``record`` until the job ends, then
        keep what it made (:meth:`_finish`).  Runs in a thread of its own for a run, in the
        request's thread for a Step.  Past its time limit by :data:`KILL_AFTER` seconds, a job
        that has not ended is ended by force."""
        run = session.run
        deadline = self.clock() + limits().max_run_seconds + KILL_AFTER
        try:
            while not job.done:
                event = job.get(timeout=0.5)
                if event is None:
                    if session.closed:
                        job.stop(now=True)
                    if self.clock() > deadline and not job.ended:
                        log.warning("a run went past its time limit without ending; ending its job")
                        job.stop(now=True)
                        job.kill()
                    continue
                self._apply(session, run, record, event, resumed=resumed)
        except Exception as exc:  # the watcher of a run must keep the run's outcome whatever happens
            log.exception("following a run failed")
            run.failure = run.failure or JobFailed.of(exc)
        finally:
            try:
                self._finish(session, run, record)
            finally:
                if slot is not None:
                    slot.release()

    def _apply(self, session: "Session", run: SessionRun, record: RunRecord, event: Any, *, resumed: str | None = None) -> None:
        """One event of the run's job, into the session's run and its row."""
        if isinstance(event, StepEnd):
            record.curves.add(event)
            record.progress = event.step / max(run.facts.steps_per_epoch if run.facts else 1, 1)
            record.status = step_status(event)
            run.last_step = event
        elif isinstance(event, LoopTrace):
            run.trace = event
        elif isinstance(event, SpotCheck):
            record.curves.add(event)
            record.say(spot_line(event))
            if event.step == 0:
                record.status = "**Training…** (the starting model is tested: the first test point is drawn)"
        elif isinstance(event, EpochEnd):
            record.curves.add(event)
            record.say(epoch_line(event))
            run.last_epoch = event
        elif isinstance(event, Preparing):
            run.said = event.text
            record.status = msg("**Preparing the run:** {rest}", rest=msg(event.text))
        elif isinstance(event, RunStarted):
            self._started(session, run, record, event, resumed)
        elif isinstance(event, Snapshot):
            run.snapshot = event
        elif isinstance(event, StepDetail):
            run.detail = event
        elif isinstance(event, JobEnd):
            run.end = event
        elif isinstance(event, JobFailed):
            run.failure = event
        run.changed()

    def _started(self, session: "Session", run: SessionRun, record: RunRecord, facts: RunStarted, resumed: str | None) -> None:
        if facts.pid != os.getpid() and not facts.steps_done:
            record.say(msg("training in a process of its own ({pid}), not the server's", pid=facts.pid))
        with session.lock:
            record.spec = facts.spec
            winding_down = run.phase is Phase.STOPPING and record.outcome == "stepping"  # a stepped run's last test
            if run.phase is not Phase.STEPPING and not winding_down:
                record.outcome = "training"
            session.runs.changed()
        if run.phase is Phase.STEPPING:  # a Step's job: the run is told of at its first
            if not facts.steps_done:
                record.say(describe_config(facts))
                record.say("stepping: one batch at a time; Start carries on from the last step")
        else:
            record.say(msg("carrying on from step {step}", step=f"{facts.steps_done:,}") if facts.steps_done else describe_config(facts))
            if resumed:
                record.say(msg("carrying on from {model}", model=msg(resumed)))
            testing = facts.has_test_split and not facts.steps_done
            record.status = "**Testing the starting model** on a sample of the test split…" if testing else "**Training…**"
        run.train(facts)

    @staticmethod
    def _desc(event: "StepEnd") -> str:
        return f"epoch {event.epoch}/{event.epochs} · {event.samples_per_sec:,.0f} samples/s · {clock_text(event.eta)} left"

    def end_stepped(self, session: "Session") -> None:
        """End the session's stepped run where it is, as Stop ends a started one: after the
        test of the model it keeps (so that it can be compared), kept in the runs table."""
        run = session.run
        with session.lock:
            if not run.stepped:
                return
            job = self.executor.run(self.spec(run.step_config or run.state.config, state=run.state, steps=0))
            run.wind_down(job)
            record = run.record
        self.follow(session, job, record)

    def _finish(self, session: "Session", run: SessionRun, record: RunRecord) -> None:
        """Keep what the run's job made, once, whichever way it ended: its model in the runs
        table, in use unless the one in use is better; a Step's job leaves the run to go on."""
        end, failure = run.end, run.failure
        if failure is None and end is not None and end.end is None and end.state is not None:  # a Step: the run goes on
            run.step_taken(end.state)
            return
        with session.lock:
            try:
                self._keep(session, run, record, end, failure)
            finally:
                session.runs.changed()
                session.runs.trim(max_runs())
                if run.record is record and run.phase is not Phase.DONE:
                    run.finish(end, failure)
        self.store.changed(session)
        release_memory()  # what reading the job's weights took goes back to the system

    def _keep(self, session: "Session", run: SessionRun, record: RunRecord, end: JobEnd | None, failure: JobFailed | None) -> None:
        if session.closed:  # the tab closed meanwhile: nobody will see the result
            if end is None or end.end is None:
                session.runs.remove(record)
            return
        if failure is not None:
            if not failure.expected:
                log.error("a run failed: %s\n%s", failure.message, failure.traceback)
            self._failed(session, run, record, failure)
            return
        if end is None or end.end is None:  # stopped before its job began training
            stopped = record.stop_asked or end is not None
            record.outcome = "stopped" if stopped else "failed"
            record.status = STOPPED_BEFORE if stopped else "**The run failed**; the previous model is kept."
            record.say("stopped before training began" if stopped else "the run failed; the previous model is kept")
            self._drop_if_empty(session, record)
            return
        trained = self.engine.model_from_payload(end.model) if end.model is not None else None
        train_end = replace(end.end, trained=trained)
        stepped = record.outcome == "stepping"  # taken by Steps alone, never carried on by Start
        record.outcome = "stepped" if stepped and train_end.status == "stopped" else train_end.status
        record.progress = train_end.epochs_done
        record.say(end_line(train_end))
        if trained is None or train_end.epochs_done <= 0:
            why = msg("before the first step") if train_end.steps_done == 0 else msg("with nothing trained to keep")
            detail = msg(" {message}", message=sentence(train_end.message)) if train_end.status == "diverged" else ""
            status = capitalized(msg(train_end.status))
            record.status = msg("**{status}** {why}.{detail} Your current model is unchanged.", status=status, why=why, detail=detail)
            self._drop_if_empty(session, record)
            return
        self._adopt(session, record, train_end)
        if record.outcome == "stepped":
            self._drop_older_stepped(session, record)
        if end.timed_out and train_end.status == "stopped":
            message = time_limit_message(end.max_seconds or limits().max_run_seconds, gpu=self.executor.where == "zerogpu")
            record.say(message)
            record.status = msg("**Time limit reached.** {message}\n{status}", message=sentence(message), status=record.status)

    def _failed(self, session: "Session", run: SessionRun, record: RunRecord, failure: JobFailed) -> None:
        """A run whose job failed: what it trained up to its last snapshot is kept, if anything."""
        record.outcome = "failed"
        record.say(msg("failed: {reason}", reason=msg(failure.public or failure.message)))
        snapshot = run.snapshot
        if snapshot is None or run.last_step is None:
            record.status = msg("**The run failed.** {reason} Your current model is unchanged.", reason=sentence(failure_text(failure)))
            self._drop_if_empty(session, record)
            return
        trained = self.engine.model_from_payload(snapshot.model)
        before = run.facts.epochs_before if run.facts is not None else 0.0
        self._adopt(session, record, _failed_end(trained, sentence(failure_text(failure)), run.last_step, trained.epochs - before))
        record.outcome = "failed"

    def _adopt(self, session: "Session", record: RunRecord, end: "TrainEnd") -> None:
        """Keep ``end``'s model in ``record``: its files, and in use if it is at least as good."""
        record.model = end.trained
        record.metrics = metrics_line(end)
        self._write_files(session, record)
        verdict, before = self._offer(session, record)
        record.status = outcome_status(end, record, verdict, before)

    @staticmethod
    def _offer(session: "Session", record: RunRecord) -> tuple["Comparison", str]:
        """Put ``record``'s model in use if it is at least as good as the one in use (the rule
        of runs: :func:`~trainpad.web.runs.compare`), however it arrived; the verdict, and the
        name of the model that was in use (empty for none)."""
        in_use = session.runs.with_model(session.model)
        before = "" if session.model is None else in_use.label if in_use is not None else session.source
        verdict = compare(record.model, session.model)
        if verdict.better:
            session.use(record)
        else:
            record.say(msg("kept beside the model in use ({model})", model=msg(before)))
        return verdict, before

    @staticmethod
    def _drop_older_stepped(session: "Session", record: RunRecord) -> None:
        """A run taken by Steps that has ended is a look at a few steps, not a model worth a
        row: the table keeps the newest one (and any in use, or picked), not a trail of them."""
        runs = session.runs
        for older in list(runs):
            if older is not record and older.outcome == "stepped" and older.number not in (runs.current, runs.selected):
                runs.remove(older)

    @staticmethod
    def _drop_if_empty(session: "Session", record: RunRecord) -> None:
        """A run that drew no curve leaves nothing in the table; its status stays as the note."""
        if not len(record.curves):
            session.runs.remove(record)
            session.runs.note = record.status

    @staticmethod
    def _write_files(session: "Session", record: RunRecord) -> None:
        """The run's checkpoint and the CSV of its curves, for download."""
        from trainpad.engine.checkpoint import save_checkpoint

        spec = record.model.spec
        stem = f"{spec['model']['name']}-{spec['dataset']['name']}-{record.label.replace(' ', '')}-{time.strftime('%Y%m%d-%H%M%S')}"
        try:
            record.checkpoint = save_checkpoint(record.model, session.folder() / f"{stem}.pt")
            record.say(msg("checkpoint ready: {name}", name=record.checkpoint.name))
        except CheckpointError as exc:
            record.checkpoint = None
            record.say(msg("no checkpoint: {reason}", reason=exc))
        try:
            record.csv = session.folder() / f"{stem}-curves.csv"
            record.csv.write_text(record.curves.to_csv())
        except OSError as exc:
            record.csv = None
            record.say(msg("no curves file: {reason}", reason=type(exc).__name__))

    def stop(self, session_id: str, *, wait: float = STOP_WAIT) -> TrainView:
        """Ask this session's run to stop and wait (up to ``wait`` s) for it to wrap up.

        The wait is short so that a Stop never holds a worker long (each kind of event has
        its own few); the run ends at its next step by itself either way.  A Start still
        waiting in the queue is cancelled with it; a stepped run ends where it is."""
        session = self.store.get(session_id)
        run = session.run
        run.unqueue(withdraw=True)  # a Start still waiting its turn ends without a run
        if run.stepped:
            self.end_stepped(session)
            return self.view(session)
        record = run.record
        if not run.busy or record is None:
            return self.view(session, idle_status="Nothing is training in this session.")
        record.stop_asked = True  # a run still being prepared stops before it trains
        run.ask_stop()
        if not run.wait_for(lambda r: not r.busy, wait):  # the run keeps its model itself when it ends
            record.status = "**Stopping…** the run ends after its current step."
        return self.view(session)


    # what the page shows

    def view(self, session: "Session", *, fraction: float | None = None, desc: str = "", idle_status: str = "") -> TrainView:
        """What the Train tab shows for ``session`` now."""
        runs = session.runs
        shown = [(r.number, r.label, r.curves) for r in runs.shown()]
        latest = runs.latest_trained()
        status = idle_status or runs.note or (latest.status if latest is not None else "") or START_HERE
        selected = runs.get(runs.selected)
        checkpoint = csv = None
        if selected is not None and not selected.busy:
            checkpoint = str(selected.checkpoint) if selected.checkpoint is not None and selected.checkpoint.exists() else None
            csv = str(selected.csv) if selected.csv is not None and selected.csv.exists() else None
        return TrainView(
            status=status,
            loss=chart("loss", shown),
            accuracy=chart("accuracy", shown),
            metrics=selected.metrics if selected is not None else "",
            checkpoint=checkpoint,
            log=selected.log if selected is not None else "",
            current=session.describe(),
            fraction=fraction,
            desc=desc,
            curves_csv=csv,
            runs=runs.table(),
            choices=runs.choices(),
            selected=str(runs.selected) if runs.selected is not None else None,
            curve_choices=runs.curve_choices(),
            compared=[str(n) for n in runs.compared],
            runs_version=runs.version,
            can_use=selected is not None and selected.model is not None and runs.current != selected.number,
        )

    def select(self, session_id: str, number: Any) -> TrainView:
        """Show run ``number`` (its curves, log, downloads)."""
        session = self.store.get(session_id)
        record = session.runs.get(number)
        if record is None:
            raise UserError("There is no such run in this session: pick one from the list.")
        with session.lock:
            session.runs.selected = record.number
            session.runs.changed()
        return self.view(session)

    def compare(self, session_id: str, numbers: Any) -> TrainView:
        """Overlay the curves of runs ``numbers`` on the selected one's."""
        session = self.store.get(session_id)
        if numbers is None:
            numbers = []
        if not isinstance(numbers, (list, tuple)):
            raise UserError("Pick the runs to compare from the list.")
        found = [session.runs.get(n) for n in numbers[: max_runs() + 1]]
        with session.lock:
            session.runs.compared = [r.number for r in found if r is not None]
            session.runs.changed()
        return self.view(session)

    # the model in use

    def use(self, session_id: str, number: Any) -> TrainView:
        """Make run ``number``'s model the one Evaluate and Predict use."""
        session = self.store.get(session_id)
        record = session.runs.get(number)
        if record is None:
            raise UserError("There is no such run in this session: pick one from the list.")
        if record.model is None:
            raise UserError(msg(
                "{run} has no model to use: it {outcome} before it had any.",
                run=capitalized(record.label), outcome=msg(record.outcome),
            ))
        with session.lock:
            session.use(record)
            session.runs.selected = record.number
            session.runs.note = msg("**{run} is in use:** Evaluate and Predict use {model}.", run=capitalized(record.label), model=session.describe())
        self.store.changed(session)
        return self.view(session)

    def load(self, session_id: str, path: str | Path | None) -> str:
        """Add an uploaded checkpoint to the runs table, in use if it is at least as good as
        the model in use (the rule of runs: :func:`trainpad.web.runs.compare`); returns the
        description of the model in use.

        The checkpoint is checked against the server's caps (classes, model size, input
        size) before its model is built: :meth:`trainpad.web.limits.Limits.checkpoint_limits`.
        """
        if not path:
            raise UserError("Choose a checkpoint file (.pt) to load.")
        session = self.store.get(session_id)
        if session.training:
            raise UserError("Wait for the run to end (or stop it) before loading another model.")
        try:
            with user_errors("Loading the checkpoint"):
                trained = self.engine.load_checkpoint(path, limits=limits().checkpoint_limits())
        finally:
            release_memory()  # a refused file's tensors, or the reading's copies, go back to the system
        name = Path(path).name
        name = name if len(name) <= 60 else name[:59] + "…"
        with session.lock:
            record = session.runs.add(
                RunRecord(Curves(), kind="uploaded", name=name, model=trained, outcome="uploaded", spec=trained.spec)
            )
            record.say(msg("uploaded {name}: {model}", name=record.name, model=trained.describe()))
            verdict, before = self._offer(session, record)
            if verdict.better:
                session.runs.note = msg(
                    "**{name}** is added as {label} and in use: Evaluate and Predict use it.",
                    name=record.name, label=msg(record.label),
                )
            else:
                session.runs.note = lines(msg(
                    "**{name}** is added as {label}.",
                    name=record.name, label=record.label,
                ), kept_beside(verdict, before, record.label))
            session.runs.trim(max_runs())
        self.store.changed(session)
        return session.describe()

    def reset(self, session_id: str) -> str:
        """Go back to the shipped model."""
        session = self.store.get(session_id)
        if session.training:
            raise UserError("Wait for the run to end (or stop it) first.")
        model = self.store.starting_model()
        if model is None:
            raise UserError("This server has no shipped model: train one, or load a checkpoint.")
        with session.lock:
            record = session.runs.shipped(model)
            session.use(record)
            session.runs.note = "**The shipped model is in use** for Evaluate and Predict."
        self.store.changed(session)
        return session.describe()




def failure_text(failure: JobFailed, what: str = "training") -> str:
    """What a user is told of a failed job: its own words, or that ``what`` (``training``,
    ``experiment``) failed because of a bug (whose details the caller logs)."""
    if failure.expected and failure.public:
        return failure.public.strip()
    kind = failure.kind or "an error"
    if what == "experiment":
        return msg("The experiment failed unexpectedly ({kind}); the details are in the server log.", kind=kind)
    return msg("Training failed unexpectedly ({kind}); the details are in the server log.", kind=kind)


def _failed_end(trained: Any, message: str, last: StepEnd, epochs: float) -> "TrainEnd":
    """How a run whose job failed ended, as far as its last snapshot and step tell."""
    return TrainEnd(status="failed", message=message, epochs_done=max(epochs, 0.0), steps_done=last.step, elapsed=last.elapsed, trained=trained)


def planned_spec(config: "TrainConfig") -> dict[str, Any]:
    """A run's spec as its settings say it, before it is built (for the table meanwhile)."""
    spec: dict[str, Any] = {kind: {"name": getattr(config, kind), "params": dict(config.params.get(kind) or {})} for kind in ("dataset", "model", "optimizer", "loss")}
    spec["run"] = config.settings()
    return spec
