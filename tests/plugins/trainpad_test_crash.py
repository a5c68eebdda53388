"""A loss whose process dies in the middle of a run: ``os._exit(code)`` at training step
``after + 1`` (its tests do not count).  What a plugin's native code can do to a process;
with ``TRAINPAD_RUN_IN=process`` it must cost the run alone, not the server."""

import os

from trainpad import Param, hookimpl


def crash_loss(*, after: int = 5, code: int = 3):
    """The NLL loss, until the process ends itself."""
    import torch
    import torch.nn.functional as F

    steps = 0

    def loss(output, target):
        nonlocal steps
        if torch.is_grad_enabled():  # a training step (a test runs without autograd)
            steps += 1
            if steps > after:
                os._exit(code)
        return F.nll_loss(output, target)

    return loss


@hookimpl
def register_losses(register):
    register(
        "crash",
        crash_loss,
        params=[
            Param("after", int, 5, min=0, max=1_000_000, help="training steps before the process ends"),
            Param("code", int, 3, min=0, max=255, help="the exit code it ends with"),
        ],
        expects="log_probs",
        description="NLL, until it ends its own process (a test plugin)",
    )
