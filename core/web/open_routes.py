"""The HTTP routes this app answers: those its page and API clients call, and no other.

Gradio's server answers many routes a trainpad page never calls: ``deep_link`` (which
writes a session's values to disk and makes a link for any session id it is given),
``process_recording``, ``run-history``, ``vibe-*``, ``monitoring``, ``login``, the
media ``stream`` routes...  Each is a way for a client to make the server work or
store for nothing.  :func:`route_open` says whether a request is for one of
:data:`OPEN_ROUTES`; :class:`trainpad.web.guard.RequestGuard` answers every other 404
before Gradio sees it, so a route a newer Gradio adds stays closed until it is listed here.
"""

from __future__ import annotations

import re

#: ``(methods, path)``: what the page (``/``, its config, assets and event stream), the
#: gradio_client and Gradio's simple HTTP API (``call``, ``run``) ask for.  Paths are
#: regular expressions over the whole path, after the app's ``root_path``.
OPEN_ROUTES: tuple[tuple[str, str], ...] = (
    ("GET HEAD", r"/"),
    ("GET", r"/config/?"),
    ("GET", r"/(theme\.css|favicon\.ico|robots\.txt|manifest\.json)"),
    ("GET", r"/(assets|static|svelte)/.+"),
    ("GET", r"/gradio_api/(info|app_id)/?"),
    ("GET", r"/gradio_api/(startup-events|upload_progress|queue/data|queue/status|heartbeat/[^/]+)"),
    ("GET HEAD", r"/gradio_api/file(=|/).+"),
    ("GET", r"/gradio_api/call/(v2/)?[^/]+/[^/]+/?"),
    ("POST", r"/gradio_api/(queue/join|upload|cancel|reset/?|component_server/?)"),
    ("POST", r"/gradio_api/(call/v2|call|run|api)/[^/]+/?"),
)
_COMPILED = tuple((frozenset(methods.split()), re.compile(pattern)) for methods, pattern in OPEN_ROUTES)


def route_open(method: str, path: str, root_path: str = "") -> bool:
    """Whether ``method path`` is one of :data:`OPEN_ROUTES`."""
    if root_path and path.startswith(root_path.rstrip("/") + "/"):
        path = path[len(root_path.rstrip("/")) :]
    return any(method in methods and pattern.fullmatch(path) for methods, pattern in _COMPILED)


__all__ = ["OPEN_ROUTES", "route_open"]
