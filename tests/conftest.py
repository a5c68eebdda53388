"""Shared fixtures.  Plugin-author fixtures (pm, engine, engine_with, mnist_dir) come
from core.testing, which is installed as a pytest plugin."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: Real MNIST beside the project (CI and developers have it), or TRAINPAD_DATA_DIR.
SHARED_DATA = ROOT.parent / "shared" / "data"


def real_mnist_dir() -> Path | None:
    for candidate in (os.environ.get("TRAINPAD_DATA_DIR"), SHARED_DATA):
        if candidate and (Path(candidate) / "MNIST" / "raw" / "t10k-images-idx3-ubyte").exists():
            return Path(candidate)
    return None


@pytest.fixture(scope="session")
def real_mnist() -> Path:
    """The folder holding real MNIST; skips the test when there is none."""
    found = real_mnist_dir()
    if found is None:
        pytest.skip("real MNIST not found: put it in ../shared/data or set TRAINPAD_DATA_DIR")
    return found
