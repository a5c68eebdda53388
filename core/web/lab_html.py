"""The Lab tab's pictures, as HTML: the code versions side by side, the curves, the figures,
and the convolution sliding over a picture.

Plain HTML, inline SVG and small PNGs (``data:`` addresses), no plotting library, rendered
from ``templates/lab_*.html`` (:func:`trainpad.web.render.render`).  Text is written in the
current language (:func:`trainpad.web.i18n.tr`); what an experiment wrote (its labels, its
finding) is translated when the catalog has it and shown as written otherwise, and escaped
by the templates.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
from markupsafe import Markup

from trainpad.web.i18n import tr, translate
from trainpad.web.inside_html import signed_colours
from trainpad.web.pictures import png_uri
from trainpad.web.render import render

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
    return render("lab_code.html", versions=[_version(version) for version in experiment.versions])


def _version(version: Any) -> dict[str, Any]:
    """A version of the code as the template shows it: its label, its lines, which changed."""
    changed = set(version.changed)
    return {"label": translate(version.label), "lines": [{"text": line, "changed": i in changed} for i, line in enumerate(version.lines)]}


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

    y_ticks = [y0 + (y1 - y0) * i / 4 for i in range(5)]
    x_ticks = [x0 + (x1 - x0) * i / 4 for i in range(5)]
    return render(
        "lab_chart.svg",
        width=width, height=height, left=left, right=width - right,
        y_ticks=[{"y": f"{sy(y):.1f}", "text_y": f"{sy(y) + 4:.1f}", "text": _tick(y)} for y in y_ticks],
        x_ticks=[{"x": f"{sx(x):.1f}", "text": f"{x:.2g}" if by_fraction else f"{x:,.0f}"} for x in x_ticks],
        curves=[
            {
                "label": label,
                "colour": ARM_COLOURS[index % len(ARM_COLOURS)],
                "dashed": index == 1 and len(curves) > 2,  # "seed 1 again" over "seed 1"
                "points": " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in points),
            }
            for index, (label, points) in enumerate(curves)
        ],
    )  # fmt: skip


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
    return str(value)[:40]


def result_html(result: "LabResult") -> str:
    """The finding, the curves of every arm, and a table of each arm's figures."""
    arms = list(result.arms)[:MAX_ARMS]
    names = list(dict.fromkeys(name for arm in arms for name in arm.curves))[:2]
    charts = [chart for chart in (_chart(name, arms) for name in names) if chart]
    figures = list(dict.fromkeys(key for arm in arms for key, value in arm.figures.items() if not isinstance(value, (list, dict))))
    return render(
        "lab_result.html",
        finding=" ".join(_lines(translate(result.finding))),
        charts=charts,
        arms=[translate(arm.label) for arm in arms] if figures else [],
        rows=[{"name": tr(key.replace("_", " ")), "cells": [_figure_text(key, arm.figures.get(key)) for arm in arms]} for key in figures[:MAX_FIGURES]],
    )


def _chart(name: str, arms: Sequence[Any]) -> dict[str, Any] | None:
    """The curve ``name`` of every arm that has it, with its legend and caption (``None``: no points)."""
    series = [(arm.label, arm.curves[name]) for arm in arms if arm.curves.get(name)]
    lengths = {len(values) for _, values in series}
    svg = chart_svg(series, by_fraction=len(lengths) > 1)
    if not svg:
        return None
    axis = tr("through the epoch") if len(lengths) > 1 else tr("step")
    return {
        "svg": Markup(svg),  # chart_svg's own template output, escaped there: HTML to put in as it is
        "legend": [{"colour": ARM_COLOURS[i % len(ARM_COLOURS)], "label": translate(label)} for i, (label, _) in enumerate(series)],
        "caption": tr("{curve} at each step (x: {axis})", curve=tr(name.replace("_", " ")), axis=axis),
    }


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


def _framed(uri: str, rows: int, cols: int, *, box: tuple[int, int, int, int], cell: int, label: str) -> dict[str, Any]:
    """A picture of ``rows`` x ``cols`` cells, ``cell`` px each, with the box ``(top, left, height, width)`` outlined."""
    top, left, height, width = box
    return {
        "uri": uri, "rows": rows, "cols": cols, "width": cols * cell, "height": rows * cell, "label": label,
        "box": {"top": top, "left": left, "height": height, "width": width}, "stroke": f"{max(0.15, 3 / cell):.2f}",
    }  # fmt: skip


def _numbers(values: Sequence[Sequence[float]], scale: float, *, grey: tuple[float, float] | None = None) -> list[list[dict[str, str]]]:
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
            cells.append({"background": f"rgb({r},{g},{b})", "ink": ink, "text": f"{value:.3f}"})
        rows.append(cells)
    return rows


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
    caption = tr(
        "Filter {filter} (of {filters}, in {layer}), stride {stride}, padding {padding}: position {position} (row {row}, column {col}) of 0 to {last}",
        filter=figures["filter"], filters=figures["filters"], layer=str(figures["layer"]), stride=figures["stride"],
        padding=figures["padding"], position=figures["position"], last=figures["positions"] - 1, row=row, col=col,
    )  # fmt: skip
    return render(
        "lab_conv.html",
        caption=caption,
        shown=shown,
        shown_caption=tr("The picture, {height}×{width} with its padding: the yellow square is the filter", height=picture.shape[0], width=picture.shape[1]),
        grids=[
            (tr("The pixels under the filter"), _numbers(figures["patch"], 1.0, grey=grey)),
            (tr("The filter: its {size}×{size} weights", size=size), _numbers(weights, scale)),
            (tr("Each pixel under it times its weight"), _numbers(products, product_scale)),
        ],
        total=tr("sum of the {count} products: {sum}", count=size * size, sum=f"{figures['sum_of_products']:.3f}"),
        bias=f"{tr('bias')} {figures['bias']:.3f}",
        value=f"{figures['value']:.3f}",
        built=built,
        built_caption=tr("The feature map, {height}×{width}, built up to this position", height=feature_map.shape[0], width=feature_map.shape[1]),
    )


__all__ = ["code_html", "result_html", "chart_svg", "conv_html"]
