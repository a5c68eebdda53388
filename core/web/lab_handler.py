"""The Lab tab's work, apart from its layout: experiments run for a browser session, as page updates.

:meth:`LabRunner.run` checks what the page sent (any client can send anything), takes one
of the server's training slots as a training run does (:class:`trainpad.web.limits.TrainingSlots`,
saying so while it waits), and runs the experiment as a job (a
:class:`~trainpad.engine.job.LabSpec`: plain data in, the experiment's events out) where the
server runs jobs (:mod:`trainpad.web.jobs`: a thread, a process of its own; a thread on a
ZeroGPU Space); the slot is given back when the job ends.  The page is updated from the
events a few times a second; the job ends at ``TRAINPAD_MAX_LAB_SECONDS`` whatever the page
does, so a tab that closed, or a client that stopped reading, holds a slot no longer than that.

What one client may ask: one experiment at a time per session, and no more going at once
than ``TRAINPAD_MAX_RUNS_PER_CLIENT`` per visitor; every value is checked against the
experiment's hyperparameters before anything is loaded.

:meth:`LabRunner.conv` is the ``conv`` experiment: the session's model's first convolution
slid over the learner's drawing, computed at once like a prediction (one convolution of one
picture), without a training slot.  Free of Gradio, so tests call it directly.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from trainpad.engine.errors import shown
from trainpad.engine.events import JobFailed, LabEnd, Preparing
from trainpad.engine.job import LabSpec
from trainpad.engine.lab.kit import LabArm, LabResult
from trainpad.engine.lab.runner import LabRequest, checked, result_of
from trainpad.engine.message import msg
from trainpad.runtime.memory import release_memory
from trainpad.web.export_handler import save_script
from trainpad.web.i18n import translate
from trainpad.web.jobs import make_job_executor
from trainpad.web.limits import TrainingSlots, limits
from trainpad.web.messages import UserError, user_errors

if TYPE_CHECKING:
    from trainpad.engine.engine import Engine
    from trainpad.engine.lab.experiment import Experiment
    from trainpad.engine.lab.runner import LabRequest
    from trainpad.runtime.executors import JobHandle
    from trainpad.web.export_handler import ScriptFile
    from trainpad.web.limits import TrainingSlots
    from trainpad.web.sessions import SessionStore

#: Seconds between two updates of the page while an experiment runs.
UPDATE_EVERY = 0.3
#: The experiment with its own view: a filter sliding over a drawing.
CONV = "conv"
#: ``conv``'s picture when the slider moves: the one shown last.
SAME = object()
#: The most hyperparameters a request may name (an experiment has a few).
MAX_PARAMS = 32
WAITING = "**Waiting for a free training slot:** another run is training; the experiment starts as soon as it ends…"
#: What the page says before anything ran.
PRESS_RUN = "Press **Run the experiment**: both versions run side by side, and what they measured appears below."


@dataclass
class LabView:
    """What the Lab tab shows at one moment of a run.

    :param status: a line of Markdown: waiting, loading, which arm is at which step.
    :param result: the finding, the curves and the figures as HTML (the curves so far while it runs).
    :param fraction: how far the current arm is (0 to 1), or ``None``.
    """

    status: str
    result: str = ""
    fraction: float | None = None
    desc: str = ""


@dataclass
class ConvView:
    """What the ``conv`` view shows: the picture, the filter, the sum, the feature map.

    :param positions: how many positions the filter takes (for the slider); ``position`` the one shown.
    """

    html: str
    finding: str
    positions: int
    position: int
    filters: int


@dataclass
class _Progress:
    """The curves of a run's arms so far, from its progress events."""

    curves: dict[str, dict[str, list[float]]] = field(default_factory=dict)

    def add(self, event: Any) -> None:
        arm = self.curves.setdefault(event.arm, {})
        for name, value in event.values.items():
            arm.setdefault(name, []).append(float(value))

    def html(self) -> str:
        from trainpad.web.lab_html import result_html

        arms = tuple(LabArm(label, label, {}, curves) for label, curves in self.curves.items() if curves)
        return result_html(LabResult(arms, "")) if arms else ""


log = logging.getLogger("trainpad.web")


def _release_when_ended(handle: "JobHandle", release: Callable[[], None]) -> None:
    """Give the training slot back once ``handle``'s job has ended, however it ends."""
    def wait() -> None:
        handle.wait()
        release()
        release_memory()

    threading.Thread(target=wait, name="trainpad-lab-slot", daemon=True).start()


class LabRunner:
    """The Lab tab's handlers, bound to an engine and a session store."""

    def __init__(
        self,
        engine: "Engine",
        store: "SessionStore",
        *,
        data_dir: Path | str | None = None,
        executor: Any = None,
        slots: "TrainingSlots | None" = None,
        update_every: float = UPDATE_EVERY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:

        self.engine = engine
        self.executor = executor if executor is not None else make_job_executor(engine)
        #: the server's training slots, shared with the Train tab's runs (by default its own)
        self.slots = slots if slots is not None else TrainingSlots()
        self.store = store
        self.data_dir = data_dir
        self.update_every = update_every
        self.clock = clock
        self.experiments: dict[str, "Experiment"] = {e.name: e for e in engine.experiments()}
        #: session id -> its client, for every experiment going (waiting for a slot or running)
        self._going: dict[str, str] = {}
        self._lock = threading.Lock()

    # -- what there is ------------------------------------------------------------------

    def choices(self) -> list[tuple[str, str]]:
        """``(label, name)`` for the experiments' menu: each one's line of the loop."""
        return [(f"{e.title}", e.name) for e in self.experiments.values()]

    def experiment(self, name: Any) -> "Experiment":
        """The experiment ``name`` names, or a :class:`UserError` saying which there are."""
        if not isinstance(name, str) or name not in self.experiments:
            raise UserError(msg("There is no experiment {name}: choose one of {names}.", name=shown(name), names=', '.join(self.experiments)))
        return self.experiments[name]

    # -- running one ---------------------------------------------------------------------

    def request(self, name: Any, dataset: Any, params: Any) -> "LabRequest":
        """What the form sent, as a request to check: an experiment on data, a dataset's name,
        hyperparameters by name."""
        experiment = self.experiment(name)
        if experiment.needs != "data":
            raise UserError(msg("The {name} experiment runs on a drawing: use its own controls.", name=experiment.name))
        if not isinstance(dataset, str) or not dataset.strip():
            raise UserError(msg("Choose the dataset from the list (got {value}).", value=shown(dataset)))
        if not isinstance(params, dict) or len(params) > MAX_PARAMS or not all(isinstance(k, str) for k in params):
            raise UserError(msg("The experiment's hyperparameters are given by name, at most {count} of them.", count=MAX_PARAMS))
        return LabRequest(experiment.name, dataset, dict(params))

    def run(self, session_id: str, name: Any, dataset: Any, params: Any) -> Iterator[LabView]:
        """Run an experiment for the session and yield what the page shows, a few times a second.

        Everything sent is checked first (nothing waits or loads for a request that would be
        refused); then the experiment waits for a training slot, saying so, and runs as a
        job (see the module).

        :raises UserError: what was wrong, or why it stopped.
        """
        request = self.request(name, dataset, params)
        with user_errors("Checking the experiment"):
            checked(self.engine, request)
            self.engine.component("dataset", request.dataset)
        session = self.store.get(session_id)
        self._claim(session_id, session.client)
        try:
            yield from self._slot_and_run(request)
        finally:
            with self._lock:
                self._going.pop(session_id, None)

    def _claim(self, session_id: str, client: str) -> None:
        cap = limits().max_runs_per_client
        with self._lock:
            if session_id in self._going:
                raise UserError("An experiment is already going in this session: wait for it to end.")
            mine = sum(1 for other in self._going.values() if client and other == client)
            if mine >= cap:
                raise UserError(
                    msg(
                        "You already have {count} experiment(s) going, the most one visitor may have (TRAINPAD_MAX_RUNS_PER_CLIENT); wait for one"
                        " to end.",
                        count=mine,
                    )
                )
            self._going[session_id] = client

    def _slot_and_run(self, request: "LabRequest") -> Iterator[LabView]:
        from trainpad.web.lab_html import result_html
        from trainpad.web.train_handler import failure_text

        while not self.slots.acquire(timeout=0.5):  # a training slot, as every run takes one
            yield LabView(WAITING)
        server = limits()
        data_dir = str(self.data_dir) if self.data_dir is not None else None
        try:
            job = self.executor.lab(LabSpec(request, data_dir, server.max_lab_seconds))
        except BaseException:
            self.slots.release()
            raise
        _release_when_ended(job, self.slots.release)
        progress, status, fraction, started, shown = _Progress(), "**Loading the samples…**", 0.0, self.clock(), 0.0
        try:
            yield LabView(status, fraction=0.0, desc="loading the samples")
            while not job.done:
                event = job.get(timeout=max(self.update_every, 0.05))
                if isinstance(event, JobFailed):
                    if not event.expected:
                        log.error("a Lab experiment failed: %s\n%s", event.message, event.traceback)
                    raise UserError(failure_text(event, "experiment"))
                if isinstance(event, LabEnd):
                    if event.result is not None:
                        yield LabView(msg("**Done** in {seconds} s.", seconds=f"{self.clock() - started:.1f}"), result_html(event.result))
                        return
                    if event.timed_out:
                        raise UserError(
                            msg(
                                "The experiment was still running after {seconds} s, this server's limit (TRAINPAD_MAX_LAB_SECONDS), so it stopped.",
                                seconds=f"{server.max_lab_seconds:g}",
                            )
                        )
                    return
                if isinstance(event, Preparing):
                    status = msg("**Loading the samples:** {said}", said=msg(event.text))
                elif event is not None:
                    progress.add(event)
                    fraction = event.done / event.total if event.total > 0 else None
                    status = msg("**{arm}:** {done} of {total}", arm=msg(event.arm), done=f"{event.done:,}", total=f"{event.total:,}")
                if event is not None and self.clock() - shown >= self.update_every:  # news, and not too often
                    shown = self.clock()
                    yield LabView(status, progress.html(), fraction, desc=request.experiment)
        finally:
            job.stop()  # cancelled, or the page went away: the job ends at its next event

    # -- the convolution on a drawing -----------------------------------------------------

    def conv(
        self, session_id: str, sketch: Any = SAME, *, filter: Any = 0, stride: Any = 1, padding: Any = 1, position: Any = 0, move: int = 0
    ) -> ConvView:
        """The ``conv`` experiment on the session's model and a drawing: ``sketch`` is the sketch
        pad's value (``None``, a cleared pad: a test picture of the model's dataset), or
        :data:`SAME` for the picture shown last (the slider moved, not the drawing).

        :param move: steps to move the filter from ``position`` (Step: 1, back: -1), within the picture.

        :raises UserError: no model, a model without a convolution, a value out of range.
        """
        from trainpad.web.lab_html import conv_html
        from trainpad.web.sketch import read_sketch

        experiment = self.experiment(CONV)
        session = self.store.get(session_id)
        if move and isinstance(position, (int, float)) and not isinstance(position, bool) and position == position:
            position = max(int(position) + move, 0)
        request = LabRequest(experiment.name, params={"filter": filter, "stride": stride, "padding": padding, "position": position})
        shown_last = session.data.get("lab-conv")  # (the model it was for, what it prepared)
        with user_errors("Sliding the filter"):
            if sketch is SAME and shown_last is not None and shown_last[0]() is session.model:
                _, params, _ = checked(self.engine, request)
                prepared = dataclasses.replace(shown_last[1], params=params)  # the same picture and filter bank
            else:
                picture = None if sketch is SAME else read_sketch(sketch, max_layers=limits().max_sketch_layers)
                prepared = self.engine.prepare_experiment(request, data_dir=self.data_dir, picture=picture, trained=session.model)
            result = result_of(prepared)
        session.data["lab-conv"] = (weakref.ref(session.model), prepared)  # a few kB: the picture and the first layer
        figures = result.figures
        finding = translate(result.finding)
        return ConvView(conv_html(figures), finding, figures["positions"], figures["position"], figures["filters"])

    # -- as a script ---------------------------------------------------------------------------

    def export(self, session_id: str, name: Any, dataset: Any, params: Any) -> "ScriptFile":
        """Write an experiment as a standalone script in the session's folder (the ``conv``
        experiment as it was shown last, with its drawing and its model's weights)."""
        experiment = self.experiment(name)
        if experiment.needs == "data":
            request = self.request(name, dataset, params)
            with user_errors("Writing the script"):
                prepared = self.engine.prepare_experiment(request, samples=False)
        else:
            shown_last = self.store.get(session_id).data.get("lab-conv")
            if shown_last is None or shown_last[1].experiment.name != experiment.name:
                raise UserError("Slide the filter over a drawing first: the script takes the drawing and the filter shown.")
            prepared = shown_last[1]
        with user_errors("Writing the script"):
            exported = self.engine.export_experiment(prepared)
        return save_script(self.store, session_id, exported, msg(
            "python {file} runs this experiment with torch and torchvision alone.",
            file=exported.filename,
        ))


__all__ = ["LabRunner", "LabView", "ConvView", "UPDATE_EVERY", "CONV", "SAME", "PRESS_RUN"]
