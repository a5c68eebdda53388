"""trainpad's web app: train, evaluate and draw-to-predict in the browser.

::

    python app.py                          # http://127.0.0.1:7860
    python app.py --host 0.0.0.0 --port 8080
    python app.py --list-plugins           # JSON of plugins and components; no server

This is the composition root: plugins -> :class:`~trainpad.engine.engine.Engine` -> ``gr.Blocks``
-> launch.  Every tab, the built-in ones included, comes from a plugin's
``register_tabs`` hook.  The app answers before torch is imported: once it is up, a
background thread imports torch and loads the shipped model, so that the first drawing
is answered at once; datasets load when a run or an evaluation needs them.

Its settings (the server's limits, the shipped model...) are ``TRAINPAD_*`` variables,
read at start-up and listed in ``docs/settings.md``; ``docs/deploying.md`` explains those
of a public deployment.  Gradio's own ``GRADIO_SERVER_NAME`` and ``GRADIO_SERVER_PORT``
apply too (``--host`` and ``--port`` win over them).
"""


import argparse
import json
import logging
import signal
import sys
import threading
import time
from typing import TYPE_CHECKING, Any, Sequence

from trainpad import settings
from trainpad.engine.engine import Engine
from trainpad.engine.errors import TrainpadError
from trainpad.runtime.threads import apply_runtime_settings
from trainpad.web import fair_queue
from trainpad.web.fair_queue import worker_threads
from trainpad.web.gradio_import import skip_stub_regeneration
from trainpad.web.guard import middleware
from trainpad.web.i18n import i18n, localize
from trainpad.web.page_scripts import PAGE_JS
from trainpad.web.services import App
from trainpad.web.sessions import session_id

if TYPE_CHECKING:
    import gradio as gr

    from trainpad.engine.engine import Engine
    from trainpad.web.services import App

log = logging.getLogger("trainpad.app")

TITLE = "trainpad"
INTRO = "Draw a digit and see what a neural network reads; then train your own and watch it learn."
#: Uploaded and generated files older than this are deleted, checked this often (seconds).
DELETE_CACHE = (1800, 3600)


def build_app(engine: "Engine") -> "gr.Blocks":
    """The app's ``gr.Blocks``: a tab per registered tab, sessions kept apart, queue set up.

    A tab whose ``build`` raises is hidden, logged and reported against its plugin
    (shown in the Plugins tab).
    """
    skip_stub_regeneration()  # halves Gradio's import time, when it is not imported yet
    import gradio as gr

    from PIL import Image

    from trainpad.engine.pictures import max_pixels

    # Gradio decodes a sketch's pictures before the handler sees them: PIL then refuses
    # any over twice the app's pixel limit from its header (the handler refuses the rest
    # with a message), so a tiny PNG declaring 20000x20000 pixels never fills the memory.
    Image.MAX_IMAGE_PIXELS = max_pixels()
    app = App.create(engine)  # where runs go made now: on ZeroGPU, the @spaces.GPU function the Space must have at launch
    with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=DELETE_CACHE) as demo:
        gr.Markdown(f"# {TITLE}\n{INTRO}", elem_classes="tp-header")
        gr.HTML("", js_on_load=PAGE_JS, container=False, padding=False, elem_classes="tp-hidden")
        with gr.Tabs(overflow_behavior="wrap"):  # a plugin's tabs too: on a phone a second row, not a "..." menu
            for tab in engine.tabs:
                with gr.Tab(tab.label) as block:
                    try:
                        app.build_tab(tab.build)
                    except Exception as exc:
                        block.visible = False
                        report_tab_failure(engine, tab, exc)

        def forget(request: gr.Request) -> None:
            app.store.drop(session_id(request))

        demo.unload(forget)
    demo.trainpad_app = app  # serve() localizes the page for its engine and guards it
    demo.trainpad_engine = engine
    # No one size for the whole queue: each kind of event has its own line and each client
    # its share, checked before an event is queued (trainpad.web.fair_queue).
    demo.queue(max_size=None, default_concurrency_limit=settings.get("TRAINPAD_CONCURRENCY"))
    fair_queue.install(demo, app.store, app.presence, runs=app.watch.sessions)
    app.watch.backlog = fair_queue.backlog(demo)  # a run whose updates pile up unread is stopped
    return demo  # serve() puts the request guard in front (body caps, uploads, presence)


def report_tab_failure(engine: "Engine", tab: Any, exc: BaseException) -> None:
    """Log a tab whose build raised, with its traceback, and record it on its plugin."""
    reason = f'tab "{tab.label}" failed to build: {type(exc).__name__}: {exc}'
    engine.report_failure(tab.plugin, reason, keep_status=True, exc=exc)


def launch_options(*, host: str | None = None, port: int | None = None, share: bool = False) -> dict[str, Any]:
    """``launch()`` arguments with safe defaults for a public server.

    Uploads are capped, monitoring is off, errors other than ``gr.Error`` stay on the
    server, and the app's own CSS and theme are applied.
    """
    import gradio as gr

    from trainpad.web.render import CSS_FILE

    return {
        "i18n": i18n(),  # the catalog the page's texts were swapped for (trainpad.web.i18n.localize)
        "server_name": host,
        "server_port": port,
        "share": share,
        "max_file_size": int(settings.get("TRAINPAD_MAX_UPLOAD_MB") * 2**20),
        "enable_monitoring": False,
        "show_error": False,
        "ssr_mode": False,
        # the page's one stylesheet, sent once with it; no update carries CSS (trainpad.web.render)
        "css_paths": [CSS_FILE],
        "theme": gr.themes.Soft(primary_hue="blue", secondary_hue="slate").set(
            button_primary_background_fill="*primary_600",
            button_primary_background_fill_hover="*primary_700",
            button_primary_text_color="white",
        ),
        "footer_links": ["api"],
    }


def serve(demo: "gr.Blocks", *, prevent_thread_lock: bool = False, quiet: bool = False, **options: Any) -> tuple[Any, str, str | None]:
    """Launch ``demo`` with :func:`launch_options`, its texts in the browser's language
    (:func:`trainpad.web.i18n.localize`); returns ``(app, local_url, share_url)``.

    A demo from :func:`build_app` gets the request guard in front
    (:mod:`trainpad.web.guard`) and enough workers for every kind of event at its
    concurrency limit at once (:func:`trainpad.web.fair_queue.worker_threads`).
    """
    from trainpad.web import gradio_state

    app = getattr(demo, "trainpad_app", None)
    if app is not None:
        localize(demo, app.engine)
    settings = launch_options(**options)
    launched = demo.launch(
        prevent_thread_lock=True,  # until Gradio's session state is trainpad's (below)
        quiet=quiet,
        app_kwargs={"middleware": middleware(demo)},
        max_threads=worker_threads(demo),
        **settings,
    )
    gradio_state.install(demo, app.store if app is not None else None)
    if not prevent_thread_lock:
        demo.block_thread()
    return launched


def warm_up(app: "App") -> None:
    """Import torch and the training loop, and load the shipped model.

    The app answers before torch is imported (2-3 s); ``main`` calls this in a background
    thread once it is up, so that the first prediction or run does not wait for them.
    """
    start = time.perf_counter()
    import trainpad.engine.data  # noqa: F401  (torch and the data path)
    import trainpad.engine.training  # noqa: F401  (the training loop and evaluation)

    app.store.starting_model()
    app.executor.prepare()  # a job process waiting, where runs go to one
    log.info("torch and the shipped model ready in %.1f s", time.perf_counter() - start)


def parse_args(argv: Sequence[str] | None = None, *, prog: str = "app.py") -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=prog, description="trainpad's web app: train, evaluate and predict in the browser.")
    parser.add_argument("--host", default=None, help="address to listen on (default: GRADIO_SERVER_NAME or 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="port (default: GRADIO_SERVER_PORT or 7860)")
    parser.add_argument("--share", action="store_true", help="also make a temporary public link through Gradio")
    parser.add_argument("--list-plugins", action="store_true", help="print the plugins and their components as JSON and exit")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None, *, prog: str = "app.py") -> int:
    """Start the app (or list the plugins); returns the exit status (2: a bad setting)."""
    args = parse_args(argv, prog=prog)

    try:
        settings.check()  # a bad TRAINPAD_* value stops here, named, before the server starts
        runtime = apply_runtime_settings(shared=True)  # before torch is imported; requests share the cores
    except TrainpadError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2

    if args.list_plugins:
        print(json.dumps(Engine.load().listing(), indent=2))
        return 0
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    log.info("runtime settings: %s", runtime)
    engine = Engine.load()
    demo = build_app(engine)
    _, url, share_url = serve(demo, host=args.host, port=args.port, share=args.share, prevent_thread_lock=True, quiet=True)
    print(f"trainpad is running at {url}" + (f" (public link: {share_url})" if share_url else ""), flush=True)
    threading.Thread(target=warm_up, args=(demo.trainpad_app,), name="trainpad-warm-up", daemon=True).start()
    stop_on_sigterm()
    try:
        demo.block_thread()  # returns on Ctrl-C or SIGTERM, having closed the server (Gradio deletes its files)
    finally:
        demo.trainpad_app.close()  # the job process waiting, if any; every session's checkpoints, and their folder
    return 0


def stop_on_sigterm() -> None:
    """Make SIGTERM (how a Space, Docker and systemd stop a process) end the server as Ctrl-C does.

    By default SIGTERM kills the process on the spot, leaving the sessions' folders and
    Gradio's uploads in the temp folder; raised as ``KeyboardInterrupt`` in the main
    thread, it lets Gradio close the server and :func:`main` clean up.
    """
    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, interrupt)


if __name__ == "__main__":
    sys.exit(main())
