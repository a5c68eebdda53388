"""Append every epoch's metrics to a CSV file.

Off by default: set ``TRAINPAD_METRICS_CSV=/path/to/metrics.csv`` to switch it on.
Each row has the time, the run's components, the epoch and its metrics.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

from trainpad import Callback, hookimpl, settings

COLUMNS = ("time", "dataset", "model", "optimizer", "loss", "epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "samples_per_sec")


class CsvLog(Callback):
    def __init__(self, path: Path) -> None:
        self.path = path

    def on_epoch_end(self, run, event, **kwargs):
        config = run.config
        new = not self.path.exists()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", newline="") as f:
            writer = csv.writer(f)
            if new:
                writer.writerow(COLUMNS)
            writer.writerow(
                [time.strftime("%Y-%m-%dT%H:%M:%S"), config.dataset, config.model, config.optimizer, config.loss, event.epoch,
                 f"{event.train_loss:.6g}", f"{event.train_accuracy:.6g}",
                 "" if event.test_loss is None else f"{event.test_loss:.6g}",
                 "" if event.test_accuracy is None else f"{event.test_accuracy:.6g}",
                 f"{event.samples_per_sec:.1f}"]
            )


def csv_log():
    """Appends each epoch's metrics to the CSV file named by TRAINPAD_METRICS_CSV."""
    path = settings.get("TRAINPAD_METRICS_CSV")
    return CsvLog(path) if path else None


@hookimpl
def register_callbacks(register):
    register("csv-log", csv_log)
