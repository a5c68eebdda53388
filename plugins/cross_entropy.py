"""Cross-entropy, with label smoothing (Szegedy et al., 2016), for models that return logits.

Cross-entropy is the negative log-probability the model gives the right class, the
same quantity as the NLL loss, computed from raw scores (logits) instead of
log-probabilities.  With ``smoothing`` above 0 the target is no longer all on the
right class: that much probability is spread evenly over every class, so the model
is rewarded for being a little less sure, which often generalises better.

Paired with a model that returns log-probabilities it works unchanged: they are
logits too (softmax gives back the same probabilities).
"""

from __future__ import annotations

from trainpad import Param, hookimpl


def cross_entropy(*, smoothing=0.1):
    """Cross-entropy with label smoothing (for models returning logits)."""
    import torch.nn.functional as F

    def loss(logits, target):
        return F.cross_entropy(logits, target, label_smoothing=smoothing)

    return loss


@hookimpl
def register_losses(register):
    register(
        "cross-entropy",
        cross_entropy,
        expects="logits",
        params=[
            Param("smoothing", float, 0.1, min=0.0, max=0.9, help="probability spread evenly over all classes (0: none)"),
        ],
    )
