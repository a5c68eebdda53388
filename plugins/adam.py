"""Adam (Kingma and Ba, 2015): per-parameter step sizes from running averages of the gradient.

It keeps two averages per weight, of the gradient and of its square, and steps each
weight by the first over the square root of the second: weights with steady
gradients move quickly, noisy ones slowly.  Its ``weight_decay`` is the classic L2
penalty added to the gradient (and so scaled by the step size); AdamW decouples it.
"""

from __future__ import annotations

from trainpad import Param, hookimpl


def adam(parameters, *, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, amsgrad=False):
    """Adam (torch.optim.Adam), with L2 weight decay added to the gradient."""
    import torch

    return torch.optim.Adam(parameters, lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)


@hookimpl
def register_optimizers(register):
    register(
        "adam",
        adam,
        params=[
            Param("lr", float, 1e-3, min=1e-6, max=1.0, help="learning rate (the peak, with a schedule)"),
            Param("beta1", float, 0.9, min=0.0, max=0.999, help="decay of the gradient average"),
            Param("beta2", float, 0.999, min=0.0, max=0.9999, help="decay of the squared-gradient average"),
            Param("eps", float, 1e-8, min=1e-12, max=1e-2, help="added to the denominator"),
            Param("weight_decay", float, 0.0, min=0.0, max=0.1, help="L2 penalty (coupled, unlike adamw)"),
            Param("amsgrad", bool, False, help="use the AMSGrad variant"),
        ],
    )
