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
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from trainpad.engine.engine import Engine
    from trainpad.engine.evaluation import Evaluation
    from trainpad.engine.events import TrainEnd
    from trainpad.engine.trained_model import TrainedModel
    from trainpad.engine.training import TrainingRun

log = logging.getLogger("trainpad.sessions")

#: The id used when a handler is called without a Gradio request (tests, scripts).
LOCAL_SESSION = "local"
#: How many dropped session ids are remembered, to tell their users why.
TOMBSTONES = 10_000


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
    :param run: the training run in progress or last finished.
    :param result: how the last run ended.
    :param evaluation: the last evaluation of the current model.
    :param checkpoint: the last checkpoint written for download.
    :param notice: a message to show once (why the session was reset).
    """

    id: str
    model: "TrainedModel | None" = None
    source: str = "none"
    shared: bool = False
    run: "TrainingRun | None" = None
    result: "TrainEnd | None" = None
    evaluation: "Evaluation | None" = None
    checkpoint: Path | None = None
    notice: str | None = None
    #: what tabs keep for this session (the Train tab's curves and log, a plugin's state)
    data: dict[str, Any] = field(default_factory=dict)
    #: set once the session is dropped: nothing more is kept for it
    closed: bool = False
    last_seen: float = field(default_factory=time.monotonic)
    #: set while no run is active; a Stop handler waits on it
    idle: threading.Event = field(default_factory=threading.Event)
    #: serialises changes to this session (a run finishing, a model loading)
    lock: threading.RLock = field(default_factory=threading.RLock)
    _folder: Path | None = None

    def __post_init__(self) -> None:
        self.idle.set()

    @property
    def training(self) -> bool:
        return not self.idle.is_set()

    def nbytes(self) -> int:
        """The memory this session holds on its own (the shared model is not counted)."""
        total = 0 if self.shared or self.model is None else model_bytes(self.model.model)
        if self.run is not None and (self.training or (self.run.started and not self.run.finished)):
            # the model being trained (or stepped), its gradients and the optimizer's state
            total += 3 * model_bytes(self.run.model)
        return total

    def folder(self) -> Path:
        """A private temporary folder for this session's files (checkpoints)."""
        if self._folder is None:
            self._folder = Path(tempfile.mkdtemp(prefix="trainpad-session-"))
        return self._folder

    def set_model(self, model: "TrainedModel | None", source: str, *, shared: bool = False) -> None:
        """Make ``model`` the current one; the last evaluation no longer applies."""
        with self.lock:
            self.model, self.source, self.shared = model, source, shared
            self.evaluation = None

    def describe(self) -> str:
        """One line about the current model, for the tabs."""
        if self.model is None:
            return "No model yet: train one in the Train tab or load a checkpoint there."
        return f"{self.model.describe()} ({self.source})"

    def take_notice(self) -> str | None:
        notice, self.notice = self.notice, None
        return notice

    def close(self) -> None:
        """Stop any run and delete this session's files; a run ending later keeps nothing."""
        self.closed = True
        if self.run is not None:
            self.run.stop()
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
    """

    def __init__(
        self,
        default_model: Callable[[], "TrainedModel | None"] = lambda: None,
        *,
        budget_bytes: int = 1024 * 2**20,
        idle_seconds: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.default_model = default_model
        self.budget_bytes = budget_bytes
        self.idle_seconds = idle_seconds
        self.clock = clock
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._dropped: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.RLock()
        self._last_sweep = clock()

    @classmethod
    def from_env(cls, default_model: Callable[[], "TrainedModel | None"] = lambda: None) -> "SessionStore":
        """A store sized by ``TRAINPAD_SESSION_MEMORY_MB`` and ``TRAINPAD_SESSION_IDLE_MINUTES``."""
        from trainpad import settings

        memory_mb = settings.get("TRAINPAD_SESSION_MEMORY_MB")
        idle_minutes = settings.get("TRAINPAD_SESSION_IDLE_MINUTES")
        return cls(default_model, budget_bytes=int(memory_mb * 2**20), idle_seconds=idle_minutes * 60)

    def get(self, session_id: str | None) -> Session:
        """The session, created with the default model when new; marks it used."""
        session_id = session_id or LOCAL_SESSION
        now = self.clock()
        with self._lock:
            if now - self._last_sweep > min(60.0, self.idle_seconds / 2):
                self.sweep(now)
            session = self._sessions.get(session_id)
            if session is None:
                session = Session(session_id, last_seen=now)
                model = self.starting_model()
                if model is not None:
                    session.set_model(model, "shipped", shared=True)
                reason = self._dropped.pop(session_id, None)
                if reason:
                    session.notice = f"This session was reset ({reason}), so you are back on the shipped model."
                self._sessions[session_id] = session
            session.last_seen = now
            self._sessions.move_to_end(session_id)
            return session

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
        """
        dropped = []
        with self._lock:
            total = self.total_bytes()
            for other in list(self._sessions.values()):
                if total <= self.budget_bytes:
                    break
                if other is session or other.training:
                    continue
                total -= other.nbytes()
                self._drop(other.id, "the server needed its memory for newer sessions")
                dropped.append(other.id)
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

    def _drop(self, session_id: str, reason: str) -> None:
        session = self._sessions.pop(session_id, None)
        if session is None:
            return
        session.close()
        self._dropped[session_id] = reason
        while len(self._dropped) > TOMBSTONES:
            self._dropped.popitem(last=False)
        log.info("dropped session %s: %s", session_id[:8], reason)

    def total_bytes(self) -> int:
        with self._lock:
            return sum(s.nbytes() for s in self._sessions.values())

    def __len__(self) -> int:
        return len(self._sessions)

    def __contains__(self, session_id: object) -> bool:
        return session_id in self._sessions

    def close(self) -> None:
        """Drop every session (the server is shutting down)."""
        with self._lock:
            ids = list(self._sessions)
        for session_id in ids:
            self.drop(session_id)


_STORES: "weakref.WeakKeyDictionary[Engine, SessionStore]" = weakref.WeakKeyDictionary()


def attach_store(engine: "Engine", store: SessionStore) -> SessionStore:
    """Make ``store`` the one that :func:`store_for` returns for ``engine``."""
    _STORES[engine] = store
    return store


def store_for(engine: "Engine") -> SessionStore:
    """The session store of the app built on ``engine`` (tabs, built-in or not, use it).

    One is created from the environment, starting sessions on the shipped model, if
    the app did not attach one.
    """
    store = _STORES.get(engine)
    if store is None:
        from trainpad.web.shipped_model import shipped_loader

        store = attach_store(engine, SessionStore.from_env(shipped_loader(engine)))
    return store
