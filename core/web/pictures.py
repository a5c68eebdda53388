"""Pictures as the browser shows them: enlarged pixel for pixel, as PIL images, as PNG
``data:`` addresses.

Plain numpy and PIL (no plotting library), so the app needs nothing beyond Gradio's own
dependencies.
"""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image


def upscale(picture: np.ndarray, size: int = 224) -> np.ndarray:
    """``picture`` enlarged with nearest-neighbour to about ``size`` pixels, so pixels stay square."""
    picture = np.asarray(picture)
    factor = max(1, size // max(picture.shape[0], picture.shape[1]))
    return np.repeat(np.repeat(picture, factor, axis=0), factor, axis=1)


def to_pil(picture: np.ndarray) -> Image.Image:
    """A ``uint8`` array as a PIL image (grey or RGB)."""
    return Image.fromarray(np.ascontiguousarray(picture))


def png_uri(picture: np.ndarray) -> str:
    """A ``uint8`` grey or RGB array as a ``data:image/png`` address."""
    buffer = io.BytesIO()
    to_pil(picture).save(buffer, "PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


__all__ = ["png_uri", "to_pil", "upscale"]
