"""A plugin whose component names are taken: by a built-in and by trainpad_test_good."""

from trainpad import hookimpl


def other_model(*, input_shape, num_classes):
    """Not the model its name promises."""
    from torch import nn

    return nn.Sequential(nn.Flatten(), nn.LazyLinear(num_classes))


@hookimpl(tryfirst=True)  # even called before the built-ins, it must not take their names
def register_models(register):
    register("mnist-cnn", other_model)
    register("tiny-mlp", other_model)
    register("clash-only", other_model)
