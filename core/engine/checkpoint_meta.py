"""What a checkpoint says about its model, as a typed pydantic model.

:func:`trainpad.engine.checkpoint.check_metadata` validates an uploaded checkpoint's
metadata with :class:`CheckpointMeta`; the weights (tensors) are checked there, in plain
Python, never by pydantic.  Every refusal is a :func:`refusal` carrying the message a
user reads: pydantic's own refusals (a wrong type, a bound) are caught field by field and
replaced by that field's message, so pydantic's wording ("Input should be...") never
reaches a user.  A server's caps come in through the validation context
(``context={"limits": CheckpointLimits(...)}``).

The payload comes from an uploaded file, so its lists and dicts may hold millions of
items: a length is checked before pydantic walks a list, lists stop at their first bad
item, and dicts whose contents are not checked here (settings, metrics) are not walked.

This module imports pydantic; :mod:`trainpad.engine.checkpoint` imports it only when a
checkpoint is read, so training (which saves them) does not pay for pydantic.
"""

from __future__ import annotations

from typing import Annotated, Any, Callable, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    FailFast,
    Field,
    InstanceOf,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from trainpad.engine.checkpoint import MAX_CHANNELS, MAX_CLASS_NAME, MAX_SIDE, CheckpointLimits
from trainpad.engine.errors import shown

#: The error type of every refusal this module writes; any other is pydantic's own.
REFUSED = "checkpoint"

NO_CLASS_NAMES = "the checkpoint has no class names"


def refusal(message: str) -> PydanticCustomError:
    """A validation error whose message is ``message``, word for word.

    The message goes in as context, not as the template, so braces in a value it shows
    (a dict) are never read as placeholders.
    """
    return PydanticCustomError(REFUSED, "{message}", {"message": message})


def _typed(value: Any, handler: ValidatorFunctionWrapHandler, message: Callable[[], str]) -> Any:
    """``handler(value)``, with pydantic's own refusal of ``value`` replaced by ``message()``."""
    try:
        return handler(value)
    except ValidationError:
        raise refusal(message()) from None


def _otherwise(message: str) -> WrapValidator:
    """A field's annotation: pydantic's own refusal of its value becomes ``message``, with
    the value shown in place of ``{got}``."""
    return WrapValidator(lambda value, handler: _typed(value, handler, lambda: message.format(got=shown(value))))


def _limits(info: ValidationInfo) -> CheckpointLimits:
    """The server's caps from the validation context; none when it gives none."""
    context = info.context if isinstance(info.context, dict) else {}
    return context.get("limits") or CheckpointLimits()


class _Strict(BaseModel):
    """Plain data only, as ``torch.load(weights_only=True)`` gives it: no coercion
    ("3" is not 3, True is not 1), no NaN or infinity, and defaults checked as values are
    (a server's cap can refuse a default input shape)."""

    model_config = ConfigDict(strict=True, allow_inf_nan=False, validate_default=True, extra="ignore")


class ComponentSpec(_Strict):
    """One component a checkpoint names: ``{"name": ..., "params": {...}}``.

    A ``plugin`` key may come too (:func:`~trainpad.engine.checkpoint.model_from_payload`
    reads it); it is not checked here.
    """

    #: Which component this is, as messages name it.
    kind: ClassVar[str] = "component"

    name: str
    params: InstanceOf[dict] | None = None  # a type check only: pydantic does not copy it

    @field_validator("name")
    @classmethod
    def _a_name(cls, name: str) -> str:
        if not name.strip() or len(name) > MAX_CLASS_NAME:
            raise refusal(f"the checkpoint's {cls.kind} name {shown(name)} is not a component name")
        return name

    @field_validator("params", mode="wrap")
    @classmethod
    def _a_dict(cls, params: Any, handler: ValidatorFunctionWrapHandler) -> dict[Any, Any] | None:
        return _typed(params, handler, lambda: f"the checkpoint's {cls.kind} settings must be a dict, got {shown(params)}")


class DatasetSpec(ComponentSpec):
    """The dataset a checkpoint's model was trained on."""

    kind = "dataset"


class ModelSpec(ComponentSpec):
    """The model a checkpoint holds the weights of."""

    kind = "model"


class Spec(_Strict):
    """The components that made a checkpoint, as the engine's run spec names them."""

    dataset: DatasetSpec
    model: ModelSpec

    @model_validator(mode="before")
    @classmethod
    def _names_both(cls, spec: Any) -> Any:
        # Both named first, so that a missing model is reported before a bad dataset name.
        if not isinstance(spec, dict) or not all(
            isinstance(spec.get(kind), dict) and isinstance(spec[kind].get("name"), str) for kind in ("dataset", "model")
        ):
            raise refusal("the checkpoint does not say which dataset and model made it")
        return spec


class DatasetMeta(_Strict):
    """How the model's inputs look: their shape, normalisation and ink (``None`` or
    missing: MNIST's shape with no normalisation)."""

    input_shape: tuple[Annotated[int, Field(ge=1)], Annotated[int, Field(ge=1)], Annotated[int, Field(ge=1)]] = (1, 28, 28)
    mean: Annotated[list[float], FailFast()] = [0.0]
    std: Annotated[list[float], FailFast()] = [1.0]
    ink: Annotated[str | None, _otherwise("the checkpoint's ink must be text, got {got}")] = None

    @model_validator(mode="before")
    @classmethod
    def _a_dict(cls, meta: Any) -> Any:
        if meta is None:
            return {}
        if not isinstance(meta, dict):
            raise refusal(f"the checkpoint's dataset_meta must be a dict, got {shown(meta)}")
        return meta

    @field_validator("input_shape", mode="wrap")
    @classmethod
    def _a_shape(cls, shape: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo) -> tuple[int, int, int]:
        def wrong() -> str:
            return (
                "the checkpoint's input_shape must be three positive whole numbers (channels, height, width), "
                f"got {shown(shape)}"
            )

        if not isinstance(shape, (list, tuple)) or len(shape) != 3:
            raise refusal(wrong())
        channels, height, width = _typed(tuple(shape), handler, wrong)
        side = min(MAX_SIDE, _limits(info).max_input_side or MAX_SIDE)
        if channels > MAX_CHANNELS or height > side or width > side:
            raise refusal(
                f"the checkpoint's input_shape {shown(list(shape))} is too large: at most {MAX_CHANNELS} channels "
                f"and {side:,} pixels a side"
            )
        return channels, height, width

    @field_validator("mean", "std", mode="wrap")
    @classmethod
    def _per_channel(cls, values: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo) -> list[float]:
        shape = info.data.get("input_shape")
        if shape is None:  # refused already, and that error comes first
            return values
        channels = shape[0]
        how = "one finite number" if channels == 1 else f"1 or {channels} finite numbers"
        wrong = f"the checkpoint's {info.field_name} must be {how}, got {shown(values)}"
        if not isinstance(values, (list, tuple)) or len(values) not in (1, channels):
            raise refusal(wrong)
        checked = _typed(list(values), handler, lambda: wrong)
        if info.field_name == "std" and not all(v > 0 for v in checked):
            raise refusal(f"the checkpoint's std must be above 0 (pixels are divided by it), got {shown(values)}")
        return checked


class CheckpointMeta(_Strict):
    """A checkpoint's metadata: everything in it but the weights and the format marks.

    The spec names a dataset and a model (with a dict of settings); the class names are
    2 or more distinct, non-empty strings; ``epochs`` is a number from 0 (fractions count
    part of an epoch); ``dataset_meta`` has an ``input_shape`` of three positive whole
    numbers and finite ``mean`` and positive finite ``std`` (one per channel, or one for
    all).  Fields are validated in this order, and the first refused is the one reported.
    """

    # None when missing, and checked as a value: the field's own validator refuses it (dataset_meta
    # reads it as {}), in the field's words; pydantic's "missing" error would be in its own.
    spec: Spec = Field(None)
    class_names: Annotated[list[str], FailFast()] = Field(None)
    output: Annotated[
        Literal["log_probs", "logits"] | None, _otherwise("the checkpoint's output must be log_probs or logits, got {got}")
    ] = None
    # What it trained: 0.68 for a run stopped part-way through its first epoch.
    epochs: Annotated[
        float, Field(ge=0, le=10**6), _otherwise("the checkpoint's epochs must be a number from 0 to 1,000,000, got {got}")
    ] = 0
    metrics: Annotated[  # as params: checked, not copied
        InstanceOf[dict] | None, _otherwise("the checkpoint's metrics must be a dict, got {got}")
    ] = None
    dataset_meta: DatasetMeta = Field(None)

    @field_validator("class_names", mode="wrap")
    @classmethod
    def _class_names(cls, names: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo) -> list[str]:
        if not isinstance(names, list) or not names:
            raise refusal(NO_CLASS_NAMES)
        names = _typed(names, handler, lambda: NO_CLASS_NAMES)
        if len(names) < 2:
            raise refusal(f"the checkpoint has {len(names)} class name; a classifier needs 2 or more")
        most = _limits(info).max_classes
        if most is not None and len(names) > most:
            raise refusal(
                f"the checkpoint has {len(names):,} classes, more than the {most:,} this server accepts "
                "(TRAINPAD_MAX_CLASSES)"
            )
        long = next((n for n in names if not n.strip() or len(n) > MAX_CLASS_NAME), None)
        if long is not None:
            raise refusal(
                f"the checkpoint's class name {shown(long)} is empty or longer than {MAX_CLASS_NAME} characters"
            )
        if len(set(names)) != len(names):
            raise refusal("the checkpoint's class names repeat; each class needs its own name")
        return names


def first_refusal(payload: dict[str, Any], limits: CheckpointLimits) -> tuple[str, str] | None:
    """The first field of ``payload``'s metadata refused, and why; ``None`` when all pass.

    :param limits: the server's caps (class count, input side).
    :return: ``(field, message)``, ``field`` a top-level key such as ``"spec"``.
    """
    try:
        CheckpointMeta.model_validate(payload, context={"limits": limits})
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = str(first["loc"][0]) if first["loc"] else "metadata"
        if first["type"] == REFUSED:
            return where, first["msg"]
        # Every field turns pydantic's refusals into its own message; this is a net under them.
        return where, f"the checkpoint's {where} is malformed"
    return None
