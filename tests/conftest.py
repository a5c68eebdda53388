"""Shared fixtures.  Plugin-author fixtures (pm, engine, engine_with, mnist_dir) come
from trainpad.testing, switched on below as a plugin author does; plain helpers are in support.py."""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

# One Gradio upload folder per test run (before Gradio is imported: it reads it then).
# Uploads are named by their content, so runs sharing /tmp/gradio on one machine would
# delete each other's files as their servers stop.
if not os.environ.get("GRADIO_TEMP_DIR"):
    os.environ["GRADIO_TEMP_DIR"] = tempfile.mkdtemp(prefix="trainpad-tests-gradio-")
    atexit.register(shutil.rmtree, os.environ["GRADIO_TEMP_DIR"], True)

import pytest

pytest_plugins = ["trainpad.testing"]

from support import ROOT, SHARED_DATA, real_mnist_dir, sketch_of  # noqa: F401  (re-exported)

# The plugin-loading fixtures (fake entry points over the modules in tests/plugins/).
sys.path.insert(0, str(Path(__file__).resolve().parent / "plugins"))
from trainpad_test_support import clean_knobs, plugin_module, use_entry_points  # noqa: E402,F401  (fixtures)
from trainpad.web.gradio_import import skip_stub_regeneration

skip_stub_regeneration()  # the tests import Gradio as the app does, 3 s sooner


@pytest.fixture(scope="session")
def real_mnist() -> Path:
    """The folder holding real MNIST; skips the test when there is none."""
    found = real_mnist_dir()
    if found is None:
        pytest.skip("real MNIST not found: put it in ../shared/data or set TRAINPAD_DATA_DIR")
    return found


@pytest.fixture(scope="session")
def real_digits(real_mnist):
    """The first 200 real MNIST test digits: ``(images (N, 28, 28) uint8, labels (N,))``."""
    import numpy as np

    raw = real_mnist / "MNIST" / "raw"
    images = np.frombuffer((raw / "t10k-images-idx3-ubyte").read_bytes()[16:], dtype=np.uint8).reshape(-1, 28, 28)
    labels = np.frombuffer((raw / "t10k-labels-idx1-ubyte").read_bytes()[8:], dtype=np.uint8)
    return images[:200].copy(), labels[:200].copy()


@pytest.fixture
def no_debian_files(monkeypatch, tmp_path):
    """Fashion-MNIST reads a test's own small files, never Debian's real ones (a module that
    needs it everywhere says ``pytestmark = pytest.mark.usefixtures("no_debian_files")``)."""
    from trainpad.plugins import fashion_mnist

    monkeypatch.setattr(fashion_mnist, "DEBIAN_DIR", tmp_path / "no-debian-package")
