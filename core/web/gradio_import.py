"""Import Gradio without its type-stub regeneration, which is most of its import time.

Every ``import gradio`` (6.x) rewrites its own ``.pyi`` stubs: for each of its 80-odd
component classes, :class:`gradio.component_meta.ComponentMeta` re-reads the class's source
and the shipped stub, parses both with :mod:`ast` and writes the stub back when they differ.
That is developer tooling for Gradio's own repository; the stubs in an installed Gradio are
already up to date.  On a 2-core machine it costs 2.5-3 of the 5 seconds that ``import
gradio`` takes, and the app cannot answer before Gradio is imported.

:func:`skip_stub_regeneration` installs an import hook that replaces the regeneration with a
no-op as soon as ``gradio.component_meta`` is executed, before any component class is made.
It changes nothing else, and does nothing once Gradio is imported.  When a future Gradio
drops or renames the function the hook has nothing to replace, and Gradio imports as usual.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from types import ModuleType
from typing import Any, Sequence

MODULE = "gradio.component_meta"
FUNCTION = "create_or_modify_pyi"


def _no_stub_regeneration(*args: Any, **kwargs: Any) -> None:
    """Stands in for ``gradio.component_meta.create_or_modify_pyi``."""


class _StubRegenerationSkipper(importlib.abc.MetaPathFinder):
    """Finds ``gradio.component_meta`` as usual, then patches it right after it executes."""

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != MODULE:
            return None
        sys.meta_path.remove(self)  # one module, once
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        loader = spec.loader
        execute = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            execute(module)
            if callable(getattr(module, FUNCTION, None)):
                setattr(module, FUNCTION, _no_stub_regeneration)

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def skip_stub_regeneration() -> bool:
    """Make the coming ``import gradio`` skip its stub regeneration.

    Returns False, and does nothing, when Gradio is already imported.
    """
    if MODULE in sys.modules:
        return False
    if not any(isinstance(finder, _StubRegenerationSkipper) for finder in sys.meta_path):
        sys.meta_path.insert(0, _StubRegenerationSkipper())
    return True
