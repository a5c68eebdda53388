"""An emulation of a ZeroGPU Space's device API, on 127.0.0.1, for the tests.

The real ``spaces`` package (0.51) in ZeroGPU mode calls this API for every ``@spaces.GPU``
call (``spaces/zero/api.py``, ``client.py``): ``POST /startup-report`` when the app
launches, ``POST /schedule`` before each call (JSON when a GPU is given at once, an event
stream while the call waits in line, HTTP 429 with ``left`` and ``wait`` when the visitor
is over quota or asks an illegal duration), ``POST /allow`` from the forked worker with its
process id, ``POST /release`` when the call ends, and ``GET /queue-size``.  This server
answers the same way, keeps a quota per visitor (named by the ``X-IP-Token`` the Space's
proxy would add, which Gradio hands the package with the request) and records every call,
so that a test sees what the app asked for.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


def visitor_token(name: str) -> str:
    """An ``X-IP-Token`` for visitor ``name``, shaped as the Space's proxy makes them (a JWT)."""
    payload = base64.urlsafe_b64encode(json.dumps({"user": name}).encode()).decode().rstrip("=")
    return f"header.{payload}.signature"


def _visitor(token: str | None) -> str:
    if not token:
        return "anonymous"
    try:
        return json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "==")).get("user", "anonymous")
    except Exception:
        return "anonymous"


@dataclass
class Call:
    """One scheduled GPU call."""

    visitor: str
    duration: int
    token: str
    allowed_pids: list[int] = field(default_factory=list)
    released: bool = False
    failed: bool = False


class DeviceAPI:
    """The device API (see the module), serving in a thread until :meth:`close`.

    :param quotas: seconds of GPU time each visitor may still schedule (others: unlimited).
    :param max_duration: the longest duration a call may ask for.
    :param queue_first: answer each schedule with a short wait in line (an event stream).
    """

    def __init__(self, *, quotas: dict[str, int] | None = None, max_duration: int = 1200, queue_first: bool = False) -> None:
        self.quotas = dict(quotas or {})
        self.max_duration = max_duration
        self.queue_first = queue_first
        self.calls: dict[str, Call] = {}
        self.startup_reports = 0
        self.refused: list[tuple[str, int]] = []
        self._lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                if urlparse(self.path).path == "/queue-size":
                    self._json(200, 0)
                else:
                    self._json(404, {"detail": "not found"})

            def do_POST(self) -> None:
                url = urlparse(self.path)
                query = {k: v[-1] for k, v in parse_qs(url.query).items()}
                length = int(self.headers.get("content-length") or 0)
                if length:
                    self.rfile.read(length)
                if url.path == "/startup-report":
                    with api._lock:
                        api.startup_reports += 1
                    self._json(200, {})
                elif url.path == "/schedule":
                    api._schedule(self, query)
                elif url.path == "/allow":
                    with api._lock:
                        call = api.calls.get(query.get("allowToken", ""))
                        if call is not None:
                            call.allowed_pids.append(int(query["pid"]))
                    self._json(200 if call is not None else 404, {})
                elif url.path == "/release":
                    with api._lock:
                        call = api.calls.get(query.get("allowToken", ""))
                        if call is not None:
                            call.released = True
                            call.failed = query.get("fail") in ("true", "True", "1")
                    self._json(200 if call is not None else 404, {})
                else:
                    self._json(404, {"detail": "not found"})

            def _json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, name="zerogpu-device-api", daemon=True).start()

    def _schedule(self, handler: Any, query: dict[str, str]) -> None:
        token = query.get("token", "")
        visitor = _visitor(token)
        duration = int(query.get("durationSeconds", 60))
        with self._lock:
            left = self.quotas.get(visitor)
            if duration > self.max_duration:
                self.refused.append((visitor, duration))
                handler._json(429, {"left": left or 0, "wait": -1}, {"X-Approve-Result": "illegal-duration"})
                return
            if left is not None and duration > left:
                self.refused.append((visitor, duration))
                handler._json(429, {"left": left, "wait": 3600}, {"X-Approve-Result": "quota-exceeded", "X-Authenticated": "regular"})
                return
            if left is not None:
                self.quotas[visitor] = left - duration
            allow = uuid.uuid4().hex
            self.calls[allow] = Call(visitor, duration, token)
        granted = {"idle": True, "nvidiaIndex": 0, "nvidiaUUID": "GPU-emulated", "allowToken": allow}
        if not self.queue_first:
            handler._json(200, granted)
            return
        handler.send_response(200)
        handler.send_header("content-type", "text/event-stream")
        handler.send_header("connection", "close")
        handler.end_headers()
        for chunk in ("event: ping\n\n", f"event: succeeded\ndata: {json.dumps(granted)}\n\n"):
            handler.wfile.write(chunk.encode())
            handler.wfile.flush()
            time.sleep(0.2)  # one event per chunk, as the package reads them
        handler.close_connection = True

    def worker_pids(self) -> set[int]:
        """The process ids the package's workers allowed themselves from."""
        with self._lock:
            return {pid for call in self.calls.values() for pid in call.allowed_pids}

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
