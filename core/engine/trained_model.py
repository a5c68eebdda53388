"""A model together with everything needed to use it again."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from trainpad.engine.config import DEFAULT_INPUT_SHAPE
from trainpad.engine.events import epochs_text
from trainpad.engine.message import msg


def probabilities(output: torch.Tensor, kind: str) -> torch.Tensor:
    """A batch of model outputs as probabilities: ``kind`` is ``"log_probs"`` or ``"logits"``."""
    return output.exp() if kind == "log_probs" else output.softmax(dim=1)


@dataclass
class TrainedModel:
    """A model in eval mode, with the settings that made it.

    Training runs produce one, :func:`trainpad.engine.checkpoint.load_checkpoint` rebuilds one,
    and evaluation and prediction take one.

    :param spec: per kind, ``{"name", "plugin", "params"}`` for the dataset, model,
        optimizer and loss; enough to build the same model again.
    :param class_names: one name per output index.
    :param output: ``"log_probs"`` or ``"logits"``: what the model's forward returns.
    :param dataset_meta: the dataset's ``input_shape``, ``mean``, ``std`` and ``ink``.
    :param metrics: the latest evaluation (``test_accuracy``, ``test_loss``...).
    :param epochs: epochs of training it holds, a partial epoch as its fraction (a run
        stopped at step 32 of a 47-step epoch gives 0.68).
    """

    model: nn.Module
    spec: dict[str, dict[str, Any]]
    class_names: list[str]
    output: str = "logits"
    dataset_meta: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    epochs: float = 0
    # Prediction calls eval() once here instead of once per request.
    def __post_init__(self) -> None:
        self.model.eval()

    @property
    def device(self) -> torch.device:
        try:
            return next(self.model.parameters()).device
        except StopIteration:
            return torch.device("cpu")

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.dataset_meta.get("input_shape", DEFAULT_INPUT_SHAPE))

    def probabilities(self, output: torch.Tensor) -> torch.Tensor:
        """Turn the model's output into probabilities, whichever kind it returns."""
        return probabilities(output, self.output)

    def describe(self) -> str:
        """One line: the model, its dataset and its accuracy."""
        model, dataset, epochs = self.spec["model"]["name"], self.spec["dataset"]["name"], epochs_text(self.epochs)
        acc = self.metrics.get("test_accuracy")
        if acc is None:
            return msg("{model} on {dataset}, {epochs}", model=model, dataset=dataset, epochs=epochs)
        return msg(
            "{model} on {dataset}, {epochs}, {accuracy}% test accuracy",
            model=model, dataset=dataset, epochs=epochs, accuracy=f"{acc * 100:.2f}",
        )
