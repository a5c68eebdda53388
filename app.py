"""trainpad's web app: train, evaluate and draw-to-predict in the browser.

::

    python app.py                          # http://127.0.0.1:7860
    python app.py --host 0.0.0.0 --port 8080
    python app.py --list-plugins           # JSON of plugins and components; no server

This is the composition root: plugins -> :class:`~core.engine.Engine` -> ``gr.Blocks``
-> launch.  Every tab, the built-in ones included, comes from a plugin's
``register_tabs`` hook.  The app answers before torch is imported: once it is up, a
background thread imports torch and loads the shipped model, so that the first drawing
is answered at once; datasets load when a run or an evaluation needs them.

Settings, read from the environment at start-up:

``GRADIO_SERVER_NAME``, ``GRADIO_SERVER_PORT``
    Gradio's own (``--host`` and ``--port`` win over them).
``TRAINPAD_MAX_TRAINING_RUNS``
    Runs training at once (default 1); later ones wait in the queue, seeing their place.
``TRAINPAD_CONCURRENCY``
    Other events (predictions...) running at once per event (default 4).
``TRAINPAD_QUEUE_SIZE``
    Events that may wait in the queue before new ones are refused (default 64).
``TRAINPAD_MAX_UPLOAD_MB``
    The largest upload accepted (default 20).
``TRAINPAD_SESSION_MEMORY_MB``, ``TRAINPAD_SESSION_IDLE_MINUTES``
    Per-session state limits (see :mod:`core.sessions`).
``TRAINPAD_MAX_EPOCHS``, ``TRAINPAD_MAX_BATCH_SIZE``, ``TRAINPAD_MAX_TRAIN_SAMPLES``, ``TRAINPAD_MAX_EVAL_SAMPLES``, ``TRAINPAD_MAX_RUN_SECONDS``
    What one web user may ask for (defaults 20, 1024, 60000, 10000, 900 s; see
    :mod:`core.limits`), checked on the server.  ``docs/deploying.md`` lists every
    setting of a public deployment.
``TRAINPAD_PRETRAINED``
    The checkpoint sessions start with (see :mod:`core.shipped`).
"""


import argparse
import json
import logging
import os
import sys
import threading
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:
    import gradio as gr

    from core.engine import Engine

log = logging.getLogger("trainpad.app")

TITLE = "trainpad"
INTRO = (
    "Train, evaluate and play with PyTorch models. Everything here comes from plugins: "
    "the datasets, models, optimizers and losses in the dropdowns, and these tabs."
)
#: Uploaded and generated files older than this are deleted, checked this often (seconds).
DELETE_CACHE = (1800, 3600)

CSS = """
.tp-hidden {display: none !important;}
.tp-header {margin-bottom: 0 !important;}
.tp-header h1 {margin: 0 0 2px 0; font-size: 1.6rem;}
.tp-header p {margin: 0; color: var(--body-text-color-subdued);}
.tp-status {min-height: 3.2em;}
footer {display: none !important;}
@media (max-width: 560px) {  /* all four tabs fit on a phone, none hidden behind "..." */
  .tab-container button {padding: 0 8px !important;}
}
"""


def env_int(name: str, default: int) -> int:
    """An integer setting from the environment; ``default`` when unset or empty."""
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def build_app(engine: "Engine") -> "gr.Blocks":
    """The app's ``gr.Blocks``: a tab per registered tab, sessions kept apart, queue set up.

    A tab whose ``build`` raises is hidden, logged and reported against its plugin
    (shown in the Plugins tab).
    """
    from core.gradio_stubs import skip_stub_regeneration

    skip_stub_regeneration()  # halves Gradio's import time, when it is not imported yet
    import gradio as gr

    from PIL import Image

    from core.imaging import max_pixels
    from core.sessions import SessionStore, attach_store
    from core.shipped import shipped_loader
    from core.ui import session_id

    # Gradio decodes a sketch's pictures before the handler sees them: PIL then refuses
    # any over twice the app's pixel limit from its header (the handler refuses the rest
    # with a message), so a tiny PNG declaring 20000x20000 pixels never fills the memory.
    Image.MAX_IMAGE_PIXELS = max_pixels()
    store = attach_store(engine, SessionStore.from_env(shipped_loader(engine)))
    with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=DELETE_CACHE) as demo:
        gr.Markdown(f"# {TITLE}\n{INTRO}", elem_classes="tp-header")
        with gr.Tabs():
            for tab in engine.tabs:
                with gr.Tab(tab.label) as block:
                    try:
                        tab.build(engine)
                    except Exception as exc:
                        block.visible = False
                        report_tab_failure(engine, tab, exc)

        def forget(request: gr.Request) -> None:
            store.drop(session_id(request))

        demo.unload(forget)
    demo.queue(max_size=env_int("TRAINPAD_QUEUE_SIZE", 64), default_concurrency_limit=env_int("TRAINPAD_CONCURRENCY", 4))
    return demo


def report_tab_failure(engine: "Engine", tab: Any, exc: BaseException) -> None:
    """Log a tab whose build raised and record it on its plugin, for the Plugins tab."""
    from core.plugins import PluginInfo

    reason = f'tab "{tab.label}" failed to build: {type(exc).__name__}: {exc}'
    log.error('Error in plugin "%s": %s', tab.plugin, reason, exc_info=exc)
    info = engine.plugins.setdefault(tab.plugin, PluginInfo(tab.plugin))
    info.error = f"{info.error}; {reason}" if info.error else reason


def launch_options(*, host: str | None = None, port: int | None = None, share: bool = False) -> dict[str, Any]:
    """``launch()`` arguments with safe defaults for a public server.

    Uploads are capped, monitoring is off, errors other than ``gr.Error`` stay on the
    server, and the app's own CSS and theme are applied.
    """
    import gradio as gr

    return {
        "server_name": host,
        "server_port": port,
        "share": share,
        "max_file_size": f"{env_int('TRAINPAD_MAX_UPLOAD_MB', 20)}mb",
        "enable_monitoring": False,
        "show_error": False,
        "ssr_mode": False,
        "css": CSS,
        "theme": gr.themes.Soft(primary_hue="blue", secondary_hue="slate").set(
            button_primary_background_fill="*primary_600",
            button_primary_background_fill_hover="*primary_700",
            button_primary_text_color="white",
        ),
        "footer_links": ["api"],
    }


def serve(demo: "gr.Blocks", *, prevent_thread_lock: bool = False, quiet: bool = False, **options: Any) -> tuple[Any, str, str | None]:
    """Launch ``demo`` with :func:`launch_options`; returns ``(app, local_url, share_url)``."""
    settings = launch_options(**options)
    return demo.launch(prevent_thread_lock=prevent_thread_lock, quiet=quiet, **settings)


def warm_up(engine: "Engine") -> None:
    """Import torch and the training loop, and load the shipped model.

    The app answers before torch is imported (2-3 s); ``main`` calls this in a background
    thread once it is up, so that the first prediction or run does not wait for them.
    """
    import time

    from core.sessions import store_for

    start = time.perf_counter()
    import core.data  # noqa: F401  (torch and the data path)
    import core.training  # noqa: F401  (the training loop and evaluation)

    store_for(engine).starting_model()
    log.info("torch and the shipped model ready in %.1f s", time.perf_counter() - start)


def list_plugins(engine: "Engine") -> dict[str, Any]:
    """Plugins, components and tabs as JSON-ready data (``--list-plugins``)."""
    return {
        "plugins": [info.to_dict() for info in engine.plugins.values()],
        "components": [component.to_dict() for component in engine.registry],
        "tabs": [{"label": tab.label, "order": tab.order, "plugin": tab.plugin} for tab in engine.tabs],
    }


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="app.py", description="trainpad's web app: train, evaluate and predict in the browser.")
    parser.add_argument("--host", default=None, help="address to listen on (default: GRADIO_SERVER_NAME or 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="port (default: GRADIO_SERVER_PORT or 7860)")
    parser.add_argument("--share", action="store_true", help="also make a temporary public link through Gradio")
    parser.add_argument("--list-plugins", action="store_true", help="print the plugins and their components as JSON and exit")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Start the app (or list the plugins); returns the exit status."""
    args = parse_args(argv)
    from core.tuning import apply_runtime_settings

    from core.errors import TrainpadError

    try:  # threads, OpenMP waiting, allocator: before torch is imported; requests share the cores
        settings = apply_runtime_settings(shared=True)
    except TrainpadError as exc:  # a bad TRAINPAD_THREADS or TRAINPAD_OMP_WAIT_POLICY
        print(f"app.py: error: {exc}", file=sys.stderr)
        return 2
    from core.engine import Engine

    if args.list_plugins:
        print(json.dumps(list_plugins(Engine.load()), indent=2))
        return 0
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    log.info("runtime settings: %s", settings)
    engine = Engine.load()
    demo = build_app(engine)
    _, url, share_url = serve(demo, host=args.host, port=args.port, share=args.share, prevent_thread_lock=True, quiet=True)
    print(f"trainpad is running at {url}" + (f" (public link: {share_url})" if share_url else ""), flush=True)
    threading.Thread(target=warm_up, args=(engine,), name="trainpad-warm-up", daemon=True).start()
    try:
        demo.block_thread()
    finally:
        from core.sessions import store_for

        store_for(engine).close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
