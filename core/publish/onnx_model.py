"""A trained model as ONNX, with the insides the Predict tab shows as extra outputs.

:func:`export_onnx` wraps the model so that its graph returns every class's probability
(``probabilities``; from log-probabilities or logits, whichever the model returns), then
the output of each convolution in the order they run (``maps0``, ``maps1``...: the feature
maps, the first :data:`~trainpad.engine.inside.MAX_MAPS` channels) or, for a model without
convolutions, of each linear layer (``units0``...: the first
:data:`~trainpad.engine.inside.MAX_UNITS` units), the same layers
:func:`trainpad.engine.inside.look_inside` records.  The batch dimension stays free, so that
the page can ask for a batch of occluded pictures at once (its saliency map).

Exporting goes through ``torch.onnx.export(..., dynamo=True)`` (``torch.export``, then
onnxscript's translation of each ATen operation), on a copy of the model: the module hooks
that capture the layers never touch the model other sessions use.  An operation with no
ONNX equivalent is named in the :class:`OnnxExportError`.  :func:`check_onnx` then runs the
exported graph with ONNX Runtime beside PyTorch on the same pictures, so that a graph that
exported but computes something else is never published.
"""

from __future__ import annotations

import copy
import io
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from trainpad.engine.errors import TrainpadError

if TYPE_CHECKING:
    import numpy as np
    import torch

    from trainpad.engine.trained_model import TrainedModel

#: The ONNX operator set exported (ONNX Runtime Web 1.31 runs 7 to 23).
OPSET = 18
#: Probabilities of the ONNX graph and of PyTorch may differ by this much (float32 arithmetic
#: in another order).
TOLERANCE = 1e-4
INPUT = "input"
PROBABILITIES = "probabilities"


class OnnxExportError(TrainpadError):
    """The model cannot be exported to ONNX, or its export computes something else."""


@dataclass(frozen=True)
class LayerOutput:
    """One extra output of the graph: a layer the page shows.

    :param name: the output's name in the graph (``maps0``, ``units1``...).
    :param kind: ``maps`` (a convolution's feature maps) or ``units`` (a linear layer's).
    :param layer: the module's path in the model (``convs.0``), as the Predict tab names it.
    :param description: the module in a few words (``Conv2d 1→16, 3×3``).
    :param kept: channels or units in the output; ``total``: how many the layer has.
    :param shape: the output's shape for one picture (``[16, 28, 28]``, ``[128]``).
    """

    name: str
    kind: str
    layer: str
    description: str
    kept: int
    total: int
    shape: list[int]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class OnnxModel:
    """An exported model: the ``.onnx`` file's bytes and what its outputs hold."""

    data: bytes
    layers: list[LayerOutput] = field(default_factory=list)
    opset: int = OPSET

    @property
    def output_names(self) -> list[str]:
        return [PROBABILITIES, *(layer.name for layer in self.layers)]


def export_onnx(trained: "TrainedModel") -> OnnxModel:
    """``trained``'s model as ONNX with its layers as extra outputs (see the module's docstring).

    :raises OnnxExportError: an operation of the model has no ONNX equivalent (named), or
        ``torch.export`` cannot trace the model's ``forward``.
    """
    import torch

    model = copy.deepcopy(trained.model).cpu().eval()
    wrapper = _with_insides(model, trained.output).eval()
    example = torch.zeros((2, *trained.input_shape))  # a batch of 2: 1 would be taken for a fixed size
    with torch.no_grad():
        layers = wrapper.describe(example)
    name = trained.spec["model"]["name"]
    try:
        program = torch.onnx.export(
            wrapper,
            (example,),
            dynamo=True,
            opset_version=OPSET,
            input_names=[INPUT],
            output_names=[PROBABILITIES, *(layer.name for layer in layers)],
            dynamic_shapes=({0: torch.export.Dim("batch", min=1, max=4096)},),
            external_data=False,
            verbose=False,
        )
    except Exception as exc:  # torch.onnx raises its own error types, which it may rename
        raise OnnxExportError(f"model {name!r} cannot be exported to ONNX: {failed_operation(exc)}") from exc
    buffer = io.BytesIO()
    program.save(buffer, external_data=False)
    return OnnxModel(buffer.getvalue(), layers)


def failed_operation(exc: BaseException) -> str:
    """What an exporter's exception says went wrong, in one line that names the operation."""
    chain = []
    while exc is not None and exc not in chain:
        chain.append(exc)
        exc = exc.__cause__ or exc.__context__
    text = "\n".join(f"{type(e).__name__}: {e}" for e in chain)
    op = re.search(r"No ONNX function found for <OpOverload\(op='([\w.]+)'", text)
    if op:
        return f"its operation {op.group(1)} has no ONNX equivalent in torch.onnx; publish needs every operation of forward() to have one"
    node = re.search(r"Error when translating node %\w+ : .*?target=torch\.ops\.([\w.]+?)(?:\.default)?\]", text)
    if node:
        cause = next((line.split(": ", 1)[-1] for line in text.splitlines() if "NotImplementedError" in line), "")
        return f"its operation {node.group(1)} could not be translated to ONNX" + (f" ({cause.strip()[:200]})" if cause else "")
    first = next((line.strip() for line in str(chain[-1]).splitlines() if line.strip()), type(chain[-1]).__name__)
    return f"torch.export could not trace its forward() ({type(chain[-1]).__name__}: {first[:300]})"


def _layer_modules(model: Any) -> list[tuple[str, Any, str]]:
    """The convolutions (or, without any, the linear layers) of ``model``: ``(path, module, kind)``."""
    from torch import nn

    convs = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.modules.conv._ConvNd)]
    if convs:
        return [(n or type(m).__name__, m, "maps") for n, m in convs]
    return [(n or type(m).__name__, m, "units") for n, m in model.named_modules() if isinstance(m, nn.Linear)]


def _with_insides(model: Any, output: str) -> Any:
    """``model`` wrapped to return its probabilities, then the outputs of the layers the page shows."""
    import torch
    from torch import nn

    from trainpad.engine.inside import MAX_MAPS, MAX_UNITS, describe_module

    class WithInsides(nn.Module):
        """The model, returning probabilities then the recorded layers' outputs."""

        def __init__(self) -> None:
            super().__init__()
            self.model = model
            self.watched = _layer_modules(model)

        def run(self, x: torch.Tensor) -> tuple[torch.Tensor, list[tuple[str, Any, str, torch.Tensor]]]:
            seen: list[tuple[str, Any, str, torch.Tensor]] = []
            hooks = [
                module.register_forward_hook(lambda m, args, out, path=path, kind=kind: seen.append((path, m, kind, out)))
                for path, module, kind in self.watched
            ]
            try:
                out = self.model(x)
            finally:
                for hook in hooks:
                    hook.remove()
            probabilities = out.exp() if output == "log_probs" else out.softmax(dim=1)
            usable = [(p, m, k, o) for p, m, k, o in seen if isinstance(o, torch.Tensor) and o.dim() == (4 if k == "maps" else 2)]
            return probabilities, usable

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
            probabilities, seen = self.run(x)
            return (probabilities, *(o[:, :MAX_MAPS] if k == "maps" else o[:, :MAX_UNITS] for _, _, k, o in seen))

        def describe(self, x: torch.Tensor) -> list[LayerOutput]:
            _, seen = self.run(x)
            calls: dict[str, int] = {}
            layers = []
            for index, (path, module, kind, out) in enumerate(seen):
                calls[path] = calls.get(path, 0) + 1
                label = path if calls[path] == 1 else f"{path} (call {calls[path]})"  # a module used twice
                total = int(out.shape[1])
                kept = min(total, MAX_MAPS if kind == "maps" else MAX_UNITS)
                layers.append(LayerOutput(f"{kind}{index}", kind, label, describe_module(module), kept, total, [kept, *out.shape[2:]]))
            return layers

    return WithInsides()


def check_onnx(exported: OnnxModel, trained: "TrainedModel", pictures: "torch.Tensor") -> float:
    """Run the ONNX graph with ONNX Runtime and the model with PyTorch on ``pictures``
    (normalised, ``(N, C, H, W)``); returns the largest difference of a probability.

    :raises OnnxExportError: the two differ by more than :data:`TOLERANCE`.
    """
    import numpy as np
    import onnxruntime
    import torch

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(exported.data, options, providers=["CPUExecutionProvider"])
    ours = session.run([PROBABILITIES], {INPUT: pictures.numpy().astype(np.float32)})[0]
    model = trained.model
    with torch.inference_mode():
        theirs = trained.probabilities(model(pictures.to(trained.device))).float().cpu().numpy()
    difference = float(np.abs(ours - theirs).max()) if ours.shape == theirs.shape else float("inf")
    if not difference <= TOLERANCE:
        name = trained.spec["model"]["name"]
        raise OnnxExportError(
            f"model {name!r} exported to ONNX computes other probabilities than in PyTorch "
            f"(they differ by up to {difference:.2g}, more than {TOLERANCE:g}); it is not published"
        )
    return difference


__all__ = ["OnnxModel", "LayerOutput", "OnnxExportError", "export_onnx", "check_onnx", "failed_operation", "OPSET"]
