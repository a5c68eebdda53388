"""From a picture a person made to the tensor a model expects.

For drawn glyphs (datasets with ``ink="centre"``, such as MNIST) this repeats what
MNIST's makers did: crop to the ink, scale the longer side to 20 pixels keeping the
aspect ratio, and place it in a 28x28 field so that its centre of mass sits at the
centre.  Any size and mode works (L, RGB, RGBA, dark ink on light or light on dark),
and a blank picture is reported as such instead of being guessed at.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
from PIL import Image

from trainpad import settings
from trainpad.engine.config import DEFAULT_INPUT_SHAPE
from trainpad.engine.errors import TrainpadError, shown

#: Ink fainter than this fraction of full contrast is treated as background.
INK_THRESHOLD = 0.2
#: Fewer ink pixels than this fraction of the picture counts as nothing drawn.
MIN_INK_FRACTION = 0.0002


class ImageError(TrainpadError, ValueError):
    """The input is not a picture trainpad can read; the message says why."""


class BlankImage(TrainpadError, ValueError):
    """Nothing is drawn: the picture is one flat colour."""

    def __init__(self) -> None:
        super().__init__("nothing drawn: draw a digit (or upload a picture of one) and try again")


#: The only formats a picture is ever opened as (PIL never tries the others, so an EPS
#: file is not handed to Ghostscript nor an SVG to anything): ``Image.open(formats=...)``.
PICTURE_FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF")
#: The pixel modes those formats usually hold; others (LAB, HSV...) are refused.
PICTURE_MODES = frozenset({"1", "L", "LA", "La", "P", "PA", "RGB", "RGBA", "RGBa", "RGBX", "CMYK", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})
#: What a picture trainpad cannot read gets told.
NOT_A_PICTURE = "that file is not a picture trainpad can read; upload a PNG, JPEG, WebP, GIF, BMP or TIFF"


def open_picture(source: Any) -> Image.Image:
    """Open a picture file (a path or a binary file object) safely, decoded and upright.

    Only :data:`PICTURE_FORMATS` are tried; the size is read from the header and a
    picture over :func:`max_pixels` is refused before a pixel is decoded; a photo
    taken sideways is turned upright (EXIF); an unusual mode is refused.

    :raises ImageError: not such a picture, too many pixels, or damaged.
    """
    from PIL import ImageOps, UnidentifiedImageError

    try:
        image = Image.open(source, formats=PICTURE_FORMATS)
    except Image.DecompressionBombError:
        raise ImageError(f"the picture has more than {max_pixels():,} pixels; use a smaller picture") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise ImageError(NOT_A_PICTURE) from None
    check_size(image.width * image.height)
    if image.mode not in PICTURE_MODES:
        raise ImageError(f"{NOT_A_PICTURE} (its pixels are in {shown(image.mode)} mode)")
    try:
        image.load()
        if image.getexif().get(0x0112, 1) != 1:  # a photo taken sideways
            image = ImageOps.exif_transpose(image) or image
    except Exception:  # truncated or corrupt data behind a valid header
        raise ImageError("the picture could not be read (the file is damaged or truncated); upload it again") from None
    return image


def max_pixels() -> int:
    """The largest picture accepted, in pixels (``TRAINPAD_MAX_IMAGE_PIXELS``, default 16 megapixels)."""
    return settings.get("TRAINPAD_MAX_IMAGE_PIXELS")


@dataclass(frozen=True)
class Prepared:
    """A picture ready for the model.

    :param tensor: ``(1, C, H, W)`` float32, normalised with the dataset's mean and std.
    :param seen: ``(H, W)`` or ``(H, W, C)`` uint8, light on dark: what the model sees.
    """

    tensor: Any
    seen: np.ndarray


def sketch_composite(value: Any) -> Any:
    """The picture inside a Gradio Sketchpad/ImageEditor value, or the value itself.

    The editor sends ``{"background", "layers", "composite"}``; ``composite`` is the
    flattened picture and is ``None`` when the pad was cleared or never drawn on.
    """
    if isinstance(value, dict):
        if "composite" not in value:
            raise ImageError("expected a sketch with a 'composite' picture")
        return value["composite"]
    return value


def to_ink(image: Any) -> np.ndarray:
    """Any picture as a ``(H, W)`` uint8 array with ink light on a dark background.

    :raises ImageError: not a picture, a bad shape or type, or too many pixels.
    :raises BlankImage: ``None`` or an empty sketch.
    """
    image = sketch_composite(image)
    if image is None:
        raise BlankImage()
    if isinstance(image, Image.Image):
        check_size(image.width * image.height)
        gray = _pil_to_gray(image)
    else:
        gray = _array_to_gray(image)
    # Light background (paper, a white sketch pad): invert so the ink is light.
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    if np.median(border) > 127:
        gray = 255 - gray
    return gray


def check_size(pixels: int) -> None:
    """Refuse a picture of more than :func:`max_pixels` pixels, or of none."""
    if pixels > max_pixels():
        raise ImageError(
            f"the picture has {pixels:,} pixels, more than the {max_pixels():,} allowed; use a smaller picture"
        )
    if pixels == 0:
        raise ImageError("the picture is empty (0 pixels)")


def _pil_to_gray(image: Image.Image) -> np.ndarray:
    if image.mode not in PICTURE_MODES:
        raise ImageError(f"{NOT_A_PICTURE} (its pixels are in {shown(image.mode)} mode)")
    if image.mode == "RGBA" and _opaque(np.asarray(image)):  # a sketch: nothing to flatten
        return np.asarray(image.convert("L"))
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        image = image.convert("RGBA")
        white = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, image)
    return np.asarray(image.convert("L"))


def _array_to_gray(array: Any) -> np.ndarray:
    if not isinstance(array, np.ndarray):
        try:
            array = np.asarray(array)
        except Exception:
            raise ImageError(f"expected a picture, got {type(array).__name__}") from None
    if array.dtype == object or array.dtype.kind not in "biuf":
        raise ImageError(f"expected a picture of numbers, got an array of {array.dtype}")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise ImageError(f"expected a picture shaped (H, W), (H, W, 3) or (H, W, 4); got {array.shape}")
    check_size(array.shape[0] * array.shape[1])
    if array.dtype != np.uint8:
        array = array.astype(np.float64)
        if not np.isfinite(array).all():
            raise ImageError("the picture contains NaN or infinite values")
        if array.dtype.kind == "f" and array.size and array.max() <= 1.0 and array.min() >= 0.0:
            array = array * 255.0
        array = np.clip(array, 0, 255).astype(np.uint8)
    if array.ndim == 2:
        return array
    if array.shape[2] == 4:
        array = np.ascontiguousarray(array)
        if not _opaque(array):
            return _pil_to_gray(Image.fromarray(array, "RGBA"))
        # Opaque (a Gradio sketch): PIL's RGBA -> L reads R, G, B exactly as RGB -> L
        # does, so there is no need to copy the colour channels out first.
        return np.asarray(Image.fromarray(array, "RGBA").convert("L"))
    return np.asarray(Image.fromarray(np.ascontiguousarray(array), "RGB").convert("L"))


def _background_and_peak(gray: np.ndarray) -> tuple[int, int]:
    """``(int(np.percentile(gray, 5)), gray.max())`` for big pictures, ``(min, max)`` for small ones.

    On a sketch most pixels are the background, the minimum: then the percentile is
    the minimum and needs no sort nor histogram of 640,000 pixels.
    """
    lowest, high = int(gray.min()), int(gray.max())
    if gray.size <= 4096:
        return lowest, high
    below = int(np.floor(0.05 * (gray.size - 1)))  # np.percentile's lower order statistic
    if np.count_nonzero(gray == lowest) > below + 1:  # it and the next one are the minimum
        return lowest, high
    return int(_percentile_of_counts(np.bincount(gray.ravel(), minlength=256), 5)), high


def _percentile_of_counts(counts: np.ndarray, q: float) -> float:
    """``np.percentile(values, q)`` (linear interpolation) from the values' histogram."""
    cumulative = np.cumsum(counts)
    n = int(cumulative[-1])
    position = q / 100 * (n - 1)
    below = int(np.floor(position))
    fraction = position - below
    lower = int(np.searchsorted(cumulative, below, side="right"))
    upper = int(np.searchsorted(cumulative, min(below + 1, n - 1), side="right"))
    return lower + (upper - lower) * fraction


def _opaque(rgba: np.ndarray) -> bool:
    """Whether a contiguous ``(H, W, 4)`` uint8 array has alpha 255 everywhere."""
    if sys.byteorder == "little":  # read each pixel as one uint32: alpha is its top byte
        return bool(rgba.view(np.uint32).min() >= 0xFF000000)
    return bool(rgba[:, :, 3].min() == 255)


def centre_ink(gray: np.ndarray, size: int = 28, box: int = 20) -> np.ndarray:
    """MNIST's own preprocessing on a light-on-dark ``(H, W)`` uint8 picture.

    :raises BlankImage: when there is no ink.
    """
    low, high = _background_and_peak(gray)
    if high - low < 32:
        raise BlankImage()
    # Ink is above the threshold; for whole-number pixels "> t" is "> floor(t)", which
    # compares uint8 to uint8 instead of converting the picture to float64.
    threshold = int(np.floor(low + INK_THRESHOLD * (high - low)))
    if np.count_nonzero(gray > threshold) < max(1, MIN_INK_FRACTION * gray.size):
        raise BlankImage()
    # Rows and columns holding ink, from their maxima: no picture-sized mask.
    rows = np.flatnonzero(gray.max(axis=1) > threshold)
    cols = np.flatnonzero(gray.max(axis=0) > threshold)
    crop = gray[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].astype(np.float32)
    # Background to 0 and full ink to 255, so faint pencil and bold marker look alike.
    crop = np.clip((crop - low) * (255.0 / (high - low)), 0, 255).astype(np.uint8)
    h, w = crop.shape
    scale = box / max(h, w)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    # reducing_gap: a box reduction first, then Lanczos over the last 3x or more; 4x
    # faster from a 400-pixel crop, and the same predictions (399/400 real MNIST
    # digits drawn at 560 px, as with the exact filter).
    glyph = np.asarray(
        Image.fromarray(crop).resize((new_w, new_h), Image.Resampling.LANCZOS, reducing_gap=3.0), dtype=np.float32
    )
    total = glyph.sum()
    if total <= 0:
        raise BlankImage()
    ys, xs = np.indices(glyph.shape)
    cy, cx = (ys * glyph).sum() / total, (xs * glyph).sum() / total
    top = int(round(size / 2 - cy))
    left = int(round(size / 2 - cx))
    top = min(max(top, 0), size - new_h)
    left = min(max(left, 0), size - new_w)
    field = np.zeros((size, size), dtype=np.uint8)
    field[top : top + new_h, left : left + new_w] = np.clip(glyph, 0, 255).astype(np.uint8)
    return field


def fit(gray: np.ndarray, height: int, width: int) -> np.ndarray:
    """``gray`` scaled to fit ``height`` x ``width`` with its proportions kept, centred on
    black (the background once :func:`to_ink` has made the ink light)."""
    h, w = gray.shape
    scale = min(height / h, width / w)
    new_h, new_w = max(1, round(h * scale)), max(1, round(w * scale))
    scaled = np.asarray(Image.fromarray(gray).resize((new_w, new_h), Image.Resampling.BILINEAR))
    if (new_h, new_w) == (height, width):
        return scaled
    field = np.zeros((height, width), dtype=np.uint8)
    top, left = (height - new_h) // 2, (width - new_w) // 2
    field[top : top + new_h, left : left + new_w] = scaled
    return field


def prepare(
    image: Any,
    *,
    input_shape: Sequence[int] = DEFAULT_INPUT_SHAPE,
    mean: Sequence[float] = (0.0,),
    std: Sequence[float] = (1.0,),
    ink: str | None = "centre",
) -> Prepared:
    """Turn ``image`` into a normalised ``(1, C, H, W)`` tensor for a model.

    :param ink: ``"centre"`` crops and centres the ink as MNIST did; otherwise the
        whole picture is scaled to fit the input size, keeping its proportions, and
        centred on the background (how Fashion-MNIST's photos were made).
    """
    import torch

    channels, height, width = input_shape
    gray = to_ink(image)
    if ink == "centre" and height == width:
        seen = centre_ink(gray, size=height, box=round(height * 20 / 28))
    else:
        if int(gray.max()) - int(gray.min()) < 32:
            raise BlankImage()
        seen = fit(gray, height, width)
    x = torch.from_numpy(seen.astype(np.float32) / 255.0)
    x = x.expand(channels, height, width)
    mean_t = torch.tensor(mean, dtype=torch.float32).expand(channels).view(-1, 1, 1)
    std_t = torch.tensor(std, dtype=torch.float32).expand(channels).view(-1, 1, 1)
    return Prepared(((x - mean_t) / std_t).unsqueeze(0).contiguous(), seen)


def dataset_picture(dataset: Any, index: int, *, mean: Sequence[float] = (0.0,), std: Sequence[float] = (1.0,)) -> np.ndarray:
    """Sample ``index`` of a dataset of normalised tensors, back as a ``uint8`` picture.

    :return: ``(H, W)`` for one channel, ``(H, W, 3)`` for three.
    """
    images = getattr(dataset, "images", None)
    if images is not None and getattr(images, "dtype", None) is not None and str(images.dtype) == "torch.uint8":
        raw = images[index].numpy()  # InMemoryDataset keeps the raw pixels
    else:
        x = dataset[index][0].detach().float().cpu().numpy()
        m = np.asarray(mean, dtype=np.float32).reshape(-1, 1, 1)
        s = np.asarray(std, dtype=np.float32).reshape(-1, 1, 1)
        raw = np.clip((x * s + m) * 255.0, 0, 255).astype(np.uint8)
    if raw.ndim == 3:
        raw = raw[0] if raw.shape[0] == 1 else np.transpose(raw, (1, 2, 0))
    return raw
