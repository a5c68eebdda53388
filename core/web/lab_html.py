"""The Lab tab's pictures, as HTML: the code versions side by side, the curves, the figures,
and the convolution sliding over a picture.

Plain HTML, inline SVG and small PNGs (``data:`` addresses), no plotting library.  Text is
written in the current language (:func:`trainpad.web.i18n.tr`); what an experiment wrote
(its labels, its finding) is translated when the catalog has it and shown as written
otherwise.
"""

from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from trainpad.web.i18n import tr, translate
from trainpad.web.inside_html import png_uri, signed_colours

if TYPE_CHECKING:
    from trainpad.engine.lab.experiment import Experiment
    from trainpad.engine.lab.kit import LabResult

#: A colour per arm, in order (the Train tab's run colours).
ARM_COLOURS = ("#2563eb", "#ea580c", "#16a34a", "#9333ea", "#dc2626", "#0d9488", "#db2777", "#ca8a04")
#: Points drawn per curve at most (longer ones are averaged down).
CURVE_POINTS = 200
#: The most arms and figures a result table shows (an experiment's own; a plugin's could make more).
MAX_ARMS, MAX_FIGURES = 12, 24


def _lines(text: str) -> list[str]:
    return text.rstrip("\n").split("\n")


def code_html(experiment: "Experiment") -> str:
    """The experiment's versions of the code side by side, the lines that differ marked."""
    figures = []
    for version in experiment.versions:
        changed = set(version.changed)
        lines = "".join(
            f'<span class="tp-changed">{html.escape(line) or " "}</span>' if i in changed else f"<span>{html.escape(line) or ' '}</span>"
            for i, line in enumerate(version.lines)
        )
        figures.append(f"<figure><figcaption>{html.escape(translate(version.label))}</figcaption><pre><code>{lines}</code></pre></figure>")
    return '<div class="tp-lab-code">' + "".join(figures) + "</div>"


def _downsampled(values: Sequence[float], points: int = CURVE_POINTS) -> list[tuple[float, float]]:
    """``(x, y)`` with x the step from 1, averaged into at most ``points`` points (non-finite values dropped)."""
    pairs = [(i + 1.0, float(v)) for i, v in enumerate(values) if isinstance(v, (int, float)) and math.isfinite(v)]
    if len(pairs) <= points:
        return pairs
    size = len(pairs) / points
    return [
        (float(np.mean([x for x, _ in chunk])), float(np.mean([y for _, y in chunk])))
        for chunk in (pairs[int(i * size) : int((i + 1) * size)] for i in range(points))
        if chunk
    ]


def chart_svg(series: Sequence[tuple[str, Sequence[float]]], *, by_fraction: bool, width: int = 520, height: int = 220) -> str:
    """A line chart of each ``(label, values)``: x is the step, or the fraction of the run
    when the series have different lengths (an epoch of 1,024 steps beside one of 8)."""
    left, right, top, bottom = 46, 10, 8, 26
    curves = []
    for label, values in series:
        points = _downsampled(values)
        if by_fraction and values:
            points = [(x / len(values), y) for x, y in points]
        curves.append((label, points))
    xs = [x for _, points in curves for x, _ in points]
    ys = [y for _, points in curves for _, y in points]
    if not xs:
        return ""
    x0, x1 = (0.0, 1.0) if by_fraction else (1.0, max(xs))
    y0, y1 = min(0.0, min(ys)), max(ys)
    if y1 <= y0:
        y1 = y0 + 1.0
    plot_w, plot_h = width - left - right, height - top - bottom

    def sx(x: float) -> float:
        return left + (x - x0) / ((x1 - x0) or 1.0) * plot_w

    def sy(y: float) -> float:
        return top + (1 - (y - y0) / (y1 - y0)) * plot_h

    parts = [f'<svg viewBox="0 0 {width} {height}" role="img" xmlns="http://www.w3.org/2000/svg">']
    for i in range(5):
        y = y0 + (y1 - y0) * i / 4
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{sy(y):.1f}" y2="{sy(y):.1f}" stroke="rgba(128,128,128,.25)"/>')
        parts.append(f'<text x="{left - 5}" y="{sy(y) + 4:.1f}" font-size="11" text-anchor="end" fill="currentColor">{_tick(y)}</text>')
    for i in range(5):
        x = x0 + (x1 - x0) * i / 4
        text = f"{x:.2g}" if by_fraction else f"{x:,.0f}"
        parts.append(f'<text x="{sx(x):.1f}" y="{height - 8}" font-size="11" text-anchor="middle" fill="currentColor">{text}</text>')
    for index, (label, points) in enumerate(curves):
        colour = ARM_COLOURS[index % len(ARM_COLOURS)]
        dash = ' stroke-dasharray="6 4"' if index == 1 and len(curves) > 2 else ""  # "seed 1 again" over "seed 1"
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="1.8"{dash}><title>{html.escape(label)}</title></polyline>')
    parts.append("</svg>")
    return "".join(parts)


def _tick(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def _figure_text(name: str, value: Any) -> str:
    """A figure as the table shows it: fractions of accuracy or answers as percentages, bytes in MB."""
    if isinstance(value, bool) or value is None:
        return tr("yes") if value is True else tr("no") if value is False else "–"
    if isinstance(value, float):
        if "accuracy" in name or "answers" in name:
            return f"{value:.1%}"
        if name.endswith("bytes"):
            return f"{value / 2**20:.2f} MB"
        if name.startswith("seconds"):
            return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"
        return f"{value:.4g}"
    if isinstance(value, int):
        return f"{value / 2**20:.2f} MB" if name.endswith("bytes") else f"{value:,}"
    return html.escape(str(value))[:40]


def result_html(result: "LabResult") -> str:
    """The finding, the curves of every arm, and a table of each arm's figures."""
    finding = " ".join(html.escape(line) for line in _lines(translate(result.finding)))
    parts = ['<div class="tp-lab-result">', f'<p class="tp-finding">{finding}</p>']
    arms = list(result.arms)[:MAX_ARMS]
    names = list(dict.fromkeys(name for arm in arms for name in arm.curves))[:2]
    charts = []
    for name in names:
        series = [(arm.label, arm.curves[name]) for arm in arms if arm.curves.get(name)]
        lengths = {len(values) for _, values in series}
        svg = chart_svg(series, by_fraction=len(lengths) > 1)
        if not svg:
            continue
        axis = tr("through the epoch") if len(lengths) > 1 else tr("step")
        legend = "".join(
            f'<span><i style="background:{ARM_COLOURS[i % len(ARM_COLOURS)]}"></i>{html.escape(translate(label))}</span>'
            for i, (label, _) in enumerate(series)
        )
        caption = tr("{curve} at each step (x: {axis})", curve=tr(name.replace("_", " ")), axis=axis)
        charts.append(f"<figure>{svg}<div class='tp-lab-legend'>{legend}</div><figcaption>{caption}</figcaption></figure>")
    if charts:
        parts.append('<div class="tp-lab-charts">' + "".join(charts) + "</div>")
    figures = list(dict.fromkeys(key for arm in arms for key, value in arm.figures.items() if not isinstance(value, (list, dict))))
    if figures:
        head = "".join(f"<th>{html.escape(translate(arm.label))}</th>" for arm in arms)
        rows = "".join(
            f"<tr><td>{html.escape(tr(key.replace('_', ' ')))}</td>" + "".join(f"<td>{_figure_text(key, arm.figures.get(key))}</td>" for arm in arms) + "</tr>"
            for key in figures[:MAX_FIGURES]
        )
        parts.append(f'<div class="tp-lab-table"><table><tr><th></th>{head}</tr>{rows}</table></div>')
    return "".join(parts) + "</div>"


# -- the convolution, sliding --------------------------------------------------------------------


def _grid_png(values: np.ndarray, scale: float, *, blank_after: int | None = None) -> str:
    """Values as signed colours (orange positive, blue negative), cells after ``blank_after`` grey."""
    rgb = signed_colours(values / (scale or 1.0))
    if blank_after is not None:
        flat = rgb.reshape(-1, 3)
        flat[blank_after + 1 :] = 70
    return png_uri(np.clip(rgb, 0, 255).astype(np.uint8))


def _picture_png(values: np.ndarray) -> str:
    """The (normalised) picture in grey: its lowest value black, its highest white."""
    low, high = float(values.min()), float(values.max())
    grey = (values - low) / ((high - low) or 1.0) * 255
    return png_uri(np.clip(grey, 0, 255).astype(np.uint8))


def _framed(uri: str, rows: int, cols: int, *, box: tuple[int, int, int, int], cell: int, label: str) -> str:
    """A picture of ``rows`` x ``cols`` cells, ``cell`` px each, with the box ``(top, left, height, width)`` outlined."""
    top, left, height, width = box
    return (
        f'<svg viewBox="0 0 {cols} {rows}" width="{cols * cell}" height="{rows * cell}" xmlns="http://www.w3.org/2000/svg" role="img">'
        f'<title>{html.escape(label)}</title><image href="{uri}" x="0" y="0" width="{cols}" height="{rows}" preserveAspectRatio="none"/>'
        f'<rect x="{left}" y="{top}" width="{width}" height="{height}" fill="none" stroke="#facc15" stroke-width="{max(0.15, 3 / cell):.2f}"/>'
        "</svg>"
    )


def _numbers(values: Sequence[Sequence[float]], scale: float, *, grey: tuple[float, float] | None = None) -> str:
    """A grid of numbers in cells coloured by value: signed colours scaled by ``scale``, or
    grey from black to white across ``grey`` (the picture's lowest and highest values)."""
    rows = []
    for row in values:
        cells = []
        for value in row:
            if grey is not None:
                level = int(np.clip((value - grey[0]) / ((grey[1] - grey[0]) or 1.0) * 255, 0, 255))
                r = g = b = level
            else:
                r, g, b = (int(c) for c in np.clip(signed_colours(np.array(value / (scale or 1.0))), 0, 255))
            ink = "#fff" if (r + g + b) < 300 else "#000"
            cells.append(f'<td style="background:rgb({r},{g},{b});color:{ink}">{value:.3f}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return "<table>" + "".join(rows) + "</table>"


def conv_html(figures: dict[str, Any]) -> str:
    """The ``conv`` experiment's figures as the page shows them: the padded picture with the
    filter's window on it, the weights, the products under the window and their sum, and the
    feature map built up to this position."""
    picture = np.asarray(figures["input"], dtype=np.float32)
    weights, products = figures["weights"], figures["products"]
    feature_map = np.asarray(figures["feature_map"], dtype=np.float32)
    size, row, col = figures["kernel"], figures["row"], figures["col"]
    cell = max(4, min(12, 300 // max(picture.shape)))
    shown = _framed(
        _picture_png(picture), *picture.shape, box=(figures["top"], figures["left"], size, size), cell=cell,
        label=tr("the picture with its padding, and the filter's window"),
    )  # fmt: skip
    map_cell = max(4, min(12, 300 // max(feature_map.shape)))
    built = _framed(
        _grid_png(feature_map, float(np.abs(feature_map).max()), blank_after=figures["position"]), *feature_map.shape,
        box=(row, col, 1, 1), cell=map_cell, label=tr("the feature map"),
    )  # fmt: skip
    scale = max(abs(v) for line in weights for v in line) or 1.0
    product_scale = max(abs(v) for line in products for v in line) or 1.0
    grey = (float(picture.min()), float(picture.max()))  # the pixels as the picture shows them
    bias = figures["bias"]
    total = tr("sum of the {count} products: {sum}", count=size * size, sum=f"{figures['sum_of_products']:.3f}")
    total += f" + {tr('bias')} {bias:.3f} = <b>{figures['value']:.3f}</b>"
    caption = tr(
        "Filter {filter} (of {filters}, in {layer}), stride {stride}, padding {padding}: position {position} (row {row}, column {col}) of 0 to {last}",
        filter=figures["filter"], filters=figures["filters"], layer=html.escape(str(figures["layer"])), stride=figures["stride"],
        padding=figures["padding"], position=figures["position"], last=figures["positions"] - 1, row=row, col=col,
    )  # fmt: skip
    return (
        f"<p style='margin:0 0 8px 0'>{caption}</p>"
        + '<div class="tp-conv">'
        + f"<figure>{shown}<figcaption>{tr('The picture, {height}×{width} with its padding: the yellow square is the filter', height=picture.shape[0], width=picture.shape[1])}</figcaption></figure>"
        + f"<figure><figcaption>{tr('The pixels under the filter')}</figcaption>{_numbers(figures['patch'], 1.0, grey=grey)}"
        + f"<figcaption>{tr('The filter: its {size}×{size} weights', size=size)}</figcaption>{_numbers(weights, scale)}"
        + f"<figcaption>{tr('Each pixel under it times its weight')}</figcaption>{_numbers(products, product_scale)}"
        + f'<div class="tp-sum">{total}</div></figure>'
        + f"<figure>{built}<figcaption>{tr('The feature map, {height}×{width}, built up to this position', height=feature_map.shape[0], width=feature_map.shape[1])}</figcaption></figure>"
        + "</div>"
    )


__all__ = ["code_html", "result_html", "chart_svg", "conv_html"]
