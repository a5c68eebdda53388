"""The pretrained model shipped with trainpad, so that Predict works from the first second.

It was made by the project's own CLI::

    trainpad train --epochs 3 --data-dir ../shared/data -o plugins/pretrained/mnist-cnn.pt

``TRAINPAD_PRETRAINED`` points at another checkpoint; set it empty for none.  The
checkpoint is loaded once per process, on first use, and shared read-only by every
session that has not trained or loaded a model of its own.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from core.engine import Engine
    from core.trained import TrainedModel

log = logging.getLogger("trainpad.shipped")

#: The checkpoint in the repository.
PRETRAINED = Path(__file__).resolve().parent.parent / "plugins" / "pretrained" / "mnist-cnn.pt"


def pretrained_path() -> Path | None:
    """``TRAINPAD_PRETRAINED`` if set (empty: none), else the shipped checkpoint."""
    value = os.environ.get("TRAINPAD_PRETRAINED")
    if value is None:
        return PRETRAINED
    return Path(value).expanduser() if value.strip() else None


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
    from core.checkpoint import load_checkpoint
    from core.errors import TrainpadError

    if path is None:
        return None
    if not path.is_file():
        log.warning("no shipped model at %s: sessions start without a model", path)
        return None
    try:
        trained = load_checkpoint(engine.registry, path)
    except TrainpadError as exc:
        log.warning("the shipped model %s was refused: %s", path, exc)
        return None
    log.info("shipped model: %s", trained.describe())
    return trained
