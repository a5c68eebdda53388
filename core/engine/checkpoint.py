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
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Callable

import torch
from torch import nn

from trainpad import settings
from trainpad.engine.config import DEFAULT_INPUT_SHAPE
from trainpad.engine.errors import CheckpointError, ComponentError, shown
from trainpad.engine.model_size import megabytes, plan_model
from trainpad.engine.params import ParamError
from trainpad.engine.registry import UnknownComponent

if TYPE_CHECKING:
    from trainpad.engine.registry import Component, Registry
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


@dataclass(frozen=True)
class CheckpointLimits:
    """What a checkpoint may ask for beyond its structure (a public server's caps).

    ``None`` leaves a limit off (the CLI loads what it trains); the structural checks of
    :func:`check_metadata` always apply.

    :param max_classes: class names a checkpoint may have.
    :param max_model_bytes: parameters and buffers of the model it describes, counted
        before the model is built.
    :param max_input_side: height and width of its ``input_shape``.
    """

    max_classes: int | None = None
    max_model_bytes: int | None = None
    max_input_side: int | None = None


#: Always refused, whoever loads: more channels or a longer side than any picture model takes,
#: class names longer than this, more zip entries than any model has tensors.
MAX_CHANNELS = 64
MAX_SIDE = 8192
MAX_CLASS_NAME = 100
MAX_ENTRIES = 10_000


def read_payload(source: str | os.PathLike[str] | IO[bytes], limits: CheckpointLimits | None = None) -> dict[str, Any]:
    """Read and check a checkpoint's structure, never unpickling arbitrary objects.

    The file must be a ``torch.save`` zip whose entries are stored, not compressed (as
    ``torch.save`` writes them), so that it can never inflate past its own size; then it
    is read with ``weights_only=True`` and its metadata checked (:func:`check_metadata`).

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
    check_archive(data)
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
        raise CheckpointError(f"checkpoint version {shown(payload.get('version'))} is not supported (expected {VERSION})")
    check_metadata(payload, limits)
    return payload


def check_archive(data: bytes) -> None:
    """Refuse anything but a ``torch.save`` zip of stored (uncompressed) entries.

    ``torch.save`` never compresses; a checkpoint re-packed with deflate could inflate a
    1 MB upload into gigabytes inside ``torch.load``, before any other check runs.  The
    method is checked in both the central directory and each entry's local header, since
    a reader may trust either.

    :raises CheckpointError: not such a zip, or an entry compressed.
    """
    if not data.startswith(b"PK\x03\x04"):
        raise CheckpointError("not a trainpad checkpoint (the file is corrupt or of another kind)")
    try:
        entries = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        raise CheckpointError("not a trainpad checkpoint (the file is corrupt or of another kind)") from None
    if len(entries) > MAX_ENTRIES:
        raise CheckpointError(f"the checkpoint holds {len(entries):,} files, more than any model has tensors")
    for entry in entries:
        local = data[entry.header_offset : entry.header_offset + 10]
        local_method = int.from_bytes(local[8:10], "little") if len(local) == 10 and local[:4] == b"PK\x03\x04" else -1
        if entry.compress_type != zipfile.ZIP_STORED or local_method != 0 or entry.file_size != entry.compress_size:
            raise CheckpointError(
                "the checkpoint's contents are compressed, which torch.save never does; trainpad does not "
                "inflate such files (they can grow to gigabytes). Save the model again with trainpad or torch.save"
            )


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def check_metadata(payload: dict[str, Any], limits: CheckpointLimits | None = None) -> None:
    """Check what a checkpoint says about its model, as data, before anything is built.

    The metadata is validated by :class:`trainpad.engine.checkpoint_meta.CheckpointMeta`
    (which lists its rules); the weights here: tensors by name and, under ``limits``, not
    more bytes than the server allows.  The first thing refused is reported, in the order
    spec, weights, class names, output, epochs, metrics, dataset_meta, model size.

    :raises CheckpointError: saying which field is wrong and how.
    """
    # pydantic is imported when a checkpoint is read, not when training imports this module.
    from trainpad.engine.checkpoint_meta import first_refusal

    limits = limits or CheckpointLimits()
    refused = first_refusal(payload, limits)
    if refused is not None and refused[0] == "spec":
        raise CheckpointError(refused[1])
    state = payload.get("state_dict")
    if not isinstance(state, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        raise CheckpointError("the checkpoint's weights are malformed")
    if refused is not None:
        raise CheckpointError(refused[1])
    if limits.max_model_bytes is not None:
        nbytes = sum(t.numel() * t.element_size() for t in state.values())
        if nbytes > limits.max_model_bytes:
            raise CheckpointError(_too_big(nbytes, limits.max_model_bytes))


def _too_big(nbytes: int, limit: int) -> str:
    return (
        f"the model's weights take {megabytes(nbytes)}, more than the {megabytes(limit)} this server allows "
        "(TRAINPAD_MAX_MODEL_MB); use a smaller model"
    )


def load_checkpoint(
    registry: "Registry",
    source: str | os.PathLike[str] | IO[bytes],
    *,
    device: torch.device | str = "cpu",
    limits: CheckpointLimits | None = None,
    why_missing: Callable[..., str] | None = None,
) -> "TrainedModel":
    """Rebuild the model a checkpoint describes and load its weights into it.

    Everything is checked before the model is built: the file's structure and metadata
    (:func:`read_payload`), then the model the metadata asks for, planned on the meta
    device (no memory), against ``limits`` and against every tensor of the checkpoint
    (names, shapes, dtypes); only then is it built, and the weights go in when they are
    all finite.

    :param limits: a server's caps (classes, model size, input size); none by default.
    :param why_missing: ``why_missing(kind, name, plugin=...)`` explains a model the
        registry lacks (:meth:`trainpad.engine.engine.Engine.why_missing`, which
        :meth:`~trainpad.engine.engine.Engine.load_checkpoint` passes).
    :raises CheckpointError: for any refusal, saying what was wrong.
    """
    return model_from_payload(registry, read_payload(source, limits), device=device, limits=limits, why_missing=why_missing)


def model_from_payload(
    registry: "Registry",
    payload: dict[str, Any],
    *,
    device: torch.device | str = "cpu",
    limits: CheckpointLimits | None = None,
    why_missing: Callable[..., str] | None = None,
) -> "TrainedModel":
    """Build the model a checkpoint's contents describe (as :func:`read_payload` checked
    them, or as :func:`to_payload` made them: a job's model coming back), weights checked
    against it; see :func:`load_checkpoint`."""
    from trainpad.engine.trained_model import TrainedModel

    spec = payload["spec"]
    component, params = _model_component(registry, spec["model"], why_missing)
    meta = payload.get("dataset_meta") or {}
    build = {
        "input_shape": tuple(meta.get("input_shape", DEFAULT_INPUT_SHAPE)),
        "num_classes": len(payload["class_names"]),
        **params,
    }
    model = _built_with_weights(component, build, payload["state_dict"], limits)
    model.to(device)
    metrics = {
        k: float(v) for k, v in (payload.get("metrics") or {}).items() if isinstance(k, str) and _finite(v)
    }
    return TrainedModel(
        model=model,
        spec=spec,
        class_names=list(payload["class_names"]),
        output=payload.get("output") or component.meta.get("output", "logits"),
        dataset_meta=dict(meta),
        metrics=metrics,
        epochs=float(payload.get("epochs", 0)),
    )


def _model_component(
    registry: "Registry", model_spec: dict[str, Any], why_missing: Callable[..., str] | None
) -> tuple["Component", dict[str, Any]]:
    """The registered model a checkpoint names, and its settings validated.

    :raises CheckpointError: the model is not registered (saying why, and which plugin
        brings it), or its settings are refused.
    """
    try:
        component = registry.get("model", model_spec["name"])
        return component, component.validate(model_spec.get("params") or {})
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


def _built_with_weights(
    component: "Component", build: dict[str, Any], state: dict[str, torch.Tensor], limits: CheckpointLimits | None
) -> nn.Module:
    """``component``'s model built with ``build`` and holding the weights ``state``.

    The model is planned on the meta device first (no memory) and checked against
    ``limits`` and ``state``, so a checkpoint asking for a huge model is refused before
    it is built; once built, its tensors are matched again and the weights must be finite.

    :raises CheckpointError: too big, or the weights do not fit the model.
    :raises ComponentError: the model's factory failed.
    """
    got = {k: (tuple(v.shape), v.dtype) for k, v in state.items()}
    planned = plan_model(component.factory, **build)
    if planned is not None:
        if limits is not None and limits.max_model_bytes is not None and planned.nbytes > limits.max_model_bytes:
            raise CheckpointError(_too_big(planned.nbytes, limits.max_model_bytes))
        _match(component.name, planned.tensors, got)
    try:
        model = component.factory(**build)
    except Exception as exc:
        raise ComponentError(component.label, f"{type(exc).__name__}: {exc}") from exc
    _match(component.name, {k: (tuple(v.shape), v.dtype) for k, v in model.state_dict().items()}, got)
    for key, weights in state.items():
        if weights.is_floating_point() and not torch.isfinite(weights).all():
            raise CheckpointError(f"the checkpoint's weight {key!r} holds NaN or infinite values")
    model.load_state_dict(state, strict=True)
    return model


def _match(model_name: str, expected: dict[str, tuple], got: dict[str, tuple]) -> None:
    """Refuse weights that differ from the model's in names, shapes or dtypes."""
    missing = sorted(set(expected) - set(got))
    extra = sorted(set(got) - set(expected))
    if missing or extra:
        raise CheckpointError(
            f"the checkpoint's weights do not match model {model_name!r}: "
            f"missing [{', '.join(shown(k) for k in missing[:3])}], unexpected [{', '.join(shown(k) for k in extra[:3])}]"
        )
    for key, (shape, dtype) in expected.items():
        if got[key] != (shape, dtype):
            raise CheckpointError(
                f"the checkpoint's weight {key!r} has shape {got[key][0]} ({got[key][1]}), "
                f"but model {model_name!r} needs {shape} ({dtype})"
            )


def _plain(value: Any) -> Any:
    """Keep only what ``weights_only`` loading accepts: str, numbers, lists, dicts."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items() if _plain(v) is not None}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)):
        return value
    return None
