"""Loss and accuracy curves of training runs, as small tables for live plots.

Train values come per step, test values from the run's spot checks (a fixed sample of
the test split, a few times an epoch) and from each epoch's full evaluation.  The x
axis is in epochs as trained: step 32 of a 47-step epoch is at 0.68, and so is the
test point of a run stopped there.  Long runs are averaged into at most
``max_points`` points per series, so a plot update stays small however long the run is.

:func:`chart` lays one run, or several overlaid, out for a ``gr.LinePlot``: the table,
a colour per series and fixed axis ranges.  Gradio's plot sizes its axes when it is
drawn and only swaps the data afterwards, so labels wider than the first ones drawn
would be cut off ("2.300" read as "300"); with ranges fixed ahead of the data, and
changed (which redraws the plot) only when the data leave them, every label fits.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from trainpad.engine.events import EpochEnd, SpotCheck, StepEnd
from trainpad.web.cells import cell
from trainpad.web.i18n import tr, translate

if TYPE_CHECKING:
    import pandas as pd

    from trainpad.engine.events import StepEnd

COLUMNS = ("epoch", "value", "split")
#: The columns of a run's curves as a CSV file (accuracy in percent, lr per step).
CSV_COLUMNS = ("epoch", "step", "split", "loss", "accuracy", "lr", "test_samples")
#: Colours of one run's series: train per step (orange), test (blue).
COLOURS = {"train": "#f97316", "test": "#2563eb"}
#: Runs overlaid get a hue each, strong for test and light for train (by run number); no
#: orange, which is "train" in a single run's plot, and neighbours far apart on the wheel.
RUN_COLOURS = (
    ("#2563eb", "#93c5fd"),
    ("#16a34a", "#86efac"),
    ("#9333ea", "#d8b4fe"),
    ("#dc2626", "#fca5a5"),
    ("#0d9488", "#5eead4"),
    ("#db2777", "#f9a8d4"),
    ("#ca8a04", "#fde047"),
    ("#475569", "#cbd5e1"),
)
#: Upper ends a loss axis rounds up to (times a power of ten).
NICE_STEPS = (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)


class Curves:
    """Collects a run's events; :meth:`loss` and :meth:`accuracy` give plot tables.

    :param epochs: the epochs the run is set to train (the x axis spans them).
    """

    def __init__(self, max_points: int = 300, *, epochs: float = 1.0) -> None:
        self.max_points = max_points
        self.epochs = float(epochs)
        self._x: list[float] = []
        self._step: list[int] = []
        self._loss: list[float] = []
        self._acc: list[float] = []
        self._lr: list[float] = []
        #: (epoch, loss, accuracy %, step, test samples or None for a whole split)
        self._test: list[tuple[float, float | None, float | None, int, int | None]] = []
        # to turn the run's running epoch accuracy back into each batch's accuracy
        self._epoch: int | None = None
        self._base = self._seen = 0
        self._correct = 0.0
        self._count = 0

    def add(self, event: Any) -> None:
        """Record a :class:`~trainpad.engine.events.StepEnd`, :class:`~trainpad.engine.events.SpotCheck`
        or :class:`~trainpad.engine.events.EpochEnd` (others are ignored)."""
        if isinstance(event, StepEnd):
            per_epoch = event.steps / max(event.epochs, 1)
            self._x.append(event.step / per_epoch if per_epoch else float(event.epoch))
            self._step.append(event.step)
            self._loss.append(event.loss)
            self._acc.append(self._batch_accuracy(event) * 100.0)
            self._lr.append(float(event.lr))
        elif isinstance(event, SpotCheck):
            self._add_test(event.epochs_done, event.test_loss, event.test_accuracy, event.step, event.samples)
        elif isinstance(event, EpochEnd):
            self._add_test(event.epochs_done or float(event.epoch), event.test_loss, event.test_accuracy, event.step, None)

    def _batch_accuracy(self, event: "StepEnd") -> float:
        """This step's batch accuracy, from the running accuracy over the epoch so far."""
        if event.epoch != self._epoch:
            self._epoch, self._base, self._correct, self._count = event.epoch, self._seen, 0.0, 0
        self._seen = event.samples
        count = event.samples - self._base
        correct = event.accuracy * count
        batch = count - self._count
        accuracy = (correct - self._correct) / batch if batch > 0 else event.accuracy
        self._correct, self._count = correct, count
        return min(max(accuracy, 0.0), 1.0)

    def add_test(self, epoch: float, loss: float | None, accuracy: float | None) -> None:
        """Record a test evaluation made outside the run's events."""
        self._add_test(epoch, loss, accuracy, 0, None)

    def _add_test(self, epoch: float, loss: float | None, accuracy: float | None, step: int, samples: int | None) -> None:
        if loss is None and accuracy is None:
            return
        self._test.append((float(epoch), loss, accuracy * 100.0 if accuracy is not None else None, step, samples))
        self._test.sort(key=lambda item: item[0])

    def __len__(self) -> int:
        return len(self._x)

    @property
    def test_points(self) -> int:
        return len(self._test)

    @property
    def span(self) -> float:
        """The epochs the x axis shows: all the run is set to train when that is 2 or
        fewer; for a longer run, the next of 1, 2, 5, 10, 20... epochs past what it has
        trained (so that its first epoch is not a sliver at the left), up to all of them."""
        done = max(self._x[-1] if self._x else 0.0, self._test[-1][0] if self._test else 0.0)
        if self.epochs <= 2:
            return max(self.epochs, done, 1e-3)
        ladder = (m * 10**e for e in range(6) for m in (1, 2, 5))
        return max(min(next(step for step in ladder if step >= done - 1e-9), self.epochs), done)

    def nbytes(self) -> int:
        """About what these curves hold in memory (nothing while empty)."""
        if not self._x and not self._test:
            return 0
        return 8 * (5 * len(self._x) + 5 * len(self._test)) + 200

    # tables

    def series(self, kind: str, max_points: int | None = None) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
        """``(train, test)`` points of ``kind`` (``loss`` or ``accuracy``, in percent);
        the train points averaged down to ``max_points``."""
        train_values, column = (self._loss, 1) if kind == "loss" else (self._acc, 2)
        count = min(len(self._x), len(train_values))  # another thread may be adding a step
        xs, ys = downsample(np.asarray(self._x[:count], dtype=float), np.asarray(train_values[:count], dtype=float), max_points or self.max_points)
        train = [(float(x), float(y)) for x, y in zip(xs, ys)]
        test = [(item[0], float(item[column])) for item in list(self._test) if item[column] is not None]
        return train, test

    def loss(self) -> "pd.DataFrame":
        """Columns ``epoch``, ``value``, ``split`` (``train`` per step, ``test`` per check)."""
        return chart("loss", [(0, "", self)]).frame

    def accuracy(self) -> "pd.DataFrame":
        """Accuracy in percent: train per step (each batch's own), test per check."""
        return chart("accuracy", [(0, "", self)]).frame

    def to_csv(self) -> str:
        """Every point of the run, one row each: :data:`CSV_COLUMNS` (train rows per
        step, not averaged; ``test_samples`` empty where the whole test split was used)."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        rows: list[tuple[float, int, str, Any, Any, Any, Any]] = [
            (x, step, "train", loss, acc, lr, "") for x, step, loss, acc, lr in zip(self._x, self._step, self._loss, self._acc, self._lr)
        ]
        rows += [(x, step, "test", loss, acc, "", samples or "") for x, loss, acc, step, samples in self._test]
        rows.sort(key=lambda row: (row[0], row[2] == "test"))
        for x, step, split, loss, acc, lr, samples in rows:
            writer.writerow([cell(field) for field in (_num(x), step, split, _num(loss), _num(acc), _num(lr), samples)])
        return out.getvalue()


def _num(value: Any) -> str:
    return "" if value is None or value == "" else f"{float(value):.6g}"


@dataclass(frozen=True)
class Chart:
    """One plot's content: its table, a colour per series, its axis ranges, the series
    its legend names, and a caption saying how to read it."""

    frame: "pd.DataFrame"
    colours: dict[str, str]
    x_lim: tuple[float, float]
    y_lim: tuple[float, float]
    legend: list[str]
    caption: str = ""


def chart(kind: str, runs: Sequence[tuple[int, str, Curves]]) -> Chart:
    """The ``kind`` plot (``loss`` or ``accuracy``) of ``runs``: ``(number, name, curves)``.

    One run is drawn as ``train`` and ``test``; several as ``<name>`` (test, strong) and
    ``<name> train`` (light), a hue per run (by its number, so a run keeps its colour),
    the legend naming each run once.  The axes span
    every run's epochs; the loss axis starts at 0 and ends at a round number above the
    highest value, the accuracy axis ends at 100 and starts at a multiple of 10 below
    the lowest.
    """
    import pandas as pd

    rows: list[tuple[float, float, str]] = []
    colours: dict[str, str] = {}
    legend: list[str] = []
    points = max(60, 300 // max(len(runs), 1))
    span = max((curves.span for _, _, curves in runs), default=1.0)
    for number, name, curves in runs:
        name = translate(name)  # a run's label ("run 3") in the visitor's language, as plain text
        train, test = (with_dash(series, nice_span(span)) for series in curves.series(kind, points))
        if len(runs) == 1:
            names = {split: tr(split) for split in SERIES}  # the legend, in the visitor's language
            colours.update({names[split]: colour for split, colour in COLOURS.items()})
        else:  # the legend names each run once, by its test curve; its train curve is the light line
            names = {"train": f"{name} {tr('train')}", "test": name}
            strong, light = RUN_COLOURS[number % len(RUN_COLOURS)]
            colours.update({names["train"]: light, names["test"]: strong})
            legend.append(name)
        rows += [(x, y, names["train"]) for x, y in train] + [(x, y, names["test"]) for x, y in test]
    if not runs:
        colours.update({tr(split): colour for split, colour in COLOURS.items()})
    rows = [row for row in rows if math.isfinite(row[1])]
    values = [y for _, y, _ in rows]
    frame = pd.DataFrame(with_every_series(rows, tuple(colours)), columns=list(COLUMNS))
    caption = tr("strong: test, light: train (per step)") if len(runs) > 1 else ""
    y_lim = loss_range(values) if kind == "loss" else accuracy_range(values)
    return Chart(frame, colours, (0.0, nice_span(span)), y_lim, legend or list(colours), caption)


#: A series of one point is drawn as a dash this long (a fraction of the x axis): a line
#: needs two points, and Gradio's LinePlot draws no markers, so the first test before
#: training would be invisible until the second.
DASH = 0.03


def with_dash(points: list[tuple[float, float]], x_span: float) -> list[tuple[float, float]]:
    """``points``, or, when there is only one, that point and one a dash to its right."""
    finite = [(x, y) for x, y in points if math.isfinite(y)]
    if len(finite) != 1:
        return points
    (x, y), dash = finite[0], DASH * max(x_span, 1e-9)
    return [*points, (x + dash, y)]


def nice_span(epochs: float) -> float:
    """The x axis's end: the epochs, rounded up to a tenth (or a whole epoch past 2)."""
    if epochs <= 2:
        return math.ceil(epochs * 10 - 1e-9) / 10
    return float(math.ceil(epochs - 1e-9))


def loss_range(values: Sequence[float]) -> tuple[float, float]:
    """``(0, a round number a little above the highest loss)``; ``(0, 2.5)`` with none."""
    top = max(values, default=0.0)
    if top <= 0:
        return (0.0, 2.5)
    top *= 1.05
    power = 10.0 ** math.floor(math.log10(top))
    return (0.0, next(step * power for step in NICE_STEPS if step * power >= top - 1e-12))


def accuracy_range(values: Sequence[float]) -> tuple[float, float]:
    """``(a multiple of 10 below the lowest accuracy, 100)``; ``(0, 100)`` with none."""
    low = min(values, default=0.0)
    return (float(max(0, min(90, math.floor(low / 10) * 10))), 100.0)


#: The series a single run's plot table names, so that the plot's legend and colours know them all.
SERIES = ("train", "test")


def with_every_series(rows: list[tuple[float, float, str]], series: Sequence[str] = SERIES) -> list[tuple[float, float, str]]:
    """``rows`` plus an empty (NaN) row for each of ``series`` that has none yet.

    Gradio's LinePlot fixes its colour scale from the series of the table it is drawn
    with and only swaps the data afterwards; without these placeholders a series that
    appears later (test results) would never be drawn.
    """
    present = {split for _, _, split in rows}
    return rows + [(0.0, float("nan"), split) for split in series if split not in present]


def downsample(x: np.ndarray, y: np.ndarray, points: int) -> tuple[np.ndarray, np.ndarray]:
    """Average ``(x, y)`` into at most ``points`` consecutive buckets (kept as is when shorter)."""
    if len(x) <= points:
        return x, y
    edges = np.linspace(0, len(x), points + 1).astype(int)
    counts = np.diff(edges)
    xs = np.add.reduceat(x, edges[:-1]) / counts
    ys = np.add.reduceat(y, edges[:-1]) / counts
    return xs, ys
