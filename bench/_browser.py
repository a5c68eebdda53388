"""Shared by the benchmarks that drive headless Chromium: the servers they start, the
browser, strokes drawn with the mouse, and what the page records about them.

Chromium is Debian's (``/usr/bin/chromium``, else one on ``PATH``) with the flags the
browser tests use (no GPU: the page is drawn in software, as on many school laptops).
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Iterator, Sequence

import _common
from load_test import stop_server

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]

#: The Predict tab is ready: its pad and its prediction's label are on the page.
APP_READY = "() => !!document.querySelector('#tp-sketch canvas')?.tpPad && !!document.getElementById('tp-label')"
#: Records each ``pointerup`` on the page, and the time from the last one to each change of
#: the Predict tab's answer (the label's text): ``window.__tpAnswered`` in ms.
APP_ANSWERS_JS = """() => {
  window.__tpAnswered = [];
  let lifted = 0, last = null;
  document.addEventListener('pointerup', () => { lifted = performance.now(); }, true);
  const read = () => document.querySelector('#tp-label [data-testid="label-output-value"]')?.textContent.trim() ?? '';
  last = read();
  new MutationObserver(() => {
    const now = read();
    if (now !== last) { last = now; if (lifted && now !== 'Draw a digit') { window.__tpAnswered.push(performance.now() - lifted); lifted = 0; } }
  }).observe(document.getElementById('tp-label'), {childList: true, subtree: true, characterData: true});
}"""
#: Collects the browser's long tasks (50 ms or more of work blocking the page): ``window.__tpLongTasks``.
LONG_TASKS_JS = """() => { window.__tpLongTasks = [];
  new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__tpLongTasks.push(e.duration); }).observe({type: 'longtask'}); }"""


def find_chromium() -> str:
    found = "/usr/bin/chromium" if Path("/usr/bin/chromium").is_file() else shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        raise SystemExit("no Chromium found: apt-get install chromium")
    return found


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=find_chromium(), headless=True, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def process(argv: Sequence[str], url: str, log: Path, *, env: dict[str, str] | None = None, timeout: float = 180) -> Iterator[str]:
    """``argv`` in its own process group, until the block ends; yields ``url`` once it answers."""
    with log.open("w") as out:
        proc = subprocess.Popen(list(argv), cwd=_common.ROOT, env={**os.environ, **(env or {})}, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    urllib.request.urlopen(url, timeout=2).close()
                    break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise SystemExit(f"{argv[1:3]} did not answer at {url}; see {log}")
                    time.sleep(0.2)
            yield url
        finally:
            stop_server(proc)


def app(data: Path, log: Path) -> Any:
    """``python app.py`` on 127.0.0.1 with ``data`` as its data folder."""
    port = _common.free_port()
    argv = [sys.executable, str(_common.ROOT / "app.py"), "--host", "127.0.0.1", "--port", str(port)]
    env = {"TRAINPAD_DATA_DIR": str(data), "TRAINPAD_LOAD_PLUGINS": "", "GRADIO_ANALYTICS_ENABLED": "False"}
    return process(argv, f"http://127.0.0.1:{port}/", log, env=env)


def static_site(folder: Path, log: Path) -> Any:
    """``python -m http.server`` serving ``folder`` on 127.0.0.1, as a static Space serves it."""
    port = _common.free_port()
    argv = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(folder)]
    return process(argv, f"http://127.0.0.1:{port}/", log)


def open_page(browser: Any, url: str, ready: str) -> Any:
    """A new visitor on ``url``; returns the page once the JavaScript condition ``ready`` holds."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(120_000)
    page = context.new_page()
    page.goto(url)
    page.wait_for_function(ready, timeout=180_000)
    return page


def slow_stroke(moves: int = 20) -> list[tuple[float, float]]:
    """A "1" drawn slowly: one stroke of ``moves`` moves down the middle (pad pixels, 0..800)."""
    return [(400 + 2 * i, 150 + 500 * i / moves) for i in range(moves + 1)]


def digit_shapes() -> list[list[list[tuple[float, float]]]]:
    """A few digits, each one stroke drawn as a person would (pad pixels)."""
    one = [slow_stroke(12)]
    zero = [[(400 + 170 * math.cos(a), 400 + 240 * math.sin(a)) for a in (-math.pi / 2 - 2 * math.pi * k / 16 * 1.05 for k in range(17))]]
    seven = [[(230, 180), (570, 180), (470, 420), (380, 660)]]
    return [one, zero, seven]


#: Resolves once the page has drawn its next frame (after the frame's paint).
NEXT_FRAME_JS = "() => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)))"


def draw(page: Any, canvas: str, strokes: Sequence[Sequence[tuple[float, float]]]) -> list[float]:
    """Draw ``strokes`` on the ``canvas`` (a selector; 800 pad pixels a side) with the mouse;
    returns the milliseconds each move took, from the move until the page has painted the
    frame after it (a page that takes a move in at once but draws it later pays here)."""
    box = page.locator(canvas).first.bounding_box()
    scale = box["width"] / 800
    mouse = page.mouse
    moves = []
    for points in strokes:
        mouse.move(box["x"] + points[0][0] * scale, box["y"] + points[0][1] * scale)
        mouse.down()
        for x, y in points[1:]:
            started = time.perf_counter()
            mouse.move(box["x"] + x * scale, box["y"] + y * scale)
            page.evaluate(NEXT_FRAME_JS)
            moves.append((time.perf_counter() - started) * 1000)
        mouse.up()
    return moves


def settle(page: Any, quiet_ms: int = 700, timeout: float = 30) -> None:
    """Wait until ``page`` has had no long task for ``quiet_ms`` (it needs :data:`LONG_TASKS_JS`)."""
    deadline = time.monotonic() + timeout
    seen = -1
    while time.monotonic() < deadline:
        count = page.evaluate("window.__tpLongTasks.length")
        if count == seen:
            return
        seen = count
        page.wait_for_timeout(quiet_ms)


def wait_for(page: Any, expression: str, count: int, timeout: float = 60) -> list[float]:
    """The list ``expression`` evaluates to, once it has ``count`` entries."""
    page.wait_for_function(f"({expression}).length >= {count}", timeout=timeout * 1000)
    return page.evaluate(expression)
