"""A call run in a thread while the page says what it is doing (see :mod:`trainpad.engine.progress`).

The Train tab prepares a run this way: loading (maybe downloading) the data and building
the model can take minutes on a new server, and the page keeps showing what the call
last said ("Downloading MNIST: 3.2 MB received...") instead of going silent.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from trainpad.engine.progress import listening


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


__all__ = ["Background"]
