"""The Train tab's loop view and its Step button, apart from the layout.

:class:`Stepper` shows the training loop of the form's run (or of the session's run, with
what each line did in its last step) and takes one step at a time: the first Step builds
the run as Start would, each Step trains exactly one batch of it
(:meth:`TrainingRun.step <trainpad.engine.training.TrainingRun.step>`) and reports what it
did, and Start carries on from there, the stepped steps in the run's curves and history
(:func:`paused_run` is how the Trainer finds it).  A stepped run that the form no longer
describes is left when Start or Step begins another.  Free of Gradio, so tests call it
directly; raises :class:`~trainpad.web.messages.UserError` for what the user must fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trainpad.web.i18n import tr
from trainpad.web.messages import UserError, user_errors

if TYPE_CHECKING:
    from trainpad.engine.config import TrainConfig
    from trainpad.engine.training import TrainingRun
    from trainpad.web.sessions import Session
    from trainpad.web.train_handler import TrainView, Trainer

#: Where a session keeps the config its stepped run was built from (the form's, as sent).
STEP_CONFIG = "step_config"
#: Where a session keeps its run's loop lines, computed once per run.
LOOP_LINES = "loop_lines"


def paused_run(session: "Session", config: "TrainConfig | None" = None) -> "TrainingRun | None":
    """The session's run that Step began and nothing carries on yet (and, with ``config``,
    only if the form still describes it)."""
    run = session.run
    if run is None or session.training or not run.started or run.finished:
        return None
    if config is not None and session.data.get(STEP_CONFIG) != config:
        return None
    return run


@dataclass
class StepView:
    """What the Train tab shows after a Step: the tab's usual view, the loop, the step's report."""

    train: "TrainView"
    loop: str
    report: str


class Stepper:
    """The loop view and Step, bound to the Train tab's :class:`~trainpad.web.train_handler.Trainer`."""

    def __init__(self, trainer: "Trainer") -> None:
        self.trainer = trainer
        self.engine = trainer.engine
        self.store = trainer.store

    # -- the loop view ----------------------------------------------------------------------

    def loop(self, session_id: str, config: "TrainConfig | None" = None) -> str:
        """The loop as HTML: the session's run's, with what each line did in its last step, while
        it trains or is stepped; otherwise the loop ``config`` (the form's) would run."""
        from trainpad.web.loop_view import loop_html, run_facts

        from trainpad.engine.errors import TrainpadError
        from trainpad.engine.loop_source import loop_lines
        from trainpad.web.i18n import translate
        from trainpad.web.limits import limits

        session = self.store.get(session_id)
        run = session.run
        busy = run is not None and (session.training or paused_run(session) is not None)
        if run is not None and (busy or config is None):  # the run's loop, with its last step
            return loop_html(self._lines(session, run), run.loop_trace, run_facts(run))
        if config is None:
            from trainpad.engine.config import TrainConfig

            config = TrainConfig()
        try:
            lines = loop_lines(self.engine, limits().capped(config), run_params=self.trainer.run_params)
        except TrainpadError as exc:  # the form holds something a run would refuse: say so where the loop would be
            reason = translate(str(exc))
            return f"<p class='tp-loop-note'>{_escape(tr('The loop appears once the form holds a run that can start: {reason}', reason=reason))}</p>"
        if run is not None and self._lines(session, run) == lines:  # the form is the last run's: show what it did
            return loop_html(lines, run.loop_trace, run_facts(run))
        return loop_html(lines)

    def _lines(self, session: "Session", run: "TrainingRun") -> list[Any]:
        from trainpad.engine.loop_source import loop_lines

        cached = session.data.get(LOOP_LINES)
        if cached is None or cached[0] is not run:
            cached = (run, loop_lines(self.engine, run.config, run_params=self.trainer.run_params))
            session.data[LOOP_LINES] = cached
        return cached[1]

    # -- Step --------------------------------------------------------------------------------

    def step(self, session_id: str, config: "TrainConfig", *, data_dir: Path | str | None = None) -> StepView:
        """Train the session's stepped run (building it first, as Start would) on exactly one batch."""
        from trainpad.engine.events import EpochEnd
        from trainpad.web.limits import limits
        from trainpad.web.loop_view import step_html
        from trainpad.web.train_handler import epoch_line

        session = self.store.get(session_id)
        with session.lock:
            if session.training:
                raise UserError("A run is going in this session: Step takes one batch of a run that is not training. Stop it first.")
            run = paused_run(session, config)
            if run is None:
                server = limits()
                self.trainer._check_model_size(config, server.max_model_mb)  # as Start: a model over the server's cap is refused unbuilt
                run = self._begin(session, server.capped(config), config)
            record = session.data["train"]
            with user_errors("Stepping"):  # under the session's lock: two Steps (or a Start) never take the run at once
                try:
                    detail = run.step()
                except Exception:
                    if run.finished:  # its last batch was stepped before: the run is over
                        self._end(session, run, record)
                    raise
        for event in detail.events:
            record.curves.add(event)
            if isinstance(event, EpochEnd):
                record.say(epoch_line(event))
        record.progress = trace.step / max(run.steps_per_epoch, 1) if (trace := detail.trace) is not None else record.progress
        session.runs.changed()
        trace = detail.trace
        record.say(
            tr("step {step}: loss {before} before the update, {after} after it on the same batch",
               step=trace.step, before=f"{detail.loss_before:.4f}", after=f"{detail.loss_after:.4f}")
        )  # fmt: skip
        record.status = tr(
            "**Stepped:** step {step} of {steps}. **Step** again, or **Start training** to carry on from here.",
            step=f"{trace.step:,}", steps=f"{run.total_steps:,}",
        )
        self.store.changed(session)
        meta = self.engine.dataset_meta(self.engine.component("dataset", run.config.dataset))
        class_names = list(self.engine.component("dataset", run.config.dataset).meta["class_names"])
        report = step_html(detail, class_names, mean=meta["mean"], std=meta["std"])
        return StepView(self.trainer.view(session, record), self.loop(session_id), report)

    def _begin(self, session: "Session", config: "TrainConfig", asked: "TrainConfig") -> "TrainingRun":
        """Build the run that Start would, ready to be stepped (the session's lock is held)."""
        from trainpad.web.plots import Curves
        from trainpad.web.train_handler import RunRecord, describe_config

        left = paused_run(session)
        if left is not None:  # a stepped run the form no longer describes: kept in the runs table, tested
            wind_down(left)
            self._end(session, left, session.data.get("train"))
        with user_errors("Preparing the run"):
            run = self.engine.build_run(config, data_dir=self.trainer.data_dir, run_params=self.trainer.run_params)
        run.watch_loop()
        record = session.runs.add(RunRecord(Curves(epochs=config.epochs), spec=run.spec, outcome="stepping"))
        session.run, session.result = run, None
        session.data["train"] = record
        session.data[STEP_CONFIG] = asked
        session.runs.note = ""
        record.say(describe_config(run))
        record.say(tr("stepping: one batch at a time; Start carries on from the last step"))
        if run.has_test_split:  # the test curve starts at epoch 0, as a started run's does
            with user_errors("Testing the starting model"):
                start = run.spot_check()
            if start is not None:
                record.curves.add(start)
        return run

    def _end(self, session: "Session", run: "TrainingRun", record: Any) -> None:
        """A stepped run that reached its end: its model is the session's, as a finished run's."""
        if record is None:
            return
        session.idle.clear()  # the Trainer keeps a run's model as it stops being busy
        self.trainer._finish(session, run, record, run.result)

    def stop(self, session_id: str) -> "TrainView | None":
        """End the session's stepped run where it is, keeping its model (``None`` if there is none)."""
        session = self.store.get(session_id)
        with session.lock:
            run = paused_run(session)
            if run is None:
                return None
            record = session.data["train"]
            wind_down(run)
            self._end(session, run, record)
        return self.trainer.view(session, record)


def wind_down(run: "TrainingRun") -> None:
    """End a stepped run where it is, as Stop ends a started one: after the test of the
    model it keeps (so that its accuracy can be compared), its hooks removed."""
    run.stop()
    try:
        for _ in run.events():
            pass
    finally:
        run.close()


def _escape(text: str) -> str:
    import html

    return html.escape(text)


__all__ = ["STEP_CONFIG", "StepView", "Stepper", "paused_run", "wind_down"]
