"""Tabs that plugins add to the web app (see the ``register_tabs`` hook)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Protocol

if TYPE_CHECKING:
    from trainpad.engine.engine import Engine


class RegisterTab(Protocol):
    """The ``register`` function that ``register_tabs`` receives."""

    def __call__(self, label: str, build: Callable[["Engine"], Any], *, order: int = 100) -> None: ...


@dataclass(frozen=True)
class Tab:
    label: str
    build: Callable[["Engine"], Any]
    order: int = 100
    plugin: str = ""
