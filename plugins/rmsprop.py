"""RMSprop (Hinton, 2012): each step divided by a running average of the gradient's size.

It keeps, per weight, a decaying average of the squared gradient (``alpha`` sets how
fast it forgets) and divides the gradient by its square root, so that every weight
moves by about the same amount whatever the scale of its gradient.  Adam is RMSprop
with momentum on the gradient itself and a correction for the averages' start at 0.
"""

from __future__ import annotations

from trainpad import Param, hookimpl


def rmsprop(parameters, *, lr=1e-3, alpha=0.99, momentum=0.0, weight_decay=0.0, centered=False):
    """RMSprop (torch.optim.RMSprop)."""
    import torch

    return torch.optim.RMSprop(
        parameters, lr=lr, alpha=alpha, momentum=momentum, weight_decay=weight_decay, centered=centered
    )


@hookimpl
def register_optimizers(register):
    register(
        "rmsprop",
        rmsprop,
        params=[
            Param("lr", float, 1e-3, min=1e-6, max=1.0, help="learning rate (the peak, with a schedule)"),
            Param("alpha", float, 0.99, min=0.0, max=0.9999, help="decay of the squared-gradient average"),
            Param("momentum", float, 0.0, min=0.0, max=0.999, help="momentum factor"),
            Param("weight_decay", float, 0.0, min=0.0, max=0.1, help="L2 penalty"),
            Param("centered", bool, False, help="divide by the gradient's variance instead of its mean square"),
        ],
    )
