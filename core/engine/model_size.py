"""How much memory a model will take, found before a single weight is allocated.

A component's factory is called under ``torch.device("meta")``: modules are built with
tensors that have a shape and a dtype but no storage, so a model that would take
gigabytes costs nothing to measure.  The web app uses it to refuse, before building
anything, a run or a checkpoint that asks for a model over ``TRAINPAD_MAX_MODEL_MB``;
checkpoint loading also compares the planned weights with the checkpoint's before the
real model is built.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class PlannedModel:
    """A model's weights as its factory would build them.

    :param tensors: ``name -> (shape, dtype)`` of its ``state_dict``.
    """

    tensors: dict[str, tuple[tuple[int, ...], Any]]
    nbytes: int


def plan_model(factory: Callable[..., Any], **kwargs: Any) -> PlannedModel | None:
    """Build the model on the meta device and describe its weights; ``None`` if the
    factory cannot build there (it loads files, or creates tensors on a device of its own).
    """
    import torch

    try:
        with torch.device("meta"):
            model = factory(**kwargs)
        state = model.state_dict()
    except Exception:  # a plugin's factory may do anything; the caller falls back to other checks
        return None
    tensors = {}
    nbytes = 0
    for name, tensor in state.items():
        if not isinstance(tensor, torch.Tensor) or tensor.device.type != "meta":
            return None  # made somewhere else: what it costs is already spent, and not known here
        tensors[name] = (tuple(tensor.shape), tensor.dtype)
        nbytes += tensor.numel() * tensor.element_size()
    return PlannedModel(tensors, nbytes)


def megabytes(nbytes: int) -> str:
    """``12.3 MB``, in megabytes of 2**20 bytes, as the settings count them."""
    return f"{nbytes / 2**20:,.1f} MB"


__all__ = ["PlannedModel", "plan_model", "megabytes"]
