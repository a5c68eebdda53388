"""Pictures sent to the web app: opened from Gradio's upload folder, checked before decoding.

A raw Gradio payload (an event with ``preprocess=False``) names files by path; only
files inside Gradio's own upload folder are opened, only as the formats trainpad reads
(:data:`~trainpad.engine.pictures.PICTURE_FORMATS`), and a picture's size is read from
its header before a single pixel is decoded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from trainpad.engine.pictures import ImageError, open_picture


def from_upload(value: Any) -> Any:
    """A picture from a raw Gradio payload (an event with ``preprocess=False``), checked before decoding.

    The payload is a Sketchpad value ``{"background", "layers", "composite"}`` whose
    pictures are file references ``{"path": ...}``, or one such reference (an Image
    upload).  Only the composite is opened, and its size is read from the file's
    header: a picture over :func:`max_pixels` is refused before a single pixel is
    decoded (a tiny PNG can declare 9000x9000 pixels).  Gradio has already checked
    that the path is one of its own uploads.  Anything else (``None``, arrays, PIL
    images, as the handlers' tests pass) is returned as it is.

    :raises ImageError: not a picture, a data URL, unreadable, or too many pixels.
    """
    if isinstance(value, dict) and "composite" in value:
        value = value["composite"]
    if not isinstance(value, dict):
        return value
    path = value.get("path")
    if not isinstance(path, str) or not path:
        url = value.get("url")
        if isinstance(url, str) and url.startswith("data:"):
            raise ImageError("send the picture as an uploaded file, not as a data URL")
        raise ImageError("expected an uploaded picture (a file reference with a path)")
    if not _in_upload_folder(path):  # Gradio checks this too; never open a path a request chose
        raise ImageError("expected a picture uploaded to this server")
    return as_array(open_picture(path))


def as_array(image: Image.Image) -> Any:
    """An opened picture as the handlers take it: an array for L, RGB and RGBA, else the image."""
    if image.mode in ("L", "RGB", "RGBA"):
        return np.asarray(image)
    return image


def _in_upload_folder(path: str) -> bool:
    """Whether ``path`` is a file inside Gradio's upload folder (``GRADIO_TEMP_DIR``)."""
    try:
        from gradio.utils import get_upload_folder
    except ImportError:  # no Gradio, no uploads
        return False
    folder = Path(get_upload_folder()).resolve()
    try:
        return Path(path).resolve().is_relative_to(folder)
    except (OSError, ValueError):
        return False
