"""A plugin that implements ``register_model``: a typo for ``register_models``."""

from trainpad import hookimpl


@hookimpl
def register_model(register):
    register("typo-model", lambda *, input_shape, num_classes: None)


@hookimpl
def register_losses(register):
    register("typo-loss", lambda: None)
