"""Adam with decoupled weight decay."""

from __future__ import annotations

from trainpad import Param, hookimpl


def adamw(parameters, *, lr=0.003, weight_decay=1e-4, beta1=0.9, beta2=0.999):
    """Adam with decoupled weight decay (torch.optim.AdamW)."""
    import torch

    return torch.optim.AdamW(parameters, lr=lr, betas=(beta1, beta2), weight_decay=weight_decay)


@hookimpl
def register_optimizers(register):
    register(
        "adamw",
        adamw,
        params=[
            Param("lr", float, 0.003, min=1e-6, max=1.0, help="learning rate (the peak, with a schedule)"),
            Param("weight_decay", float, 1e-4, min=0.0, max=1.0, help="decoupled weight decay"),
            Param("beta1", float, 0.9, min=0.0, max=0.999, help="decay of the gradient average"),
            Param("beta2", float, 0.999, min=0.0, max=0.9999, help="decay of the squared-gradient average"),
        ],
    )
