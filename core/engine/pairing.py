"""Pairing a model's output with a loss's input: logits or log-probabilities.

A model declares what its ``forward`` returns (meta ``output``) and a loss what it
takes (meta ``expects``), each ``"logits"`` (raw scores) or ``"log_probs"`` (the
scores after ``log_softmax``).  Any model trains with any loss:

- the same kind on both sides: the loss gets the output as it is;
- a model returning logits, a loss expecting log-probabilities (NLL): the engine
  applies ``log_softmax`` to the output before the loss;
- a model returning log-probabilities, a loss expecting logits (cross-entropy): the
  output goes in unchanged, since log-probabilities are logits too (softmax of
  ``log p`` gives back ``p``), so the loss is exactly what it would be on the
  model's raw scores.

Any other value is refused when the component is registered, naming what is allowed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    import torch

#: What a model's output (and a loss's input) can be.
OUTPUT_KINDS = ("logits", "log_probs")

Loss = Callable[["torch.Tensor", "torch.Tensor"], "torch.Tensor"]


def check_output_kind(value: Any, key: str) -> None:
    """Raise ``ValueError`` unless ``value`` is one of :data:`OUTPUT_KINDS` (``key`` is ``output`` or ``expects``)."""
    if value not in OUTPUT_KINDS:
        raise ValueError(f"{key}={value!r} is not one of {', '.join(repr(kind) for kind in OUTPUT_KINDS)}")


class LogSoftmaxThen:
    """``loss(log_softmax(output), target)``: a loss expecting log-probabilities, fed logits."""

    def __init__(self, loss: Loss) -> None:
        self.loss = loss

    def __call__(self, output: "torch.Tensor", target: "torch.Tensor") -> "torch.Tensor":
        return self.loss(output.log_softmax(dim=1), target)


def pair(loss: Loss, *, output: str, expects: str) -> Loss:
    """``loss`` as it must be called on a model's output of kind ``output``."""
    if output == "logits" and expects == "log_probs":
        return LogSoftmaxThen(loss)
    return loss


def pairing_note(*, model: str, output: str, loss: str, expects: str) -> str:
    """One sentence saying how model ``model``'s output reaches loss ``loss`` ('' when they match)."""
    if output == expects:
        return ""
    if output == "logits":
        return (
            f"model {model} returns logits and loss {loss} expects log-probabilities: "
            "log_softmax is applied to the model's output before the loss"
        )
    return (
        f"model {model} returns log-probabilities, which loss {loss} takes as logits "
        "(softmax gives back the same probabilities, so the loss is unchanged)"
    )


__all__ = ["OUTPUT_KINDS", "check_output_kind", "pair", "pairing_note"]
