"""The Plugins tab: every plugin with its version, status and components, and every failure.

The listing is rendered on each load of the page (and each visit of the tab), in the
browser's language, so it also lists tabs that failed to build after this one.  The same listing is in the HTTP API as ``/plugins`` (JSON).
"""


from typing import TYPE_CHECKING

from trainpad import hookimpl

if TYPE_CHECKING:
    from trainpad import Engine

ORDER = 40


def build(engine: "Engine") -> None:
    """Build the Plugins tab (called inside its ``gr.Tab``)."""
    import gradio as gr

    from trainpad.web.layout import on_page_load, on_tab_select
    from trainpad.web.messages import shown_in_browser
    from trainpad.web.plugin_listing import listing_html, plugin_listing

    listing = gr.HTML("", padding=True)

    @shown_in_browser
    def show(request: gr.Request) -> str:
        return listing_html(engine)  # in the browser's language

    on_page_load(show, listing)
    on_tab_select(show, listing)

    def plugins() -> dict:
        """Plugins, their components and failures (JSON)."""
        return plugin_listing(engine)

    gr.api(plugins, api_name="plugins")


@hookimpl
def register_tabs(register):
    register("Plugins", build, order=ORDER)
