"""The Predict tab's look inside the model, as HTML: a saliency map over the picture the
model saw, each convolution's feature maps as a grid, and each linear layer's units as
bars (for models without convolutions).

Pictures are small PNGs inline (``data:`` addresses, so nothing is written to disk for
each stroke), drawn pixel for pixel and enlarged by the browser.  The HTML is
``templates/inside.html`` (:func:`trainpad.web.render.render`); layer names and
descriptions, a checkpoint's own, are escaped there.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from trainpad.web.i18n import tr, translate
from trainpad.web.pictures import png_uri  # here too for the loop view, which imports it from here
from trainpad.web.render import render

if TYPE_CHECKING:
    from trainpad.engine.inside import Inside, Layer

#: Units drawn per linear layer (the first ones).
BARS = 32


def saliency_overlay(seen: np.ndarray, saliency: np.ndarray) -> np.ndarray:
    """The picture the model saw, in grey, with the saliency laid over it in red to yellow."""
    grey = seen if seen.ndim == 2 else seen.mean(axis=2)
    base = np.repeat((grey.astype(np.float32) * 0.55)[:, :, None], 3, axis=2)
    heat = np.clip(saliency, 0.0, 1.0).astype(np.float32)
    colour = np.stack([np.full_like(heat, 255.0), 255.0 * heat, 40.0 * heat], axis=2)  # red, then yellow at the top
    alpha = (heat**0.7)[:, :, None]
    return np.clip(base * (1 - alpha) + colour * alpha, 0, 255).astype(np.uint8)


def signed_colours(values: np.ndarray) -> np.ndarray:
    """Values from -1 to 1 as RGB (a last axis of 3, float): positive ones glow orange to
    yellow, negative ones blue, zero is black."""
    values = np.clip(values, -1.0, 1.0)
    pos, neg = np.clip(values, 0, 1), np.clip(-values, 0, 1)
    return np.stack([255 * pos + 40 * neg, 200 * pos**1.5 + 110 * neg, 30 * pos + 255 * neg], axis=-1)


def map_grid(maps: np.ndarray, *, gap: int = 1) -> np.ndarray:
    """A convolution's feature maps ``(C, H, W)`` tiled into one RGB picture.

    Each map is scaled by the largest absolute value in the layer: positive activations
    glow orange to yellow, negative ones blue, zero is black.
    """
    count, height, width = maps.shape
    square = math.ceil(math.sqrt(count))
    # as square as it gets without an empty tile (32 maps: 8 x 4), else a square with a few empty
    columns = next((c for c in range(square, 2 * square + 1) if count % c == 0), square)
    rows = math.ceil(count / columns)
    rgb = signed_colours(maps / (float(np.abs(maps).max()) or 1.0))
    grid = np.full((rows * (height + gap) - gap, columns * (width + gap) - gap, 3), 60, dtype=np.uint8)
    for i in range(count):
        r, c = divmod(i, columns)
        top, left = r * (height + gap), c * (width + gap)
        grid[top : top + height, left : left + width] = rgb[i].astype(np.uint8)
    return grid


def _shown_width(picture: np.ndarray, target: int) -> int:
    """A display width that is a whole multiple of the picture's, near ``target`` px."""
    return picture.shape[1] * max(1, round(target / picture.shape[1]))


def _picture(picture: np.ndarray, target: int, alt: str) -> dict[str, Any]:
    """A picture as the template shows it: its PNG address, its width on the page, its alt text."""
    return {"uri": png_uri(picture), "width": _shown_width(picture, target), "alt": alt}


def _maps(layer: "Layer") -> dict[str, Any]:
    """A convolution's feature maps, as one picture with a caption."""
    count, height, width = layer.maps.shape
    shown = tr("the first {count} of {total}", count=count, total=layer.total) if layer.total > count else f"{count}"
    return {
        "kind": "maps",
        "name": layer.name,
        "description": layer.description,
        "text": tr("{shown} feature maps of {height}×{width} (orange: positive, blue: negative)", shown=shown, height=height, width=width),
        "picture": _picture(map_grid(layer.maps), 200 if height > 10 else 160, f"feature maps of {layer.name}"),
    }


def _units(layer: "Layer") -> dict[str, Any]:
    """A linear layer's first units, as bars up (positive) or down (negative), with a caption."""
    values = np.asarray(layer.units, dtype=np.float32)[:BARS]
    top = float(np.abs(values).max()) or 1.0
    bars = [
        {"direction": "up" if v >= 0 else "down", "height": f"{max(1.0, 42 * abs(float(v)) / top):.0f}", "title": f"unit {i}: {float(v):.3f}"}
        for i, v in enumerate(values)
    ]
    if layer.total > len(values):
        shown = tr("the first {count} of {total} units", count=len(values), total=f"{layer.total:,}")
    else:
        shown = tr("{total} units", total=f"{layer.total:,}")
    text = tr("{shown} (orange above zero, blue below)", shown=shown)
    return {"kind": "units", "name": layer.name, "description": layer.description, "text": text, "bars": bars}


def _saliency(inside: "Inside", class_names: Sequence[str]) -> dict[str, Any]:
    """The saliency map beside the picture the model saw, with a caption."""
    overlay = saliency_overlay(inside.seen, inside.saliency)
    name = str(class_names[inside.predicted])
    return {
        "seen": _picture(inside.seen, 112, "the picture the model saw"),
        "overlay": _picture(overlay, 112, "saliency map"),
        "title": tr("Saliency"),
        "text": tr("the pixels that move the model's score for “{name}” most (the gradient of that class's logit with respect to each pixel)", name=name),
    }


def inside_html(inside: "Inside", class_names: Sequence[str]) -> str:
    """The whole look inside: saliency first, then the layers in the order they ran."""
    convolutions = inside.has_convolutions
    layers = [
        _maps(layer) if layer.maps is not None else _units(layer)
        for layer in inside.layers
        if layer.maps is not None or (not convolutions and layer.units is not None)
    ]
    note = ""
    if inside.skipped:
        from trainpad.engine.inside import MAX_KEPT_VALUES  # torch's module: loaded by now, not when the app is built

        note = tr(
            "{count} more layer(s) not shown: this server keeps at most {values} values of a model's insides per picture.",
            count=inside.skipped, values=f"{MAX_KEPT_VALUES:,}",
        )  # fmt: skip
    saliency = _saliency(inside, class_names) if inside.saliency is not None else None
    empty = tr("This model has no layers to show.") if not (saliency or layers or note) else ""
    return render("inside.html", saliency=saliency, layers=layers, note=note, empty=empty)


def inside_notice(reason: str) -> str:
    """The look inside's area when the insides were not computed: ``reason`` (an English
    sentence of :func:`~trainpad.engine.inside.inside_too_large`), in the page's language."""
    return render("inside_notice.html", reason=translate(reason))


__all__ = ["inside_html", "inside_notice", "map_grid", "saliency_overlay", "signed_colours", "png_uri"]
