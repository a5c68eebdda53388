"""Components that register fine and fail when a run uses them."""

from trainpad import hookimpl


def broken_factory(*, input_shape, num_classes):
    """Its factory raises."""
    raise RuntimeError("weights file not found")


def wrong_shape(*, input_shape, num_classes):
    """Gives three outputs whatever the number of classes."""
    import math

    from torch import nn

    return nn.Sequential(nn.Flatten(), nn.Linear(math.prod(input_shape), 3))


def nan_loss():
    """Always NaN."""
    return lambda output, target: output.sum() * float("nan")


def float_loss():
    """Returns a Python float, not a tensor."""
    return lambda output, target: 1.0


def not_an_optimizer(parameters):
    """Returns a list."""
    return list(parameters)


@hookimpl
def register_models(register):
    register("broken-factory", broken_factory)
    register("wrong-shape", wrong_shape)


@hookimpl
def register_losses(register):
    register("nan-loss", nan_loss, expects="log_probs")
    register("float-loss", float_loss, expects="log_probs")


@hookimpl
def register_optimizers(register):
    register("not-an-optimizer", not_an_optimizer)
