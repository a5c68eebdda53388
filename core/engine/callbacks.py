"""The base class for training observers (see the ``register_callbacks`` hook).

Kept free of torch imports so that plugins defining callbacks load fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from trainpad.engine.errors import StopTraining

if TYPE_CHECKING:
    from trainpad.engine.events import EpochEnd, StepEnd, TrainEnd
    from trainpad.engine.training import TrainingRun


class Callback:
    """Observes a run.  Subclass it and override what you need.

    Every method receives the :class:`~trainpad.engine.training.TrainingRun` and an event, and
    ``**kwargs`` so that later versions can pass more without breaking you.  An
    exception ends the run with a message naming the callback; raise
    :class:`StopTraining` to end it early and keep the model.
    """

    def on_train_begin(self, run: "TrainingRun", **kwargs: Any) -> None: ...

    def on_batch_end(self, run: "TrainingRun", event: "StepEnd", **kwargs: Any) -> None: ...

    def on_epoch_end(self, run: "TrainingRun", event: "EpochEnd", **kwargs: Any) -> None: ...

    def on_train_end(self, run: "TrainingRun", event: "TrainEnd", **kwargs: Any) -> None: ...


__all__ = ["Callback", "StopTraining"]
