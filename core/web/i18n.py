"""The web app in English and Korean, picked by the browser's language.

Two mechanisms, one catalog (:data:`KOREAN`, English text to Korean text):

* **What the page is built with** (labels, help texts, buttons, tab names, Markdown): after
  the tabs are built, :func:`localize` swaps every string of the catalog in a component's
  ``label``, ``info``, ``placeholder``, ``value`` and choices for a ``gr.I18n`` key, and the
  browser shows the text of its own language (Gradio's ``I18n``: translated in the
  frontend, by ``navigator.language``).  The tabs keep writing plain English.
* **What the server sends later** (statuses, logs, messages, ``gr.Error`` pop-ups, HTML
  made per request): the language comes from the request's ``Accept-Language``
  (:func:`language_of`); :func:`shown_in_browser <trainpad.web.messages.shown_in_browser>`
  makes it the current one while an event runs and passes what the event returns
  through :func:`translate`, and code that writes text for the page calls :func:`tr`.

A catalog entry may be a template: ``"step {step} of {steps}"`` translates ``"step 40 of
469"``; a placeholder ending in ``*`` (``{rest*}``) is translated in turn.  Text that
plugins provide (component descriptions, hyperparameter names and help, a plugin's own
tab) is shown as the plugin wrote it; the CLI stays English.  ``tests/test_i18n.py``
builds the app and fails on any English string the page shows without a Korean one.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import re
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator

from trainpad.web.i18n_ko import KOREAN

if TYPE_CHECKING:
    import gradio as gr

    from trainpad.engine.engine import Engine

#: Languages the app speaks; the first is the default.
LANGUAGES = ("en", "ko")
#: The component properties that hold text for people.
TEXT_PROPS = ("label", "info", "placeholder", "value", "x_title", "y_title", "title")
#: Blocks the page never shows (an API endpoint's, state).
UNSEEN = ("Api", "State", "Timer", "BrowserState")
#: Components whose ``value`` is text for people (a Textbox's or a Number's is the user's).
TEXT_VALUED = ("Markdown", "Button", "HTML")

_local = threading.local()


def language_of(request: Any) -> str:
    """``ko`` when the request's ``Accept-Language`` prefers Korean to English, else ``en``."""
    headers = getattr(request, "headers", None) or {}
    try:
        accept = headers.get("accept-language", "") or ""
    except Exception:  # a request without usable headers
        accept = ""
    best, best_q = "en", -1.0
    for part in str(accept)[:500].split(","):
        tag, _, params = part.strip().partition(";")
        code = tag.strip().lower().split("-")[0]
        if code not in LANGUAGES:
            continue
        q = 1.0
        match = re.search(r"q=([0-9.]+)", params)
        if match:
            try:
                q = float(match.group(1))
            except ValueError:
                q = 0.0
        if q > best_q:
            best, best_q = code, q
    return best


def current() -> str:
    """The language of the event running in this thread (``en`` outside one)."""
    return getattr(_local, "language", "en")


@contextlib.contextmanager
def speaking(language: str) -> Iterator[None]:
    """Make ``language`` the current one in this thread while the block runs."""
    before = current()
    _local.language = language if language in LANGUAGES else "en"
    try:
        yield
    finally:
        _local.language = before


def tr(text: str, /, **values: Any) -> str:
    """``text`` (an English template from the catalog) in the current language, with ``values`` put in."""
    template = KOREAN.get(text, text) if current() == "ko" else text
    return template.format(**values) if values else template


# -- translating what was written in English -------------------------------------------


#: The longest line matched against the catalog's templates: no line the server writes is
#: longer (values in messages are cut to a few dozen characters: see ``shown``); a longer one
#: is client text, shown as it is.
LINE_CHARS = 2000


@dataclass(frozen=True)
class Template:
    """A catalog entry with placeholders, matched in linear time.

    ``"lr {value} of {name}"`` is the fixed pieces ``["lr ", " of ", ""]`` around two
    values.  A value takes the shortest text that lets the rest match, as a regular
    expression's ``.*?`` would, but found with ``str.find`` from left to right (one pass
    per part): the earliest place for each part always leaves the most room for the next,
    so no backtracking is needed, and a crafted line of commas costs no more than any
    other (with ``.*?`` groups it cost the cube of its length: issue 22).
    """

    pieces: tuple[str, ...]
    #: each placeholder's name and whether its value is translated in turn (``{name*}``)
    names: tuple[tuple[str, bool], ...]
    korean: str

    @classmethod
    def of(cls, english: str, korean: str) -> "Template":
        names = tuple((name, bool(star)) for name, star in re.findall(r"\{(\w+)(\*?)\}", english))
        return cls(tuple(re.split(r"\{\w+\*?\}", english)), names, korean.replace("*}", "}"))

    @property
    def fixed(self) -> int:
        """How much text of its own the template has."""
        return sum(len(part) for part in self.pieces)

    def match(self, text: str) -> dict[str, str] | None:
        """Each placeholder's value in ``text``, or None when ``text`` does not fit."""
        first, last = self.pieces[0], self.pieces[-1]
        end = len(text) - len(last)
        if end < len(first) or not text.startswith(first) or not text.endswith(last):
            return None
        values: dict[str, str] = {}
        at = len(first)
        for i, (name, _) in enumerate(self.names):
            part = self.pieces[i + 1]
            found = end if i == len(self.names) - 1 else text.find(part, at, end)
            if found < at:
                return None
            value = text[at:found]
            if values.setdefault(name, value) != value:
                return None  # a value named twice is the same text
            at = found + len(part)
        return values


@functools.lru_cache(maxsize=1)
def _templates() -> list[Template]:
    """The catalog's templates, the ones that start with their own text first (so
    "**Current model:** {model*}" wins over "{model} on {dataset}..."), then those with the
    most text of their own."""
    found = [Template.of(english, korean) for english, korean in KOREAN.items() if re.search(r"\{\w+\*?\}", english)]
    found.sort(key=lambda template: (not template.pieces[0], -template.fixed))
    return found


def translate(text: Any, language: str | None = None) -> Any:
    """An English string as the catalog has it in ``language`` (default: the current one):
    exactly, by a template, or line by line; text the catalog does not know is returned as it is."""
    language = language or current()
    if language != "ko" or not isinstance(text, str) or not text.strip():
        return text
    return _korean(text) if len(text) < 2000 else _korean_uncached(text, 0)


@functools.lru_cache(maxsize=8192)
def _korean(text: str) -> str:
    """Translations repeat (a log's lines, at every update): kept."""
    return _korean_uncached(text, 0)


def _korean_uncached(text: str, _depth: int) -> str:
    language = "ko"
    if not text.strip() or _depth > 4:
        return text
    exact = KOREAN.get(text)
    if exact is not None:
        return exact
    if "\n" in text:
        return "\n".join(translate(line, language) for line in text.split("\n"))
    stripped = text.strip()
    if stripped != text:
        head, tail = text[: len(text) - len(text.lstrip())], text[len(text.rstrip()) :]
        return head + _korean_uncached(stripped, _depth + 1) + tail
    if len(text) > LINE_CHARS:
        return text  # no template is that long: client text, not matched at all
    best = None
    for order, template in enumerate(_templates()):
        values = template.match(text)
        if values is None:
            continue
        # A value is usually a number or a name: a match that puts words or markup into a plain
        # placeholder ("lr {value}" taking "must be at most 10, got 99") loses to one that does not.
        loose = sum(1 for name, star in template.names if not star and re.search(r"\s|\*\*|<", values[name]))
        if best is None or (loose, order) < best[0]:
            best = ((loose, order), template, values)
    if best is None:
        return text
    _, template, values = best
    stars = dict(template.names)
    return template.korean.format(**{name: _korean_uncached(value, _depth + 1) if stars[name] else value for name, value in values.items()})


def translate_outputs(value: Any, language: str) -> Any:
    """What an event returns, its text in ``language``: strings, lists of outputs, component
    updates (their label, info and text value), gallery captions."""
    if language != "ko":
        return value
    if isinstance(value, str):
        return translate(value, language)
    if isinstance(value, list):
        return [translate_outputs(item, language) for item in value]
    if isinstance(value, tuple):
        return tuple(translate_outputs(item, language) for item in value)
    try:
        from gradio.blocks import Block
    except ImportError:  # pragma: no cover - Gradio is there whenever events run
        return value
    if isinstance(value, dict):
        if value.get("__type__") == "update":
            return {k: translate(v, language) if k in TEXT_PROPS else v for k, v in value.items()}
        if value and all(isinstance(key, Block) for key in value):  # outputs by component
            return {key: _output_of(key, v, language) for key, v in value.items()}
        return value  # data (a Label's probabilities...), not text
    if isinstance(value, Block):  # gr.Button(value=...) as an update: its texts
        for prop in TEXT_PROPS:
            text = getattr(value, prop, None)
            if isinstance(text, str) and (prop != "value" or type(value).__name__ in TEXT_VALUED):
                setattr(value, prop, translate(text, language))
    return value


def _output_of(block: Any, value: Any, language: str) -> Any:
    """The value for ``block`` in a handler's ``{component: value}``: a plain string is
    translated only for a component whose value is text for people (a Textbox's is the user's)."""
    if isinstance(value, str):
        return translate(value, language) if type(block).__name__ in TEXT_VALUED else value
    return translate_outputs(value, language)


# -- the page as it is built ---------------------------------------------------------------


def key_of(text: str) -> str:
    """The ``gr.I18n`` key of an English text (no dots: the frontend reads those as paths)."""
    return "tp_" + hashlib.sha1(text.encode()).hexdigest()[:12]


def i18n() -> "gr.I18n":
    """The catalog as the ``gr.I18n`` that ``launch(i18n=...)`` takes."""
    import gradio as gr

    english = {key_of(text): text for text in KOREAN}
    korean = {key_of(text): ko for text, ko in KOREAN.items()}
    return gr.I18n(en=english, ko=korean)


def localize(demo: "gr.Blocks", engine: "Engine") -> list[str]:
    """Swap the page's English texts that the catalog has for keys the browser translates.

    Plugin-provided text and third-party tabs are left as they are.

    :return: the texts shown that the catalog lacks (``tests/test_i18n.py`` wants none).
    """
    import gradio as gr

    translator = gr.I18n()  # only to make keys; the texts are in i18n()
    plugin_text = plugin_texts(engine)
    missing: list[str] = []
    for block, prop, text in shown_texts(demo, engine):
        if text in plugin_text or not _is_words(text):
            continue
        if text not in KOREAN:
            missing.append(text)
            continue
        key = translator(key_of(text))
        if prop == "choices":
            block.choices = [(key if label == text else label, value) for label, value in block.choices]
        else:
            setattr(block, prop, key)
    return missing


def shown_texts(demo: "gr.Blocks", engine: "Engine") -> Iterator[tuple[Any, str, str]]:
    """``(component, property, text)`` for every text the page is built with, outside third-party tabs."""
    import gradio as gr

    builtin = {name for name, info in engine.plugins.items() if info.builtin}
    foreign_tabs = {tab.label for tab in engine.tabs if tab.plugin not in builtin}
    skipped: set[int] = set()
    for block in demo.blocks.values():
        if isinstance(block, gr.Tab) and block.label in foreign_tabs:
            skipped.update(_descendants(block))
    for block in demo.blocks.values():
        if id(block) in skipped or type(block).__name__ in UNSEEN:
            continue
        for prop in TEXT_PROPS:
            text = getattr(block, prop, None)
            if prop == "value" and type(block).__name__ not in TEXT_VALUED:
                continue
            if isinstance(text, str) and text.strip() and not text.startswith("__i18n__"):
                yield block, prop, text
        choices = getattr(block, "choices", None)
        if isinstance(block, (gr.Dropdown, gr.Radio, gr.CheckboxGroup)) and choices:
            for label, value in choices:
                if isinstance(label, str) and label != value:
                    yield block, "choices", label


def plugin_texts(engine: "Engine") -> set[str]:
    """What plugins wrote, shown as they wrote it: descriptions, hyperparameters' names and help."""
    from trainpad.web.forms import param_info, param_label

    texts: set[str] = set()
    for component in engine.registry:
        texts.add(component.description)
        texts.add(f"{component.description} (plugin {component.plugin})")
        texts.add(f"**{component.kind.capitalize()} {component.name}**")
        if component.kind == "experiment":  # its title is a line of code
            texts.add(component.meta["title"])
        for param in component.params:
            texts.update({param_label(param.name), param_info(param), param.help})
    return {t for t in texts if t}


def _descendants(block: Any) -> set[int]:
    found, todo = set(), [block]
    while todo:
        current_block = todo.pop()
        found.add(id(current_block))
        todo.extend(getattr(current_block, "children", []) or [])
    return found


def _is_words(text: str) -> bool:
    """Text for people, not a name or a number: a letter in a word of two, or a space."""
    if text.startswith("<style>") or text.lstrip().startswith("<style>"):
        text = re.sub(r"<style>.*?</style>", "", text, flags=re.S)
    return bool(re.search(r"[A-Za-z]{2}", text))


__all__ = ["KOREAN", "LANGUAGES", "current", "i18n", "language_of", "localize", "shown_texts", "speaking", "tr", "translate", "translate_outputs"]
