"""Helpers shared by the test modules (import them with ``from support import ...``;
``conftest`` is not importable by name, since tests/browser has one too)."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: Real MNIST beside the project (CI and developers have it), or TRAINPAD_DATA_DIR.
SHARED_DATA = ROOT.parent / "shared" / "data"


def real_mnist_dir() -> Path | None:
    for candidate in (os.environ.get("TRAINPAD_DATA_DIR"), SHARED_DATA):
        if candidate and (Path(candidate) / "MNIST" / "raw" / "t10k-images-idx3-ubyte").exists():
            return Path(candidate)
    return None


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
