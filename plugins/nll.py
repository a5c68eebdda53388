"""Negative log-likelihood, for models that return log-probabilities."""

from __future__ import annotations

from trainpad import hookimpl


def nll():
    """Negative log-likelihood (for models ending in log_softmax)."""
    import torch.nn.functional as F

    return F.nll_loss


@hookimpl
def register_losses(register):
    register("nll", nll, expects="log_probs")
