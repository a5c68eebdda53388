"""The pretrained model shipped with trainpad, so that Predict works from the first second.

It was made by the project's own CLI::

    trainpad train --epochs 3 --data-dir ../shared/data -o plugins/pretrained/mnist-cnn.pt

``TRAINPAD_PRETRAINED`` points at another checkpoint; set it empty for none.  The
checkpoint is loaded once per process, on first use, and shared read-only by every
session that has not trained or loaded a model of its own.
"""

from __future__ import annotations

import importlib
import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from trainpad import settings
from trainpad.engine.errors import TrainpadError

if TYPE_CHECKING:
    from trainpad.engine.engine import Engine
    from trainpad.engine.trained_model import TrainedModel

log = logging.getLogger("trainpad.shipped")

#: The checkpoint shipped in the package (``plugins/pretrained/`` in the repository).
PRETRAINED = Path(importlib.import_module("trainpad.plugins").__file__).resolve().parent / "pretrained" / "mnist-cnn.pt"


def pretrained_path() -> Path | None:
    """``TRAINPAD_PRETRAINED`` if set (empty: none), else the shipped checkpoint."""
    value = settings.get("TRAINPAD_PRETRAINED")
    return {"shipped": PRETRAINED, "none": None}.get(value, value) if isinstance(value, str) else value


def shipped_loader(engine: "Engine", path: Path | None = None) -> Callable[[], "TrainedModel | None"]:
    """A function returning the shipped model, loaded once on its first call.

    A missing or refused checkpoint is logged once and gives ``None`` (sessions then
    start without a model); a later call does not retry.
    """
    lock = threading.Lock()
    cache: dict[str, "TrainedModel | None"] = {}

    def load() -> "TrainedModel | None":
        with lock:
            if "model" not in cache:
                cache["model"] = _load(engine, path if path is not None else pretrained_path())
            return cache["model"]

    return load


def _load(engine: "Engine", path: Path | None) -> "TrainedModel | None":
    if path is None:
        return None
    if not path.is_file():
        log.warning("no shipped model at %s: sessions start without a model", path)
        return None
    try:
        trained = engine.load_checkpoint(path)
    except TrainpadError as exc:
        log.warning("the shipped model %s was refused: %s", path, exc)
        return None
    log.info("shipped model: %s", trained.describe())
    return trained
