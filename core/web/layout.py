"""Wiring that every tab needs: refreshing itself when selected or when the page loads.

Call these inside a tab's ``build`` (Gradio is imported when they run).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Callable

from trainpad.web.i18n import tr
from trainpad.web.messages import shown_in_browser, toast

if TYPE_CHECKING:
    import gradio as gr

#: The concurrency group of every tab's refresh (a few at once, like any other kind of event).
CONCURRENCY_ID = "page"


def enclosing_tab() -> "gr.Tab | None":
    """The ``gr.Tab`` whose ``build`` is running."""
    import gradio as gr
    from gradio.context import get_render_context

    block = get_render_context()
    while block is not None and not isinstance(block, gr.Tab):
        block = getattr(block, "parent", None)
    return block


def on_tab_select(fn: Callable[..., Any], outputs: Any) -> None:
    """Run ``fn`` into ``outputs``, quietly, each time the tab being built is selected
    (to show what another tab changed, such as the session's model), in the browser's language."""
    tab = enclosing_tab()
    if tab is not None:
        tab.select(_speaking(fn), outputs=outputs, api_visibility="private", show_progress="hidden", concurrency_id=CONCURRENCY_ID)


def on_page_load(fn: Callable[..., Any], outputs: Any) -> None:
    """Run ``fn`` into ``outputs``, quietly, when the page loads (the app's root Blocks), in the browser's language."""
    from gradio.context import get_blocks_context

    root = getattr(get_blocks_context(), "root_block", None)
    if root is not None:
        root.load(_speaking(fn), outputs=outputs, api_visibility="private", show_progress="hidden", concurrency_id=CONCURRENCY_ID)


def _speaking(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` in the browser's language (see :func:`trainpad.web.messages.shown_in_browser`), once."""
    return fn if getattr(fn, "__wrapped__", None) is not None else shown_in_browser(fn)


def script_download(button: Any, write: Callable[..., Any], *, file_button: Any, **event: Any) -> None:
    """Wire a "Download as a script" ``button``: ``write(...)`` (the event's inputs, a
    ``gr.Request`` among them if it asks for one) writes the file and returns a
    :class:`~trainpad.web.export_handler.ScriptFile`; the page pops up its message, hands the
    file to ``file_button`` (a hidden ``gr.DownloadButton`` with an ``elem_id``) and clicks it.

    :param event: the click's inputs, ``api_name`` and the like; the raw values reach ``write``.
    """
    import gradio as gr


    @shown_in_browser
    @functools.wraps(write)  # Gradio reads write's signature: its inputs and its gr.Request
    def on_click(*args: Any, **kwargs: Any) -> Any:
        written = write(*args, **kwargs)
        gr.Info(toast(written.message), title=tr("Script ready"))
        return gr.DownloadButton(value=str(written.path))

    click = f"() => {{ document.querySelector('#{file_button.elem_id}')?.click(); }}"
    button.click(
        on_click, outputs=file_button, preprocess=False, concurrency_limit=4, concurrency_id="export", show_progress="hidden", **event
    ).success(None, js=click, api_visibility="private", queue=False)

