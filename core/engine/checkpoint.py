"""Saving and loading trained models, safely.

A checkpoint is a ``torch.save`` file of plain data only: the weights as tensors,
and the component names, hyperparameters, class names and metrics as strings,
numbers, lists and dicts.  Loading always passes ``weights_only=True`` (whatever
``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` says), so a file carrying pickled Python objects
is refused instead of run; then every tensor is checked against a freshly built
model (names, shapes, finiteness) before any weight is used.
"""

from __future__ import annotations

import io
import math
import os
import pickle
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Callable

import torch
from torch import nn

from trainpad import settings
from trainpad.engine.errors import CheckpointError

if TYPE_CHECKING:
    from trainpad.engine.registry import Registry
    from trainpad.engine.trained_model import TrainedModel

FORMAT = "trainpad.checkpoint"
VERSION = 1


def max_checkpoint_bytes() -> int:
    """The largest checkpoint accepted (``TRAINPAD_MAX_CHECKPOINT_MB``, default 50 MB)."""
    return int(settings.get("TRAINPAD_MAX_CHECKPOINT_MB") * 1024 * 1024)


def unwrap(model: nn.Module) -> nn.Module:
    """The plain module inside DistributedDataParallel or ``torch.compile`` wrappers."""
    while True:
        inner = getattr(model, "module", None) or getattr(model, "_orig_mod", None)
        if not isinstance(inner, nn.Module):
            return model
        model = inner


def to_payload(trained: "TrainedModel") -> dict[str, Any]:
    """The checkpoint's contents as plain data; refuses non-finite weights."""
    state = {k: v.detach().cpu().clone() for k, v in unwrap(trained.model).state_dict().items()}
    bad = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise CheckpointError(f"refusing to save non-finite weights ({', '.join(bad[:3])}); the run diverged")
    return {
        "format": FORMAT,
        "version": VERSION,
        "spec": _plain(trained.spec),
        "class_names": list(trained.class_names),
        "output": trained.output,
        "dataset_meta": _plain(trained.dataset_meta),
        "metrics": {k: float(v) for k, v in trained.metrics.items()},
        "epochs": float(trained.epochs),
        "state_dict": state,
    }


def save_checkpoint(trained: "TrainedModel", path: str | os.PathLike[str]) -> Path:
    """Write ``trained`` to ``path`` atomically (a partial file never replaces a good one)."""
    path = Path(path)
    payload = to_payload(trained)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)
    return path


def read_payload(source: str | os.PathLike[str] | IO[bytes]) -> dict[str, Any]:
    """Read and check a checkpoint's structure, never unpickling arbitrary objects.

    :raises CheckpointError: too big, not a checkpoint, carrying Python objects, or malformed.
    """
    limit = max_checkpoint_bytes()
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise CheckpointError(f"no checkpoint file at {path}")
        size = path.stat().st_size
        if size > limit:
            raise CheckpointError(
                f"the checkpoint is {size / 1e6:.1f} MB, more than the {limit / 1e6:.0f} MB allowed "
                "(TRAINPAD_MAX_CHECKPOINT_MB)"
            )
        data = path.read_bytes()
    else:
        data = source.read(limit + 1)
        if len(data) > limit:
            raise CheckpointError(f"the checkpoint is more than the {limit / 1e6:.0f} MB allowed")
    try:
        # weights_only=True is passed explicitly: it then holds even when
        # TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 is set in the environment.
        payload = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "GLOBAL" not in str(exc):  # corrupt or foreign bytes, not a refused object
            raise CheckpointError("not a trainpad checkpoint (the file is corrupt or of another kind)") from None
        raise CheckpointError(
            "this file contains Python objects, not just weights; trainpad never loads such files "
            "because they can run code. Save the checkpoint with trainpad and try again."
        ) from None
    except Exception as exc:
        raise CheckpointError(f"not a trainpad checkpoint (it could not be read: {type(exc).__name__})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError("not a trainpad checkpoint (train one with `trainpad train` or the Train tab)")
    if payload.get("version") != VERSION:
        raise CheckpointError(f"checkpoint version {payload.get('version')!r} is not supported (expected {VERSION})")
    spec = payload.get("spec")
    if not isinstance(spec, dict) or not all(
        isinstance(spec.get(kind), dict) and isinstance(spec[kind].get("name"), str) for kind in ("dataset", "model")
    ):
        raise CheckpointError("the checkpoint does not say which dataset and model made it")
    if not isinstance(payload.get("state_dict"), dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in payload["state_dict"].items()
    ):
        raise CheckpointError("the checkpoint's weights are malformed")
    names = payload.get("class_names")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise CheckpointError("the checkpoint has no class names")
    return payload


def load_checkpoint(
    registry: "Registry",
    source: str | os.PathLike[str] | IO[bytes],
    *,
    device: torch.device | str = "cpu",
    why_missing: Callable[..., str] | None = None,
) -> "TrainedModel":
    """Rebuild the model a checkpoint describes and load its weights into it.

    The weights go into a freshly built model only when every tensor matches in name,
    shape and dtype and is finite.

    :param why_missing: ``why_missing(kind, name, plugin=...)`` explains a model the
        registry lacks (:meth:`trainpad.engine.engine.Engine.why_missing`, which
        :meth:`~trainpad.engine.engine.Engine.load_checkpoint` passes).
    :raises CheckpointError: for any refusal, saying what was wrong.
    """
    from trainpad.engine.errors import ComponentError
    from trainpad.engine.params import ParamError
    from trainpad.engine.registry import UnknownComponent
    from trainpad.engine.trained_model import TrainedModel

    payload = read_payload(source)
    spec = payload["spec"]
    model_spec = spec["model"]
    try:
        component = registry.get("model", model_spec["name"])
        params = component.validate(model_spec.get("params") or {})
    except UnknownComponent:
        plugin = model_spec.get("plugin")
        plugin = plugin if isinstance(plugin, str) and 0 < len(plugin) <= 200 else None  # it is shown
        reason = why_missing("model", model_spec["name"], plugin=plugin) if why_missing is not None else ""
        if not reason:
            source = f"It comes from plugin {plugin!r}: check" if plugin else "Check"
            reason = f"{source} that its plugin is installed and switched on (`trainpad plugins`)."
        raise CheckpointError(f"the checkpoint needs model {model_spec['name']!r}, which is not registered. {reason}") from None
    except ParamError as exc:
        raise CheckpointError(f"the checkpoint's model settings are refused: {exc}") from None
    meta = payload.get("dataset_meta") or {}
    input_shape = tuple(meta.get("input_shape", (1, 28, 28)))
    try:
        model = component.factory(input_shape=input_shape, num_classes=len(payload["class_names"]), **params)
    except Exception as exc:
        raise ComponentError(component.label, f"{type(exc).__name__}: {exc}") from exc
    expected = model.state_dict()
    state = payload["state_dict"]
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    if missing or extra:
        raise CheckpointError(
            f"the checkpoint's weights do not match model {component.name!r}: "
            f"missing {missing[:3]}, unexpected {extra[:3]}"
        )
    for key, tensor in expected.items():
        got = state[key]
        if got.shape != tensor.shape or got.dtype != tensor.dtype:
            raise CheckpointError(
                f"the checkpoint's weight {key!r} has shape {tuple(got.shape)} ({got.dtype}), "
                f"but model {component.name!r} needs {tuple(tensor.shape)} ({tensor.dtype})"
            )
        if got.is_floating_point() and not torch.isfinite(got).all():
            raise CheckpointError(f"the checkpoint's weight {key!r} holds NaN or infinite values")
    model.load_state_dict(state, strict=True)
    model.to(device)
    metrics = {k: float(v) for k, v in (payload.get("metrics") or {}).items() if isinstance(v, (int, float)) and math.isfinite(v)}
    return TrainedModel(
        model=model,
        spec=spec,
        class_names=list(payload["class_names"]),
        output=payload.get("output") or component.meta.get("output", "logits"),
        dataset_meta=dict(meta),
        metrics=metrics,
        epochs=_epochs(payload.get("epochs")),
    )


def _epochs(value: Any) -> float:
    """The checkpoint's epoch count: a finite number of at least 0 (older files hold an int), else 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        return 0.0
    return float(value)


def _plain(value: Any) -> Any:
    """Keep only what ``weights_only`` loading accepts: str, numbers, lists, dicts."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items() if _plain(v) is not None}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)):
        return value
    return None
