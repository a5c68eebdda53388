"""Turning results into things a browser shows: heatmaps, bars and crisp pictures.

Plain HTML and PIL only (no plotting library), so the app needs nothing beyond
Gradio's own dependencies.
"""

from __future__ import annotations

import html
from typing import Any, Sequence

import numpy as np
from PIL import Image

from trainpad.web.i18n import tr


def upscale(picture: np.ndarray, size: int = 224) -> np.ndarray:
    """``picture`` enlarged with nearest-neighbour to about ``size`` pixels, so pixels stay square."""
    picture = np.asarray(picture)
    factor = max(1, size // max(picture.shape[0], picture.shape[1]))
    return np.repeat(np.repeat(picture, factor, axis=0), factor, axis=1)


def _cell_colour(fraction: float) -> str:
    """White to deep blue."""
    fraction = min(max(fraction, 0.0), 1.0)
    start, end = (255, 255, 255), (30, 64, 175)
    r, g, b = (round(a + (b - a) * fraction) for a, b in zip(start, end))
    return f"rgb({r},{g},{b})"


def _error_colour(fraction: float) -> str:
    """White to red, for mistakes off the diagonal."""
    fraction = min(max(fraction, 0.0), 1.0)
    start, end = (255, 255, 255), (220, 38, 38)
    r, g, b = (round(a + (b - a) * fraction) for a, b in zip(start, end))
    return f"rgb({r},{g},{b})"


#: Classes up to which the confusion matrix is drawn cell by cell (it grows with the square).
MATRIX_CLASSES = 30
#: Rows a summary shows: the most frequent confusions, the classes with the lowest accuracy.
SUMMARY_ROWS = 20
#: Characters of a class name shown (a checkpoint's names can be long).
NAME_CHARS = 40


def _name(name: Any) -> str:
    text = str(name)
    return html.escape(text if len(text) <= NAME_CHARS else text[: NAME_CHARS - 1] + "…")


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
    totals = matrix.sum(axis=1)
    off = matrix.copy()
    np.fill_diagonal(off, 0)
    worst = off.max() if off.size else 0
    head = "".join(f"<th>{n}</th>" for n in names)
    rows = []
    for t, name in enumerate(names):
        cells = []
        for p in range(len(names)):
            count = int(matrix[t, p])
            share = count / totals[t] if totals[t] else 0.0
            if t == p:
                colour = _cell_colour(share)
                ink = "#fff" if share > 0.55 else "inherit"
            else:
                colour = _error_colour((count / worst) ** 0.5 * 0.85 if worst else 0.0)
                ink = "#fff" if worst and count / worst > 0.6 else "inherit"
            title = tr("true {true}, predicted {predicted}: {count} ({share} of {true})", true=name, predicted=names[p], count=count, share=f"{share:.1%}")
            text = str(count) if count else ""
            cells.append(f'<td style="background:{colour};color:{ink}" title="{title}">{text}</td>')
        rows.append(f"<tr><th>{name}</th>{''.join(cells)}</tr>")
    return (
        '<div class="tp-scroll-x tp-cm-box"><table class="tp-cm"><thead>'
        + f'<tr><th></th><th class="axis" colspan="{len(names)}">{tr("predicted")}</th></tr>'
        + f"<tr><th class=\"axis\">{tr('true')}</th>{head}</tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></div>"
    )


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
        rows.append(
            f"<tr><td>{_name(class_names[t])}</td><td>{_name(class_names[p])}</td>"
            f"<td>{int(matrix[t, p]):,}</td><td>{share:.1%}</td></tr>"
        )
    body = "".join(rows) or f'<tr><td colspan="4">{tr("no mistakes")}</td></tr>'
    heads = "".join(f"<th>{tr(text)}</th>" for text in ("true", "predicted", "count", "of the true class"))
    return (
        f"<p>{tr('{classes} classes are too many to draw as a matrix; the {count} most frequent confusions:', classes=f'{n:,}', count=count)}</p>"
        + f'<table class="tp-cm tp-list"><thead><tr>{heads}</tr></thead>'
        + f"<tbody>{body}</tbody></table>"
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
        note = f"<p>The {SUMMARY_ROWS} of {len(rows):,} classes with the lowest accuracy:</p>"
        rows = sorted(rows, key=lambda row: row[1])[:SUMMARY_ROWS]
    items = []
    for name, accuracy, total in rows:
        wrong = f" <small>({tr('{wrong} of {total} wrong', wrong=f'{round(total * (1 - accuracy)):,}', total=f'{total:,}')})</small>" if total else ""
        items.append(
            f"<span>{_name(name)}</span>"
            f'<div class="tp-bar"><div style="width:{accuracy * 100:.1f}%"></div></div>'
            f"<span>{accuracy * 100:.1f}%{wrong}</span>"
        )
    return note + '<div class="tp-bars">' + "".join(items) + "</div>"


def to_pil(picture: np.ndarray) -> Image.Image:
    """A ``uint8`` array as a PIL image (grey or RGB)."""
    return Image.fromarray(np.ascontiguousarray(picture))
