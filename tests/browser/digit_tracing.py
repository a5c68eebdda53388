"""Pen strokes that trace a real MNIST digit, for drawing it on the sketch pad with a mouse.

A person draws a digit as a few pen strokes of a fixed width.  This does the same
from a 28x28 MNIST digit: threshold its ink, thin each connected piece to a
one-pixel skeleton (Zhang-Suen), and walk the skeleton in one continuous stroke
per piece (going back over a branch where needed, as a pen can without changing
the drawing).  The digit is scaled so that the brush is as wide, relative to the
digit, as its own strokes are.  No SciPy or scikit-image needed.

:func:`render` draws strokes the way the pad does (round pen), so the tracing can be
checked without a browser.
"""

from __future__ import annotations

from collections import deque
from typing import Sequence

import numpy as np

Point = tuple[float, float]
#: Ink at or above this grey level (of 255) is part of the digit.
THRESHOLD = 96
#: The 8 neighbours, clockwise from north, as (row, column) offsets.
NEIGHBOURS = ((-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1))


def ink_mask(digit: np.ndarray, threshold: int = THRESHOLD) -> np.ndarray:
    return np.asarray(digit) >= threshold


def components(mask: np.ndarray) -> list[np.ndarray]:
    """The 8-connected pieces of ``mask``, largest first, each as a mask."""
    seen = np.zeros_like(mask, dtype=bool)
    pieces = []
    for start in zip(*np.nonzero(mask)):
        if seen[start]:
            continue
        piece = np.zeros_like(mask, dtype=bool)
        queue = deque([start])
        seen[start] = True
        while queue:
            r, c = queue.popleft()
            piece[r, c] = True
            for dr, dc in NEIGHBOURS:
                rr, cc = r + dr, c + dc
                if 0 <= rr < mask.shape[0] and 0 <= cc < mask.shape[1] and mask[rr, cc] and not seen[rr, cc]:
                    seen[rr, cc] = True
                    queue.append((rr, cc))
        pieces.append(piece)
    return sorted(pieces, key=lambda p: -int(p.sum()))


def thin(mask: np.ndarray) -> np.ndarray:
    """Zhang-Suen thinning: a one-pixel-wide skeleton of ``mask``."""
    img = np.pad(mask.astype(np.uint8), 1)
    changed = True
    while changed:
        changed = False
        for step in (0, 1):
            remove = []
            for r, c in zip(*np.nonzero(img)):
                p = [img[r + dr, c + dc] for dr, dc in NEIGHBOURS]  # p2..p9
                b = sum(p)
                a = sum(p[i] == 0 and p[(i + 1) % 8] == 1 for i in range(8))
                if not (2 <= b <= 6 and a == 1):
                    continue
                p2, p4, p6, p8 = p[0], p[2], p[4], p[6]
                if step == 0 and p2 * p4 * p6 == 0 and p4 * p6 * p8 == 0:
                    remove.append((r, c))
                elif step == 1 and p2 * p4 * p8 == 0 and p2 * p6 * p8 == 0:
                    remove.append((r, c))
            for r, c in remove:
                img[r, c] = 0
            changed = changed or bool(remove)
    return img[1:-1, 1:-1].astype(bool)


def walk(skeleton: np.ndarray) -> list[tuple[int, int]]:
    """One continuous path over every pixel of a connected skeleton (depth first,
    backtracking over branches), starting at an end point when there is one."""
    pixels = {(int(r), int(c)) for r, c in zip(*np.nonzero(skeleton))}
    if not pixels:
        return []

    def neighbours(p: tuple[int, int]) -> list[tuple[int, int]]:
        # 4-neighbours first, so that the walk follows the line rather than cutting corners
        order = sorted(NEIGHBOURS, key=lambda d: abs(d[0]) + abs(d[1]))
        return [(p[0] + dr, p[1] + dc) for dr, dc in order if (p[0] + dr, p[1] + dc) in pixels]

    ends = [p for p in pixels if len(neighbours(p)) == 1]
    # start at the top-most end (or pixel), as people mostly do
    start = min(ends or pixels)
    path = [start]
    visited = {start}
    stack = [start]
    while stack:
        here = stack[-1]
        nxt = next((n for n in neighbours(here) if n not in visited), None)
        if nxt is None:
            stack.pop()
            if stack and any(n not in visited for p in stack for n in neighbours(p)):
                path.append(stack[-1])  # go back along the branch
            continue
        visited.add(nxt)
        path.append(nxt)
        stack.append(nxt)
    # drop the trailing backtrack to where nothing is left to draw
    while len(path) > 1 and path[-1] in path[:-1] and path[-2] in path[:-2]:
        path.pop()
    return path


def simplify(points: Sequence[Point], tolerance: float) -> list[Point]:
    """Ramer-Douglas-Peucker: fewer points, the same line within ``tolerance``."""
    if len(points) < 3:
        return list(points)
    a, b = np.asarray(points[0], float), np.asarray(points[-1], float)
    pts = np.asarray(points, float)
    ab = b - a
    if not ab.any():
        dist = np.hypot(*(pts - a).T)
    else:
        rel = pts - a
        dist = np.abs(ab[0] * rel[:, 1] - ab[1] * rel[:, 0]) / np.hypot(*ab)
    i = int(dist.argmax())
    if dist[i] <= tolerance:
        return [tuple(a), tuple(b)]
    return simplify(points[: i + 1], tolerance)[:-1] + simplify(points[i:], tolerance)


def smooth_path(path: Sequence[tuple[int, int]], passes: int = 2) -> list[Point]:
    """The pixel path with its staircase steps rounded off (a 3-point moving average,
    ends kept), as a hand would draw it."""
    pts = np.asarray(path, dtype=float)
    for _ in range(passes if len(pts) > 2 else 0):
        pts[1:-1] = (pts[:-2] + 2 * pts[1:-1] + pts[2:]) / 4
    return [(float(r), float(c)) for r, c in pts]


def stroke_width(mask: np.ndarray, skeleton: np.ndarray) -> float:
    """The digit's own pen width in pixels: ink area over skeleton length."""
    return float(mask.sum()) / max(int(skeleton.sum()), 1)


def digit_strokes(
    digit: np.ndarray, *, size: int = 800, brush: float = 34, fill: float = 0.8, min_fill: float = 0.5, smooth: float = 0.8
) -> list[list[Point]]:
    """Strokes, in pad pixels (``0..size``), that draw ``digit`` (28x28, light on dark)
    with a round brush ``brush`` pixels wide.  Pieces of ink smaller than 3 pixels are
    left out; each other piece is one stroke."""
    mask = ink_mask(digit)
    pieces = [p for p in components(mask) if p.sum() >= 3]
    skeletons = [thin(p) for p in pieces]
    width = stroke_width(np.logical_or.reduce(pieces), np.logical_or.reduce(skeletons))
    rows, cols = np.nonzero(np.logical_or.reduce(pieces))
    extent = max(rows.max() - rows.min(), cols.max() - cols.min()) + 1
    # the brush as wide, relative to the digit, as the digit's own strokes; never larger than the pad allows
    scale = min(max(brush / max(width, 1.0), min_fill * size / extent), fill * size / extent)
    centre_r, centre_c = (rows.max() + rows.min()) / 2, (cols.max() + cols.min()) / 2
    strokes = []
    for skeleton in skeletons:
        path = smooth_path(walk(skeleton))
        points = [((c - centre_c) * scale + size / 2, (r - centre_r) * scale + size / 2) for r, c in path]
        points = simplify(points, tolerance=scale * smooth)
        if len(points) == 1:
            points = [points[0], (points[0][0] + 1, points[0][1] + 1)]
        strokes.append(points)
    return strokes


def render(strokes: Sequence[Sequence[Point]], *, size: int = 800, brush: float = 34) -> np.ndarray:
    """The strokes drawn as the pad draws them: ``(size, size, 4)`` RGBA, black on white."""
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (size, size), (255, 255, 255, 255))
    pen = ImageDraw.Draw(image)
    r = brush / 2
    for stroke in strokes:
        pen.line([tuple(p) for p in stroke], fill=(0, 0, 0, 255), width=int(round(brush)))
        for x, y in stroke:
            pen.ellipse((x - r, y - r, x + r, y + r), fill=(0, 0, 0, 255))
    return np.asarray(image)
