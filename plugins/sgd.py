"""Stochastic gradient descent, with momentum and Nesterov by default."""

from __future__ import annotations

from trainpad import Param, hookimpl


def sgd(parameters, *, lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=True):
    """Stochastic gradient descent (torch.optim.SGD)."""
    import torch

    return torch.optim.SGD(
        parameters,
        lr=lr,
        momentum=momentum,
        weight_decay=weight_decay,
        nesterov=nesterov and momentum > 0,  # Nesterov needs momentum
    )


@hookimpl
def register_optimizers(register):
    register(
        "sgd",
        sgd,
        params=[
            Param("lr", float, 0.1, min=1e-6, max=10.0, help="learning rate (the peak, with a schedule)"),
            Param("momentum", float, 0.9, min=0.0, max=0.999, help="momentum factor"),
            Param("weight_decay", float, 5e-4, min=0.0, max=0.1, help="L2 penalty"),
            Param("nesterov", bool, True, help="Nesterov momentum (needs momentum > 0)"),
        ],
    )
