"""The Train tab's work, apart from its layout: a session's training runs as page updates.

:class:`Trainer` starts a run for a browser session and streams what the page shows
(:class:`TrainView`: status, curves, metrics, log, the runs table) a few times a second.
Every wait says what it waits for: a free training slot, the data (downloading,
decoding: the run is prepared in a thread while the page shows what it reports), the
starting model's test.  The test curve is drawn from spot checks during each epoch
(:meth:`trainpad.engine.training.TrainingRun.events`), so even one epoch has one.

Each run is kept in the session's runs table (:mod:`trainpad.web.runs`) whichever way it
ended (finished, stopped, cancelled by Gradio, diverged).  Its model takes the place of
the one in use only when it is at least as good; otherwise both are in the table, the
status says so, and the user picks (:meth:`Trainer.use`).  It raises
:class:`~trainpad.web.messages.UserError` for what the user must fix and is free of
Gradio, so tests call it directly.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from trainpad.engine.events import epochs_text
from trainpad.runtime.memory import release_memory
from trainpad.web.messages import UserError, user_errors
from trainpad.web.runs import RunRecord, compare, max_runs

if TYPE_CHECKING:
    import pandas as pd

    from trainpad.engine.engine import Engine
    from trainpad.engine.events import EpochEnd, SpotCheck, StepEnd, TrainEnd
    from trainpad.engine.params import Param
    from trainpad.engine.training import TrainConfig, TrainingRun
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
#: Why a second run of a session is refused while one is going.
ALREADY_GOING = "A run is already going in this session: stop it first, or wait for it to end."
#: What the status says before anything happened.
START_HERE = "Choose the components and settings, then **Start training**."


class AlreadyTraining(UserError):
    """Start was pressed while this session's run is going."""


def max_training_runs() -> int:
    """How many runs may train at once in this process (``TRAINPAD_MAX_TRAINING_RUNS``, default 1)."""
    from trainpad.web.limits import limits

    return limits().max_training_runs


def server_run_params() -> tuple["Param", ...]:
    """The run settings a web user may choose: the engine's, with the server's caps
    (epochs, batch size, training samples: see :mod:`trainpad.web.limits`)."""
    from trainpad.web.limits import limits

    return limits().run_params()


def _clock_text(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


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


def describe_config(run: "TrainingRun") -> str:
    cfg = run.config
    return (
        f"training {cfg.model} on {cfg.dataset} ({run.train_samples:,} samples) with {cfg.optimizer} (lr {run.lr:g}) "
        f"and {cfg.loss}: {cfg.epochs} epoch(s), batch {cfg.batch_size}, {cfg.schedule} schedule, seed {cfg.seed}, "
        f"device {run.device}" + (f"\n{run.pairing}" if run.pairing else "")
    )


def step_status(event: "StepEnd") -> str:
    return (
        f"**Epoch {event.epoch}/{event.epochs}** · step {event.step:,} of {event.steps:,} · "
        f"loss {event.loss:.4f} · lr {event.lr:.3g} · {event.samples_per_sec:,.0f} samples/s · about {_clock_text(event.eta)} left"
    )


def epoch_line(event: "EpochEnd") -> str:
    test = ""
    if event.test_accuracy is not None and event.test_loss is not None:
        test = f"; test loss {event.test_loss:.4f}, accuracy {event.test_accuracy:.2%}"
    part = "" if event.complete else f" (ended early, {epochs_text(event.epochs_done)} in)"
    return (
        f"epoch {event.epoch}/{event.epochs}{part}: train loss {event.train_loss:.4f}, "
        f"accuracy {event.train_accuracy:.2%}{test} ({event.samples_per_sec:,.0f} samples/s)"
    )


def spot_line(event: "SpotCheck") -> str:
    when = "before training" if event.step == 0 else f"at epoch {event.epochs_done:.2f} (step {event.step:,})"
    return (
        f"{when}: test loss {event.test_loss:.4f}, accuracy {event.test_accuracy:.2%} on {event.samples:,} test samples, "
        f"lr {event.lr:.3g}"
    )


def metrics_markdown(end: "TrainEnd") -> str:
    metrics = end.trained.metrics if end.trained is not None else {}
    parts = []
    if "test_accuracy" in metrics:
        parts.append(f"**Test accuracy {metrics['test_accuracy']:.2%}**")
    if "test_loss" in metrics:
        parts.append(f"test loss {metrics['test_loss']:.4f}")
    if "train_accuracy" in metrics:
        parts.append(f"train accuracy {metrics['train_accuracy']:.2%}")
    parts.append(f"{epochs_text(end.epochs_done)}, {end.steps_done:,} steps in {_clock_text(end.elapsed)}")
    return " · ".join(parts)


def outcome_status(end: "TrainEnd", record: RunRecord, verdict: "Comparison", before: str) -> str:
    """The status line once a run has left a model: what it reached, and which model is in use.

    One sentence a line (Markdown shows them as one paragraph), so that each translates on
    its own (:mod:`trainpad.web.i18n`).

    :param before: the model in use before it ended (``shipped``, ``run 2``), or empty.
    """
    accuracy = record.test_accuracy
    reached = epochs_text(end.epochs_done) + (f", {accuracy:.2%} test accuracy" if accuracy is not None else "")
    name = record.label.capitalize()
    head = {
        "completed": f"**Done.** {name} reached {reached}.",
        "stopped": f"**Stopped.** The model trained so far is kept as {record.label} ({reached}).",
        "diverged": f"**Diverged.** {end.message}\n{name} reached {reached} with those weights.",
    }.get(end.status, end.message)
    if verdict.better:
        if not before:
            return f"{head}\nEvaluate and Predict now use it."
        old = f", {verdict.old:.2%}" if verdict.old is not None else ""
        return f"{head}\nEvaluate and Predict now use it; the model before it ({before}{old}) is still in the runs table."
    if verdict.new is not None:
        why = f"It is below the {verdict.old:.2%} of the model in use ({before}), which stays in use."
    else:
        why = f"It was not tested, unlike the {verdict.old:.2%} of the model in use ({before}), which stays in use."
    return f"{head}\n{why}\nBoth are in the runs table; press **Use this run** to use {record.label} instead."


class _Slot:
    """A training slot held by a generator, released when it ends, or when the run's
    preparation (still loading in its thread) does, whichever is later."""

    def __init__(self) -> None:
        self.held = False
        self.pending: Any = None  # a Background still preparing when the generator ended

    def release(self) -> None:
        from trainpad.web.limits import TRAINING_SLOTS

        if not self.held:
            return
        self.held = False
        if self.pending is not None and not self.pending.done:
            self.pending.when_done(TRAINING_SLOTS.release)
        else:
            TRAINING_SLOTS.release()


class Trainer:
    """The Train tab's handlers, bound to an engine and a session store.

    Gradio-free apart from raising ``gr.Error``, so tests drive it directly.
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
    ) -> None:
        self.engine = engine
        self.store = store
        self.data_dir = data_dir
        self.update_every = update_every
        self.clock = clock
        self.run_params = server_run_params()
        #: notices runs whose client has gone (see :mod:`trainpad.web.run_watch`); none in tests
        self.watch = watch
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
        """A :class:`~trainpad.engine.training.TrainConfig` from the form's values (checked by ``build_run``)."""
        from trainpad.engine.config import TrainConfig
        for kind, name in choices.items():  # the API can send anything in place of a dropdown's value
            if not isinstance(name, str) or not name.strip():
                raise UserError(f"Choose the {kind} from the list (got {name!r:.40}).")
        values = dict(settings)
        for name in ("epochs", "batch_size", "seed", "train_samples", "test_samples"):
            if isinstance(values.get(name), float) and float(values[name]).is_integer():
                values[name] = int(values[name])
        return TrainConfig(**choices, params={k: v for k, v in params.items() if v}, **values)

    # training

    def check_start(self, session_id: str) -> str | None:
        """What to tell a user pressing Start, before the run is queued.

        :raises AlreadyTraining: this session's run is going.
        :return: why the run will wait (every training slot is taken), or ``None``.
        """
        from trainpad.web.limits import TRAINING_SLOTS

        session = self.store.get(session_id)
        with session.lock:
            if session.training and not session.stopping:  # a stopped run wrapping up: the new one waits for it
                raise AlreadyTraining(ALREADY_GOING)
            pending = session.runs.start_pending
            if pending is not None and self.clock() - pending < START_PENDING_SECONDS:
                raise AlreadyTraining(
                    "This session's run is already starting (it may be waiting for its turn): "
                    "press Stop first to start another."
                )
            session.runs.start_pending = self.clock()  # until the run begins, or Stop
            if session.stopping:
                return WRAP_UP_STATUS
        capacity = TRAINING_SLOTS.capacity
        if TRAINING_SLOTS.active >= capacity:
            runs = "one run" if capacity == 1 else f"{capacity} runs"
            return (
                f"**Waiting in line.** Another user is training, and this server trains {runs} at a time: "
                "your run starts by itself as soon as a slot is free (your place in the queue is shown above)."
            )
        return None

    def train(self, session_id: str, config: "TrainConfig", *, resume: bool = False) -> Iterator[TrainView]:
        """Train and yield what the page shows, a few times a second at most.

        The run holds one of the server's training slots (:data:`trainpad.web.limits.TRAINING_SLOTS`)
        from before its data is loaded until this generator ends, however it ends (or,
        if it ends while the data is still loading, until the loading does), so
        cancelled or abandoned runs never add up past ``TRAINPAD_MAX_TRAINING_RUNS``; while
        every slot is taken it waits, saying so.  A run still going after
        ``TRAINPAD_MAX_RUN_SECONDS`` (its loading and tests included) stops within a step and
        keeps its model; so does a run whose client has gone (:mod:`trainpad.web.run_watch`).

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
        from trainpad.web.limits import TRAINING_SLOTS, limits

        session = self.store.get(session_id)
        if session.stopping:  # Start right after Stop: wait for the stopped run's last step and test
            with session.lock:
                if session.run_waiting:
                    raise AlreadyTraining(ALREADY_GOING)
                session.run_waiting = True
            try:
                waited = self.clock()
                while session.stopping and self.clock() - waited < WRAP_UP_SECONDS:
                    yield self.view(session, idle_status=WRAP_UP_STATUS)
                    session.idle.wait(0.25)
            finally:
                session.run_waiting = False
        if session.training:
            raise AlreadyTraining(ALREADY_GOING)
        server = limits()
        original = config  # as the form sent it: a run that Step began is found by it
        if config.train_samples == 0 and not isinstance(config.train_samples, bool):  # "all", up to the server's cap
            config = replace(config, train_samples=server.max_train_samples)
        if not resume:
            self._check_model_size(config, server.max_model_mb)
        while not TRAINING_SLOTS.acquire(timeout=0.5):
            # a run that was just stopped or cancelled is still wrapping up, or another is training
            yield self.view(session, idle_status="**Waiting for a free training slot:** another run is still training or wrapping up…")
        slot = _Slot()
        slot.held = True
        try:
            yield from self._train(
                session_id, config, resume=resume, max_seconds=server.max_run_seconds, slot=slot, ticket=ticket, original=original
            )
        finally:
            session.runs.start_pending = None  # begun, refused or cancelled: Start may be pressed again
            slot.release()

    def _check_model_size(self, config: "TrainConfig", max_mb: float) -> None:
        """Refuse, before building anything, a model over ``TRAINPAD_MAX_MODEL_MB``: planned on the
        meta device, so a model of gigabytes costs nothing to measure."""
        from trainpad.engine.errors import TrainpadError
        from trainpad.engine.model_size import megabytes, plan_model
        from trainpad.engine.params import ParamError

        try:
            model = self.engine.component("model", config.model)
            dataset = self.engine.component("dataset", config.dataset)
            params = model.validate(config.params.get("model"))
        except (TrainpadError, ParamError, TypeError, KeyError):
            return  # build_run says what is wrong with the choice
        meta = self.engine.dataset_meta(dataset)
        planned = plan_model(
            model.factory, input_shape=tuple(meta["input_shape"]), num_classes=len(dataset.meta.get("class_names", ())), **params
        )
        limit = int(max_mb * 2**20)
        if planned is not None and planned.nbytes > limit:
            raise UserError(
                f"That model would take {megabytes(planned.nbytes)}, more than the {megabytes(limit)} this server "
                "allows per model (TRAINPAD_MAX_MODEL_MB); choose a smaller width or fewer hidden units."
            )

    def _train(
        self, session_id: str, config: "TrainConfig", *, resume: bool, max_seconds: float, slot: _Slot, ticket: "Ticket | None" = None,
        original: "TrainConfig | None" = None,
    ) -> Iterator[TrainView]:
        import threading

        from trainpad.engine.events import EpochEnd, SpotCheck, StepEnd, TrainEnd
        from trainpad.engine.progress import Background
        from trainpad.web.limits import time_limit_message
        from trainpad.web.plots import Curves
        from trainpad.web.step_handler import paused_run, wind_down

        session = self.store.get(session_id)
        deadline = self.clock() + max_seconds  # the run's own time: from its slot on, loading and tests included
        with user_errors("Preparing the run"):  # the settings are checked at once; the data may take a while
            config = config.validated(self.run_params)
            for kind in ("dataset", "model", "optimizer", "loss"):
                self.engine.component(kind, getattr(config, kind))
        with session.lock:
            if session.training:
                raise AlreadyTraining(ALREADY_GOING)
            if resume and session.model is None:
                raise UserError("There is no current model to carry on training: untick “Carry on training”.")
            base = session.model if resume else None
            session.runs.start_pending = None
            stepped = paused_run(session, original) if original is not None and not resume else None  # Start carries on where Step left off
            left = paused_run(session)
            if left is not None and left is not stepped:
                wind_down(left)  # a stepped run the form no longer describes: kept in the runs table, tested
                self._finish_stepped(session, left)
            if stepped is not None:
                record = session.data["train"]
            else:
                record = session.runs.add(RunRecord(Curves(epochs=config.epochs), spec=_planned_spec(config)))
                record.status = "**Preparing the run…**"
                session.run, session.result = None, None
            session.runs.note = ""
            session.idle.clear()
        self.store.changed(session)
        if stepped is not None:
            run = stepped
        else:
            prep = Background(
                lambda: self.engine.build_run(config, data_dir=self.data_dir, resume=base, run_params=self.run_params),
                name="trainpad-prepare-run",
            )
            try:
                yield self.view(session, fraction=0.0, desc="preparing the run")
                while not prep.wait(self.update_every):
                    if prep.said:
                        record.status = f"**Preparing the run:** {prep.said}"
                    yield self.view(session, fraction=0.0, desc=prep.said or "preparing the run")
                with user_errors("Preparing the run"):
                    run = prep.result()
            except GeneratorExit:  # cancelled (Stop, a closed tab) while the data loads: nothing was trained
                slot.pending = prep
                self._drop_unstarted(session, record, "**Stopped** before training began. Your current model is unchanged.")
                raise
            except BaseException:
                self._drop_unstarted(session, record, None)
                raise
            if session.closed or record.stop_asked:  # the tab closed, or Stop came, while the data loaded
                self._drop_unstarted(session, record, "**Stopped** before training began. Your current model is unchanged.")
                yield self.view(session)
                return
        run.watch_loop()  # the loop view shows what each line did in the last step
        if ticket is not None:
            ticket.run = run
        with session.lock:
            session.run, session.result = run, None
            session.data["train"] = record
            record.spec = run.spec
            record.outcome = "training"
            session.runs.changed()
        if stepped is not None:
            record.say(f"carrying on from step {run.steps_done:,}")
        else:
            record.say(describe_config(run))
        if resume:
            record.say(f"carrying on from {session.describe()}")
        events = run.events(spot_checks=SPOT_CHECKS, spot_allowance=self.spot_allowance)
        last = -1e9
        expired = threading.Event()

        def expire() -> None:  # at the deadline, wherever the run is (a step, a test): it stops within a batch
            expired.set()
            run.stop(now=True)

        timer = threading.Timer(max(0.0, deadline - self.clock()), expire)
        timer.daemon = True
        timer.start()
        timed_out = False
        try:
            if run.has_test_split and stepped is None:  # the test curve starts before the first step, from a spot check
                record.status = "**Testing the starting model** on a sample of the test split…"
                yield self.view(session, fraction=0.0, desc="testing the starting model")
            record.status = "**Training…**"
            with user_errors("Training"):
                for event in events:
                    record.curves.add(event)
                    if not timed_out and (expired.is_set() or self.clock() > deadline):  # checked every event
                        timed_out = True
                        run.stop(now=True)
                        record.say(time_limit_message(max_seconds))
                    if isinstance(event, StepEnd):
                        record.progress = event.step / max(run.steps_per_epoch, 1)
                        record.status = step_status(event)
                        now = self.clock()
                        if now - last >= self.update_every or event.step == event.steps:
                            last = now
                            yield self.view(session, fraction=event.step / event.steps, desc=self._desc(event))
                    elif isinstance(event, SpotCheck):
                        record.say(spot_line(event))
                        if event.step == 0:
                            record.status = "**Training…** (the starting model is tested: the first test point is drawn)"
                        yield self.view(session, fraction=event.step / max(run.total_steps, 1), desc="tested")
                    elif isinstance(event, EpochEnd):
                        record.say(epoch_line(event))
                        yield self.view(session, fraction=event.step / max(run.total_steps, 1), desc="evaluated")
                    elif isinstance(event, TrainEnd):
                        self._finish(session, run, record, event)
                        timed_out = timed_out or expired.is_set()
                        if timed_out and event.status == "stopped":
                            message = time_limit_message(max_seconds)
                            record.status = f"**Time limit reached.** {message[:1].upper()}{message[1:]}. {record.status}"
                        view = self.view(session)
                        if event.status == "diverged":
                            view.warning = event.message
                        yield view
        except GeneratorExit:  # cancelled (Stop, a closed tab) maybe before its first step: it stopped, not failed
            run.stop()
            if ticket is not None and ticket.abandoned:
                record.say(f"stopped: {ticket.abandoned}")
            raise
        finally:
            timer.cancel()
            if run.result is None and run.stop_requested and not session.closed:
                self._wind_down(events)  # a cancelled run still tests what it kept, for the table
            events.close()  # a cancelled generator: the run stops and keeps its model
            self._finish(session, run, record, run.result)

    @staticmethod
    def _wind_down(events: Iterator[Any]) -> None:
        """Let a run asked to stop reach its end: the current batch, then the test of the
        model it keeps (a second or so), so that a run cancelled by Stop can be compared."""
        try:
            for _ in events:
                pass
        except Exception:  # the run's own error: it ends as a failed one
            log.exception("a stopped run failed while winding down")

    @staticmethod
    def _desc(event: "StepEnd") -> str:
        return f"epoch {event.epoch}/{event.epochs} · {event.samples_per_sec:,.0f} samples/s · {_clock_text(event.eta)} left"

    def _finish_stepped(self, session: "Session", run: "TrainingRun") -> None:
        """A stepped run that nothing carries on (the form changed): kept in the table as it is."""
        record = session.data.get("train")
        if isinstance(record, RunRecord):
            session.idle.clear()  # _finish keeps a run's model as the run stops being busy
            self._finish(session, run, record, run.result)

    def _drop_unstarted(self, session: "Session", record: RunRecord, status: str | None) -> None:
        """A run that never started training leaves nothing: out of the table, the session idle."""
        with session.lock:
            session.runs.remove(record)
            if status:
                session.runs.note = status
            session.idle.set()
        self.store.changed(session)

    def _finish(self, session: "Session", run: "TrainingRun", record: RunRecord, end: "TrainEnd | None") -> None:
        """Keep the run's model in the runs table, once, whichever way the run ended, and
        make it the one in use unless the one in use is better."""
        with session.lock:
            if session.run is not run or session.idle.is_set():
                return
            try:
                session.result = end
                if session.closed:  # the tab closed meanwhile: nobody will see the result
                    return
                if end is None:
                    stopped = run.stop_requested
                    record.outcome = "stopped" if stopped else "failed"
                    record.status = (
                        "**Stopped** before training began. Your current model is unchanged." if stopped
                        else "**The run failed**; the previous model is kept."
                    )
                    record.say("stopped before training began" if stopped else "the run failed; the previous model is kept")
                    if not len(record.curves):
                        session.runs.remove(record)
                        session.runs.note = record.status
                    return
                record.outcome = end.status
                record.progress = end.epochs_done
                record.say(f"{end.status}: {end.message} ({epochs_text(end.epochs_done)} in {_clock_text(end.elapsed)})")
                if not self._worth_keeping(end):
                    why = "before the first step" if end.steps_done == 0 else "with nothing trained to keep"
                    message = end.message.rstrip(".")
                    detail = f" {message[:1].upper()}{message[1:]}." if end.status == "diverged" else ""
                    record.status = f"**{end.status.capitalize()}** {why}.{detail} Your current model is unchanged."
                    if not len(record.curves):
                        session.runs.remove(record)
                        session.runs.note = record.status
                    return
                record.model = end.trained
                record.metrics = metrics_markdown(end)
                self._write_files(session, run, record)
                before = session.runs.with_model(session.model)
                before_text = "" if session.model is None else before.label if before is not None else session.source
                verdict = compare(end.trained, session.model)
                if verdict.better:
                    session.use(record)
                else:
                    record.say(f"kept beside the model in use ({before_text}, {verdict.old:.2%} test accuracy)")
                record.status = outcome_status(end, record, verdict, before_text)
            finally:
                session.runs.changed()
                session.runs.trim(max_runs())
                session.idle.set()
        self.store.changed(session)
        release_memory()  # the run's optimizer state, gradients and batches go back to the system

    @staticmethod
    def _write_files(session: "Session", run: "TrainingRun", record: RunRecord) -> None:
        """The run's checkpoint and the CSV of its curves, for download."""
        from trainpad.engine.checkpoint import save_checkpoint
        from trainpad.engine.errors import CheckpointError

        stem = f"{run.config.model}-{run.config.dataset}-{record.label.replace(' ', '')}-{time.strftime('%Y%m%d-%H%M%S')}"
        try:
            record.checkpoint = save_checkpoint(record.model, session.folder() / f"{stem}.pt")
            record.say(f"checkpoint ready: {record.checkpoint.name}")
        except CheckpointError as exc:
            record.checkpoint = None
            record.say(f"no checkpoint: {exc}")
        try:
            record.csv = session.folder() / f"{stem}-curves.csv"
            record.csv.write_text(record.curves.to_csv())
        except OSError as exc:
            record.csv = None
            record.say(f"no curves file: {type(exc).__name__}")

    @staticmethod
    def _worth_keeping(end: "TrainEnd") -> bool:
        """A run's model is kept when it holds some training: a whole epoch or part of
        one (a diverged run's counts only up to the weights it went back to)."""
        return end.trained is not None and end.epochs_done > 0

    def stop(self, session_id: str, *, wait: float = STOP_WAIT) -> TrainView:
        """Ask this session's run to stop and wait (up to ``wait`` s) for it to wrap up.

        The wait is short so that a Stop never holds a worker long (each kind of event has
        its own few); the run ends at its next step by itself either way."""
        from trainpad.web.step_handler import Stepper

        session = self.store.get(session_id)
        session.runs.start_pending = None  # a run still waiting in the queue is cancelled with this Stop
        stepped = Stepper(self).stop(session_id)  # a run that Step began ends where it is
        if stepped is not None:
            return stepped
        run = session.run
        record = session.runs.latest_trained()
        if not session.training or record is None:
            return self.view(session, idle_status="Nothing is training in this session.")
        record.stop_asked = True  # a run still being prepared stops before it trains
        if run is not None:
            run.stop()
        if not session.idle.wait(wait):  # the run keeps its model itself when it ends
            record.status = "**Stopping…** the run ends after its current step."
        return self.view(session)

    # what the page shows

    def view(
        self,
        session: "Session",
        record: Any = None,
        *,
        fraction: float | None = None,
        desc: str = "",
        idle_status: str = "",
    ) -> TrainView:
        """What the Train tab shows for ``session`` now (``record`` is ignored: every run is in the session)."""
        from trainpad.web.plots import chart

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
            raise UserError(f"{record.label.capitalize()} has no model to use: it {record.outcome} before it had any.")
        with session.lock:
            session.use(record)
            session.runs.selected = record.number
            session.runs.note = f"**{record.label.capitalize()} is in use:** Evaluate and Predict use {session.describe()}."
        self.store.changed(session)
        return self.view(session)

    def load(self, session_id: str, path: str | Path | None) -> str:
        """Add an uploaded checkpoint to the runs table and use it; returns its description.

        The checkpoint is checked against the server's caps (classes, model size, input
        size) before its model is built: :meth:`trainpad.web.limits.Limits.checkpoint_limits`.
        """
        from trainpad.web.limits import limits
        from trainpad.web.plots import Curves

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
            record.say(f"uploaded {record.name}: {trained.describe()}")
            session.use(record)
            session.runs.note = f"**{record.name}** is added as {record.label} and in use: Evaluate and Predict use it."
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


def _planned_spec(config: "TrainConfig") -> dict[str, Any]:
    """A run's spec as its settings say it, before it is built (for the table meanwhile)."""
    spec: dict[str, Any] = {kind: {"name": getattr(config, kind), "params": dict(config.params.get(kind) or {})} for kind in ("dataset", "model", "optimizer", "loss")}
    spec["run"] = config.settings()
    return spec
