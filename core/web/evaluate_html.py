"""The Evaluate tab's HTML: the confusion matrix as a coloured table (or, for many classes,
its most frequent confusions) and per-class accuracy as bars.

Rendered from ``templates/confusion.html``, ``confusions.html`` and ``per_class.html``
(:func:`trainpad.web.render.render`); the class names, a checkpoint's own, are escaped there.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from trainpad.web.i18n import tr
from trainpad.web.render import render

#: Classes up to which the confusion matrix is drawn cell by cell (it grows with the square).
MATRIX_CLASSES = 30
#: Rows a summary shows: the most frequent confusions, the classes with the lowest accuracy.
SUMMARY_ROWS = 20
#: Characters of a class name shown (a checkpoint's names can be long).
NAME_CHARS = 40
#: The colours a cell goes from and to: white to deep blue (right), white to red (mistakes).
BLUE, RED, WHITE = (30, 64, 175), (220, 38, 38), (255, 255, 255)


def _colour(fraction: float, end: tuple[int, int, int]) -> str:
    """White to ``end`` by ``fraction`` (clipped to 0..1), as CSS."""
    fraction = min(max(fraction, 0.0), 1.0)
    r, g, b = (round(a + (b - a) * fraction) for a, b in zip(WHITE, end))
    return f"rgb({r},{g},{b})"


def _name(name: Any) -> str:
    text = str(name)
    return text if len(text) <= NAME_CHARS else text[: NAME_CHARS - 1] + "…"


def _cell(matrix: np.ndarray, true: int, predicted: int, names: Sequence[str], worst: int) -> dict[str, str]:
    """One cell of the matrix: its colours, its tooltip and its count (blank for none)."""
    count = int(matrix[true, predicted])
    total = matrix[true].sum()
    share = count / total if total else 0.0
    if true == predicted:
        colour, ink = _colour(share, BLUE), "#fff" if share > 0.55 else "inherit"
    else:
        colour = _colour((count / worst) ** 0.5 * 0.85 if worst else 0.0, RED)
        ink = "#fff" if worst and count / worst > 0.6 else "inherit"
    title = tr("true {true}, predicted {predicted}: {count} ({share} of {true})",
               true=names[true], predicted=names[predicted], count=count, share=f"{share:.1%}")  # fmt: skip
    return {"colour": colour, "ink": ink, "title": title, "text": str(count) if count else ""}


def confusion_html(confusion: Any, class_names: Sequence[str]) -> str:
    """The confusion matrix as a coloured HTML table (rows: true class, columns: predicted).

    Diagonal cells are blue by their share of the row; mistakes are red by their share of
    the row, scaled up so that rare confusions still show.  Beyond :data:`MATRIX_CLASSES`
    classes the matrix is summarised instead (:func:`confusions_html`), so the page stays
    small whatever a checkpoint's class count.
    """
    matrix = np.asarray(confusion.tolist() if hasattr(confusion, "tolist") else confusion, dtype=np.int64)
    if len(class_names) > MATRIX_CLASSES:
        return confusions_html(matrix, class_names)
    names = [_name(n) for n in class_names]
    off = matrix.copy()
    np.fill_diagonal(off, 0)
    worst = off.max() if off.size else 0
    rows = [{"name": name, "cells": [_cell(matrix, t, p, names, worst) for p in range(len(names))]} for t, name in enumerate(names)]
    return render("confusion.html", names=names, rows=rows, predicted_axis=tr("predicted"), true_axis=tr("true"))


def confusions_html(matrix: np.ndarray, class_names: Sequence[str]) -> str:
    """Too many classes to draw: the most frequent confusions, as a short table."""
    off = matrix.copy()
    np.fill_diagonal(off, 0)
    totals = matrix.sum(axis=1)
    flat = off.ravel()
    count = min(SUMMARY_ROWS, int(np.count_nonzero(flat)))
    top = np.argpartition(-flat, count - 1)[:count] if count else np.empty(0, dtype=np.int64)
    top = top[np.argsort(-flat[top], kind="stable")]
    n = len(class_names)
    rows = []
    for index in top.tolist():
        t, p = divmod(index, n)
        share = matrix[t, p] / totals[t] if totals[t] else 0.0
        rows.append([_name(class_names[t]), _name(class_names[p]), f"{int(matrix[t, p]):,}", f"{share:.1%}"])
    return render(
        "confusions.html",
        intro=tr("{classes} classes are too many to draw as a matrix; the {count} most frequent confusions:", classes=f"{n:,}", count=count),
        heads=[tr(text) for text in ("true", "predicted", "count", "of the true class")],
        rows=rows,
        no_mistakes=tr("no mistakes"),
    )


def per_class_html(accuracies: Sequence[float], class_names: Sequence[str], totals: Sequence[int] | None = None) -> str:
    """Per-class accuracy as labelled horizontal bars, with the count of mistakes when ``totals`` is given.

    Beyond :data:`MATRIX_CLASSES` classes only the :data:`SUMMARY_ROWS` with the lowest
    accuracy are shown, and a line says how many more there are.
    """
    totals = list(totals) if totals is not None else [None] * len(class_names)
    rows = list(zip(class_names, accuracies, totals))
    note = ""
    if len(rows) > MATRIX_CLASSES:
        note = f"The {SUMMARY_ROWS} of {len(rows):,} classes with the lowest accuracy:"
        rows = sorted(rows, key=lambda row: row[1])[:SUMMARY_ROWS]
    bars = [
        {
            "name": _name(name),
            "percent": f"{accuracy * 100:.1f}",
            "wrong": tr("{wrong} of {total} wrong", wrong=f"{round(total * (1 - accuracy)):,}", total=f"{total:,}") if total else "",
        }
        for name, accuracy, total in rows
    ]
    return render("per_class.html", note=note, bars=bars)


__all__ = ["MATRIX_CLASSES", "SUMMARY_ROWS", "confusion_html", "confusions_html", "per_class_html"]
