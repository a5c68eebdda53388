"""What defines a training run: :class:`TrainConfig` and the run settings' :class:`Param`\\ s.

Kept apart from :mod:`trainpad.engine.training` so that the app can build its forms, and the CLI
its options, without importing torch (see ``docs/benchmarks.md``, start-up).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from trainpad.engine.message import msg
from trainpad.engine.params import Param, validate_params

#: The input of a model whose dataset names none (``input_shape`` in its meta): MNIST's, one
#: channel of 28x28.
DEFAULT_INPUT_SHAPE = (1, 28, 28)

SCHEDULES = ("onecycle", "cosine", "constant")

#: The kinds of component a run is made of (callbacks are not chosen: every run has them all).
TRAINED_KINDS = ("dataset", "model", "optimizer", "loss")

#: Settings of a run that are not a component's hyperparameters.  The server's
#: limits (see :mod:`trainpad.web.limits`) narrow these ranges further.
RUN_PARAMS: tuple[Param, ...] = (
    Param("epochs", int, 1, min=1, max=1000, help="passes over the training data"),
    Param("batch_size", int, 128, min=1, max=65536, help="samples per optimizer step"),
    Param("seed", int, 1, min=0, max=2**31 - 1, help="the same seed repeats a CPU run exactly"),
    Param("device", str, "auto", help="auto, cpu, cuda or mps"),
    Param("schedule", str, "onecycle", choices=SCHEDULES, help="learning-rate schedule over the run"),
    Param("train_samples", int, 0, min=0, help="train on the first N samples only (0: all)"),
    Param("test_samples", int, 0, min=0, help="evaluate on the first N test samples only (0: all)"),
)


@dataclass
class TrainConfig:
    """Everything that defines a run: the components, their hyperparameters, the settings."""

    dataset: str = "mnist"
    model: str = "mnist-cnn"
    optimizer: str = "sgd"
    loss: str = "nll"
    #: hyperparameters per kind, e.g. ``{"optimizer": {"lr": 0.1}}``; missing ones take defaults
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    epochs: int = 1
    batch_size: int = 128
    seed: int = 1
    device: str = "auto"
    schedule: str = "onecycle"
    train_samples: int = 0
    test_samples: int = 0

    def settings(self) -> dict[str, Any]:
        return {p.name: getattr(self, p.name) for p in RUN_PARAMS}

    def validated(self, params: tuple[Param, ...] = RUN_PARAMS) -> "TrainConfig":
        """A copy with the settings checked against ``params``; raises ``ParamError``."""
        values = validate_params(params, self.settings(), owner=msg("training"))
        return TrainConfig(self.dataset, self.model, self.optimizer, self.loss, dict(self.params), **values)


def default_components() -> dict[str, str]:
    """The default recipe's component of each kind (``TrainConfig``'s defaults): what the
    CLI and the Train tab start from."""
    config = TrainConfig()
    return {kind: getattr(config, kind) for kind in TRAINED_KINDS}


__all__ = ["RUN_PARAMS", "SCHEDULES", "TRAINED_KINDS", "TrainConfig", "default_components"]
