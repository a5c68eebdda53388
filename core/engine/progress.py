"""Saying what a long call is doing, for whoever waits on it: downloading, decoding, building.

Code deep inside a call (the torchvision loader, the engine's dataset loading) reports
with :func:`say`; whoever started the call and is waiting (the web app's Train tab, a
thread at a time) listens with :func:`listening`.  Nobody listening, :func:`say` does
nothing, so the CLI and tests pay nothing for it::

    with listening(lambda text: print(text)):
        engine.build_run(config)       # "Downloading MNIST: file 1 of 4, 2.1 MB so far", ...

:class:`Background` runs such a call in a thread and keeps what it last said, for a caller
that reports on it meanwhile (a job preparing its run: the data may take minutes to arrive).
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any, Callable, Iterator

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


class Background:
    """``fn()`` running in a daemon thread; :attr:`said` is the last thing it reported."""

    def __init__(self, fn: Callable[[], Any], *, name: str = "trainpad-background") -> None:
        self.said = ""
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._then: list[Callable[[], None]] = []
        self._result: Any = None
        self._error: BaseException | None = None
        threading.Thread(target=self._run, args=(fn,), name=name, daemon=True).start()

    def _run(self, fn: Callable[[], Any]) -> None:
        try:
            with listening(self._hear):
                self._result = fn()
        except BaseException as exc:  # handed to whoever asks for the result
            self._error = exc
        finally:
            with self._lock:
                self._done.set()
                then, self._then = self._then, []
            for callback in then:
                callback()

    def _hear(self, text: str) -> None:
        self.said = text

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` seconds; whether the call has ended."""
        return self._done.wait(timeout)

    def result(self) -> Any:
        """What the call returned; raises what it raised.  Waits for it to end."""
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self._result

    def when_done(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` once the call has ended (at once if it has)."""
        with self._lock:
            if not self._done.is_set():
                self._then.append(callback)
                return
        callback()


__all__ = ["Background", "say", "listening", "current_listener", "size_text"]
