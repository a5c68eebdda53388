"""Who may queue what: each kind of event has its own line, and each client its share.

Gradio has one ``max_size`` for every event in the queue together, so 64 training
requests from fresh session ids used to fill it and every other user's prediction, and
the runner's own Stop, got "Queue is full".  :func:`install` wraps Gradio's
``Queue.push`` (where ``queue/join`` and the simple API's ``call/<api>`` land, before
the event is queued) with :meth:`FairQueue.check`, which refuses with HTTP 429 and a
message saying which limit, when

- the kind's own line is full: ``TRAINPAD_QUEUE_SIZE`` events of one concurrency group
  waiting, ``TRAINPAD_MAX_WAITING_RUNS`` for training (events of clients gone for
  ``TRAINPAD_CLIENT_GONE_SECONDS`` do not count: each is refused when its turn comes);
- the client (one address, :mod:`trainpad.web.clients`) already has
  ``TRAINPAD_MAX_WAITING_PER_CLIENT`` events waiting, or ``TRAINPAD_MAX_RUNS_PER_CLIENT``
  runs waiting or training, or its session already has a run;
- the session is new and there is no room for it (:meth:`SessionStore.claim`), or its
  id is not one a page makes.

Stop is never refused for any of these (a session may have two waiting, which is one
more than it needs).  Gradio's own ``max_size`` is switched off: these caps replace it.

The checks read Gradio 6.31's queue as it keeps it (``event_queue_per_concurrency_id``,
``active_jobs``, ``pending_event_ids_session``, ``pending_messages_per_session``);
``tests/test_public_server.py`` fails if a Gradio upgrade changes them.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any, Callable

from trainpad.web.clients import address_of_scope
from trainpad.web.limits import Limits, limits
from trainpad.web.sessions import SessionLimit

if TYPE_CHECKING:
    import gradio as gr

    from trainpad.web.guard import Presence
    from trainpad.web.sessions import SessionStore

#: The concurrency groups of the built-in events (see the tabs).
TRAINING = "training"
STOP = "stop"
#: What a kind's line holds, for messages.
WHAT = {
    TRAINING: "training runs", "predict": "predictions", "evaluate": "evaluations", STOP: "Stops", "step": "steps", "export": "scripts",
    "lab": "Lab experiments", "lab-conv": "steps of the Lab's filter",
}  # fmt: skip
#: Stops one session may have waiting.
STOPS_PER_SESSION = 2


class QueueRefusal(Exception):
    """An event was refused before it was queued; ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class FairQueue:
    """The checks made before an event joins Gradio's queue (see the module)."""

    def __init__(
        self,
        queue: Any,
        store: "SessionStore",
        presence: "Presence | None" = None,
        server_limits: Callable[[], Limits] = limits,
        runs: Callable[[], set[str]] = set,
    ) -> None:
        self.queue = queue
        self.store = store
        self.presence = presence
        self.limits = server_limits
        #: the sessions whose run has started and not ended (:meth:`RunWatch.sessions`)
        self.runs = runs

    def waiting(self) -> list[Any]:
        """Every event waiting in the queue (not those running), of every kind."""
        return [event for line in self.queue.event_queue_per_concurrency_id.values() for event in line.queue]

    def started(self) -> list[Any]:
        """Events being processed whose client has not yet been told they ended."""
        pending = self.queue.pending_event_ids_session
        return [
            event
            for job in list(self.queue.active_jobs)
            if job
            for event in job
            if event._id in pending.get(event.session_hash, ())
        ]

    def gone(self, session_hash: str, server: Limits) -> bool:
        """Whether the session has had no event stream for ``TRAINPAD_CLIENT_GONE_SECONDS`` (it
        showed itself at least when it joined)."""
        if self.presence is None:
            return False
        return self.presence.absent_for(session_hash, since=float("-inf")) > server.client_gone_seconds

    def check(self, fn: Any, session_hash: str, client: str) -> None:
        """Refuse the event ``fn`` from ``session_hash`` of ``client`` if it does not fit.

        :raises QueueRefusal: saying which limit and what to do.
        """
        server = self.limits()
        try:
            self.store.claim(session_hash, client)
        except SessionLimit as exc:
            status = 400 if "session id" in str(exc) else 429
            raise QueueRefusal(status, _sentence(str(exc))) from None
        kind = getattr(fn, "concurrency_id", None)
        waiting = self.waiting()
        if kind == STOP:
            mine = sum(1 for e in waiting if e.session_hash == session_hash and e.concurrency_id == STOP)
            if mine >= STOPS_PER_SESSION:
                raise QueueRefusal(429, "Stop is already on its way for this session; it ends the run at its next step.")
            return
        # Events whose client has gone (no event stream for TRAINPAD_CLIENT_GONE_SECONDS) take no
        # place in the lines: each is refused at once when its turn comes.  They are still
        # bounded, at four times the line.
        everyone = [e for e in waiting if e.concurrency_id == kind]
        waiting = [e for e in waiting if not self.gone(e.session_hash, server)]
        of_kind = [e for e in waiting if e.concurrency_id == kind]
        cap = server.max_waiting_runs if kind == TRAINING else server.queue_size
        if len(of_kind) >= cap or len(everyone) >= 4 * cap:
            what = WHAT.get(kind, "requests of this kind")
            setting = "TRAINPAD_MAX_WAITING_RUNS" if kind == TRAINING else "TRAINPAD_QUEUE_SIZE"
            raise QueueRefusal(
                429,
                f"The queue for {what} is full: {len(of_kind)} {'is' if len(of_kind) == 1 else 'are'} waiting, the most this "
                f"server keeps ({setting}). Try again in a minute.",
            )
        clients = {id(e): _client_of(e) for e in waiting}
        from_client = [e for e in waiting if clients[id(e)] == client]
        if len(from_client) >= server.max_waiting_per_client:
            raise QueueRefusal(
                429,
                f"You have {len(from_client)} requests waiting, the most one visitor may have "
                "(TRAINPAD_MAX_WAITING_PER_CLIENT); wait for them to finish.",
            )
        if kind == TRAINING:
            self._check_run(session_hash, client, [e for e in of_kind if clients[id(e)] == client], of_kind, server)

    def _check_run(self, session_hash: str, client: str, client_waiting: list[Any], of_kind: list[Any], server: Any) -> None:
        """Refuse a Start when its session has a run going or waiting, or its client as many runs as it may."""
        # a run counts from when it joins until its handler has ended (loading its data,
        # waiting for a slot, training, wrapping up)
        sessions = self.store.sessions()
        going = self.runs() | {s.id for s in sessions if s.training}
        started = [e.session_hash for e in self.started() if e.concurrency_id == TRAINING]
        going |= set(started)  # not in its handler yet
        # A run that was stopped and is wrapping up does not block the next one, which waits
        # for it in its handler; one such run at a time.
        stopping = any(s.id == session_hash and s.stopping for s in sessions)
        blocked = session_hash in going and not (stopping and started.count(session_hash) <= 1)
        if blocked or any(e.session_hash == session_hash for e in of_kind):
            raise QueueRefusal(429, "A run is already going or waiting in this session: stop it first.")
        mine = {s.id for s in sessions if s.client == client}
        runs = len({e.session_hash for e in client_waiting} | (going & mine))
        if runs >= server.max_runs_per_client:
            raise QueueRefusal(
                429,
                f"You already have {runs} run(s) waiting or training, the most one visitor may have "
                "(TRAINPAD_MAX_RUNS_PER_CLIENT); wait for one to end, or stop it.",
            )

    async def push(self, original: Callable[..., Any], body: Any, request: Any, username: Any) -> Any:
        """Gradio's ``Queue.push``, after :meth:`check`."""
        from fastapi import HTTPException

        from gradio import route_utils

        if body.fn_index is None:
            return await original(body, request, username)
        try:
            fn = route_utils.get_fn(self.queue.blocks, None, body)
        except Exception:  # an unknown function: Gradio answers that itself
            return await original(body, request, username)
        if body.session_hash is None:  # the simple API's call/<api>: a session of its own, made here
            body.session_hash = secrets.token_urlsafe(12)
        try:
            self.check(fn, body.session_hash, address_of_scope(request.scope))
        except QueueRefusal as refusal:
            raise HTTPException(status_code=refusal.status, detail=refusal.message) from None
        if self.presence is not None:
            self.presence.seen(body.session_hash)
        return await original(body, request, username)


def _client_of(event: Any) -> str:
    request = getattr(event, "request", None)
    scope = getattr(request, "scope", None)
    return address_of_scope(scope) if isinstance(scope, dict) else "unknown"


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def install(
    demo: "gr.Blocks", store: "SessionStore", presence: "Presence | None" = None, runs: Callable[[], set[str]] = set
) -> FairQueue:
    """Put :class:`FairQueue`'s checks in front of ``demo``'s queue (after ``demo.queue()``).

    :param runs: the sessions with a run going (:meth:`trainpad.web.run_watch.RunWatch.sessions`).
    """
    queue = demo._queue
    fair = FairQueue(queue, store, presence, runs=runs)
    original = queue.push

    async def push(body: Any, request: Any, username: Any) -> Any:
        return await fair.push(original, body, request, username)

    queue.push = push
    queue.max_size = None  # one limit for all kinds together is what let training starve predictions
    return fair


def backlog(demo: "gr.Blocks") -> Callable[[str], int]:
    """How many messages wait in ``demo``'s queue to be sent to a session (0 for none)."""

    def waiting(session_hash: str) -> int:
        messages = demo._queue.pending_messages_per_session.get(session_hash)
        return messages.qsize() if messages is not None else 0

    return waiting


def worker_threads(demo: "gr.Blocks", spare: int = 8) -> int:
    """Gradio's worker count for ``demo``: every concurrency group at its limit at once, and spare.

    Gradio runs at most ``max_threads`` events at once, of all kinds together (40 by
    default); with each group limited and the workers more than their sum, a kind at its
    limit (50 Stops, 4 evaluations) can never take a worker another kind needs.
    """
    queue = demo._queue
    limits_by_group: dict[str, int] = {}
    for fn in demo.fns.values():
        if fn.queue is False or fn.fn is None:
            continue
        limit = queue.default_concurrency_limit if fn.concurrency_limit == "default" else fn.concurrency_limit
        limit = 1 if limit is None else limit  # unlimited groups are given a limit in the tabs; count them once
        group = str(fn.concurrency_id)
        limits_by_group[group] = min(limits_by_group.get(group, limit), limit)
    return max(40, sum(limits_by_group.values()) + spare)


__all__ = ["FairQueue", "QueueRefusal", "install", "backlog", "worker_threads", "TRAINING", "STOP"]
