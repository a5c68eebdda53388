"""The Train tab's work, apart from its layout: a session's training run as page updates.

:class:`Trainer` starts a run for a browser session, streams what the page shows
(:class:`TrainView`: status, curves, metrics, log, checkpoint) a few times a second,
stops it, and adopts the trained model into the session once, whichever way the run
ended (finished, stopped, cancelled by Gradio, diverged).  It raises
:class:`~trainpad.web.messages.UserError` for what the user must fix and is free of
Gradio, so tests call it directly.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from trainpad.runtime.memory import release_memory
from trainpad.web.messages import UserError, user_errors

if TYPE_CHECKING:
    import pandas as pd

    from trainpad.engine.engine import Engine
    from trainpad.engine.events import EpochEnd, StepEnd, TrainEnd
    from trainpad.engine.params import Param
    from trainpad.web.sessions import Session, SessionStore
    from trainpad.web.run_watch import RunWatch, Ticket
    from trainpad.engine.training import TrainConfig, TrainingRun


#: Seconds between two updates of the page while training (the run itself never waits).
UPDATE_EVERY = 0.3
#: Seconds Stop waits for the run to wrap up before answering (the run ends by itself).
STOP_WAIT = 5.0
#: Lines of log kept.
LOG_LINES = 200


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

    :param fraction: progress of the run (0 to 1), or ``None`` when not running.
    """

    status: str
    loss: "pd.DataFrame"
    accuracy: "pd.DataFrame"
    metrics: str = ""
    checkpoint: str | None = None
    log: str = ""
    current: str = ""
    fraction: float | None = None
    desc: str = ""
    #: a message to pop up once (the run diverged)
    warning: str | None = None


@dataclass
class RunRecord:
    """A session's latest run as the page shows it: curves and log (kept for Stop)."""

    curves: Any
    lines: list[str] = field(default_factory=list)
    status: str = ""
    metrics: str = ""

    def say(self, text: str) -> None:
        self.lines.append(f"{time.strftime('%H:%M:%S')}  {text}")
        del self.lines[:-LOG_LINES]

    @property
    def log(self) -> str:
        return "\n".join(self.lines)


#: Test samples used to place the test curves' starting point (a few seconds at most on a CPU).
STARTING_SAMPLES = 1000


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
        f"loss {event.loss:.4f} · {event.samples_per_sec:,.0f} samples/s · about {_clock_text(event.eta)} left"
    )


def epoch_line(event: "EpochEnd") -> str:
    test = ""
    if event.test_accuracy is not None and event.test_loss is not None:
        test = f"; test loss {event.test_loss:.4f}, accuracy {event.test_accuracy:.2%}"
    return (
        f"epoch {event.epoch}/{event.epochs}: train loss {event.train_loss:.4f}, "
        f"accuracy {event.train_accuracy:.2%}{test} ({event.samples_per_sec:,.0f} samples/s)"
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
    parts.append(f"{end.epochs_done} epoch(s), {end.steps_done:,} steps in {_clock_text(end.elapsed)}")
    return " · ".join(parts)


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

    def train(self, session_id: str, config: "TrainConfig", *, resume: bool = False) -> Iterator[TrainView]:
        """Train and yield what the page shows, a few times a second at most.

        The run holds one of the server's training slots (:data:`trainpad.web.limits.TRAINING_SLOTS`)
        from before its data is loaded until this generator ends, however it ends, so
        cancelled or abandoned runs never add up past ``TRAINPAD_MAX_TRAINING_RUNS``; while
        every slot is taken it waits, saying so.  A run still going after
        ``TRAINPAD_MAX_RUN_SECONDS`` (its evaluations included) stops within a step and
        keeps its model; so does a run whose client has gone (:mod:`trainpad.web.run_watch`).

        :param resume: carry on training the session's current model.
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
        if session.training:
            raise UserError("A run is already going in this session: stop it first.")
        server = limits()
        original = config  # as the form sent it: a run that Step began is found by it
        if config.train_samples == 0 and not isinstance(config.train_samples, bool):  # "all", up to the server's cap
            config = replace(config, train_samples=server.max_train_samples)
        if not resume:
            self._check_model_size(config, server.max_model_mb)
        while not TRAINING_SLOTS.acquire(timeout=0.5):
            # a run that was just stopped or cancelled is still wrapping up, or another is training
            yield self.view(session, session.data.get("train"), idle_status="Waiting for a free training slot…")
        try:
            yield from self._train(session_id, config, resume=resume, max_seconds=server.max_run_seconds, ticket=ticket, original=original)
        finally:
            TRAINING_SLOTS.release()

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
        self, session_id: str, config: "TrainConfig", *, resume: bool, max_seconds: float, ticket: "Ticket | None" = None,
        original: "TrainConfig | None" = None,
    ) -> Iterator[TrainView]:
        import threading

        from trainpad.engine.events import EpochEnd, StepEnd, TrainEnd
        from trainpad.web.limits import time_limit_message
        from trainpad.web.plots import Curves
        from trainpad.web.step_handler import paused_run

        session = self.store.get(session_id)
        deadline = self.clock() + max_seconds  # the run's own time: from its slot on, loading and tests included
        with session.lock:
            if session.training:
                raise UserError("A run is already going in this session: stop it first.")
            if resume and session.model is None:
                raise UserError("There is no current model to carry on training: untick “Carry on training”.")
            stepped = paused_run(session, original) if original is not None and not resume else None  # Start carries on where Step left off
            left = paused_run(session)
            if left is not None and left is not stepped:
                left.close()  # a stepped run the form no longer describes
            with user_errors("Preparing the run"):
                run = stepped or self.engine.build_run(
                    config, data_dir=self.data_dir, resume=session.model if resume else None, run_params=self.run_params
                )
            run.watch_loop()  # the loop view shows what each line did in the last step
            if ticket is not None:
                ticket.run = run
            record = session.data["train"] if stepped is not None else RunRecord(Curves())
            session.run, session.result = run, None
            session.data["train"] = record
            session.idle.clear()
        self.store.changed(session)
        if stepped is not None:
            record.say(f"carrying on from step {run.steps_done:,}")
        else:
            record.say(describe_config(run))
        if resume:
            record.say(f"carrying on from {session.describe()}")
        events = run.events()
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
            if run.has_test_split and stepped is None:  # test curves start at epoch 0, from (the start of) the test split
                record.status = "Testing the starting model…"
                yield self.view(session, record, fraction=0.0, desc="testing the starting model")
                with user_errors("Testing the starting model"):
                    start = run.evaluate(samples=STARTING_SAMPLES)
                if start is not None and not start.stopped:
                    record.curves.add_test(0.0, start.loss, start.accuracy)
                    record.say(f"before training: test loss {start.loss:.4f}, accuracy {start.accuracy:.2%} ({start.count:,} test samples)")
            record.status = "Training…"
            yield self.view(session, record, fraction=0.0, desc="starting")
            with user_errors("Training"):
                for event in events:
                    record.curves.add(event)
                    if not timed_out and (expired.is_set() or self.clock() > deadline):  # checked every event
                        timed_out = True
                        run.stop(now=True)
                        record.say(time_limit_message(max_seconds))
                    if isinstance(event, StepEnd):
                        record.status = step_status(event)
                        now = self.clock()
                        if now - last >= self.update_every or event.step == event.steps:
                            last = now
                            yield self.view(session, record, fraction=event.step / event.steps, desc=self._desc(event))
                    elif isinstance(event, EpochEnd):
                        record.say(epoch_line(event))
                        yield self.view(session, record, fraction=event.step / max(run.total_steps, 1), desc="evaluated")
                    elif isinstance(event, TrainEnd):
                        self._finish(session, run, record, event)
                        timed_out = timed_out or expired.is_set()
                        if timed_out and event.status == "stopped":
                            message = time_limit_message(max_seconds)
                            record.status = f"**Time limit reached.** {message[:1].upper()}{message[1:]}."
                        view = self.view(session, record)
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
            events.close()  # a cancelled generator: the run stops and keeps its model
            self._finish(session, run, record, run.result)

    @staticmethod
    def _desc(event: "StepEnd") -> str:
        return f"epoch {event.epoch}/{event.epochs} · {event.samples_per_sec:,.0f} samples/s · {_clock_text(event.eta)} left"

    def _finish(self, session: "Session", run: "TrainingRun", record: RunRecord, end: "TrainEnd | None") -> None:
        """Adopt the run's model and write its checkpoint, once, whichever way the run ended."""
        from trainpad.engine.checkpoint import save_checkpoint
        from trainpad.engine.errors import CheckpointError

        with session.lock:
            if session.run is not run or session.idle.is_set():
                return
            try:
                session.result = end
                if session.closed:  # the tab closed meanwhile: nobody will see the result
                    return
                if end is None and run.stop_requested:
                    record.status = "**Stopped** before training began. Your current model is unchanged."
                    record.say("stopped before training began")
                    return
                if end is None:
                    record.status = "**The run failed**; the previous model is kept."
                    record.say("the run failed; the previous model is kept")
                    return
                record.say(f"{end.status}: {end.message} ({_clock_text(end.elapsed)})")
                if not self._worth_keeping(end):
                    why = "before the first step" if end.steps_done == 0 else "before an epoch was done"
                    message = end.message.rstrip(".")
                    detail = f" {message[:1].upper()}{message[1:]}." if end.status == "diverged" else ""
                    record.status = f"**{end.status.capitalize()}** {why}.{detail} Your current model is unchanged."
                    return
                session.set_model(end.trained, "trained here")
                record.metrics = metrics_markdown(end)
                name = f"{run.config.model}-{run.config.dataset}-{time.strftime('%Y%m%d-%H%M%S')}.pt"
                try:
                    session.checkpoint = save_checkpoint(end.trained, session.folder() / name)
                    record.say(f"checkpoint ready: {name}")
                except CheckpointError as exc:
                    session.checkpoint = None
                    record.say(f"no checkpoint: {exc}")
                record.status = {
                    "completed": "**Done.** Evaluate and Predict now use this model.",
                    "stopped": "**Stopped.** The model trained so far is kept: Evaluate and Predict use it.",
                    "diverged": f"**Diverged.** {end.message}",
                }.get(end.status, end.message)
            finally:
                session.idle.set()
        self.store.changed(session)
        release_memory()  # the run's optimizer state, gradients and batches go back to the system

    @staticmethod
    def _worth_keeping(end: "TrainEnd") -> bool:
        """A run's model replaces the session's when it trained: a stop after some steps,
        or at least one whole epoch (a diverged run's last epoch did not finish)."""
        if end.trained is None:
            return False
        whole_epochs = end.epochs_done - (1 if end.status == "diverged" else 0)
        return whole_epochs > 0 or (end.status == "stopped" and end.steps_done > 0)

    def stop(self, session_id: str, *, wait: float = STOP_WAIT) -> TrainView:
        """Ask this session's run to stop and wait (up to ``wait`` s) for it to wrap up.

        The wait is short so that a Stop never holds a worker long (each kind of event has
        its own few); the run ends at its next step by itself either way."""
        from trainpad.web.step_handler import Stepper

        session = self.store.get(session_id)
        record = session.data.get("train")
        run = session.run
        stepped = Stepper(self).stop(session_id)  # a run that Step began ends where it is
        if stepped is not None:
            return stepped
        if run is None or not session.training or record is None:
            return self.view(session, record, idle_status="Nothing is training in this session.")
        run.stop()
        if not session.idle.wait(wait):  # the run adopts its model itself when it ends
            record.status = "Stopping… the run ends after its current step."
        return self.view(session, record)

    def view(
        self,
        session: "Session",
        record: RunRecord | None,
        *,
        fraction: float | None = None,
        desc: str = "",
        idle_status: str = "",
    ) -> TrainView:
        from trainpad.web.plots import empty_frame

        if record is None:
            return TrainView(idle_status or "Choose the components and settings, then **Start**.", empty_frame(), empty_frame(), current=session.describe())
        checkpoint = str(session.checkpoint) if session.checkpoint is not None and session.checkpoint.exists() else None
        return TrainView(
            status=idle_status or record.status,
            loss=record.curves.loss(),
            accuracy=record.curves.accuracy(),
            metrics=record.metrics,
            checkpoint=checkpoint if not session.training else None,
            log=record.log,
            current=session.describe(),
            fraction=fraction,
            desc=desc,
        )

    # the current model

    def load(self, session_id: str, path: str | Path | None) -> str:
        """Make an uploaded checkpoint the session's current model; returns its description.

        The checkpoint is checked against the server's caps (classes, model size, input
        size) before its model is built: :meth:`trainpad.web.limits.Limits.checkpoint_limits`.
        """
        from trainpad.web.limits import limits

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
        session.set_model(trained, f"uploaded: {name if len(name) <= 60 else name[:59] + '…'}")
        self.store.changed(session)
        return session.describe()

    def reset(self, session_id: str) -> str:
        """Go back to the shipped model."""
        session = self.store.get(session_id)
        if session.training:
            raise UserError("Wait for the run to end (or stop it) first.")
        session.set_model(self.store.starting_model(), "shipped", shared=True)
        self.store.changed(session)
        return session.describe()
