"""Saying what a long call is doing, for whoever waits on it: downloading, decoding, building.

Code deep inside a call (the torchvision loader, the engine's dataset loading) reports
with :func:`say`; whoever started the call and is waiting (the web app's Train tab, a
thread at a time) listens with :func:`listening`.  Nobody listening, :func:`say` does
nothing, so the CLI and tests pay nothing for it::

    with listening(lambda text: print(text)):
        engine.build_run(config)       # "Downloading MNIST: file 1 of 4, 2.1 MB so far", ...
"""

from __future__ import annotations

import contextlib
import threading
from typing import Callable, Iterator

_local = threading.local()


def say(text: str) -> None:
    """Tell this thread's listener (if any) what is happening now, in a few words."""
    listener = current_listener()
    if listener is not None:
        listener(text)


def current_listener() -> Callable[[str], None] | None:
    """This thread's listener, to hand to a helper thread that reports for it."""
    return getattr(_local, "listener", None)


@contextlib.contextmanager
def listening(listener: Callable[[str], None]) -> Iterator[None]:
    """Send what :func:`say` is told in this thread, inside the block, to ``listener``."""
    previous = current_listener()
    _local.listener = listener
    try:
        yield
    finally:
        _local.listener = previous


def size_text(count: float) -> str:
    """Bytes as a person reads them: ``512 bytes``, ``28.9 kB``, ``9.9 MB``."""
    if count < 1000:
        return f"{int(count)} bytes"
    if count < 1_000_000:
        return f"{count / 1000:.1f} kB"
    return f"{count / 1_000_000:.1f} MB"


__all__ = ["say", "listening", "current_listener", "size_text"]
