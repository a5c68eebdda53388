"""A session's run, as one object with named phases: what Train, Step, Stop and the runs
table ask and change, and nothing else.

A run of the web app is a job (:mod:`trainpad.engine.job`) that runs wherever the server
puts it (:mod:`trainpad.runtime.executors`); its events are the only thing the web layer
sees of it.  :class:`SessionRun` keeps what a session needs to know about its run between
requests, and moves it through its phases::

    idle ──Start──> waiting ──its turn──> preparing ──data in──> training ──end──> done
      │               │  (a slot, or the      │                      │
      │               │   stopped run's end)  └───────Stop──────> stopping ──end──┘
      └──Step──> stepping ──Start──> preparing ...        (Stop, or the form changed:
                    └──────────────Stop──────> stopping     the stepped run ends where it is)

Each transition is a method named for what happened (:meth:`queue`, :meth:`prepare`,
:meth:`train`, :meth:`step_taken`, :meth:`ask_stop`, :meth:`finish`...); one that the phase
does not allow is a bug and raises.  Every change wakes whoever waits on the run
(:meth:`wait_change`): the page's updates, a Stop waiting for the run to wrap up.
"""

from __future__ import annotations

import enum
import threading
import time
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from trainpad.engine.config import TrainConfig
    from trainpad.engine.events import EpochEnd, JobEnd, JobFailed, LoopTrace, RunStarted, Snapshot, StepDetail, StepEnd, TrainEnd
    from trainpad.engine.run_state import RunState
    from trainpad.runtime.executors import JobHandle
    from trainpad.web.runs import RunRecord


class Phase(str, enum.Enum):
    """Where a session's run is."""

    IDLE = "idle"  #: no run yet
    WAITING = "waiting"  #: Start was pressed; the run waits for its turn (a slot, the stopped run's end)
    PREPARING = "preparing"  #: its job loads the data and builds the model
    TRAINING = "training"  #: its job trains
    STEPPING = "stepping"  #: a run taken one Step at a time, between two Steps (or in one)
    STOPPING = "stopping"  #: asked to stop: its last step, then the test of the model it keeps
    DONE = "done"  #: it ended; its row in the runs table says how


#: The phases each phase may go to.
TRANSITIONS: dict[Phase, frozenset[Phase]] = {
    Phase.IDLE: frozenset({Phase.WAITING, Phase.PREPARING, Phase.STEPPING}),
    Phase.WAITING: frozenset({Phase.PREPARING, Phase.IDLE, Phase.DONE, Phase.STEPPING}),
    Phase.PREPARING: frozenset({Phase.TRAINING, Phase.STOPPING, Phase.DONE}),
    Phase.TRAINING: frozenset({Phase.STOPPING, Phase.DONE}),
    Phase.STEPPING: frozenset({Phase.STEPPING, Phase.PREPARING, Phase.STOPPING, Phase.DONE}),
    Phase.STOPPING: frozenset({Phase.DONE}),
    Phase.DONE: frozenset({Phase.WAITING, Phase.PREPARING, Phase.STEPPING}),
}
#: The phases in which the session's run holds the server's attention: no second run, no other model.
BUSY = frozenset({Phase.PREPARING, Phase.TRAINING, Phase.STOPPING})


class IllegalTransition(RuntimeError):
    """A run was asked to go where its phase does not lead (a bug, never a user's doing)."""


class SessionRun:
    """One session's run: its phase, its row in the runs table, its job, and what the job
    last reported (see the module).

    Thread-safe: the job's events arrive in one thread while requests read in others.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.phase = Phase.IDLE
        self._cond = threading.Condition(threading.RLock())
        #: bumped at every change (a view compares it to what it last showed)
        self.version = 0
        #: the run's row in the runs table (``None`` before the first run)
        self.record: RunRecord | None = None
        #: the job running it now (``None`` between Steps, and when done)
        self.job: JobHandle | None = None
        #: what the job said the run is; its last step, loop trace and weights
        self.facts: RunStarted | None = None
        self.last_step: StepEnd | None = None
        self.trace: LoopTrace | None = None
        self.snapshot: Snapshot | None = None
        #: what the job said while preparing ("Downloading MNIST…"); its last epoch's end
        self.said = ""
        self.last_epoch: EpochEnd | None = None
        #: what the last Step did, in detail
        self.detail: StepDetail | None = None
        #: a stepped run: where it is, and the form's config it was built from
        self.state: RunState | None = None
        self.step_config: TrainConfig | None = None
        #: when Start was pressed, while it waits (``WAITING``); where it was before
        self.queued_at: float | None = None
        #: Stop came while a Start waited: its request ends without a run when its turn comes
        self.withdrawn = False
        self._before_queue = Phase.IDLE
        #: a new run waits for this one's wrap-up (one at a time)
        self.successor_waiting = False
        #: how the job ended
        self.end: JobEnd | None = None
        self.failure: JobFailed | None = None
        #: the run stopped at the server's time limit
        self.timed_out = False
        #: held while a Step's job runs: another Step, or a Start, waits for it (a batch)
        self.step_lock = threading.Lock()

    # -- reading ---------------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """A run is preparing, training or winding down: no second run, no other model."""
        return self.phase in BUSY

    @property
    def stopping(self) -> bool:
        return self.phase is Phase.STOPPING

    @property
    def stepped(self) -> bool:
        """A run taken by Steps waits for the next one (or Start)."""
        return self.phase is Phase.STEPPING and self.state is not None and self.job is None

    def queued(self, max_age: float) -> bool:
        """Start was pressed less than ``max_age`` seconds ago and its run has not begun."""
        return self.queued_at is not None and self.clock() - self.queued_at < max_age

    def wait_change(self, since: int, timeout: float) -> int:
        """Wait up to ``timeout`` s for a change after version ``since``; the version now."""
        with self._cond:
            self._cond.wait_for(lambda: self.version != since, timeout=timeout)
            return self.version

    def wait_for(self, condition: Callable[["SessionRun"], bool], timeout: float) -> bool:
        """Wait up to ``timeout`` s until ``condition(self)``; whether it holds."""
        with self._cond:
            return self._cond.wait_for(lambda: condition(self), timeout=timeout)

    # -- transitions ---------------------------------------------------------------------------

    def _go(self, to: Phase) -> None:
        if to not in TRANSITIONS[self.phase]:
            raise IllegalTransition(f"a run cannot go from {self.phase.value} to {to.value}")
        self.phase = to
        self.changed()

    def changed(self) -> None:
        """Something the page shows changed (an event was applied): wake the waiters."""
        with self._cond:
            self.version += 1
            self._cond.notify_all()

    def queue(self) -> None:
        """Start was pressed: the run waits in the queue for its turn.  (A stepped run, or
        a stopped one wrapping up, stays where it is meanwhile: Start carries it on, or
        waits for it.)"""
        with self._cond:
            if self.phase in (Phase.IDLE, Phase.DONE):
                self._before_queue = self.phase
                self._go(Phase.WAITING)
            self.queued_at = self.clock()
            self.withdrawn = False

    def unqueue(self, *, withdraw: bool = False) -> None:
        """The Start waiting in the queue was cancelled, or refused before its run began;
        with ``withdraw`` (Stop), its request, when it comes, ends without a run."""
        with self._cond:
            self.withdrawn = withdraw and self.queued_at is not None
            self.queued_at = None
            if self.phase is Phase.WAITING:
                self._go(self._before_queue if self._before_queue in TRANSITIONS[Phase.WAITING] else Phase.IDLE)

    def prepare(self, record: "RunRecord", job: "JobHandle") -> None:
        """A run's job has started (Start); ``record`` is its row in the runs table."""
        with self._cond:
            self._go(Phase.PREPARING)
            self._new_run(record, job)

    def step_begun(self, record: "RunRecord", job: "JobHandle", config: "TrainConfig") -> None:
        """A Step's job has started; a new stepped run when ``record`` is new."""
        with self._cond:
            if self.phase is not Phase.STEPPING or self.record is not record:
                self._go(Phase.STEPPING)
                self._new_run(record, job)
                self.step_config = config
            self.job = job

    def take_withdrawal(self) -> bool:
        """Whether the Start now beginning was withdrawn by Stop (answered once)."""
        with self._cond:
            withdrawn, self.withdrawn = self.withdrawn, False
            return withdrawn

    def _new_run(self, record: "RunRecord", job: "JobHandle") -> None:
        self.record, self.job = record, job
        self.facts = self.last_step = self.trace = self.snapshot = self.last_epoch = self.detail = None
        self.end = self.failure = None
        self.state = self.step_config = None
        self.said = ""
        self.queued_at = None
        self.timed_out = False

    def carry_on(self, job: "JobHandle") -> None:
        """Start carries the stepped run on: its job has started from the run's state."""
        with self._cond:
            self._go(Phase.PREPARING)
            self.job, self.state, self.queued_at = job, None, None
            self.end = self.failure = None

    def train(self, facts: "RunStarted") -> None:
        """The job's run is built and trains."""
        with self._cond:
            self.facts = facts
            if self.phase is Phase.PREPARING:
                self._go(Phase.TRAINING)
            else:
                self.changed()

    def step_taken(self, state: "RunState") -> None:
        """A Step's job ended with the run's state: the run waits for the next Step or Start."""
        with self._cond:
            self.state, self.job = state, None
            self._go(Phase.STEPPING)

    def ask_stop(self, *, now: bool = False) -> bool:
        """Stop: the job ends after its current step, keeping its model.  Whether there was
        a running job to stop."""
        with self._cond:
            if self.phase in (Phase.PREPARING, Phase.TRAINING):
                self._go(Phase.STOPPING)
            job = self.job
        if job is None:
            return False
        job.stop(now=now)
        return True

    def wind_down(self, job: "JobHandle") -> None:
        """A stepped run ends where it is (Stop, or a form that no longer describes it): its
        job tests the model it keeps."""
        with self._cond:
            self._go(Phase.STOPPING)
            self.job, self.state = job, None

    def finish(self, end: "JobEnd | None" = None, failure: "JobFailed | None" = None) -> None:
        """The run's job ended (``end``), or failed (``failure``)."""
        with self._cond:
            self.end, self.failure, self.job = end, failure, None
            self.state = None
            self._go(Phase.DONE)

    @property
    def train_end(self) -> "TrainEnd | None":
        """How the last run ended (``None`` if it failed, or has not ended)."""
        return self.end.end if self.end is not None else None


__all__ = ["BUSY", "IllegalTransition", "Phase", "SessionRun", "TRANSITIONS"]
