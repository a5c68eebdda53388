"""A multilayer perceptron: fully connected hidden layers between the pixels and the classes.

Each hidden layer is a linear layer followed by a non-linearity (and dropout, if
asked for).  ``hidden`` lists the layers' sizes: ``256,128`` is two hidden layers of 256
and 128 units.  It sees an image as a flat list of pixels, so it knows nothing of which
pixels are neighbours: compare it with the CNN, which does.  It returns logits.
"""

from __future__ import annotations

from trainpad import Param, hookimpl

#: The non-linearities on offer, by name (torch.nn class names).
ACTIVATIONS = {"relu": "ReLU", "gelu": "GELU", "tanh": "Tanh", "sigmoid": "Sigmoid"}
#: The hidden layers on offer: one to three layers, narrow to wide.
HIDDEN = ("32", "128", "512", "64,32", "256,128", "512,256", "256,128,64", "1024,512,256")


def mlp(*, input_shape, num_classes, hidden="256,128", activation="relu", dropout=0.0):
    """A multilayer perceptron: fully connected hidden layers; returns logits."""
    import math

    from torch import nn

    sizes = [math.prod(input_shape), *(int(units) for units in hidden.split(","))]
    layers: list[nn.Module] = [nn.Flatten()]
    for width_in, width_out in zip(sizes, sizes[1:]):
        layers += [nn.Linear(width_in, width_out), getattr(nn, ACTIVATIONS[activation])()]
        if dropout:
            layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(sizes[-1], num_classes))
    return nn.Sequential(*layers)


@hookimpl
def register_models(register):
    register(
        "mlp",
        mlp,
        output="logits",
        params=[
            Param("hidden", str, "256,128", choices=HIDDEN, help="units of each hidden layer, first to last"),
            Param("activation", str, "relu", choices=tuple(ACTIVATIONS), help="the non-linearity after each hidden layer"),
            Param("dropout", float, 0.0, min=0.0, max=0.9, help="dropout after each hidden layer"),
        ],
    )
