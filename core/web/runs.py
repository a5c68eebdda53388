"""A session's runs: each run's settings, curves, log, final metrics and model, in a table.

Every run a session trains is kept as a :class:`RunRecord`, and so are the checkpoints
it uploads and the shipped model (run 0, always there), so that runs can be compared
(their curves overlaid), downloaded (a checkpoint and a CSV of the curves) and picked
as the model Evaluate and Predict use.  A run never takes that place silently from a
better one: :func:`compare` says whether it is better, and the Train tab lets the user
pick.  :class:`Runs` keeps the latest ``TRAINPAD_SESSION_RUNS`` of them; their models
count against the session's memory (:meth:`trainpad.web.sessions.Session.nbytes`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Sequence

from trainpad import settings
from trainpad.engine.events import epochs_text
from trainpad.engine.message import Message, msg
from trainpad.web.cells import cell
from trainpad.web.i18n import LANGUAGES, translate  # into the page's language (English outside an event)

if TYPE_CHECKING:
    import pandas as pd

    from trainpad.engine.trained_model import TrainedModel
    from trainpad.web.plots import Curves

#: Lines of log kept per run.
LOG_LINES = 200
#: The shipped model's number in the table.
SHIPPED = 0
#: What a run is doing or how it ended, as the table says it.
OUTCOMES = {
    "preparing": "preparing",
    "training": "training…",
    "stepping": "stepped",
    "stepped": "steps only",  #: a run taken by Steps alone, ended (Stop, or the form changed)
    "completed": "done",
    "stopped": "stopped",
    "diverged": "diverged",
    "failed": "failed",
    "uploaded": "uploaded",
    "shipped": "shipped",
}
#: The runs table's columns.
#: The results first, beside the run's name (on a phone the table scrolls sideways, and the
#: settings are what may wait behind the edge); its status last.
TABLE_COLUMNS = ("run", "in use", "test accuracy", "test loss", "dataset", "model", "optimizer", "lr", "epochs", "batch", "samples", "schedule", "status")


def max_runs() -> int:
    """Runs a session keeps besides the shipped model (``TRAINPAD_SESSION_RUNS``)."""
    return settings.get("TRAINPAD_SESSION_RUNS")


@dataclass(eq=False)
class RunRecord:
    """One row of a session's runs table, with what the Train tab shows for it.

    :param curves: its loss and accuracy curves (empty for an upload or the shipped model).
    :param kind: ``trained``, ``uploaded`` or ``shipped``.
    :param spec: what made it, as a checkpoint records it: per kind ``{"name",
        "params"}`` and ``run`` (the settings).
    :param model: the model it left (``None`` while it trains, or if it kept none).
    :param shared: the model is the process's shipped one, which sessions only read.
    :param outcome: a key of :data:`OUTCOMES`.
    :param status: the status line it left (Markdown).
    :param checkpoint: its checkpoint file, for download; ``csv`` its curves'.
    """

    curves: "Curves"
    lines: list[str] = field(default_factory=list)
    status: str = ""
    metrics: str = ""
    number: int = -1
    kind: str = "trained"
    name: str = ""
    spec: dict[str, Any] = field(default_factory=dict)
    model: "TrainedModel | None" = None
    shared: bool = False
    outcome: str = "preparing"
    checkpoint: Path | None = None
    csv: Path | None = None
    #: epochs trained so far (for a run in progress; a finished one's model says)
    progress: float = 0.0
    #: Stop was pressed (a run still being prepared then never trains)
    stop_asked: bool = False

    def say(self, text: str) -> None:
        """Add a line to the run's log, with the time."""
        self.lines.append(msg("{time}  {line}", time=time.strftime('%H:%M:%S'), line=msg(text)))
        del self.lines[:-LOG_LINES]

    @property
    def log(self) -> str:
        return Message.joined("\n", self.lines)

    @property
    def label(self) -> str:
        """``shipped``, ``run 3``: how the page names it."""
        return msg("shipped") if self.kind == "shipped" else msg("run {number}", number=self.number)

    @property
    def source(self) -> str:
        """Where its model came from, for "Current model: ... (source)"."""
        if self.kind == "shipped":
            return msg("shipped")
        if self.kind == "uploaded":
            return msg("uploaded: {name}, {label}", name=self.name, label=msg(self.label))
        return msg("{label}, trained here", label=msg(self.label))

    @property
    def test_accuracy(self) -> float | None:
        return self.model.metrics.get("test_accuracy") if self.model is not None else None

    @property
    def busy(self) -> bool:
        return self.outcome in ("preparing", "training", "stepping")

    def describe(self) -> str:
        """One line: the run, its model and accuracy (or what it is doing)."""
        if self.model is not None:
            return f"{self.label}: {self.model.describe()}"
        return f"{self.label}: {OUTCOMES.get(self.outcome, self.outcome)}, no model"

    def row(self, current: int | None) -> list[Any]:
        """Its row in the runs table (:data:`TABLE_COLUMNS`)."""
        spec = self.model.spec if self.model is not None else self.spec
        run = spec.get("run") or {}
        optimizer = spec.get("optimizer") or {}
        lr = (optimizer.get("params") or {}).get("lr")
        samples = run.get("train_samples")
        epochs = self.model.epochs if self.model is not None and not self.busy else self.progress
        planned = run.get("epochs")
        epochs_cell = epochs_text(epochs).replace(" of an epoch", "").replace(" epochs", "").replace(" epoch", "")
        if self.kind == "trained" and planned and abs(epochs - planned) > 1e-6:
            epochs_cell = f"{epochs_cell} of {planned}"
        accuracy = self.test_accuracy
        loss = self.model.metrics.get("test_loss") if self.model is not None else None
        return [cell(value) for value in [  # a shared checkpoint's settings are anyone's text
            translate(self.label),
            "●" if self.number == current else "",
            f"{accuracy:.2%}" if accuracy is not None else "",
            f"{loss:.4f}" if loss is not None else "",
            (spec.get("dataset") or {}).get("name", ""),
            (spec.get("model") or {}).get("name", ""),
            optimizer.get("name", ""),
            f"{lr:g}" if isinstance(lr, (int, float)) else "",
            epochs_cell,
            str(run.get("batch_size", "")),
            (translate("all") if samples == 0 else f"{samples:,}") if isinstance(samples, int) else "",
            str(run.get("schedule", "")),
            translate(OUTCOMES.get(self.outcome, self.outcome)),
        ]]

    def nbytes(self) -> int:
        """Memory of its own: its curves (the model is counted by the session, once)."""
        return self.curves.nbytes() + 100 * len(self.lines)

    def delete_files(self) -> None:
        for path in (self.checkpoint, self.csv):
            if path is not None:
                path.unlink(missing_ok=True)
        self.checkpoint = self.csv = None


class Runs:
    """A session's runs, oldest first; the shipped model is run 0 and is never dropped.

    :attr:`current` is the number of the run whose model Evaluate and Predict use
    (``None`` when the model in use is none of them); :attr:`selected` the one the Train
    tab shows, and :attr:`compared` the others whose curves are overlaid on it.
    """

    def __init__(self) -> None:
        self._records: list[RunRecord] = []
        self._next = 1
        self.current: int | None = None
        self.selected: int | None = None
        self.compared: list[int] = []
        #: what the status line says after an action on the table (a run picked, a checkpoint
        #: added); cleared when a run starts
        self.note = ""
        #: when Start was last let through and its run has not begun yet (``time.monotonic``)
        self.start_pending: float | None = None
        #: goes up at each change of the list, so that the page redraws the table only then
        self.version = 0

    def __iter__(self) -> Iterator[RunRecord]:
        return iter(list(self._records))

    def __len__(self) -> int:
        return len(self._records)

    def changed(self) -> None:
        self.version += 1

    def add(self, record: RunRecord) -> RunRecord:
        """Append ``record``, numbered after the others (the shipped model is 0), and select it."""
        if record.kind == "shipped":
            record.number = SHIPPED
            self._records = [r for r in self._records if r.kind != "shipped"]
            self._records.insert(0, record)
            if self.selected is None:
                self.selected = SHIPPED
        else:
            record.number = self._next
            self._next += 1
            self._records.append(record)
            self.selected = record.number
        self.changed()
        return record

    def shipped(self, model: "TrainedModel") -> RunRecord:
        """The shipped model's record (added when missing)."""
        from trainpad.web.plots import Curves

        found = self.get(SHIPPED)
        if found is not None and found.model is model:
            return found
        record = RunRecord(Curves(), kind="shipped", name="shipped", model=model, shared=True, outcome="shipped", spec=model.spec)
        return self.add(record)

    def get(self, number: Any) -> RunRecord | None:
        """The run numbered ``number`` (an int, or its text as a dropdown sends it)."""
        try:
            number = int(number)
        except (TypeError, ValueError, OverflowError):
            return None
        return next((r for r in self._records if r.number == number), None)

    def latest_trained(self) -> RunRecord | None:
        """The newest run trained here (in progress or not)."""
        return next((r for r in reversed(self._records) if r.kind == "trained"), None)

    def with_model(self, model: Any) -> RunRecord | None:
        """The run whose model is ``model`` (the very object)."""
        return next((r for r in self._records if r.model is model and model is not None), None)

    def remove(self, record: RunRecord) -> None:
        if record in self._records:
            self._records.remove(record)
            record.delete_files()
            if record.number == self._next - 1 and record.kind != "shipped":
                self._next -= 1  # the newest went (it never trained): its number is free again
            if self.selected == record.number:
                self.selected = self._records[-1].number if self._records else None
            self.compared = [n for n in self.compared if n != record.number]
            if self.current == record.number:
                self.current = None
            self.changed()

    def trim(self, keep: int) -> list[RunRecord]:
        """Drop the oldest runs past ``keep`` (never the shipped model, the one in use,
        the one selected or one in progress); returns those dropped."""
        dropped = []
        for record in list(self._records):
            others = [r for r in self._records if r.kind != "shipped"]
            if len(others) <= keep:
                break
            if record.kind == "shipped" or record.busy or record.number in (self.current, self.selected):
                continue
            self.remove(record)
            dropped.append(record)
        return dropped

    def models(self) -> list["TrainedModel"]:
        """The models the runs hold that are their own (the shipped one is shared)."""
        return [r.model for r in self._records if r.model is not None and not r.shared]

    def nbytes(self) -> int:
        """Memory the records hold besides their models (curves, logs)."""
        return sum(r.nbytes() for r in self._records)

    def shown(self) -> list[RunRecord]:
        """The runs whose curves the plots show: the selected one, then those compared with it."""
        picked = [self.get(self.selected)] + [self.get(n) for n in self.compared if n != self.selected]
        return [r for r in picked if r is not None and (len(r.curves) or r.curves.test_points or r.busy)]

    def table(self) -> "pd.DataFrame":
        """The runs table, newest first (the shipped model last)."""
        import pandas as pd

        rows = [r.row(self.current) for r in reversed(self._records)]
        return pd.DataFrame(rows, columns=[translate(column) for column in TABLE_COLUMNS])

    def choices(self) -> list[tuple[str, str]]:
        """``(label, value)`` per run for a dropdown, newest first."""
        return [(_choice(r), str(r.number)) for r in reversed(self._records)]

    def curve_choices(self) -> list[tuple[str, str]]:
        """Runs that have curves to overlay, newest first."""
        return [(_choice(r), str(r.number)) for r in reversed(self._records) if len(r.curves) or r.curves.test_points]


def run_in_row(row: Sequence[Any] | None) -> int | str:
    """The run a row of the runs table names, by its first cell (:attr:`RunRecord.label`, in the
    page's language): the shipped model is :data:`SHIPPED`, ``run 3`` (``실행 3``) is ``"3"``.
    Anything else is handed on as it is, for :meth:`Runs.get` to find no run by it."""
    label = str((row or [""])[0]).strip()
    if label in {translate(msg("shipped"), language) for language in LANGUAGES}:
        return SHIPPED
    number = label.rpartition(" ")[2]
    return number if number.isdigit() else label


def _choice(record: RunRecord) -> str:
    accuracy = record.test_accuracy
    if record.kind == "shipped":
        what = translate("shipped model")
    else:
        spec = record.model.spec if record.model is not None else record.spec
        optimizer = spec.get("optimizer") or {}
        lr = (optimizer.get("params") or {}).get("lr")
        what = f"{optimizer.get('name', '?')}" + (f" lr {lr:g}" if isinstance(lr, (int, float)) else "")
        if record.kind == "uploaded":
            what = f"{record.name}"
    tail = f", {accuracy:.2%}" if accuracy is not None else f", {translate(OUTCOMES.get(record.outcome, record.outcome))}"
    return f"{translate(record.label)}: {what}{tail}"


@dataclass(frozen=True)
class Comparison:
    """Whether a new model should take the place of the one in use, and why."""

    better: bool
    #: the accuracies compared (either may be missing)
    new: float | None = None
    old: float | None = None
    #: the new model's dataset and the one in use's, when they differ (nothing to compare)
    datasets: tuple[str, str] | None = None


def compare(new: "TrainedModel", old: "TrainedModel | None") -> Comparison:
    """Is ``new`` at least as good as ``old``, the model in use?

    The rule holds however a model arrives (a run, a stepped run, a checkpoint added):
    yes when there is no model in use, or when neither has a test accuracy; otherwise by
    test accuracy on the same dataset, and a new model without one (a run stopped before
    any test) does not take the place of one that has.  A model for another dataset never
    takes the place of the one in use by itself (their accuracies say nothing of each
    other, and Predict would change what it reads): the user picks it.
    """
    if old is None:
        return Comparison(True)
    a, b = new.metrics.get("test_accuracy"), old.metrics.get("test_accuracy")
    ours, theirs = (str(m.spec.get("dataset", {}).get("name") or "?") for m in (new, old))
    if ours != theirs:
        return Comparison(False, a, b, datasets=(ours, theirs))
    if b is None:
        return Comparison(True, a, b)
    if a is None:
        return Comparison(False, a, b)
    return Comparison(a >= b - 1e-12, a, b)


__all__ = ["RunRecord", "Runs", "Comparison", "compare", "max_runs", "run_in_row", "TABLE_COLUMNS"]
