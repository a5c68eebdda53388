"""A new server without MNIST (a fresh Space): the first run downloads it, and the page
says so, in bytes and files, then decoding; a failed download says what happened without
naming a single folder of the server.

torchvision's download code runs as it is, against a slow mirror on 127.0.0.1
(``tests/support.py``'s ``Mirror``; ``serve_with_mirror.py`` points torchvision's MNIST at it).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from app_pages import open_tab, set_number, toasts, wait_for_status, wait_until, watch_training, training_trace
from support import Mirror

pytestmark = pytest.mark.browser

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def mirror(tmp_path_factory):
    """MNIST-like files, gzipped as torchvision downloads them, served at ~600 kB/s."""
    from trainpad.testing import gzip_files, write_idx_dataset

    source = write_idx_dataset(tmp_path_factory.mktemp("mirror"), train=3000, test=500) / "MNIST" / "raw"
    gzip_files(source)
    served = tmp_path_factory.mktemp("served")
    for path in source.glob("*.gz"):
        (served / path.name).write_bytes(path.read_bytes())
    with Mirror(served, bytes_per_second=600_000) as server:
        yield server


@pytest.fixture(scope="module")
def fresh_url(app_servers, mirror, tmp_path_factory):
    """The app with an empty data folder, downloading MNIST from ``mirror``."""
    data = tmp_path_factory.mktemp("empty-data-folder")
    server = app_servers(data=data, command=[str(HERE / "serve_with_mirror.py"), mirror.url, json.dumps(mirror.md5())])
    return server.url


@pytest.fixture(scope="module")
def fresh_page(browser, fresh_url):
    """One visitor of the fresh server, for both tests (the second after the first failed)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(60_000)
    page = context.new_page()
    page.goto(fresh_url)
    page.get_by_role("tab", name="Predict").wait_for(state="visible", timeout=120_000)
    yield page
    context.close()


def test_a_failed_download_says_so_without_the_servers_folders(fresh_page, mirror, screenshot):
    page = fresh_page
    mirror.broken = True
    try:
        open_tab(page, "Train")
        set_number(page, "Training samples", 640)
        page.get_by_role("button", name="Start training").click()
        said = wait_until(lambda: [t for t in toasts(page) if "MNIST" in t], timeout=120, message="the download failure's message")
    finally:
        mirror.broken = False
    screenshot(page, "download-failed")
    text = " ".join(said)
    assert "MNIST is not on this server yet, and downloading it failed" in text, text
    assert "/" not in text and "empty-data-folder" not in text, text  # no path of the server's
    assert "TRAINPAD_DATA_DIR" not in text and "--data-dir" not in text, text
    assert mirror.requests, "torchvision never asked the mirror"


def test_the_first_run_says_what_it_downloads_then_trains(fresh_page, mirror, screenshot):
    page = fresh_page
    open_tab(page, "Train")
    watch_training(page)
    set_number(page, "Training samples", 640)
    page.get_by_role("button", name="Start training").click()
    wait_for_status(page, r"^Downloading|Preparing the run: Downloading", timeout=120)
    screenshot(page, "downloading")
    done = wait_for_status(page, r"^(Done|Stopped)", timeout=240)
    statuses = [t["status"] for t in training_trace(page)]
    downloads = [s for s in statuses if "Downloading MNIST" in s]
    assert downloads, sorted(set(statuses))
    received = [float(m.group(1)) * {"bytes": 1e-6, "kB": 1e-3, "MB": 1.0}[m.group(2)] for s in downloads if (m := re.search(r"([\d.]+) (bytes|kB|MB) received", s))]
    assert len(set(received)) >= 2 and received == sorted(received), f"no progress in bytes: {downloads}"
    assert any(re.search(r"\d of 4 files done", s) for s in downloads), downloads
    # (decoding these few images is too quick to see here: tests/test_data_cache.py hears it)
    assert done.startswith("Done. Run 1 "), done
