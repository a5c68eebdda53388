"""The registry: every dataset, model, optimizer, loss, callback and Lab experiment, by kind and name.

Plugins add components through the ``register`` function that each ``register_*``
hook receives; the engine builds one :class:`Registry` at start-up, and the CLI and
the UI read it to list components and to build their forms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Iterable, Iterator, Mapping, Protocol

from trainpad.engine.errors import shown
from trainpad.engine.lab.experiment import check_meta
from trainpad.engine.message import msg
from trainpad.engine.pairing import check_output_kind
from trainpad.engine.params import Param, params_for, validate_params

#: Kinds of component, and the factory arguments that are context, not hyperparameters.
KINDS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "dataset": ("root", "train"),
        "model": ("input_shape", "num_classes"),
        "optimizer": ("parameters",),
        "loss": (),
        "callback": (),
        "experiment": ("lab",),
    }
)

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


class RegistrationError(ValueError):
    """A plugin registered something the registry cannot accept."""


class UnknownComponent(LookupError):
    """No component of that kind and name is registered."""

    def __str__(self) -> str:  # LookupError quotes its argument
        return str(self.args[0])


class Register(Protocol):
    """The ``register`` function that each ``register_*`` hook receives."""

    def __call__(
        self,
        name: str,
        factory: Callable[..., Any],
        *,
        description: str | None = None,
        params: Iterable[Param] = (),
        **meta: Any,
    ) -> None: ...


@dataclass(frozen=True)
class Component:
    """One registered component.

    :param kind: ``dataset``, ``model``, ``optimizer``, ``loss``, ``callback`` or ``experiment``.
    :param name: a stable lowercase id, unique within its kind; stored in checkpoints.
    :param factory: builds the component (see the hook specifications for each kind).
    :param params: its hyperparameters.
    :param description: one line, shown in listings.
    :param plugin: the name of the plugin that registered it.
    :param meta: kind-specific facts (a dataset's ``class_names``, a model's ``output``).
    """

    kind: str
    name: str
    factory: Callable[..., Any] = field(repr=False)
    params: tuple[Param, ...] = ()
    description: str = ""
    plugin: str = ""
    meta: Mapping[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """``kind name``, the way messages name a component."""
        return msg("{kind} {name}", kind=msg(self.kind), name=self.name)

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def validate(self, values: Mapping[str, Any] | None) -> dict[str, Any]:
        """Validated hyperparameters, defaults filled in; raises :class:`~trainpad.engine.params.ParamError`."""
        return validate_params(self.params, values, owner=self.label)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "description": self.description,
            "plugin": self.plugin,
            "params": [p.to_dict() for p in self.params],
            "meta": {k: v for k, v in self.meta.items() if isinstance(v, (str, int, float, bool, list, tuple))},
        }


def make_component(
    kind: str,
    name: str,
    factory: Callable[..., Any],
    *,
    plugin: str,
    description: str | None = None,
    params: Iterable[Param] = (),
    **meta: Any,
) -> Component:
    """Check one registration and turn it into a :class:`Component`.

    :raises RegistrationError: with a message that names the plugin and the problem.
    """
    where = f"plugin {plugin!r} registering {kind} {name!r}"
    if kind not in KINDS:
        raise RegistrationError(f"{where}: unknown kind {kind!r}")
    if not isinstance(name, str) or not _NAME.match(name):
        raise RegistrationError(
            f"{where}: the name must be lowercase letters, digits, '-', '_' or '.', starting with a letter or digit"
        )
    if not callable(factory):
        raise RegistrationError(f"{where}: the factory {factory!r} is not callable")
    try:
        declared = tuple(params)
        if not all(isinstance(p, Param) for p in declared):
            raise TypeError("params must be a list of trainpad.Param")
        described = params_for(factory, declared, context=KINDS[kind])
    except (TypeError, ValueError) as exc:
        raise RegistrationError(f"{where}: {exc}") from None
    if description is None:
        doc = (getattr(factory, "__doc__", None) or "").strip()
        description = doc.splitlines()[0] if doc else ""
    if kind == "dataset" and not meta.get("class_names"):
        raise RegistrationError(f"{where}: a dataset needs class_names=[...]")
    if kind == "experiment":
        try:
            meta = check_meta(meta)
        except ValueError as exc:
            raise RegistrationError(f"{where}: {exc}") from None
    key = {"model": "output", "loss": "expects"}.get(kind)
    if key in meta:
        try:
            check_output_kind(meta[key], key)
        except ValueError as exc:
            raise RegistrationError(f"{where}: {exc}") from None
    return Component(kind, name, factory, described, description, plugin, MappingProxyType(dict(meta)))


class Registry:
    """Components by kind and name, in registration order."""

    def __init__(self) -> None:
        self._items: dict[str, dict[str, Component]] = {kind: {} for kind in KINDS}

    def add(self, component: Component) -> None:
        """Add a component; two of the same kind and name is an error naming both plugins."""
        existing = self._items[component.kind].get(component.name)
        if existing is not None:
            raise RegistrationError(
                f"{component.kind} {component.name!r} is registered twice: by plugin {existing.plugin!r} "
                f"and by plugin {component.plugin!r}; the one from {existing.plugin!r} is kept"
            )
        self._items[component.kind][component.name] = component

    def get(self, kind: str, name: str) -> Component:
        """The component, or :class:`UnknownComponent` naming the ones that exist."""
        try:
            return self._items[kind][name]
        except KeyError:
            if kind not in self._items:
                raise UnknownComponent(f"unknown kind {shown(kind)}; kinds are {', '.join(KINDS)}") from None
            known = ", ".join(self._items[kind]) or "none"
            raise UnknownComponent(
                f"no {kind} named {shown(name)} is registered (available: {known}); "
                "run `trainpad plugins` to see every component"
            ) from None

    def names(self, kind: str) -> list[str]:
        return list(self._items[kind])

    def components(self, kind: str | None = None) -> list[Component]:
        if kind is not None:
            return list(self._items[kind].values())
        return [c for items in self._items.values() for c in items.values()]

    def __iter__(self) -> Iterator[Component]:
        return iter(self.components())

    def __len__(self) -> int:
        return sum(len(items) for items in self._items.values())
