"""Loss and accuracy curves of a training run, as small tables for live plots.

Train values come per step, test values per epoch; the x axis is in epochs
(fractional for steps).  Long runs are averaged into at most ``max_points`` points per
series, so a plot update stays small however long the run is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from trainpad.engine.events import StepEnd

COLUMNS = ("epoch", "value", "split")


class Curves:
    """Collects a run's events; :meth:`loss` and :meth:`accuracy` give plot tables."""

    def __init__(self, max_points: int = 300) -> None:
        self.max_points = max_points
        self._x: list[float] = []
        self._loss: list[float] = []
        self._acc: list[float] = []
        self._test: list[tuple[float, float | None, float | None]] = []
        # to turn the run's running epoch accuracy back into each batch's accuracy
        self._epoch: int | None = None
        self._base = self._seen = 0
        self._correct = 0.0
        self._count = 0

    def add(self, event: Any) -> None:
        """Record a :class:`~trainpad.engine.events.StepEnd` or :class:`~trainpad.engine.events.EpochEnd` (others are ignored)."""
        from trainpad.engine.events import EpochEnd, StepEnd

        if isinstance(event, StepEnd):
            per_epoch = event.steps / max(event.epochs, 1)
            self._x.append(event.step / per_epoch if per_epoch else float(event.epoch))
            self._loss.append(event.loss)
            self._acc.append(self._batch_accuracy(event) * 100.0)
        elif isinstance(event, EpochEnd):
            acc = event.test_accuracy * 100.0 if event.test_accuracy is not None else None
            self._test.append((float(event.epoch), event.test_loss, acc))

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
        """Record a test evaluation made outside the run's events (the starting model's, at epoch 0)."""
        self._test.append((float(epoch), loss, accuracy * 100.0 if accuracy is not None else None))
        self._test.sort(key=lambda item: item[0])

    def __len__(self) -> int:
        return len(self._x)

    def loss(self) -> "pd.DataFrame":
        """Columns ``epoch``, ``value``, ``split`` (``train`` per step, ``test`` per epoch)."""
        return self._frame(self._loss, [(x, loss) for x, loss, _ in self._test])

    def accuracy(self) -> "pd.DataFrame":
        """Accuracy in percent: train per step (each batch's own), test per epoch."""
        return self._frame(self._acc, [(x, acc) for x, _, acc in self._test])

    def _frame(self, train: list[float], test: list[tuple[float, float | None]]) -> "pd.DataFrame":
        import pandas as pd

        xs, ys = downsample(np.asarray(self._x, dtype=float), np.asarray(train, dtype=float), self.max_points)
        rows = [(float(x), float(y), "train") for x, y in zip(xs, ys)]
        rows += [(x, float(y), "test") for x, y in test if y is not None]
        return pd.DataFrame(with_every_series(rows), columns=list(COLUMNS))


#: The series every plot table names, so that the plot's legend and colours know them all.
SERIES = ("train", "test")


def with_every_series(rows: list[tuple[float, float, str]]) -> list[tuple[float, float, str]]:
    """``rows`` plus an empty (NaN) row for each series that has none yet.

    Gradio's LinePlot fixes its colour scale from the series of the first table it
    draws and only swaps the data afterwards; without these placeholders a series
    that appears later (test results, after an epoch) would never be drawn.
    """
    present = {split for _, _, split in rows}
    return rows + [(0.0, float("nan"), split) for split in SERIES if split not in present]


def empty_frame() -> "pd.DataFrame":
    """A plot table with no values yet, naming every series (a plot before any run)."""
    import pandas as pd

    return pd.DataFrame(with_every_series([]), columns=list(COLUMNS))


def downsample(x: np.ndarray, y: np.ndarray, points: int) -> tuple[np.ndarray, np.ndarray]:
    """Average ``(x, y)`` into at most ``points`` consecutive buckets (kept as is when shorter)."""
    if len(x) <= points:
        return x, y
    edges = np.linspace(0, len(x), points + 1).astype(int)
    counts = np.diff(edges)
    xs = np.add.reduceat(x, edges[:-1]) / counts
    ys = np.add.reduceat(y, edges[:-1]) / counts
    return xs, ys
