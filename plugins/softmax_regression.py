"""Softmax regression: one linear layer from pixels to classes, the smallest model there is.

Multinomial logistic regression: each class scores an image by a weighted sum of its
pixels plus a bias, and softmax turns the scores into probabilities.  It has no hidden
layer, so each class's weights can be read as a picture (a blurred average of that
class).  On MNIST it stops near 92% test accuracy whatever the training: the ceiling
that hidden layers and convolutions lift.  It returns logits.
"""

from __future__ import annotations

from trainpad import hookimpl


def softmax_regression(*, input_shape, num_classes):
    """Softmax regression: one linear layer from pixels to classes; returns logits."""
    import math

    from torch import nn

    return nn.Sequential(nn.Flatten(), nn.Linear(math.prod(input_shape), num_classes))


@hookimpl
def register_models(register):
    register("softmax-regression", softmax_regression, output="logits")
