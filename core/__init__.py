"""trainpad: train, evaluate and play with PyTorch models in the browser; extend it with plugins.

This module is the public plugin API.  A plugin imports only from here::

    from trainpad import Param, hookimpl

Every name in ``__all__`` is documented in ``docs/plugins.md`` and stays stable; the
modules under ``trainpad.engine``, ``trainpad.web`` and ``trainpad.runtime`` are the
implementation and may move.

Importing ``trainpad`` is light: torch is imported by the names that need it
(:class:`InMemoryDataset`, :func:`load_torchvision`...) when a plugin first uses
them, so that the web app answers its first request before torch is imported.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

import pluggy

from trainpad.engine.callbacks import Callback
from trainpad.engine.config import TrainConfig
from trainpad.engine.engine import Engine
from trainpad.engine.errors import ComponentError, ConfigError, StopTraining, TrainpadError
from trainpad.engine.events import EpochEnd, StepEnd, TrainEnd
from trainpad.engine.message import Message, msg
from trainpad.engine.params import Param, ParamError

#: trainpad's version (the distribution's, as ``pip show trainpad`` says).
__version__ = "0.1.0"

#: Marks a plugin's hook implementations: ``@hookimpl def register_models(register): ...``
hookimpl = pluggy.HookimplMarker("trainpad")

#: Names whose modules import torch, imported on first use (PEP 562).
_LAZY = {
    "InMemoryDataset": "trainpad.engine.data",
    "DataUnavailable": "trainpad.engine.data",
    "load_torchvision": "trainpad.engine.torchvision_data",
    "load_torchvision_tensors": "trainpad.engine.torchvision_data",
    "TrainedModel": "trainpad.engine.trained_model",
    "TrainingRun": "trainpad.engine.training",
    "LabInput": "trainpad.engine.lab.kit",
    "LabProgress": "trainpad.engine.lab.kit",
    "LabArm": "trainpad.engine.lab.kit",
    "LabResult": "trainpad.engine.lab.kit",
    "code_of": "trainpad.engine.lab.kit",
    "lab_model": "trainpad.engine.lab.recipe",
    "lab_loader": "trainpad.engine.lab.recipe",
    "lab_accuracy": "trainpad.engine.lab.recipe",
    "grad_norm": "trainpad.engine.lab.recipe",
    "TensorMemory": "trainpad.engine.lab.recipe",
    "App": "trainpad.web.services",  # the web app's services, for a tab's builder
}

if TYPE_CHECKING:
    from trainpad.engine.data import DataUnavailable, InMemoryDataset
    from trainpad.engine.lab.kit import LabArm, LabInput, LabProgress, LabResult, code_of
    from trainpad.engine.lab.recipe import TensorMemory, grad_norm, lab_accuracy, lab_loader, lab_model
    from trainpad.engine.torchvision_data import load_torchvision, load_torchvision_tensors
    from trainpad.engine.trained_model import TrainedModel
    from trainpad.engine.training import TrainingRun
    from trainpad.web.services import App


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'trainpad' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    # writing a plugin
    "hookimpl",
    "Param",
    # datasets
    "InMemoryDataset",
    "DataUnavailable",
    "load_torchvision",
    "load_torchvision_tensors",
    # callbacks and the events they receive
    "Callback",
    "StopTraining",
    "StepEnd",
    "EpochEnd",
    "TrainEnd",
    "TrainingRun",
    # Lab experiments: what they get, what they report, the small recipe
    "LabInput",
    "LabProgress",
    "LabArm",
    "LabResult",
    "code_of",
    "lab_model",
    "lab_loader",
    "lab_accuracy",
    "grad_norm",
    "TensorMemory",
    # what tabs and tests are given
    "Engine",
    "App",
    "TrainConfig",
    "TrainedModel",
    # errors whose message is for the user
    "TrainpadError",
    "ConfigError",
    "ComponentError",
    "ParamError",
    # messages shown in the reader's language
    "msg",
    "Message",
    "__version__",
]
