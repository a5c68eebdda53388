"""pytest fixtures for testing trainpad and its plugins.

Opt-in: a project switches them on in its ``conftest.py`` (they never load into the
pytest runs of projects that do not ask for them)::

    pytest_plugins = ["trainpad.testing"]

and then uses them::

    def test_my_model_is_registered(engine_with):
        engine = engine_with(my_plugin_module)
        assert "my-model" in engine.registry.names("model")

Fixtures:

``pm``
    A fresh plugin manager with the built-in plugins only (installed plugins are
    not loaded, so they cannot change a test's result).
``engine``
    An :class:`~trainpad.engine.engine.Engine` started from ``pm``.
``engine_with``
    ``engine_with(*plugins)`` registers extra plugin objects or modules beside the
    built-ins and returns a started engine (:func:`make_engine`, which a test module
    can also call outside a fixture, to parametrise over an engine's components).
``mnist_dir``
    A temporary data folder holding a small MNIST-format dataset (written as IDX
    files, read by torchvision's real loader).
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path
from typing import Any, Callable

from trainpad.engine.engine import Engine
from trainpad.engine.plugin_loader import load_plugins, make_plugin_manager

import pytest


def write_idx_dataset(root: Path, name: str = "MNIST", *, train: int = 256, test: int = 128, seed: int = 0) -> Path:
    """Write a small, learnable dataset in MNIST's IDX format under ``root/name/raw``.

    Each class ``k`` is a bright blob whose position depends on ``k``, plus noise, so
    a model can learn it in a few steps.  Returns ``root``.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    raw = Path(root) / name / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for prefix, count in (("train", train), ("t10k", test)):
        labels = (np.arange(count) % 10).astype(np.uint8)
        rng.shuffle(labels)
        images = rng.integers(0, 40, size=(count, 28, 28), dtype=np.uint8)
        for i, label in enumerate(labels):
            row, col = 4 + 5 * (label // 4), 4 + 6 * (label % 4)
            images[i, row : row + 6, col : col + 6] = 255
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(struct.pack(">IIII", 2051, count, 28, 28) + images.tobytes())
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(struct.pack(">II", 2049, count) + labels.tobytes())
    return Path(root)


def gzip_files(folder: Path) -> None:
    """Compress every file in ``folder`` to ``.gz`` beside it (for download-path tests)."""
    for path in Path(folder).iterdir():
        if path.suffix != ".gz":
            with gzip.open(path.with_name(path.name + ".gz"), "wb") as f:
                f.write(path.read_bytes())


@pytest.fixture
def pm():
    manager = make_plugin_manager()
    manager.trainpad_infos = load_plugins(manager, entrypoints=False)
    return manager


@pytest.fixture
def engine(pm):
    return Engine(pm, pm.trainpad_infos).startup()


def make_engine(*plugins: Any) -> Any:
    """A started :class:`~trainpad.engine.engine.Engine` with the built-in plugins and ``plugins``
    (modules or objects with ``@hookimpl`` functions); installed plugins are not loaded.

    ``plugins`` are checked as installed plugins are: one implementing a hook that does not
    exist (``register_dataset`` for ``register_datasets``) is listed as ``failed`` with the
    reason in ``engine.plugins``, and ``TRAINPAD_STRICT_PLUGINS=1`` raises
    :class:`~trainpad.engine.plugin_loader.PluginError` instead.
    """
    manager = make_plugin_manager()
    return Engine(manager, load_plugins(manager, entrypoints=False, extra=plugins)).startup()


@pytest.fixture
def engine_with() -> Callable[..., Any]:
    return make_engine


@pytest.fixture
def mnist_dir(tmp_path: Path) -> Path:
    return write_idx_dataset(tmp_path / "data")
