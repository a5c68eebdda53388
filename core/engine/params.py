"""Hyperparameters: what a component accepts, and checking what a user gave.

A component's hyperparameters are the keyword arguments of its factory.  Each is
described by a :class:`Param` -- declared by the plugin, or derived from the
factory's signature -- so that the CLI, the web UI and the HTTP API can list,
show and validate them without knowing the component.
"""

from __future__ import annotations

import inspect
import math
import typing
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence

from trainpad.engine.errors import shown
from trainpad.engine.message import lines, message_of, msg
from trainpad.settings import FALSE_WORDS, TRUE_WORDS

#: What a refusal calls a value's type.
TYPE_WORDS = {int: msg("int"), float: msg("float")}

#: The value types a hyperparameter may have.
PARAM_TYPES: tuple[type, ...] = (int, float, bool, str)



class ParamError(ValueError):
    """A hyperparameter value was refused; the message says what to change."""


class ParamDeclarationError(TypeError):
    """A plugin declared a hyperparameter that cannot work."""


@dataclass(frozen=True)
class Param:
    """One hyperparameter of a component.

    :param name: the factory's keyword argument, in ``snake_case``.
    :param type: ``int``, ``float``, ``bool`` or ``str``.
    :param default: the value used when the user gives none.
    :param help: one line for tooltips and ``--help``.
    :param min: the smallest allowed value (numbers only), inclusive.
    :param max: the largest allowed value (numbers only), inclusive.
    :param choices: the allowed values, for a fixed set.

    >>> Param("lr", float, 0.05, min=1e-6, max=10.0, help="learning rate")
    """

    name: str
    type: type
    default: Any
    help: str = ""
    min: float | None = None
    max: float | None = None
    choices: tuple[Any, ...] | None = None

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise ParamDeclarationError(f"parameter name {self.name!r} is not a Python identifier")
        if self.type not in PARAM_TYPES:
            raise ParamDeclarationError(
                f"parameter {self.name!r} has type {self.type!r}; use one of int, float, bool, str"
            )
        if self.choices is not None:
            object.__setattr__(self, "choices", tuple(self.choices))
            if not self.choices:
                raise ParamDeclarationError(f"parameter {self.name!r} has an empty list of choices")
        if (self.min is not None or self.max is not None) and self.type not in (int, float):
            raise ParamDeclarationError(f"parameter {self.name!r}: min and max apply to numbers only")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ParamDeclarationError(f"parameter {self.name!r}: min {self.min} is above max {self.max}")
        try:
            self.validate(self.default)
        except ParamError as exc:
            raise ParamDeclarationError(f"default of {exc}") from None

    def validate(self, value: Any) -> Any:
        """Return ``value`` converted to this parameter's type, or raise :class:`ParamError`.

        Strings (from the command line or a form) are parsed; ``None``, NaN, infinities,
        fractions for integers and values outside the range or choices are refused.
        """
        value = self._coerce(value)
        if self.type in (int, float):
            if self.min is not None and value < self.min:
                raise ParamError(msg("{name} must be at least {min}, got {value}", name=msg(self.name), min=_fmt(self.min), value=_fmt(value)))
            if self.max is not None and value > self.max:
                raise ParamError(msg("{name} must be at most {max}, got {value}", name=msg(self.name), max=_fmt(self.max), value=_fmt(value)))
        if self.choices is not None and value not in self.choices:
            allowed = ", ".join(str(c) for c in self.choices)
            raise ParamError(msg("{name} must be one of {allowed}; got {value}", name=msg(self.name), allowed=allowed, value=shown(value)))
        return value

    def _coerce(self, value: Any) -> Any:
        kind = TYPE_WORDS.get(self.type, self.type.__name__)
        if value is None:
            raise ParamError(msg("{name} needs a value ({kind})", name=msg(self.name), kind=msg(kind)))
        if self.type is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lower() in TRUE_WORDS | FALSE_WORDS:
                return value.strip().lower() in TRUE_WORDS
            if isinstance(value, (int, float)) and value in (0, 1):
                return bool(value)
            raise ParamError(msg("{name} must be true or false, got {value}", name=msg(self.name), value=shown(value)))
        if self.type is str:
            if not isinstance(value, str):
                raise ParamError(msg("{name} must be text, got {value}", name=msg(self.name), value=shown(value)))
            return value
        # numbers
        if isinstance(value, bool):
            raise ParamError(msg("{name} must be a number ({kind}), got {value}", name=msg(self.name), kind=msg(kind), value=shown(value)))
        if isinstance(value, str):
            try:
                value = float(value.strip())
            except ValueError:
                raise ParamError(msg(
                    "{name} must be a number ({kind}), got {value}",
                    name=msg(self.name), kind=msg(kind), value=shown(value),
                )) from None
        if not isinstance(value, (int, float)):
            # numpy scalars and 0-d tensors have __float__
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise ParamError(msg(
                    "{name} must be a number ({kind}), got {value}",
                    name=msg(self.name), kind=msg(kind), value=shown(value),
                )) from None
        if not math.isfinite(value):
            raise ParamError(msg("{name} must be a finite number, got {value}", name=msg(self.name), value=value))
        if self.type is int:
            if float(value) != int(value):
                raise ParamError(msg("{name} must be a whole number, got {value}", name=msg(self.name), value=_fmt(value)))
            return int(value)
        return float(value)

    def describe(self) -> str:
        """A short summary: type, default and allowed values, for listings."""
        parts = [f"{self.type.__name__}, default {_fmt(self.default)}"]
        if self.choices is not None:
            parts.append("one of " + "|".join(str(c) for c in self.choices))
        elif self.min is not None or self.max is not None:
            lo = _fmt(self.min) if self.min is not None else "-inf"
            hi = _fmt(self.max) if self.max is not None else "inf"
            parts.append(f"{lo}..{hi}")
        return ", ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description, for ``trainpad plugins --json`` and the UI."""
        return {
            "name": self.name,
            "type": self.type.__name__,
            "default": self.default,
            "help": self.help,
            "min": self.min,
            "max": self.max,
            "choices": list(self.choices) if self.choices is not None else None,
        }


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def params_for(
    factory: Callable[..., Any],
    declared: Iterable[Param] = (),
    *,
    context: Sequence[str] = (),
) -> tuple[Param, ...]:
    """Describe the hyperparameters of ``factory``.

    Every parameter of the factory that is not a context argument (such as ``root``
    for a dataset or ``parameters`` for an optimizer) and has a default is a
    hyperparameter.  A :class:`Param` in ``declared`` describes it fully; the others
    are derived from the default and the annotation (``Literal[...]`` gives choices).

    :raises ParamDeclarationError: a declared name that the factory does not accept,
        or a hyperparameter without a default.
    """
    declared = {p.name: p for p in declared}
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError) as exc:
        raise ParamDeclarationError(f"cannot read the signature of {factory!r}: {exc}") from None
    try:
        hints = typing.get_type_hints(factory)
    except Exception:  # unresolvable forward references: fall back to defaults
        hints = {}

    result: dict[str, Param] = {}
    takes_kwargs = False
    for arg in signature.parameters.values():
        if arg.kind is arg.VAR_KEYWORD:
            takes_kwargs = True
            continue
        if arg.kind is arg.VAR_POSITIONAL or arg.name in context:
            continue
        if arg.name in declared:
            result[arg.name] = declared.pop(arg.name)
            continue
        if arg.default is arg.empty:
            raise ParamDeclarationError(
                f"{getattr(factory, '__name__', factory)}() argument {arg.name!r} has no default; "
                "give every hyperparameter a default"
            )
        result[arg.name] = _derive(arg.name, arg.default, hints.get(arg.name))
    if declared and not takes_kwargs:
        names = ", ".join(sorted(declared))
        raise ParamDeclarationError(
            f"declares parameter(s) {names} that {getattr(factory, '__name__', 'the factory')}() does not accept"
        )
    result.update(declared)
    return tuple(result.values())


def _derive(name: str, default: Any, hint: Any) -> Param:
    choices = None
    if typing.get_origin(hint) is typing.Literal:
        choices = typing.get_args(hint)
        kind = type(choices[0])
    elif hint in PARAM_TYPES:
        kind = hint
    else:
        kind = type(default)
    if kind is int and isinstance(default, float):
        kind = float
    return Param(name, kind, default, choices=choices)


def validate_params(params: Sequence[Param], values: Mapping[str, Any] | None, *, owner: str) -> dict[str, Any]:
    """Check ``values`` against ``params``: fill in defaults, refuse unknown names.

    :param owner: how to name the component in messages, e.g. ``"optimizer sgd"``.
    :raises ParamError: with a message that names the owner and each parameter whose value
        does not fit, a line each.
    """
    values = dict(values or {})
    by_name = {p.name: p for p in params}
    unknown = sorted(set(values) - set(by_name), key=str)
    if unknown:
        known = ", ".join(by_name) or "none"
        names = ", ".join(shown(name) if not isinstance(name, str) or len(name) > 40 else name for name in unknown[:5])
        raise ParamError(f"{owner} has no parameter {names} (it takes: {known})")
    out: dict[str, Any] = {}
    wrong: list[str] = []  # every value that does not fit, a line each: not the first alone
    for p in params:
        try:
            out[p.name] = p.validate(values[p.name]) if p.name in values else p.default
        except ParamError as exc:
            wrong.append(msg("{owner}: {message}", owner=owner, message=message_of(exc)))
    if wrong:
        raise ParamError(lines(*wrong))
    return out


__all__ = ["Param", "ParamError", "ParamDeclarationError", "params_for", "validate_params"]
