"""The Predict tab's look inside the model, as HTML: a saliency map over the picture the
model saw, each convolution's feature maps as a grid, and each linear layer's units as
bars (for models without convolutions).

Pictures are small PNGs inline (``data:`` addresses, so nothing is written to disk for
each stroke), drawn pixel for pixel and enlarged by the browser.
"""

from __future__ import annotations

import base64
import html
import io
import math
from typing import TYPE_CHECKING, Sequence

import numpy as np
from PIL import Image

from trainpad.web.i18n import tr

if TYPE_CHECKING:
    from trainpad.engine.inside import Inside, Layer

#: Units drawn per linear layer (the first ones).
BARS = 32


def png_uri(picture: np.ndarray) -> str:
    """A ``uint8`` grey or RGB array as a ``data:image/png`` address."""
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(picture)).save(buffer, "PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


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


def _figure(picture: np.ndarray, caption: str, *, target: int = 200, alt: str = "", kind: str = "") -> str:
    return (
        f'<figure data-tp="{kind}"><img src="{png_uri(picture)}" width="{_shown_width(picture, target)}" alt="{html.escape(alt)}">'
        f"<figcaption>{caption}</figcaption></figure>"
    )


def _units(layer: "Layer") -> str:
    values = np.asarray(layer.units, dtype=np.float32)[:BARS]
    top = float(np.abs(values).max()) or 1.0
    bars = "".join(
        f'<span class="{"up" if v >= 0 else "down"}" style="height:{max(1.0, 42 * abs(float(v)) / top):.0f}px" title="unit {i}: {float(v):.3f}"></span>'
        for i, v in enumerate(values)
    )
    if layer.total > len(values):
        shown = tr("the first {count} of {total} units", count=len(values), total=f"{layer.total:,}")
    else:
        shown = tr("{total} units", total=f"{layer.total:,}")
    caption = f"<b>{html.escape(layer.name)}</b> · {html.escape(layer.description)} · " + tr("{shown} (orange above zero, blue below)", shown=shown)
    return f'<figure data-tp="units"><div class="tp-units" style="--n:{len(values)}">{bars}</div><figcaption>{caption}</figcaption></figure>'


def inside_html(inside: "Inside", class_names: Sequence[str]) -> str:
    """The whole look inside: saliency first, then the layers in the order they ran."""
    name = html.escape(str(class_names[inside.predicted]))
    items = []
    if inside.saliency is not None:
        overlay = saliency_overlay(inside.seen, inside.saliency)
        items.append(
            f'<figure data-tp="saliency"><div class="tp-pair"><img src="{png_uri(inside.seen)}" width="{_shown_width(inside.seen, 112)}" alt="the picture the model saw">'
            f'<img src="{png_uri(overlay)}" width="{_shown_width(overlay, 112)}" alt="saliency map"></div>'
            f"<figcaption><b>{tr('Saliency')}</b> · "
            + tr("the pixels that move the model's score for “{name}” most (the gradient of that class's logit with respect to each pixel)", name=name)
            + "</figcaption></figure>"
        )
    convolutions = inside.has_convolutions
    for layer in inside.layers:
        if layer.maps is not None:
            count, height, width = layer.maps.shape
            shown = tr("the first {count} of {total}", count=count, total=layer.total) if layer.total > count else f"{count}"
            caption = f"<b>{html.escape(layer.name)}</b> · {html.escape(layer.description)} · " + tr(
                "{shown} feature maps of {height}×{width} (orange: positive, blue: negative)", shown=shown, height=height, width=width
            )
            items.append(_figure(map_grid(layer.maps), caption, target=200 if height > 10 else 160, alt=f"feature maps of {layer.name}", kind="maps"))
        elif not convolutions and layer.units is not None:
            items.append(_units(layer))
    if inside.skipped:
        from trainpad.engine.inside import MAX_KEPT_VALUES  # torch's module: loaded by now, not when the app is built

        items.append('<p class="tp-inside-note">' + tr(
            "{count} more layer(s) not shown: this server keeps at most {values} values of a model's insides per picture.",
            count=inside.skipped, values=f"{MAX_KEPT_VALUES:,}") + "</p>")
    if not items:
        return f'<div class="tp-inside"><p>{tr("This model has no layers to show.")}</p></div>'
    return '<div class="tp-inside">' + "".join(items) + "</div>"


def inside_notice(reason: str) -> str:
    """The look inside's area when the insides were not computed: ``reason`` (an English
    sentence of :func:`~trainpad.engine.inside.inside_too_large`), in the page's language."""
    from trainpad.web.i18n import translate

    return f'<div class="tp-inside"><p class="tp-inside-note" data-tp="not-shown">{html.escape(translate(reason))}</p></div>'


__all__ = ["inside_html", "inside_notice", "map_grid", "saliency_overlay", "signed_colours", "png_uri"]
