"""The web app in English and Korean, picked by the browser's language.

Two mechanisms, one catalog (:data:`KOREAN`, English text to Korean text):

* **What the page is built with** (labels, help texts, buttons, tab names, Markdown): after
  the tabs are built, :func:`localize` swaps every string of the catalog in a component's
  ``label``, ``info``, ``placeholder``, ``value`` and choices for a ``gr.I18n`` key, and the
  browser shows the text of its own language (Gradio's ``I18n``: translated in the
  frontend, by ``navigator.language``).  The tabs keep writing plain English.
* **What the server sends later** (statuses, logs, messages, ``gr.Error`` pop-ups, HTML
  made per request) is written as messages by key (:func:`~trainpad.engine.message.msg`:
  ``msg("step {step} of {steps}", step=..., steps=...)``), rendered at the edge in the
  request's language (``Accept-Language``, :func:`language_of`):
  :func:`shown_in_browser <trainpad.web.messages.shown_in_browser>` makes it the current
  one while an event runs and renders what the event returns (:func:`translate_outputs`);
  code that writes HTML for the page calls :func:`tr`, which renders at once.

The catalog's keys are the English templates, as gettext's message ids are; a message's
values are put in after its template is looked up, each value that is itself a message
rendered in turn.  Rendered English is never matched against the catalog.  Text that
plugins provide (component descriptions, hyperparameter names and help, a plugin's own
tab) is shown as the plugin wrote it; the CLI stays English.  ``tests/test_i18n.py``
builds the app and fails on any English string the page shows without a Korean one, on a
key the code writes that the catalog lacks, and on a catalog entry no code writes.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import threading
from typing import TYPE_CHECKING, Any, Iterator, Mapping

from trainpad.engine.message import Message, msg, render
from trainpad.web.forms import param_info, param_label
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
    """``text`` (a key of the catalog) in the current language now, with ``values`` put in:
    for text made inside an event, such as HTML; :func:`~trainpad.engine.message.msg` makes
    a message rendered later, in the language of whoever reads it."""
    return translate(msg(text, **values))


# -- rendering what the server wrote, at the edge -------------------------------------


def catalog(language: str) -> Mapping[str, str]:
    """The catalog of ``language``: English text (a message's key) to its translation."""
    return KOREAN if language == "ko" else {}


def translate(text: Any, language: str | None = None) -> Any:
    """``text`` in ``language`` (default: the current one), by its key.

    A :class:`~trainpad.engine.message.Message` is rendered from its key and values; plain
    text is looked up whole (a literal the code wrote, such as a button's new label); text
    the catalog lacks is returned as it is.  Nothing is matched against rendered English.
    """
    language = language or current()
    if language == "en" or not isinstance(text, str):
        return render(text, {}) if isinstance(text, Message) else text
    return msg(text).render(catalog(language))


def translate_outputs(value: Any, language: str) -> Any:
    """What an event returns, its text in ``language``: strings, lists of outputs, component
    updates (their label, info and text value), gallery captions.  Messages leave as plain
    text, in English too (what Gradio keeps and sends is a ``str``)."""
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
