"""Messages for people, written once in English and shown in the reader's language.

A :class:`Message` is a key, the English template, with the values put into it::

    msg("step {step} of {steps}", step="40", steps="469")

It *is* that English text (a ``str``: the CLI prints it, logs hold it, tests compare it),
and it remembers its key and values, so that the web app renders it again in the language
of the visitor who reads it: :meth:`Message.render` looks its key up in a catalog (the web
app's is :data:`trainpad.web.i18n_ko.KOREAN`) and puts the values in, each value that is
itself a Message rendered in turn.  Nothing is matched against rendered English.

This is gettext's model (the English text is the message id; ``str.format`` placeholders
are named, so a translation may reorder them), made lazy as Django's ``gettext_lazy`` is:
the engine writes a message without knowing who will read it, or in which language, and
the web layer renders it at the edge, in the request's language.

Values a client sent are cut with :func:`~trainpad.engine.errors.shown` before they enter a
message: a message quotes a few dozen characters of what it was sent, never megabytes.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping


class Message(str):
    """An English message that can be rendered in another language (see the module's docs).

    :param key: the English template, as the catalog has it (``"step {step} of {steps}"``)
    :param values: what the placeholders take: text, numbers already formatted as they
        should read, or Messages (rendered in the reader's language too)
    """

    key: str | None
    values: dict[str, Any]
    parts: tuple[Any, ...]

    def __new__(cls, key: str, /, **values: Any) -> "Message":
        self = super().__new__(cls, key.format(**values) if values else key)
        self.key, self.values, self.parts = key, values, ()
        return self

    @classmethod
    def joined(cls, separator: str, parts: Iterable[Any]) -> "Message":
        """``separator.join(parts)`` that renders each part in the reader's language (a part
        that is plain text is a key: a literal the code wrote)."""
        parts = tuple(parts)
        self = super().__new__(cls, separator.join(parts))
        self.key, self.values, self.parts = None, {"separator": separator}, parts
        return self

    @classmethod
    def worded(cls, text: Any, english: str) -> "Message":
        """``text`` worded ``english`` in English (capitalised, say), as ``text`` in other languages."""
        self = super().__new__(cls, english)
        self.key, self.values, self.parts = None, {"separator": ""}, (text,)
        return self

    def render(self, catalog: Mapping[str, str]) -> str:
        """This message in the catalog's language; English where the catalog lacks its key."""
        if not catalog:
            return str.__str__(self)
        if self.key is None:
            return self.values["separator"].join(msg(part).render(catalog) for part in self.parts)
        template = catalog.get(self.key, self.key)
        if not self.values:
            return template
        return template.format(**{name: render(value, catalog) for name, value in self.values.items()})

    def strip(self, chars: str | None = None) -> str:  # a message that is already stripped stays one
        stripped = str.strip(self, chars)
        return self if stripped == self else stripped

    def __reduce__(self) -> tuple[Any, ...]:  # a message crosses processes (a run's job, ZeroGPU's worker)
        if self.key is None:
            return (_rejoined, (self.values["separator"], self.parts, str.__str__(self)))
        return (_rebuilt, (self.key, self.values))


def _rebuilt(key: str, values: dict[str, Any]) -> Message:
    return Message(key, **values)


def _rejoined(separator: str, parts: tuple[Any, ...], english: str) -> Message:
    joined = Message.joined(separator, parts)
    return joined if joined == english else Message.worded(parts[0], english)


def message_of(exc: BaseException) -> str:
    """An exception's message, the :class:`Message` it was raised with kept (``str(exc)`` is plain text)."""
    if len(exc.args) == 1 and isinstance(exc.args[0], Message):
        return exc.args[0]
    return str(exc)


def lines(*parts: Any) -> Message:
    """The parts that are not empty, a line each."""
    return Message.joined("\n", [part for part in parts if part])


def sentence(text: Any) -> Message:
    """``text`` as a sentence in English (a capital first, a full stop last); as it is in other languages."""
    english = text[:1].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")
    return Message.worded(text, english)


def capitalized(text: Any) -> Message:
    """``text`` with a capital first in English (``Run 3`` of ``run 3``); as it is in other languages."""
    return Message.worded(text, text[:1].upper() + text[1:])


def msg(key: str, /, **values: Any) -> Message:
    """A :class:`Message`: ``key`` with ``values`` put in.

    ``msg(text)`` of a text that is already a Message returns it as it is; of plain text
    (a word from a closed set, such as an outcome), a message keyed by that text.
    """
    if isinstance(key, Message) and not values:
        return key
    return Message(key, **values)


def render(value: Any, catalog: Mapping[str, str]) -> Any:
    """``value`` in the catalog's language when it is a :class:`Message`; anything else as it is."""
    return value.render(catalog) if isinstance(value, Message) else value


__all__ = ["Message", "capitalized", "lines", "message_of", "msg", "render", "sentence"]
