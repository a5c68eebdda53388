"""Fixtures for the end-to-end browser tests: the real app in a subprocess, headless
Chromium driven by Playwright, and a page per test that records console errors and
leaves a screenshot behind.

Debian's Chromium is used (``/usr/bin/chromium``, or ``TRAINPAD_CHROMIUM``);
Playwright's own browser download is not needed.  Where neither Chromium nor the
``playwright`` package is found, every test here is skipped, saying which is missing.

Screenshots go to ``TRAINPAD_SCREENSHOTS`` (default ``artifacts/screenshots`` under the
project root), one ``<test>.png`` per page a test opened, taken when the test ends,
pass or fail, plus the moments a test names itself.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from app_pages import PREDICTION_COUNTER_JS
from support import TEST_PLUGIN, AppProcess, free_port, install_test_plugin

ROOT = Path(__file__).resolve().parents[2]
#: Chromium's flags for a closed network and a container (no sandbox, no GPU, nothing phoning home).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
#: Seconds the app may take to answer HTTP after it is started (it imports torch and Gradio).
STARTUP_TIMEOUT = 180


def find_chromium() -> str | None:
    """``TRAINPAD_CHROMIUM``, else Debian's ``/usr/bin/chromium``, else one on ``PATH``."""
    for candidate in (os.environ.get("TRAINPAD_CHROMIUM"), "/usr/bin/chromium"):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("chromium") or shutil.which("chromium-browser")


def screenshot_dir() -> Path:
    folder = Path(os.environ.get("TRAINPAD_SCREENSHOTS") or "artifacts/screenshots")
    folder = folder if folder.is_absolute() else ROOT / folder
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def mnist_data_dir() -> Path | None:
    """Real MNIST (``TRAINPAD_DATA_DIR`` or ``../shared/data``), as the other tests find it."""
    from support import real_mnist_dir

    return real_mnist_dir()


# -- the browser ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium_path() -> str:
    pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed (pip install -e '.[test]')")
    found = find_chromium()
    if found is None:
        pytest.skip("no Chromium found: install Debian's (apt-get install chromium) or set TRAINPAD_CHROMIUM")
    return found


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Any]:
    """Headless Chromium.  Playwright gives it a fresh temporary user-data dir (a new
    profile, deleted when it closes); each test then works in its own context.  Closed
    with the module, as the app server is, so that their memory is back for the tests after."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


# -- the app ---------------------------------------------------------------------------------


class AppServer(AppProcess):
    """``python app.py --port N`` in its own process group, with its log in a file, real MNIST
    (or a stand-in) and :data:`TEST_PLUGIN` installed (the only third-party plugin it loads).

    :param data: the data folder it reads instead (an empty one: a server without MNIST).
    :param env: more environment variables for it.
    :param command: what runs instead of ``app.py`` (a launcher ending in the app's ``main``),
        with its arguments; ``--port N`` is added.
    """

    def __init__(self, workdir: Path, *, data: Path | None = None, env: dict[str, str] | None = None, command: list[str] | None = None) -> None:
        data = data or mnist_data_dir()
        if data is None:
            from trainpad.testing import write_idx_dataset

            # no real MNIST: a small learnable stand-in, large enough for a run to be stopped
            data = write_idx_dataset(workdir / "data", train=12_000, test=1_000)
        self.data_dir = data
        labels = data / "MNIST" / "raw" / "t10k-labels-idx1-ubyte"
        self.test_split_size = int.from_bytes(labels.read_bytes()[4:8], "big") if labels.exists() else 0
        environ = dict(os.environ)
        site = install_test_plugin(workdir / "site")
        environ.update(
            TRAINPAD_DATA_DIR=str(data),
            TRAINPAD_LOAD_PLUGINS=TEST_PLUGIN["name"],
            PYTHONPATH=os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
            GRADIO_TEMP_DIR=str(workdir / "gradio"),
            GRADIO_ANALYTICS_ENABLED="False",
            PYTHONUNBUFFERED="1",
        )
        for name in ("GRADIO_SERVER_NAME", "GRADIO_SERVER_PORT", "TRAINPAD_PRETRAINED", "TRAINPAD_DISABLE_PLUGINS"):
            environ.pop(name, None)
        environ.update(env or {})
        port = free_port()
        argv = [sys.executable, *(command or ["app.py"]), "--port", port]
        super().__init__(argv, port=port, cwd=ROOT, env=environ, log_path=workdir / "app.log")

    def wait_ready(self, timeout: float = STARTUP_TIMEOUT) -> None:
        super().wait_ready(timeout)


@pytest.fixture(scope="module")
def app_server(chromium_path: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    """The real app, started once for the browser module (skipped with the browser)."""
    server = AppServer(tmp_path_factory.mktemp("app"))
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def app_url(app_server: AppServer) -> str:
    return app_server.url


@pytest.fixture(scope="module")
def app_servers(chromium_path: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., AppServer]]:
    """``app_servers(data=..., env=..., command=...)`` starts another app for the module
    (see :class:`AppServer`), answering when it returns; all are stopped with the module."""
    started: list[AppServer] = []

    def start(**options: Any) -> AppServer:
        server = AppServer(tmp_path_factory.mktemp("app"), **options)
        started.append(server)
        server.wait_ready()
        return server

    try:
        yield start
    finally:
        for server in started:
            server.stop()


# -- pages -----------------------------------------------------------------------------------


class PageRecord:
    """A page with the console errors and uncaught exceptions it produced."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.errors.append(f"console.error: {message.text}")


@pytest.fixture
def screenshot(request: pytest.FixtureRequest) -> Callable[[Any, str], Path]:
    """``screenshot(page, "moment")`` saves ``<test>-<moment>.png``."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)

    def take(page: Any, moment: str = "") -> Path:
        path = screenshot_dir() / (f"{stem}-{moment}.png" if moment else f"{stem}.png")
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def open_app(browser: Any, url: str, viewport: tuple[int, int] = (1280, 900), **options: Any) -> tuple[Any, PageRecord]:
    """A new browser context (a new user) with the app loaded in a page."""
    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]}, **options)
    context.set_default_timeout(60_000)
    context.add_init_script(PREDICTION_COUNTER_JS)
    record = PageRecord(context.new_page())
    record.page.goto(url)
    record.page.get_by_role("tab", name="Predict").wait_for(state="visible", timeout=120_000)
    return context, record


@pytest.fixture
def open_page(browser: Any, app_url: str, screenshot: Callable[[Any, str], Path]) -> Iterator[Callable[..., PageRecord]]:
    """``open_page(viewport=(w, h))`` opens the app (or the one at ``url=``) in a new browser
    context (a new user) and returns its :class:`PageRecord`; each page's screenshot is
    saved when the test ends."""
    contexts: list[tuple[Any, PageRecord]] = []

    def open_(viewport: tuple[int, int] = (1280, 900), *, url: str | None = None, **options: Any) -> PageRecord:
        context, record = open_app(browser, url or app_url, viewport, **options)
        contexts.append((context, record))
        return record

    yield open_
    for n, (context, record) in enumerate(contexts):
        try:
            screenshot(record.page, "" if len(contexts) == 1 else f"user{n + 1}")
        except Exception as exc:  # a screenshot must not hide the test's own outcome
            print(f"no screenshot: {exc}")
        context.close()


@pytest.fixture(scope="module")
def visitor(browser: Any, app_url: str) -> Iterator[PageRecord]:
    """One user who has opened the page, shared by the tests that only look."""
    context, record = open_app(browser, app_url)
    yield record
    context.close()


# -- published pages -------------------------------------------------------------------------


class StaticSite:
    """A published page's folder served by ``python -m http.server`` on 127.0.0.1, as a
    static host serves it; :meth:`open` opens it in a browser context that may reach nothing
    else (every request to another address is refused, and kept in :attr:`elsewhere`)."""

    def __init__(self, folder: Path, log_path: Path) -> None:
        port = free_port()
        self.folder = folder
        self.url = f"http://127.0.0.1:{port}/"
        self.log = log_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(folder)],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        self.elsewhere: list[str] = []
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(self.url, timeout=2).close()
                break
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(f"http.server did not answer at {self.url}")
                time.sleep(0.1)

    def open(self, browser: Any, viewport: tuple[int, int] = (1280, 900), **options: Any) -> tuple[Any, PageRecord]:
        """A new context (a visitor) with the page loaded and its model ready."""
        context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]}, **options)
        context.set_default_timeout(60_000)

        def only_this_site(route: Any) -> None:
            if route.request.url.startswith(self.url):
                route.continue_()
            else:
                self.elsewhere.append(route.request.url)
                route.abort()

        context.route("**/*", only_this_site)
        record = PageRecord(context.new_page())
        record.page.goto(self.url)
        record.page.wait_for_function("document.body.dataset.ready === '1'", timeout=120_000)
        return context, record

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


@pytest.fixture(scope="session")
def published_sites(chromium_path: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., StaticSite]]:
    """``published_sites(trained=None, data_dir=None)`` publishes a model (the shipped one by
    default) with ``trainpad.publish`` and serves its folder (:class:`StaticSite`); each is
    made once a session and stopped at its end."""
    from trainpad.publish import publish
    from trainpad.testing import make_engine

    sites: dict[Any, StaticSite] = {}

    def make(trained: Any = None, *, data_dir: Path | None = None, key: str = "shipped") -> StaticSite:
        if key not in sites:
            engine = make_engine()
            trained = trained or engine.load_checkpoint(ROOT / "plugins" / "pretrained" / "mnist-cnn.pt")
            folder = tmp_path_factory.mktemp("published") / key
            publish(engine, trained, folder, data_dir=data_dir or mnist_data_dir())
            sites[key] = StaticSite(folder, folder.parent / "http.log")
        return sites[key]

    try:
        yield make
    finally:
        for site in sites.values():
            site.stop()


@pytest.fixture(scope="session")
def published_site(published_sites: Callable[..., StaticSite]) -> StaticSite:
    """The shipped model's page, served on 127.0.0.1."""
    return published_sites()
