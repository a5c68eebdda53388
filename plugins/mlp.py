"""A multilayer perceptron: fully connected hidden layers between the pixels and the classes.

Each hidden layer is a linear layer followed by a non-linearity (and dropout, if
asked for).  The sizes are a comma-separated list: ``256,128`` is two hidden layers of
256 and 128 units; an empty list is softmax regression.  It sees an image as a flat
list of pixels, so it knows nothing of which pixels are neighbours: compare it with
the CNN, which does.  It returns logits.
"""

from __future__ import annotations

from trainpad import ConfigError, Param, hookimpl

#: The non-linearities on offer, by name (torch.nn class names).
ACTIVATIONS = {"relu": "ReLU", "gelu": "GELU", "tanh": "Tanh", "sigmoid": "Sigmoid"}
#: At most this many hidden layers, each of at most MAX_UNITS units.
MAX_LAYERS, MAX_UNITS = 8, 4096


def hidden_sizes(text: str) -> list[int]:
    """``"256, 128"`` -> ``[256, 128]``; :class:`~trainpad.ConfigError` saying what is wrong otherwise."""
    parts = [part.strip() for part in str(text).split(",") if part.strip()]
    if not all(part.isdigit() and 1 <= int(part) <= MAX_UNITS for part in parts) or len(parts) > MAX_LAYERS:
        raise ConfigError(
            f"model mlp: hidden must be up to {MAX_LAYERS} layer sizes from 1 to {MAX_UNITS}, "
            f"separated by commas (like 256,128); got {text!r:.60}"
        )
    return [int(part) for part in parts]


def mlp(*, input_shape, num_classes, hidden="256,128", activation="relu", dropout=0.0):
    """A multilayer perceptron: fully connected hidden layers; returns logits."""
    import math

    from torch import nn

    sizes = [math.prod(input_shape), *hidden_sizes(hidden)]
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
            Param("hidden", str, "256,128", help=f"units of each hidden layer, comma-separated (up to {MAX_LAYERS} layers)"),
            Param("activation", str, "relu", choices=tuple(ACTIVATIONS), help="the non-linearity after each hidden layer"),
            Param("dropout", float, 0.0, min=0.0, max=0.9, help="dropout after each hidden layer"),
        ],
    )
