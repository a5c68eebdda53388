"""Errors the engine raises for things a user or a plugin can fix.

Each message says what was wrong and what to do; the CLI prints it without a
traceback and the web app shows it as a ``gr.Error``.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

from trainpad.engine.message import message_of, msg

#: The most characters of a value a message repeats back (a request can send megabytes).
SHOWN_CHARS = 40


class TrainpadError(Exception):
    """Base of every error whose message is meant for the user.

    :param public: the message for a web user, when the full one is for the server's
        owner (it names the server's folders or settings); by default the same.
    """

    def __init__(self, *args: object, public: str | None = None) -> None:
        super().__init__(*args)
        self.public = public

    @property
    def public_message(self) -> str:
        """What a web user is shown: :attr:`public` if set, else the message."""
        return self.public or message_of(self)


class ConfigError(TrainpadError, ValueError):
    """A run's settings do not fit together (unknown component, bad value, mismatch)."""


class StopTraining(TrainpadError):
    """Raise from a callback to end the run early, keeping the model."""


class ComponentError(TrainpadError):
    """A plugin's component failed while it was used; the message names it."""

    def __init__(self, label: str, message: str) -> None:
        super().__init__(msg("{label} failed: {message}", label=label, message=message))
        self.label = label


class CheckpointError(TrainpadError, ValueError):
    """A checkpoint was refused: unreadable, not trainpad's, or not matching its model."""


def shown(value: Any, limit: int = SHOWN_CHARS) -> str:
    """``repr(value)`` for a message, cut to ``limit`` characters with an ellipsis.

    Messages say what was sent, but never echo more than a few dozen characters of it:
    a 10 MB string in a number field must not come back as a 10 MB error.
    """
    if isinstance(value, str) and len(value) > limit:
        return repr(value[:limit]) + f"… ({len(value):,} characters)"
    if isinstance(value, (list, tuple, dict, set)) and len(value) > 8:
        value = f"<{type(value).__name__} of {len(value):,} items>"
        return value
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


@contextlib.contextmanager
def blame(label: str, hint: str = "") -> Iterator[None]:
    """Turn any exception inside the block into a :class:`ComponentError` naming ``label``,
    with ``hint`` (what to do about it) after the exception's own message.

    Errors that are already the user's to fix (:class:`TrainpadError`) pass through.
    """
    try:
        yield
    except TrainpadError:
        raise
    except Exception as exc:  # a plugin's code can raise anything
        raise ComponentError(label, f"{type(exc).__name__}: {exc}" + (f". {hint}" if hint else "")) from exc
