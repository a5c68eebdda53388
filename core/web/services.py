"""What the tabs of one web app share, made once by :func:`~trainpad.web.app.build_app`.

An :class:`App` holds the engine and the services built on it: the session store, who is
connected, the watch that stops runs nobody reads any more, where jobs run, and the
server's training slots.  ``build_app`` hands it to each tab's builder that asks for it by
name (``build(app)``; a builder that takes ``engine`` is given the engine, as before), and
each tab hands its handlers what they use.  Nothing is found by a lookup on the engine, and
two apps in one process (as tests build them) share nothing.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from trainpad.web.guard import Presence
from trainpad.web.jobs import make_job_executor
from trainpad.web.limits import TrainingSlots, limits
from trainpad.web.run_watch import RunWatch
from trainpad.web.sessions import Session, SessionStore, session_id
from trainpad.web.shipped_model import shipped_loader

if TYPE_CHECKING:
    from trainpad.engine.engine import Engine


@dataclass
class App:
    """One web app's engine and services (see the module's docs).

    :param store: every visitor's session: their models, runs and files
    :param presence: the connections of each session (the request guard keeps it)
    :param watch: notices a run whose page has gone, and stops it
    :param executor: where runs, evaluations and experiments run (``TRAINPAD_RUN_IN``)
    :param slots: the runs that may train at once (``TRAINPAD_MAX_TRAINING_RUNS``), shared by
        the Train tab and the Lab
    """

    engine: "Engine"
    store: SessionStore
    executor: Any
    presence: Presence = field(default_factory=Presence)
    slots: TrainingSlots = field(default_factory=TrainingSlots)
    watch: RunWatch = field(init=False)

    def __post_init__(self) -> None:
        self.watch = RunWatch(self.presence, lambda: limits().client_gone_seconds)

    @classmethod
    def create(cls, engine: "Engine", *, store: SessionStore | None = None) -> "App":
        """The app for ``engine``, its services made as the environment says."""
        return cls(engine, store if store is not None else SessionStore.from_env(shipped_loader(engine)), make_job_executor(engine))

    def build_tab(self, build: Callable[..., Any]) -> Any:
        """Call a tab's ``build`` with what it asks for by name: ``app``, ``engine``, or both
        (a builder whose one parameter has another name is given the engine, as before)."""
        offered = {"app": self, "engine": self.engine}
        try:
            names = list(inspect.signature(build).parameters)
        except (TypeError, ValueError):  # a callable without a signature
            names = []
        asked = {name: offered[name] for name in names if name in offered}
        return build(**asked) if asked else build(self.engine)

    def session(self, request: Any) -> Session:
        """The session of the browser that sent ``request`` (a ``gr.Request``): its model in use
        (``.model``), its runs; made, on the shipped model, when new."""
        return self.store.get(session_id(request))

    def close(self) -> None:
        """End what the executor keeps waiting (a started process), and delete every session's files."""
        self.executor.close()
        self.store.close()


__all__ = ["App"]
