"""What a web user is told when something they asked for cannot be done.

The handlers (``*_handler.py``) raise :class:`UserError` with a message that says what
was wrong and what to do, and never import Gradio; the tabs wrap their event functions
in :func:`shown_in_browser`, which turns it into a ``gr.Error`` pop-up.  Any other
exception is logged with its traceback and reaches the user as one short line naming
the action, never as the server's details.
"""

from __future__ import annotations

import contextlib
import functools
import html
import inspect
import logging
from typing import Any, Callable, Iterator, TypeVar

from trainpad.engine.errors import TrainpadError
from trainpad.engine.message import message_of
from trainpad.engine.params import ParamError
from trainpad.engine.message import msg

log = logging.getLogger("trainpad.web")

F = TypeVar("F", bound=Callable[..., Any])


class UserError(TrainpadError):
    """Something a web user asked for was refused; the message is for them."""

    @property
    def message(self) -> str:
        return message_of(self)


@contextlib.contextmanager
def user_errors(action: str = "That") -> Iterator[None]:
    """Turn errors inside the block into a :class:`UserError`.

    :class:`~trainpad.engine.errors.TrainpadError` and
    :class:`~trainpad.engine.params.ParamError` carry a message for the user and keep
    it (a TrainpadError's :attr:`~trainpad.engine.errors.TrainpadError.public_message`,
    which names no server path); anything else is logged with its traceback and becomes "``action`` failed
    unexpectedly (TypeName)".
    """
    try:
        yield
    except UserError:
        raise
    except TrainpadError as exc:
        raise UserError(exc.public_message.strip() or "Something went wrong.") from None
    except ParamError as exc:
        raise UserError(message_of(exc).strip() or "Something went wrong.") from None
    except Exception as exc:
        log.exception("%s failed", action)
        raise UserError(msg(
            "{action} failed unexpectedly ({kind}); the details are in the server log.",
            action=action, kind=type(exc).__name__,
        )) from None


#: The longest message a user is shown (messages quote at most a few dozen characters of
#: what was sent; this is the backstop for any that would not).
MESSAGE_CHARS = 2000


def bounded(message: str, limit: int = MESSAGE_CHARS) -> str:
    """``message``, cut to ``limit`` characters."""
    return message if len(message) <= limit else message[: limit - 1] + "…"


def toast(text: str) -> str:
    """``text`` ready for a Gradio toast (``gr.Error``, ``gr.Warning``, ``gr.Info``): cut to
    :data:`MESSAGE_CHARS`, in the current language, and HTML-escaped.

    A toast shows its message as HTML (sanitised of scripts, not of ``<img>`` or links), so a
    value a client sent, such as a link's ``<img src=//host/x>``, must arrive as the text it is.
    """
    from trainpad.web.i18n import translate

    return html.escape(bounded(translate(text)), quote=False).replace("\n", "<br>")  # a line each: several fields wrong


def shown_in_browser(fn: F) -> F:
    """Wrap a Gradio event function so that a :class:`~trainpad.engine.errors.TrainpadError`
    it raises shows as a ``gr.Error`` pop-up with its message, and no traceback is logged.

    It speaks the browser's language: while the function runs, the language of its
    ``gr.Request`` is the current one (:func:`trainpad.web.i18n.tr` writes in it), and the
    text it returns or yields, and the error's message, are translated
    (:func:`trainpad.web.i18n.translate_outputs`).

    Generator functions stay generators (Gradio streams them), and the signature is kept
    (Gradio reads it for ``gr.Request`` and ``gr.Progress`` arguments).
    """
    from trainpad.web.i18n import language_of, speaking, translate_outputs, tr

    def as_gradio(exc: TrainpadError, language: str) -> Exception:
        import gradio as gr

        with speaking(language):
            return gr.Error(toast(exc.public_message), title=tr("Error"), print_exception=False)

    def language(args: tuple, kwargs: dict) -> str:
        for value in (*args, *kwargs.values()):
            if type(value).__name__ == "Request" and hasattr(value, "headers"):
                return language_of(value)
        return "en"

    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def stream(*args: Any, **kwargs: Any) -> Iterator[Any]:
            spoken = language(args, kwargs)
            items = fn(*args, **kwargs)
            try:
                while True:
                    with speaking(spoken):  # each step may run in another of Gradio's threads
                        try:
                            item = next(items)
                        except StopIteration:
                            return
                        item = translate_outputs(item, spoken)
                    yield item
            except TrainpadError as exc:
                raise as_gradio(exc, spoken) from None
            finally:
                items.close()

        return stream  # type: ignore[return-value]

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        spoken = language(args, kwargs)
        try:
            with speaking(spoken):
                return translate_outputs(fn(*args, **kwargs), spoken)
        except TrainpadError as exc:
            raise as_gradio(exc, spoken) from None

    return call  # type: ignore[return-value]
