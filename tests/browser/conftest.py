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
import sys
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
    (or a stand-in) and :data:`TEST_PLUGIN` installed (the only third-party plugin it loads)."""

    def __init__(self, workdir: Path) -> None:
        data = mnist_data_dir()
        if data is None:
            from trainpad.testing import write_idx_dataset

            # no real MNIST: a small learnable stand-in, large enough for a run to be stopped
            data = write_idx_dataset(workdir / "data", train=12_000, test=1_000)
        self.data_dir = data
        labels = data / "MNIST" / "raw" / "t10k-labels-idx1-ubyte"
        self.test_split_size = int.from_bytes(labels.read_bytes()[4:8], "big")
        env = dict(os.environ)
        site = install_test_plugin(workdir / "site")
        env.update(
            TRAINPAD_DATA_DIR=str(data),
            TRAINPAD_LOAD_PLUGINS=TEST_PLUGIN["name"],
            PYTHONPATH=os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
            GRADIO_TEMP_DIR=str(workdir / "gradio"),
            GRADIO_ANALYTICS_ENABLED="False",
            PYTHONUNBUFFERED="1",
        )
        for name in ("GRADIO_SERVER_NAME", "GRADIO_SERVER_PORT", "TRAINPAD_PRETRAINED", "TRAINPAD_DISABLE_PLUGINS"):
            env.pop(name, None)
        port = free_port()
        super().__init__([sys.executable, "app.py", "--port", port], port=port, cwd=ROOT, env=env, log_path=workdir / "app.log")

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
    """``open_page(viewport=(w, h))`` opens the app in a new browser context (a new user)
    and returns its :class:`PageRecord`; each page's screenshot is saved when the test ends."""
    contexts: list[tuple[Any, PageRecord]] = []

    def open_(viewport: tuple[int, int] = (1280, 900), **options: Any) -> PageRecord:
        context, record = open_app(browser, app_url, viewport, **options)
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
