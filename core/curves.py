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

    from core.events import EpochEnd, StepEnd

COLUMNS = ("epoch", "value", "split")


class Curves:
    """Collects a run's events; :meth:`loss` and :meth:`accuracy` give plot tables."""

    def __init__(self, max_points: int = 300) -> None:
        self.max_points = max_points
        self._x: list[float] = []
        self._loss: list[float] = []
        self._acc: list[float] = []
        self._test: list[tuple[float, float | None, float | None]] = []

    def add(self, event: Any) -> None:
        """Record a :class:`~core.events.StepEnd` or :class:`~core.events.EpochEnd` (others are ignored)."""
        from core.events import EpochEnd, StepEnd

        if isinstance(event, StepEnd):
            per_epoch = event.steps / max(event.epochs, 1)
            self._x.append(event.step / per_epoch if per_epoch else float(event.epoch))
            self._loss.append(event.loss)
            self._acc.append(event.accuracy * 100.0)
        elif isinstance(event, EpochEnd):
            acc = event.test_accuracy * 100.0 if event.test_accuracy is not None else None
            self._test.append((float(event.epoch), event.test_loss, acc))

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
        """Accuracy in percent; train is the running accuracy over the epoch so far."""
        return self._frame(self._acc, [(x, acc) for x, _, acc in self._test])

    def _frame(self, train: list[float], test: list[tuple[float, float | None]]) -> "pd.DataFrame":
        import pandas as pd

        xs, ys = downsample(np.asarray(self._x, dtype=float), np.asarray(train, dtype=float), self.max_points)
        rows = [(float(x), float(y), "train") for x, y in zip(xs, ys)]
        rows += [(x, float(y), "test") for x, y in test if y is not None]
        return pd.DataFrame(rows, columns=list(COLUMNS))


def empty_frame() -> "pd.DataFrame":
    """A plot table with no rows (a plot before any run)."""
    import pandas as pd

    return pd.DataFrame({"epoch": pd.Series(dtype=float), "value": pd.Series(dtype=float), "split": pd.Series(dtype=str)})


def downsample(x: np.ndarray, y: np.ndarray, points: int) -> tuple[np.ndarray, np.ndarray]:
    """Average ``(x, y)`` into at most ``points`` consecutive buckets (kept as is when shorter)."""
    if len(x) <= points:
        return x, y
    edges = np.linspace(0, len(x), points + 1).astype(int)
    counts = np.diff(edges)
    xs = np.add.reduceat(x, edges[:-1]) / counts
    ys = np.add.reduceat(y, edges[:-1]) / counts
    return xs, ys
