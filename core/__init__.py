"""trainpad's engine.

A plugin needs only what this module exports::

    from core import hookimpl, Param

Importing ``core`` is light: torch and Gradio load only when a run, a model or the
app needs them.
"""

import pluggy

from core.params import Param

__version__ = "0.1.0"

#: Marks a plugin's hook implementations: ``@hookimpl def register_models(register): ...``
hookimpl = pluggy.HookimplMarker("trainpad")

__all__ = ["hookimpl", "Param", "__version__"]
