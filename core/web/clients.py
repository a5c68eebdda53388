"""Who is asking: a request's client, as the per-client caps count them.

A client is an address.  Straight on the internet that is the connection's own peer
address; behind proxies it is the address the outermost trusted proxy saw, which it
appended to ``X-Forwarded-For``.  Entries further left are whatever the client sent,
so they are never trusted.  ``TRAINPAD_FORWARDED_HOPS`` says how many proxies append:
``auto`` is 1 on a Hugging Face Space (``SPACE_ID`` is set there; its proxy is the only
way in) and 0 elsewhere, where the header is ignored (anyone could send it).

Several people behind one address (a classroom, an office) count as one client; the
per-client defaults leave room for a class (``docs/deploying.md``).
"""

from __future__ import annotations

import os
from typing import Any, Iterable

from trainpad import settings

#: Kept from an address at most (IPv6 with a zone is under 64 characters).
ADDRESS_CHARS = 64


def forwarded_hops() -> int:
    """Proxies in front that append to ``X-Forwarded-For`` (``TRAINPAD_FORWARDED_HOPS``)."""
    value = settings.get("TRAINPAD_FORWARDED_HOPS")
    if value == "auto":
        return 1 if os.environ.get("SPACE_ID") else 0
    return int(value)


def client_address(forwarded_for: Iterable[str], peer: str | None, hops: int) -> str:
    """The client's address from the ``X-Forwarded-For`` values and the peer address.

    With ``hops`` proxies appending, the client is the ``hops``-th entry from the end of
    the (comma-joined) header; with fewer entries than that, or ``hops == 0``, the peer.
    """
    if hops > 0:
        entries = [item.strip() for value in forwarded_for for item in value.split(",") if item.strip()]
        if len(entries) >= hops:
            return entries[-hops][:ADDRESS_CHARS]
    return (peer or "unknown")[:ADDRESS_CHARS]


def address_of_scope(scope: dict[str, Any], hops: int | None = None) -> str:
    """The client of an ASGI request ``scope``."""
    values = [value.decode("latin-1") for name, value in scope.get("headers") or () if name == b"x-forwarded-for"]
    peer = scope.get("client")
    return client_address(values, peer[0] if peer else None, forwarded_hops() if hops is None else hops)


def address_of(request: Any) -> str:
    """The client of a Starlette/FastAPI request or a ``gr.Request`` (``"local"`` without one)."""
    inner = getattr(request, "request", None) or request  # gr.Request wraps the Starlette one
    scope = getattr(inner, "scope", None)
    if isinstance(scope, dict):
        return address_of_scope(scope)
    headers = getattr(request, "headers", None) or {}
    client = getattr(request, "client", None)
    values = [headers.get("x-forwarded-for")] if hasattr(headers, "get") and headers.get("x-forwarded-for") else []
    return client_address(values, getattr(client, "host", None), forwarded_hops()) if request is not None else "local"


__all__ = ["forwarded_hops", "client_address", "address_of_scope", "address_of"]
