"""The Plugins tab: every plugin with its version, status and components, and every failure.

The page is rendered on each load, so it also lists tabs that failed to build after
this one.  The same listing is in the HTTP API as ``/plugins`` (JSON).
"""


from typing import TYPE_CHECKING

from trainpad import hookimpl

if TYPE_CHECKING:
    from trainpad import Engine

ORDER = 40


def build(engine: "Engine") -> None:
    """Build the Plugins tab (called inside its ``gr.Tab``)."""
    import gradio as gr

    from trainpad.web.plugin_listing import listing_html, plugin_listing

    gr.HTML(lambda: listing_html(engine), padding=True)

    def plugins() -> dict:
        """Plugins, their components and failures (JSON)."""
        return plugin_listing(engine)

    gr.api(plugins, api_name="plugins")


@hookimpl
def register_tabs(register):
    register("Plugins", build, order=ORDER)
