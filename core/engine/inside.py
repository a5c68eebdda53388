"""Inside a model: what its layers make of one picture, and which pixels its answer rests on.

:func:`look_inside` runs one forward pass with autograd on and records, through module
hooks, the output of every convolution (its feature maps) and every linear layer (its
units), then takes the gradient of the predicted class's log-probability with respect to
the input picture: its size per pixel is the saliency map (Simonyan et al., 2014).  It works for any model a
plugin registers: the hooks need no change to the model, and a model without convolutions
(or without any layer modules) still gets its saliency map.

The hook is one global forward hook (``torch.nn.modules.module.register_module_forward_hook``),
present only while some thread is looking inside a model, and it records only for that
thread and that model: a shared model (the shipped one, which every session reads) is
never changed, and other sessions' predictions and training runs are not recorded.  The
gradient is taken with :func:`torch.autograd.grad`, so no parameter's ``.grad`` is written.
"""

from __future__ import annotations

import contextlib
import math
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterator

import numpy as np
import torch
from torch import nn

from trainpad.engine.message import msg

if TYPE_CHECKING:
    from trainpad.engine.trained_model import TrainedModel

#: Channels kept per convolution, and units per linear layer (the first ones; the rest are counted).
MAX_MAPS = 64
MAX_UNITS = 128
#: Input channels of a model whose insides are computed (grey, RGB, RGBA pictures).
MAX_INSIDE_CHANNELS = 4
#: Values kept from all the layers of one look inside (float32, 16 MB): the layers past it
#: are counted (:attr:`Inside.skipped`), not kept, so a deep model's look costs no more.
MAX_KEPT_VALUES = 2**22


def inside_too_large(input_shape: "tuple[int, ...]", max_pixels: int) -> str | None:
    """Why the insides of a model taking ``input_shape`` (``C, H, W``) are not computed, or ``None``.

    Looking inside keeps every layer's output for the gradient and draws the feature maps,
    which costs about a hundred times a plain prediction: for a 1×1024×1024 input, 1.6 GB
    and 10 s.  Checked before anything is built, from the shape alone.
    """
    channels, pixels = input_shape[0], math.prod(input_shape[1:])
    if pixels <= max_pixels and channels <= MAX_INSIDE_CHANNELS:
        return None
    shape = "×".join(str(side) for side in input_shape)
    return (
        msg(
            "The model's insides are not shown: its input is {shape}, and this server looks inside models whose input has at most {pixels} pixels"
            " (TRAINPAD_MAX_INSIDE_PIXELS) and {channels} channels. The prediction is its answer all the same.",
            shape=shape, pixels=f"{max_pixels:,}", channels=MAX_INSIDE_CHANNELS,
        )
    )


@dataclass(frozen=True)
class Layer:
    """One layer's output for the picture.

    :param name: the module's path in the model (``convs.0``, ``fc1``), as ``named_modules`` gives it.
    :param description: the module in a few words (``Conv2d 1→16, 3×3``, ``Linear 784→128``).
    :param maps: a convolution's feature maps, ``(C, H, W)`` float32 (at most :data:`MAX_MAPS`).
    :param units: a linear layer's outputs, ``(N,)`` float32 (at most :data:`MAX_UNITS`).
    :param total: how many maps or units the layer has (more than kept, for wide layers).
    """

    name: str
    description: str
    maps: np.ndarray | None = None
    units: np.ndarray | None = None
    total: int = 0

    @property
    def kind(self) -> str:
        return "maps" if self.maps is not None else "units"


@dataclass(frozen=True)
class Inside:
    """What :func:`look_inside` found.

    :param probabilities: class name to probability, in class order.
    :param seen: the picture as the model saw it (uint8, light on dark).
    :param predicted: the index of the most probable class.
    :param saliency: ``(H, W)`` float32 in ``[0, 1]``: how much each pixel moves the
        predicted class's score, its logit (the gradient's size, largest channel, scaled
        to its maximum); ``None`` if the model's output has no gradient.
    :param layers: the convolutions and linear layers, in the order they ran.
    :param skipped: layers that ran after :data:`MAX_KEPT_VALUES` values were kept, not kept.
    """

    probabilities: dict[str, float]
    seen: np.ndarray
    predicted: int
    saliency: np.ndarray | None
    layers: list[Layer] = field(default_factory=list)
    skipped: int = 0

    @property
    def has_convolutions(self) -> bool:
        return any(layer.maps is not None for layer in self.layers)


class _Recorder:
    """Collects the outputs of one model's convolutions and linear layers."""

    def __init__(self, model: nn.Module) -> None:
        self.names = {id(module): name or type(module).__name__ for name, module in model.named_modules()}
        self.layers: list[Layer] = []
        self.calls: dict[str, int] = {}
        self.kept = 0
        self.skipped = 0

    def record(self, module: nn.Module, output: object) -> None:
        name = self.names.get(id(module))
        if name is None or not isinstance(output, torch.Tensor) or output.dim() < 2 or len(output) != 1:
            return
        if isinstance(module, nn.modules.conv._ConvNd) and output.dim() == 4:
            kind = "maps"
        elif isinstance(module, nn.Linear) and output.dim() == 2:
            kind = "units"
        else:
            return
        calls = self.calls[name] = self.calls.get(name, 0) + 1
        label = name if calls == 1 else f"{name} (call {calls})"  # a module used twice
        total = int(output.shape[1])
        size = min(total, MAX_MAPS if kind == "maps" else MAX_UNITS) * math.prod(output.shape[2:])
        if self.kept + size > MAX_KEPT_VALUES:
            self.skipped += 1
            return
        self.kept += size
        values = output.detach()[0, : MAX_MAPS if kind == "maps" else MAX_UNITS].float().cpu()
        if kind == "maps":
            self.layers.append(Layer(label, describe_module(module), maps=values.numpy().copy(), total=total))
        else:
            self.layers.append(Layer(label, describe_module(module), units=values.numpy().copy(), total=total))


_local = threading.local()
_lock = threading.Lock()
_hook: "torch.utils.hooks.RemovableHandle | None" = None
_users = 0


def _forward_hook(module: nn.Module, args: object, output: object) -> None:
    recorder = getattr(_local, "recorder", None)
    if recorder is not None:
        recorder.record(module, output)


@contextlib.contextmanager
def _recording(model: nn.Module) -> Iterator[_Recorder]:
    """Record ``model``'s layers in this thread while the block runs."""
    global _hook, _users
    recorder = _Recorder(model)
    with _lock:
        if _users == 0:
            _hook = nn.modules.module.register_module_forward_hook(_forward_hook)
        _users += 1
    _local.recorder = recorder
    try:
        yield recorder
    finally:
        _local.recorder = None
        with _lock:
            _users -= 1
            if _users == 0 and _hook is not None:
                _hook.remove()
                _hook = None


def look_inside(trained: "TrainedModel", tensor: torch.Tensor, seen: np.ndarray) -> Inside:
    """Run ``trained`` on one prepared picture and look at its layers and its saliency.

    :param tensor: ``(1, C, H, W)``, normalised as the model's dataset was.
    :param seen: the picture as the model sees it, returned with the result.
    """
    model = trained.model
    x = tensor.to(trained.device).detach().clone().requires_grad_(True)
    with torch.enable_grad(), _recording(model) as recorder:
        output = model(x)
    probs = trained.probabilities(output.detach())[0].float().cpu()
    predicted = int(probs.argmax())
    saliency = None
    if output.requires_grad:
        # The predicted class's score against the classes' mean: its logit up to a constant, for
        # logits and log-probabilities alike (the log-softmax's normaliser cancels).  A log-
        # probability's own gradient vanishes once the model is sure, leaving only noise.
        score = output[0, predicted] - output[0].mean()
        (grad,) = torch.autograd.grad(score, x)
        heat = grad.detach()[0].abs().amax(dim=0).float().cpu()
        top = float(heat.max())
        saliency = (heat / top if top > 0 else heat).numpy()
    return Inside(dict(zip(trained.class_names, probs.tolist())), seen, predicted, saliency, recorder.layers, recorder.skipped)


def describe_module(module: nn.Module) -> str:
    """``Conv2d 1→16, 3×3`` or ``Linear 784→128``: what a learner needs to place the layer."""
    if isinstance(module, nn.modules.conv._ConvNd):
        kernel = "×".join(str(k) for k in module.kernel_size)
        return f"{type(module).__name__} {module.in_channels}→{module.out_channels}, {kernel}"
    if isinstance(module, nn.Linear):
        return f"Linear {module.in_features}→{module.out_features}"
    return type(module).__name__


__all__ = ["Inside", "Layer", "look_inside", "inside_too_large", "describe_module", "MAX_MAPS", "MAX_UNITS", "MAX_INSIDE_CHANNELS"]
