"""The Train tab's loop view and its Step button, apart from the layout.

:class:`Stepper` shows the training loop of the form's run (or of the session's run, with
what each line did in its last step) and takes one step at a time: each Step is a job
(:mod:`trainpad.engine.job`) that trains exactly one batch of the session's stepped run,
from where the last Step left it (its :class:`~trainpad.engine.run_state.RunState`), and
reports what it did; the first one builds the run as Start would.  Start carries the
stepped run on from there, the stepped steps in its curves and history.  A stepped run
that the form no longer describes ends where it is when Start or Step begins another.
Free of Gradio, so tests call it directly; raises :class:`~trainpad.web.messages.UserError`
for what the user must fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from trainpad.engine.config import TrainConfig
from trainpad.engine.errors import TrainpadError
from trainpad.engine.loop_source import loop_lines
from trainpad.engine.message import msg
from trainpad.web.i18n import tr, translate
from trainpad.web.limits import limits
from trainpad.web.loop_view import loop_html, run_facts, step_html
from trainpad.web.messages import UserError
from trainpad.web.plots import Curves
from trainpad.web.render import render
from trainpad.web.runs import RunRecord
from trainpad.web.train_handler import failure_text, planned_spec

if TYPE_CHECKING:
    from trainpad.web.session_run import SessionRun
    from trainpad.web.sessions import Session
    from trainpad.web.train_handler import TrainView, Trainer

#: Where a session keeps its run's loop lines, computed once per run.
LOOP_LINES = "loop_lines"


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

    def loop(self, session_id: str, config: TrainConfig | None = None) -> str:
        """The loop as HTML: the session's run's, with what each line did in its last step, while
        it trains or is stepped; otherwise the loop ``config`` (the form's) would run."""
        session = self.store.get(session_id)
        run = session.run
        facts = run.facts
        going = facts is not None and (run.busy or run.stepped)
        if facts is not None and (going or config is None):  # the run's loop, with its last step
            return loop_html(self._lines(session, run), run.trace, run_facts(run))
        try:
            lines = loop_lines(self.engine, limits().capped(config or TrainConfig()), run_params=self.trainer.run_params)
        except TrainpadError as exc:  # the form holds something a run would refuse: say so where the loop would be
            reason = translate(exc.public_message)
            note = tr("The loop appears once the form holds a run that can start: {reason}", reason=reason)
            return render("loop_note.html", note=note)
        if facts is not None and self._lines(session, run) == lines:  # the form is the last run's: show what it did
            return loop_html(lines, run.trace, run_facts(run))
        return loop_html(lines)

    def _lines(self, session: "Session", run: "SessionRun") -> list[Any]:
        cached = session.data.get(LOOP_LINES)
        if cached is None or cached[0] is not run.record:
            cached = (run.record, loop_lines(self.engine, run.facts.config, run_params=self.trainer.run_params))
            session.data[LOOP_LINES] = cached
        return cached[1]

    # -- Step --------------------------------------------------------------------------------

    def step(self, session_id: str, config: TrainConfig) -> StepView:
        """Train the session's stepped run (building it first, as Start would) on exactly one batch."""
        session = self.store.get(session_id)
        run = session.run
        with run.step_lock:  # two Steps (or a Step and Start) take turns
            with session.lock:
                if run.busy:
                    raise UserError("A run is going in this session: Step takes one batch of a run that is not training. Stop it first.")
                carry = run.stepped and run.step_config == config
            if run.stepped and not carry:  # a stepped run the form no longer describes: kept in the runs table, tested
                self.trainer.end_stepped(session)
            if not carry:  # as Start: settings and components checked, a model over the server's cap refused unbuilt
                self.trainer.check(config)
                self.trainer.check_model_size(config)
            with session.lock:
                if carry:
                    record, spec = run.record, self.trainer.spec(config, state=run.state, steps=1, watch_loop=True)
                else:
                    record = session.runs.add(RunRecord(Curves(epochs=config.epochs), spec=planned_spec(config), outcome="stepping"))
                    session.runs.note = ""
                    spec = self.trainer.spec(config, steps=1, watch_loop=True)
                job = self.trainer.executor.run(spec)
                run.step_begun(record, job, config)
            self.trainer.follow(session, job, record)  # here: the Step answers when its batch is done
            if run.failure is not None and run.record is record:
                raise UserError(failure_text(run.failure))
            detail = run.detail if run.stepped else None
            if detail is None:  # the run had no batch left: it ended, its model kept
                raise UserError(
                    msg(
                        "This run has finished ({reason}): its model is kept as {label} in the runs table. Step again to begin a new run.",
                        reason=msg(run.train_end.message if run.train_end else 'no batch was left'), label=msg(record.label),
                    )
                )
            trace = detail.trace
            record.progress = trace.step / max(run.facts.steps_per_epoch, 1)
            record.say(
                tr("step {step}: loss {before} before the update, {after} after it on the same batch",
                   step=trace.step, before=f"{detail.loss_before:.4f}", after=f"{detail.loss_after:.4f}")
            )  # fmt: skip
            record.status = tr(
                "**Stepped:** step {step} of {steps}. **Step** again, or **Start training** to carry on from here.",
                step=f"{trace.step:,}", steps=f"{run.facts.total_steps:,}",
            )
            session.runs.changed()
        self.store.changed(session)
        dataset = self.engine.component("dataset", run.facts.config.dataset)
        meta = self.engine.dataset_meta(dataset)
        report = step_html(detail, list(dataset.meta["class_names"]), mean=meta["mean"], std=meta["std"])
        return StepView(self.trainer.view(session), self.loop(session_id), report)

    def stop(self, session_id: str) -> "TrainView | None":
        """End the session's stepped run where it is, keeping its model (``None`` if there is none)."""
        session = self.store.get(session_id)
        if not session.run.stepped:
            return None
        self.trainer.end_stepped(session)
        return self.trainer.view(session)


__all__ = ["StepView", "Stepper"]
