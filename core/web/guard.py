"""The HTTP layer in front of Gradio: request sizes, uploads per client, and who is still there.

:class:`RequestGuard` is an ASGI middleware installed in the app by
:func:`trainpad.web.app.serve` (through ``launch(app_kwargs=...)``).  Before Gradio
reads a request it

- caps the body: ``TRAINPAD_MAX_REQUEST_KB`` for the values an event sends (JSON), the
  upload cap plus a little for a file upload (multipart); a bigger one is answered 413
  with a message, before it is read;
- counts what each client uploads (:class:`UploadLedger`): ``TRAINPAD_MAX_UPLOADS_PER_CLIENT_MB``
  per client and ``TRAINPAD_MAX_UPLOADS_MB`` in all over the hour that Gradio keeps
  uploads, then 429 with a message;
- refuses session ids no page makes (more than 64 letters, digits, ``-`` or ``_``) on
  the event stream and the heartbeat;
- notes which sessions have an event stream open (:class:`Presence`): ``queue/data`` or
  the simple API's ``call/<api>/<event>``, through which a run's updates reach its page,
  so that a run nobody reads is stopped within seconds (:mod:`trainpad.web.run_watch`).
  The heartbeat is not counted: a client that keeps it open but reads nothing is gone
  as far as its run is concerned.

Every refusal is JSON ``{"detail": message}``, which Gradio's page shows as it is.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections import OrderedDict, deque
from typing import Any, Awaitable, Callable
from urllib.parse import parse_qs

from trainpad.web.clients import address_of_scope
from trainpad.web.limits import Limits, limits
from trainpad.web.open_routes import route_open
from trainpad.web.sessions import SESSION_ID

#: How long Gradio keeps an upload (``app.DELETE_CACHE``'s age): what a client uploaded
#: within it counts against its share.
UPLOADS_KEPT_SECONDS = 3600.0
#: Room for the form fields and boundaries around an uploaded file.
MULTIPART_OVERHEAD = 64 * 1024
#: Sessions whose last connection is remembered (older ones are forgotten first).
REMEMBERED = 20_000

_STREAM = re.compile(r"/queue/data/?$")
_HEARTBEAT = re.compile(r"/heartbeat/([^/]*)/?$")
_CALL_STREAM = re.compile(r"/call/(?:v2/)?[^/]+/([^/]+)/?$")
_UPLOAD = re.compile(r"/upload/?$")
#: The simple API's call: Gradio matches its body to the function's parameters in the route,
#: and a mismatch (an unknown argument, too many values) escapes as an HTTP 500.
_CALL = re.compile(r"/call/(?:v2/)?([^/]+)/?$")
#: What a call whose body does not fit its function is told.
CALL_MISMATCH = (
    "the values sent do not fit /{api}'s parameters (an unknown name, or too many values): "
    "GET /gradio_api/info lists each endpoint's parameters"
)

log = logging.getLogger("trainpad.web")


class Presence:
    """Which sessions have an event stream open now, and when each was last seen.

    ``tracking`` turns true with the first connection seen: before that (the app served
    without :class:`RequestGuard`), nobody is ever taken for gone.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.tracking = False
        self._open: dict[str, int] = {}
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def seen(self, key: str) -> None:
        """``key`` showed itself (a request, a connection opening or closing)."""
        with self._lock:
            self._seen[key] = self.clock()
            self._seen.move_to_end(key)
            while len(self._seen) > REMEMBERED:
                self._seen.popitem(last=False)

    def opened(self, key: str) -> None:
        with self._lock:
            self.tracking = True
            self._open[key] = self._open.get(key, 0) + 1
        self.seen(key)

    def closed(self, key: str) -> None:
        with self._lock:
            left = self._open.get(key, 0) - 1
            if left > 0:
                self._open[key] = left
            else:
                self._open.pop(key, None)
        self.seen(key)

    def connected(self, key: str) -> bool:
        with self._lock:
            return self._open.get(key, 0) > 0

    def absent_for(self, key: str, since: float) -> float:
        """Seconds since ``key`` last had a connection or sent a request, counting from
        ``since`` at the earliest; 0 while it is connected or when nothing is tracked."""
        with self._lock:
            if not self.tracking or self._open.get(key, 0) > 0:
                return 0.0
            last = max(self._seen.get(key, since), since)
        return max(0.0, self.clock() - last)


class UploadLedger:
    """Bytes uploaded per client, and in all, over the last :data:`UPLOADS_KEPT_SECONDS`."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, window: float = UPLOADS_KEPT_SECONDS) -> None:
        self.clock = clock
        self.window = window
        self._clients: dict[str, deque[tuple[float, int]]] = {}
        self._all: deque[tuple[float, int]] = deque()
        self._lock = threading.Lock()

    def _expire(self, now: float) -> None:
        while self._all and now - self._all[0][0] > self.window:
            self._all.popleft()
        for client in list(self._clients):
            entries = self._clients[client]
            while entries and now - entries[0][0] > self.window:
                entries.popleft()
            if not entries:
                del self._clients[client]

    def charge(self, client: str, nbytes: int, server: Limits) -> str | None:
        """Count an upload of ``nbytes`` from ``client``; the refusal message if it does not fit."""
        now = self.clock()
        per_client = int(server.max_uploads_per_client_mb * 2**20)
        total = int(server.max_uploads_mb * 2**20)
        with self._lock:
            self._expire(now)
            mine = sum(n for _, n in self._clients.get(client, ()))
            everyone = sum(n for _, n in self._all)
            if mine + nbytes > per_client:
                return (
                    f"you have uploaded {mine / 2**20:.0f} MB in the last hour, and this server keeps at most "
                    f"{server.max_uploads_per_client_mb:g} MB of uploads per visitor (TRAINPAD_MAX_UPLOADS_PER_CLIENT_MB); "
                    "try again later"
                )
            if everyone + nbytes > total:
                return (
                    f"this server has taken its {server.max_uploads_mb:g} MB of uploads for this hour "
                    "(TRAINPAD_MAX_UPLOADS_MB); try again later"
                )
            self._clients.setdefault(client, deque()).append((now, nbytes))
            self._all.append((now, nbytes))
        return None


Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class RequestGuard:
    """ASGI middleware: body caps, upload shares, session-id checks and presence (see the module).

    :param session_of_event: the session an event id belongs to (for the simple API's
        ``GET call/<api>/<event_id>`` stream), or ``None``.
    """

    def __init__(
        self,
        app: Any,
        *,
        presence: Presence,
        ledger: UploadLedger,
        session_of_event: Callable[[str], str | None] = lambda event_id: None,
        server_limits: Callable[[], Limits] = limits,
    ) -> None:
        self.app = app
        self.presence = presence
        self.ledger = ledger
        self.session_of_event = session_of_event
        self.limits = server_limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        method = scope.get("method", "GET")
        if not route_open(method, path, scope.get("root_path", "")):
            await refuse(send, 404, "not found: this app does not answer that address")
            return
        if method in ("POST", "PUT", "PATCH"):
            receive = await self._checked_body(scope, receive, send, path)
            if receive is None:
                return
            call = _CALL.search(path)
            if call is None:
                await self.app(scope, receive, send)
            else:
                await self._call(call.group(1), scope, receive, send)
            return
        key = self._stream_key(scope, path)
        if key is False:
            await refuse(send, 400, "a session id is 1 to 64 letters, digits, '-' or '_'; reload the page")
            return
        if key is None:
            await self.app(scope, receive, send)
            return
        self.presence.opened(key)
        try:
            await self.app(scope, receive, send)
        finally:
            self.presence.closed(key)

    async def _call(self, api: str, scope: Scope, receive: Receive, send: Send) -> None:
        """A simple-API call: Gradio's own mismatch errors (raised before anything is queued)
        answered as the client's mistake, HTTP 400, in a sentence, logged in one line."""
        started = False

        async def watched(message: dict[str, Any]) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception as exc:
            unknown = type(exc).__name__ == "FnIndexInferError"  # gradio.route_utils': no such api_name
            if started or not (unknown or isinstance(exc, (TypeError, KeyError, ValueError, IndexError))):
                raise
            log.info("refused a call to /%s: %s: %s", api[:40], type(exc).__name__, str(exc)[:200])
            if unknown:
                await refuse(send, 404, f"there is no endpoint /{api[:40]}: GET /gradio_api/info lists them")
            else:
                await refuse(send, 400, CALL_MISMATCH.format(api=api[:40]))

    def _stream_key(self, scope: Scope, path: str) -> str | bool | None:
        """The session a long-lived GET connection belongs to; ``False`` for a bad id."""
        if _STREAM.search(path):
            values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("session_hash", [""])
            return values[0] if SESSION_ID.fullmatch(values[0]) else False
        match = _HEARTBEAT.search(path)
        if match:  # checked, not counted: a page that keeps its heartbeat but reads no updates is not there for a run
            return None if SESSION_ID.fullmatch(match.group(1)) else False
        match = _CALL_STREAM.search(path)
        if match and SESSION_ID.fullmatch(match.group(1)):
            return self.session_of_event(match.group(1)) or match.group(1)
        return None

    async def _checked_body(self, scope: Scope, receive: Receive, send: Send, path: str) -> Receive | None:
        """``receive`` for a body within its cap (read here unless it is an upload), else ``None``
        after answering the refusal."""
        server = self.limits()
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope.get("headers") or ()}
        multipart = headers.get("content-type", "").lower().startswith("multipart/")
        length_text = headers.get("content-length")
        if multipart:
            cap = int(server.max_upload_mb * 2**20) + MULTIPART_OVERHEAD
            what = f"an upload may be at most {server.max_upload_mb:g} MB (TRAINPAD_MAX_UPLOAD_MB)"
        else:
            cap = int(server.max_request_kb * 1024)
            what = f"a request may be at most {server.max_request_kb:g} kB (TRAINPAD_MAX_REQUEST_KB)"
        if length_text is not None:
            if not length_text.strip().isdigit():
                await refuse(send, 400, "the request's Content-Length is not a number")
                return None
            length = int(length_text)
            if length > cap:
                await refuse(send, 413, f"the request is {length / 2**20:.1f} MB, and {what}")
                return None
        elif multipart:
            await refuse(send, 411, "send uploads with a Content-Length")
            return None
        if multipart:
            if _UPLOAD.search(path):
                problem = self.ledger.charge(address_of_scope(scope), int(length_text or 0), server)
                if problem:
                    await refuse(send, 429, problem)
                    return None
            return receive
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return _replay(bytes(body), receive, message)
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > cap:
                await refuse(send, 413, f"the request is over {cap / 1024:.0f} kB, and {what}")
                return None
        return _replay(bytes(body), receive)


def _replay(body: bytes, receive: Receive, first: dict[str, Any] | None = None) -> Receive:
    """A ``receive`` that hands the app the body read already, then the connection's own messages."""
    sent = False

    async def replay() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            if first is not None:
                return first
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def refuse(send: Send, status: int, message: str) -> None:
    """Answer ``status`` with ``{"detail": message}`` (what Gradio's page shows), as a sentence."""
    message = message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")
    body = json.dumps({"detail": message, "error": message}).encode()
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def middleware(demo: Any) -> list[Any]:
    """The middleware for ``launch(app_kwargs={"middleware": ...})`` (none for an unguarded demo)."""
    from starlette.middleware import Middleware

    app = getattr(demo, "trainpad_app", None)
    if app is None:
        return []

    def session_of_event(event_id: str) -> str | None:
        event = getattr(getattr(demo, "_queue", None), "event_ids_to_events", {}).get(event_id)
        return getattr(event, "session_hash", None)

    return [Middleware(RequestGuard, presence=app.presence, ledger=UploadLedger(), session_of_event=session_of_event)]


__all__ = ["RequestGuard", "Presence", "UploadLedger", "refuse", "middleware"]
