"""Fake entry points for the loader tests (not a plugin).

``use_entry_points(...)`` makes :func:`trainpad.engine.plugin_loader._entry_points` return entry
points whose ``load()`` really imports a module from this folder, as
``importlib.metadata`` would for an installed distribution.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

HERE = Path(__file__).resolve().parent
#: Every environment knob the plugin system reads; each test starts with none set.
KNOBS = (
    "TRAINPAD_LOAD_PLUGINS",
    "TRAINPAD_DISABLE_PLUGINS",
    "TRAINPAD_TRACE_PLUGINS",
    "TRAINPAD_STRICT_PLUGINS",
    "TRAINPAD_METRICS_CSV",
)


@dataclass(frozen=True)
class FakeDist:
    name: str
    version: str = "1.0"


@dataclass(frozen=True)
class FakeEntryPoint:
    """What the loader uses of :class:`importlib.metadata.EntryPoint`."""

    name: str
    value: str
    dist: FakeDist | None

    group = "trainpad"

    def load(self) -> Any:
        return importlib.import_module(self.value)


def entry_point(module: str, name: str | None = None, dist: str | None = None, version: str = "1.0") -> FakeEntryPoint:
    """An entry point for ``tests/plugins/trainpad_test_<module>.py``.

    :param name: the entry-point (plugin) name; default ``module``.
    :param dist: the distribution's name; default ``trainpad-test-<module>``.
    """
    dist = dist or f"trainpad-test-{module.replace('_', '-')}"
    return FakeEntryPoint(name or module, f"trainpad_test_{module}", FakeDist(dist, version))


@pytest.fixture
def clean_knobs(monkeypatch: pytest.MonkeyPatch) -> None:
    """None of the plugin knobs set, whatever the environment running the tests has."""
    for knob in KNOBS:
        monkeypatch.delenv(knob, raising=False)


@pytest.fixture
def use_entry_points(monkeypatch: pytest.MonkeyPatch, clean_knobs: None) -> Iterator[Callable[..., None]]:
    """``use_entry_points(ep, ...)``: the installed plugins are these, and only these."""
    monkeypatch.syspath_prepend(str(HERE))
    before = set(sys.modules)

    def use(*entry_points: FakeEntryPoint) -> None:
        monkeypatch.setattr("trainpad.engine.plugin_loader._entry_points", lambda: list(entry_points))

    use()
    yield use
    for name in set(sys.modules) - before:  # import them afresh next time
        if name.startswith("trainpad_test_") and name != "trainpad_test_support":
            del sys.modules[name]


@pytest.fixture
def plugin_module(use_entry_points: Callable[..., None]) -> Callable[[str], Any]:
    """``plugin_module("good")``: the module ``tests/plugins/trainpad_test_good.py``, freshly imported."""
    return lambda module: importlib.import_module(f"trainpad_test_{module}")
