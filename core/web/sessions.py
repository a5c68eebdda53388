"""Per-browser-session state for the web app: each session's model, run and results.

Many strangers share one process on a public server, so nothing a user makes lives in
a module global.  A :class:`SessionStore` maps Gradio's ``session_hash`` to a
:class:`Session` holding that user's current model (the shipped one, one they trained,
or one they uploaded), their training run and their last results.

Memory is bounded: the models sessions own are counted against a budget
(``TRAINPAD_SESSION_MEMORY_MB``, default 1024) and the least recently used sessions
are dropped when it is exceeded; sessions idle longer than
``TRAINPAD_SESSION_IDLE_MINUTES`` (default 60) are dropped too, and the app drops a
session when its browser tab closes.  A session that is training is never dropped
for memory or idleness.  A dropped session starts again from the shipped model and
is told why.

Each session also belongs to a client (its address, see :mod:`trainpad.web.clients`):
the sessions of one client may hold ``TRAINPAD_CLIENT_MEMORY_MB`` together, past which
that client's own least recently used sessions go, and when the total budget is
exceeded the client holding the most gives first, so one client cannot push another's
model out.  The number of live sessions is capped too, per client and in all
(:meth:`SessionStore.claim`).  Every session's files live in one folder of the
process, removed by :meth:`SessionStore.close`.
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from trainpad import settings
from trainpad.engine.message import msg
from trainpad.web.messages import UserError
from trainpad.web.runs import Runs
from trainpad.web.session_run import SessionRun

if TYPE_CHECKING:
    from trainpad.engine.evaluation import Evaluation
    from trainpad.engine.trained_model import TrainedModel
    from trainpad.web.runs import RunRecord

log = logging.getLogger("trainpad.sessions")

#: The id used when a handler is called without a Gradio request (tests, scripts).
LOCAL_SESSION = "local"
#: How many dropped session ids are remembered, to tell their users why.
TOMBSTONES = 10_000
#: A session id as Gradio's page (11 characters) and client (a UUID) make them.
SESSION_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class SessionLimit(UserError):
    """A new session was refused: the client, or the server, has as many as it may keep."""


def session_id(request: Any) -> str:
    """The browser session's id (Gradio's ``session_hash``); ``local`` without a request."""
    return getattr(request, "session_hash", None) or LOCAL_SESSION


def model_bytes(model: Any) -> int:
    """Bytes held by a module's parameters and buffers (0 for anything else)."""
    total = 0
    for tensors in (getattr(model, "parameters", None), getattr(model, "buffers", None)):
        if tensors is None:
            continue
        for tensor in tensors():
            total += tensor.numel() * tensor.element_size()
    return total


@dataclass
class Session:
    """One browser session's state.

    :param model: the current model; ``shared`` says it is the process-wide shipped
        model, which sessions only read.
    :param source: where the model came from, for display (``shipped``, ``trained``,
        ``uploaded: name.pt``).
    :param run: its run (:class:`~trainpad.web.session_run.SessionRun`): the one in
        progress, stepped or last ended, with its phase.
    :param evaluation: the last evaluation of the current model.
    :param checkpoint: the last checkpoint written for download.
    :param notice: a message to show once (why the session was reset).
    :param runs: its runs table (:mod:`trainpad.web.runs`): every run it trained, the
        checkpoints it uploaded and the shipped model, each with its model.
    :param client: who made it (an address, see :mod:`trainpad.web.clients`); empty
        when not known (tests, scripts).
    """

    id: str
    model: "TrainedModel | None" = None
    source: str = "none"
    shared: bool = False
    run: SessionRun = field(default_factory=SessionRun)
    evaluation: "Evaluation | None" = None
    checkpoint: Path | None = None
    notice: str | None = None
    runs: Runs = field(default_factory=Runs)
    client: str = ""
    #: what tabs keep for this session (a plugin's state)
    data: dict[str, Any] = field(default_factory=dict)
    #: set once the session is dropped: nothing more is kept for it
    closed: bool = False
    last_seen: float = field(default_factory=time.monotonic)
    #: serialises changes to this session (a run finishing, a model loading)
    lock: threading.RLock = field(default_factory=threading.RLock)
    _folder: Path | None = None
    #: gives the folder its own folder goes in (the store's); the system's temp folder when unset
    _root: "Callable[[], Path] | None" = None

    @property
    def training(self) -> bool:
        """Its run is preparing, training or wrapping up (:attr:`SessionRun.busy`)."""
        return self.run.busy

    @property
    def stopping(self) -> bool:
        """Its run was asked to stop (Stop, or its request cancelled) and is wrapping up: the
        current step, then the test of the model it keeps.  A new run may queue behind it."""
        return self.run.stopping

    def nbytes(self) -> int:
        """The memory this session holds on its own: its models (the shared one not
        counted), the runs table's curves, and a run's training state while it trains (or is stepped)."""
        models = {id(m): m for m in self.runs.models()}
        if self.model is not None and not self.shared:
            models[id(self.model)] = self.model
        total = sum(model_bytes(m.model) for m in models.values()) + self.runs.nbytes()
        run = self.run
        if run.state is not None:  # a stepped run's weights, optimizer state and good copy
            total += run.state.nbytes()
        if run.snapshot is not None:
            total += sum(t.numel() * t.element_size() for t in run.snapshot.model["state_dict"].values())
        if run.busy and run.facts is not None and run.job is not None and run.job.where == "thread":
            # the model being trained here, its gradients and the optimizer's state
            total += 3 * 4 * run.facts.parameters
        return total

    @property
    def keeps_something(self) -> bool:
        """Whether dropping this session would lose something of its user's: a model of its
        own, a run, memory counted against it."""
        return self.training or self.nbytes() > 0

    def folder(self) -> Path:
        """A private temporary folder for this session's files (checkpoints)."""
        if self._folder is None:
            root = self._root() if self._root is not None else None
            self._folder = Path(tempfile.mkdtemp(prefix="trainpad-session-", dir=root))
        return self._folder

    def set_model(self, model: "TrainedModel | None", source: str, *, shared: bool = False) -> None:
        """Make ``model`` the current one; the last evaluation no longer applies."""
        with self.lock:
            self.model, self.source, self.shared = model, source, shared
            self.evaluation = None
            record = self.runs.with_model(model)
            self.runs.current = record.number if record is not None else None
            self.runs.changed()

    def use(self, record: "RunRecord") -> None:
        """Make the model of ``record`` (one of :attr:`runs`) the current one."""
        self.set_model(record.model, record.source, shared=record.shared)

    def describe(self) -> str:
        """One line about the current model, for the tabs."""
        if self.model is None:
            return "No model yet: train one in the Train tab or load a checkpoint there."
        return msg("{model} ({source})", model=self.model.describe(), source=self.source)

    def take_notice(self) -> str | None:
        notice, self.notice = self.notice, None
        return notice

    def close(self) -> None:
        """Stop any run and delete this session's files; a run ending later keeps nothing."""
        self.closed = True
        self.run.ask_stop(now=True)  # nobody is left to see its tests
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None


class SessionStore:
    """Sessions by id, with a memory budget, LRU eviction and an idle timeout.

    :param default_model: returns the model a new session starts with (the shipped
        one, shared read-only) or ``None``; called on each new session, so it should
        cache.
    :param budget_bytes: memory the sessions may hold together before the least
        recently used ones are dropped.  It is re-counted after each change (a model
        loaded, trained or reset): while several are changing at once, the total can
        pass it for a moment by the models not counted yet.
    :param idle_seconds: a session unused this long is dropped.
    :param client_budget_bytes: memory the sessions of one client may hold together.
    :param max_sessions: live sessions in all; ``max_sessions_per_client`` of one client.
    """

    def __init__(
        self,
        default_model: Callable[[], "TrainedModel | None"] = lambda: None,
        *,
        budget_bytes: int = 1024 * 2**20,
        idle_seconds: float = 3600.0,
        client_budget_bytes: int | None = None,
        max_sessions: int | None = None,
        max_sessions_per_client: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.default_model = default_model
        self.budget_bytes = budget_bytes
        self.idle_seconds = idle_seconds
        self.client_budget_bytes = client_budget_bytes
        self.max_sessions = max_sessions
        self.max_sessions_per_client = max_sessions_per_client
        self.clock = clock
        self._root: Path | None = None
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._dropped: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.RLock()
        self._last_sweep = clock()
        #: called with the id of each session dropped, however (Gradio's own state goes with it:
        #: :mod:`trainpad.web.gradio_state`)
        self.on_drop: list[Callable[[str], None]] = []

    @classmethod
    def from_env(cls, default_model: Callable[[], "TrainedModel | None"] = lambda: None) -> "SessionStore":
        """A store sized by ``TRAINPAD_SESSION_MEMORY_MB`` and ``TRAINPAD_SESSION_IDLE_MINUTES``."""
        memory_mb = settings.get("TRAINPAD_SESSION_MEMORY_MB")
        idle_minutes = settings.get("TRAINPAD_SESSION_IDLE_MINUTES")
        return cls(
            default_model,
            budget_bytes=int(memory_mb * 2**20),
            idle_seconds=idle_minutes * 60,
            client_budget_bytes=int(settings.get("TRAINPAD_CLIENT_MEMORY_MB") * 2**20),
            max_sessions=settings.get("TRAINPAD_MAX_SESSIONS"),
            max_sessions_per_client=settings.get("TRAINPAD_MAX_SESSIONS_PER_CLIENT"),
        )

    def get(self, session_id: str | None) -> Session:
        """The session, created with the default model when new; marks it used."""
        session_id = session_id or LOCAL_SESSION
        now = self.clock()
        with self._lock:
            if now - self._last_sweep > min(60.0, self.idle_seconds / 2):
                self.sweep(now)
            session = self._sessions.get(session_id)
            if session is None:
                session = Session(session_id, last_seen=now, _root=lambda: self.root)
                model = self.starting_model()
                if model is not None:
                    session.use(session.runs.shipped(model))
                reason = self._dropped.pop(session_id, None)
                if reason:
                    session.notice = msg("This session was reset ({reason}), so you are back on the shipped model.", reason=msg(reason))
                self._sessions[session_id] = session
            session.last_seen = now
            self._sessions.move_to_end(session_id)
            return session

    @property
    def root(self) -> Path:
        """The folder every session's files go in (one per store, made when first needed,
        removed by :meth:`close`)."""
        with self._lock:
            if self._root is None:
                self._root = Path(tempfile.mkdtemp(prefix="trainpad-"))
            return self._root

    def claim(self, session_id: str, client: str) -> Session:
        """The session ``session_id`` of ``client``, made if new (before its first event is queued).

        A new session must fit: at most ``max_sessions_per_client`` of the client's and
        ``max_sessions`` in all.  When one more would not fit, the least recently used
        session (of that client, or of anyone for the total) that keeps nothing of its
        own (:attr:`Session.keeps_something`) is dropped to make room; when none can be,
        the new one is refused.

        :raises SessionLimit: the id is not one a page makes, or there is no room.
        """
        if not isinstance(session_id, str) or not SESSION_ID.fullmatch(session_id):
            raise SessionLimit("a session id is 1 to 64 letters, digits, '-' or '_'; reload the page")
        with self._lock:
            existing = self._sessions.get(session_id)
            if existing is not None:
                if not existing.client:
                    existing.client = client
                return self.get(session_id)
            cap, total = self.max_sessions_per_client, self.max_sessions
            if cap is not None and not self._make_room([s for s in self._sessions.values() if s.client == client], cap):
                raise SessionLimit(
                    f"this server keeps at most {cap} sessions (tabs) per visitor, and each of yours holds a model "
                    "or a run; close some tabs, or come back when they have been idle for a while"
                )
            if total is not None and not self._make_room(list(self._sessions.values()), total):
                raise SessionLimit(
                    f"this server is full: it keeps at most {total} sessions at once and all of them are in use; "
                    "try again in a few minutes"
                )
            session = self.get(session_id)
            session.client = client
            return session

    def _make_room(self, sessions: list[Session], cap: int) -> bool:
        """Drop the least recently used of ``sessions`` that keep nothing until fewer than ``cap`` remain."""
        spare = [s for s in sessions if not s.keeps_something]  # in LRU order, as the store keeps them
        excess = len(sessions) - cap + 1
        if excess > len(spare):
            return False
        for session in spare[: max(excess, 0)]:
            self._drop(session.id, "it was the oldest of too many open sessions")
        return True

    def starting_model(self) -> "TrainedModel | None":
        """The model a new session starts with (shared, read-only), or ``None``."""
        try:
            return self.default_model()
        except Exception:  # a broken shipped model must not break every session
            log.exception("the shipped model could not be loaded")
            return None

    def changed(self, session: Session) -> list[str]:
        """Re-count memory after ``session`` changed; drop LRU sessions over budget.

        :return: the ids dropped.

        First the client's own budget: past ``client_budget_bytes``, that client's least
        recently used sessions go.  Then the total: past ``budget_bytes``, the client
        holding the most memory gives its least recently used session first, so a client
        cannot push out another's models by loading many of its own.  The session that
        changed and sessions that train are never dropped.
        """
        dropped: list[str] = []
        with self._lock:
            sizes = {s.id: s.nbytes() for s in self._sessions.values()}
            by_client: dict[str, list[Session]] = {}
            for other in self._sessions.values():  # least recently used first
                by_client.setdefault(other.client, []).append(other)

            def drop(other: Session, reason: str) -> None:
                self._drop(other.id, reason)
                by_client[other.client].remove(other)
                dropped.append(other.id)

            mine = by_client.get(session.client, [])
            if self.client_budget_bytes is not None and session.client:
                held = sum(sizes[s.id] for s in mine)
                for other in list(mine):
                    if held <= self.client_budget_bytes:
                        break
                    if other is session or other.training or not sizes[other.id]:
                        continue
                    held -= sizes[other.id]
                    drop(other, f"your sessions held more than the {self.client_budget_bytes / 2**20:.0f} MB one visitor may use")
            total = sum(sizes[s] for s in sizes if s in self._sessions)
            while total > self.budget_bytes:
                candidates = [
                    (sum(sizes[s.id] for s in group), group)
                    for group in by_client.values()
                    if any(s is not session and not s.training and sizes[s.id] for s in group)
                ]
                if not candidates:
                    break
                _, group = max(candidates, key=lambda item: item[0])
                other = next(s for s in group if s is not session and not s.training and sizes[s.id])
                total -= sizes[other.id]
                drop(other, "the server needed its memory for newer sessions")
            if total > self.budget_bytes:
                log.warning("sessions hold %.0f MB, over the %.0f MB budget", total / 2**20, self.budget_bytes / 2**20)
        return dropped

    def sweep(self, now: float | None = None) -> list[str]:
        """Drop sessions idle for longer than the timeout (not those training)."""
        now = self.clock() if now is None else now
        with self._lock:
            self._last_sweep = now
            stale = [
                s.id for s in self._sessions.values() if now - s.last_seen > self.idle_seconds and not s.training
            ]
            for session_id in stale:
                self._drop(session_id, "it was idle for too long")
        return stale

    def drop(self, session_id: str | None) -> None:
        """Forget a session (its tab closed): stop its run and delete its files."""
        with self._lock:
            session = self._sessions.pop(session_id or LOCAL_SESSION, None)
        if session is not None:
            session.close()
            self._dropped_now(session.id)

    def _drop(self, session_id: str, reason: str) -> None:
        session = self._sessions.pop(session_id, None)
        if session is None:
            return
        session.close()
        self._dropped[session_id] = reason
        while len(self._dropped) > TOMBSTONES:
            self._dropped.popitem(last=False)
        log.info("dropped session %s: %s", session_id[:8], reason)
        self._dropped_now(session_id)

    def _dropped_now(self, session_id: str) -> None:
        for callback in self.on_drop:
            try:
                callback(session_id)
            except Exception:  # a listener's bug must not keep a session, or stop the others
                log.exception("a listener of dropped sessions failed")

    def sessions(self) -> list[Session]:
        """The live sessions, least recently used first."""
        with self._lock:
            return list(self._sessions.values())

    def total_bytes(self) -> int:
        with self._lock:
            return sum(s.nbytes() for s in self._sessions.values())

    def __len__(self) -> int:
        return len(self._sessions)

    def __contains__(self, session_id: object) -> bool:
        return session_id in self._sessions

    def close(self) -> None:
        """Drop every session and delete their folder (the server is shutting down)."""
        with self._lock:
            ids = list(self._sessions)
        for session_id in ids:
            self.drop(session_id)
        with self._lock:
            root, self._root = self._root, None
        if root is not None:
            shutil.rmtree(root, ignore_errors=True)
