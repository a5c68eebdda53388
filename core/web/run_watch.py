"""Runs whose client has gone: noticed within seconds, stopped, their training slot freed.

A run trains inside its event's generator, one step per ``next()``, so it trains only
while Gradio pulls updates from it and holds its training slot until the generator
ends.  A client can leave in ways Gradio does not end the generator for: it joins the
queue and never opens the event stream nor the heartbeat (Gradio then keeps pulling,
and the run trains for nobody until ``TRAINPAD_MAX_RUN_SECONDS``), or its stream drops
(Gradio stops pulling but keeps the generator, suspended, slot and all).

:class:`RunWatch` checks every second each run it was given (:meth:`RunWatch.ticket`):
a run is abandoned when its session has had no event stream open
(:class:`~trainpad.web.guard.Presence`) for ``TRAINPAD_CLIENT_GONE_SECONDS``, when
nobody has pulled from its generator for :data:`UNREAD_SECONDS`, or when more than
:data:`MAX_BACKLOG` of its updates wait to be sent (a stream opened and never read).  It then asks the run to
stop and closes the generator if it is suspended, which runs the handler's ``finally``:
the model trained so far is kept and the slot is released.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable

from trainpad.web.guard import Presence

log = logging.getLogger("trainpad.web")

#: A generator not pulled from for this long has no reader (Gradio pulls at once).
UNREAD_SECONDS = 30.0
#: Updates waiting to be sent to a session before its reader counts as gone (30 s of them):
#: a client may open the event stream and never read it.
MAX_BACKLOG = 100
#: How often the runs are looked at.
INTERVAL = 1.0


@dataclass(eq=False)
class Ticket:
    """One watched run: its session, its generator and what it is doing.

    The generator is held weakly: when Gradio drops it (a cancelled event, a closed
    stream), it must be collected and closed at once, as if it were not watched.
    """

    session_id: str
    started: float
    _generator: Any = None
    run: Any = None
    #: when the generator last handed out an update and waits to be pulled again (``None``: running)
    waiting_since: float | None = None
    abandoned: str | None = None
    done: bool = False
    watch: "RunWatch | None" = field(default=None, repr=False)

    @property
    def generator(self) -> Any:
        return self._generator() if self._generator is not None else None

    @generator.setter
    def generator(self, generator: Any) -> None:
        self._generator = weakref.ref(generator) if generator is not None else None

    def yielded(self) -> None:
        self.waiting_since = self.watch.clock() if self.watch else None

    def resumed(self) -> None:
        self.waiting_since = None

    def finish(self) -> None:
        self.done = True


class RunWatch:
    """Stops runs whose client is gone (see the module).

    :param grace: seconds without any connection before a run is abandoned (read at
        each check: ``TRAINPAD_CLIENT_GONE_SECONDS``).
    """

    def __init__(
        self,
        presence: Presence,
        grace: Callable[[], float],
        *,
        unread_seconds: float = UNREAD_SECONDS,
        interval: float = INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        backlog: Callable[[str], int] | None = None,
    ) -> None:
        self.presence = presence
        self.grace = grace
        #: how many messages wait to be sent to a session (set by the app, from Gradio's queue)
        self.backlog = backlog
        self.unread_seconds = unread_seconds
        self.interval = interval
        self.clock = clock
        self._tickets: list[Ticket] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def ticket(self, session_id: str) -> Ticket:
        """Watch a run of ``session_id`` from now on; set its ``generator`` and ``run``."""
        ticket = Ticket(session_id, self.clock(), watch=self)
        with self._lock:
            self._tickets.append(ticket)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="trainpad-run-watch", daemon=True)
                self._thread.start()
        return ticket

    def sessions(self) -> set[str]:
        """The sessions with a run going: from its handler's start (loading, waiting for a slot,
        training) until its generator has ended."""
        with self._lock:
            return {t.session_id for t in self._tickets if not t.done}

    def gone(self, session_id: str, since: float) -> bool:
        """Whether ``session_id`` has had no event stream for the grace period, counted from ``since``."""
        return self.presence.absent_for(session_id, since) > self.grace()

    def check(self) -> list[Ticket]:
        """Look at every run once; abandon those whose client is gone.  Returns those abandoned."""
        now = self.clock()
        with self._lock:
            self._tickets = [t for t in self._tickets if not t.done]
            tickets = list(self._tickets)
        abandoned = []
        for ticket in tickets:
            if ticket.abandoned:
                continue
            if self.gone(ticket.session_id, ticket.started):
                reason = "its page was closed or lost its connection"
            elif ticket.waiting_since is not None and now - ticket.waiting_since > self.unread_seconds:
                reason = "nobody was reading its updates any more"
            elif self.backlog is not None and self.backlog(ticket.session_id) > MAX_BACKLOG:
                reason = f"its page had not read its last {MAX_BACKLOG} updates"
            else:
                continue
            self.abandon(ticket, reason)
            abandoned.append(ticket)
        return abandoned

    def abandon(self, ticket: Ticket, reason: str) -> None:
        """Stop the run and end its generator if nothing is running it."""
        ticket.abandoned = reason
        log.info("stopping the run of session %s: %s", ticket.session_id[:8], reason)
        if ticket.run is not None:
            ticket.run.ask_stop(now=True)  # nobody will see its tests either
        generator = ticket.generator
        if generator is not None:
            try:
                generator.close()  # runs its finally: model kept, slot released
            except ValueError:  # it is running: the stop above ends it at its next step
                pass
            except Exception:
                log.exception("closing an abandoned run failed")

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.check()
            except Exception:  # the watch must outlive any one run's trouble
                log.exception("the run watch failed")
            with self._lock:
                if not self._tickets:
                    self._thread = None
                    return

    def close(self) -> None:
        self._stop.set()


__all__ = ["RunWatch", "Ticket", "UNREAD_SECONDS"]
