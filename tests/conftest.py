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


@pytest.fixture(scope="session")
def real_digits(real_mnist):
    """The first 200 real MNIST test digits: ``(images (N, 28, 28) uint8, labels (N,))``."""
    import numpy as np

    raw = real_mnist / "MNIST" / "raw"
    images = np.frombuffer((raw / "t10k-images-idx3-ubyte").read_bytes()[16:], dtype=np.uint8).reshape(-1, 28, 28)
    labels = np.frombuffer((raw / "t10k-labels-idx1-ubyte").read_bytes()[8:], dtype=np.uint8)
    return images[:200].copy(), labels[:200].copy()


def sketch_of(digit, size: int = 800):
    """A 28x28 light-on-dark digit as Gradio's Sketchpad sends a drawing of it.

    ``{"background", "layers", "composite"}``, each ``(size, size, 4)`` uint8: an opaque
    white background, one layer with alpha 255 where drawn, and the composite with
    black strokes on white (no anti-aliasing), the digit filling about 70% of the pad.
    """
    import numpy as np
    from PIL import Image

    side = int(size * 0.7)
    big = np.asarray(Image.fromarray(digit).resize((side, side), Image.Resampling.BILINEAR))
    ink = np.zeros((size, size), dtype=bool)
    top = (size - side) // 2
    ink[top : top + side, top : top + side] = big > 100
    background = np.full((size, size, 4), 255, dtype=np.uint8)
    layer = np.zeros((size, size, 4), dtype=np.uint8)
    layer[ink] = (0, 0, 0, 255)
    composite = background.copy()
    composite[ink] = (0, 0, 0, 255)
    return {"background": background, "layers": [layer], "composite": composite}
