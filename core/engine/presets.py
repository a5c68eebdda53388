"""Presets: named recipes that are known to work, each a complete :class:`TrainConfig`.

A preset names every choice of a run (dataset, model, optimizer, loss, the
hyperparameters that differ from the components' defaults, and the run settings), so
that choosing one in the Train tab fills the whole form, and ``trainpad train --preset
NAME`` trains the same run from the command line.  Their accuracies and times are
measured in ``bench/`` and listed in ``docs/benchmarks.md``.

A preset is offered only where all its components are registered (a built-in plugin
can be switched off with ``TRAINPAD_DISABLE_PLUGINS``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from trainpad.engine.config import RUN_PARAMS, TRAINED_KINDS, TrainConfig
from trainpad.engine.errors import SHOWN_CHARS, ConfigError, shown
from trainpad.engine.message import msg

if TYPE_CHECKING:
    from trainpad.engine.registry import Registry

#: The run settings a preset fixes (the device is the machine's business, not the recipe's).
PRESET_SETTINGS = ("epochs", "batch_size", "train_samples", "schedule", "seed")
#: How :func:`changes` names them (as the Train tab's fields do).
SPOKEN_SETTINGS = {"batch_size": "batch size", "train_samples": "training samples", "schedule": "LR schedule"}


@dataclass(frozen=True)
class Preset:
    """One recipe.

    :param name: its id, for ``trainpad train --preset NAME`` and the HTTP API.
    :param label: how the dropdown shows it.
    :param summary: one line: what it shows, and what it gets.
    :param config: the run; hyperparameters it does not name keep their components' defaults.
    """

    name: str
    label: str
    summary: str
    config: TrainConfig = field(default_factory=TrainConfig)

    def components(self) -> dict[str, str]:
        """``{kind: component name}`` for the dataset, model, optimizer and loss."""
        return {kind: getattr(self.config, kind) for kind in TRAINED_KINDS}

    def settings(self) -> dict[str, Any]:
        """The run settings it fixes (:data:`PRESET_SETTINGS`)."""
        return {name: getattr(self.config, name) for name in PRESET_SETTINGS}

    def available(self, registry: "Registry") -> bool:
        """Whether every component it names is registered."""
        return all(name in registry.names(kind) for kind, name in self.components().items())

    def params(self, registry: "Registry") -> dict[str, dict[str, Any]]:
        """Every hyperparameter of its four components, its own values over the defaults."""
        return {
            kind: registry.get(kind, name).validate(self.config.params.get(kind))
            for kind, name in self.components().items()
        }

    def resolved(self, registry: "Registry") -> TrainConfig:
        """Its config with every hyperparameter of its components spelled out."""
        return replace(self.config, params=self.params(registry))


def _sgd(lr: float, momentum: float = 0.9, weight_decay: float = 5e-4, nesterov: bool = True) -> dict[str, Any]:
    return {"lr": lr, "momentum": momentum, "weight_decay": weight_decay, "nesterov": nesterov}


#: The presets, in the order the dropdown lists them.  The first is the default run.
PRESETS: tuple[Preset, ...] = (
    Preset(
        "quick",
        "Quick",
        "The defaults: a small CNN, SGD with Nesterov momentum and a one-cycle schedule; "
        "about 99% on MNIST after one epoch.",
        TrainConfig(),
    ),
    Preset(
        "best",
        "Best",
        "A wider CNN, label smoothing and digits moved by up to a pixel each way, for 99.5% on "
        "MNIST in under 30 s of training on two CPU cores.",
        TrainConfig(
            loss="cross-entropy",
            params={"dataset": {"shift": 1}, "model": {"width": 24}, "loss": {"smoothing": 0.1}},
            epochs=3,
        ),
    ),
    Preset(
        "tutorial",
        "The tutorial",
        "The plain loop of the PyTorch tutorial: SGD without momentum or weight decay, the NLL "
        "loss, one learning rate throughout: about 98.8% after one epoch, where Quick gets 99.3%.",
        TrainConfig(params={"optimizer": _sgd(0.05, momentum=0.0, weight_decay=0.0, nesterov=False)}, batch_size=64, schedule="constant"),
    ),
    Preset(
        "fashion-mnist",
        "Fashion-MNIST",
        "Clothes instead of digits, with Best's recipe: about 92% after three epochs.",
        TrainConfig(
            dataset="fashion-mnist",
            loss="cross-entropy",
            params={"dataset": {"shift": 1}, "model": {"width": 24}, "loss": {"smoothing": 0.1}},
            epochs=3,
        ),
    ),
    Preset(
        "kmnist",
        "Kuzushiji-MNIST",
        "Cursive hiragana, with Best's recipe: a harder alphabet of ten characters.",
        TrainConfig(
            dataset="kmnist",
            loss="cross-entropy",
            params={"dataset": {"shift": 1}, "model": {"width": 24}, "loss": {"smoothing": 0.1}},
            epochs=3,
        ),
    ),
)


def available_presets(registry: "Registry") -> list[Preset]:
    """The presets whose components are all registered, in :data:`PRESETS` order."""
    return [preset for preset in PRESETS if preset.available(registry)]


def get_preset(name: str, registry: "Registry | None" = None) -> Preset:
    """The preset called ``name``.

    :raises ConfigError: no such preset (or, with ``registry``, one whose components are
        not all registered), naming the ones there are.
    """
    offered = PRESETS if registry is None else available_presets(registry)
    for preset in offered:
        if preset.name == name:
            return preset
    known = ", ".join(preset.name for preset in offered) or "none"
    if registry is not None and any(preset.name == name for preset in PRESETS):
        missing = [f"{kind} {n}" for kind, n in get_preset(name).components().items() if n not in registry.names(kind)]
        raise ConfigError(
            msg(
                "preset {name} needs {missing}, which is not registered (switched off?); presets: {known}",
                name=shown(name), missing=", ".join(missing), known=known,
            )
        )
    raise ConfigError(msg("no preset named {name}; presets: {known}", name=shown(name), known=known))


def _spoken(value: Any) -> str:
    """A value as a note says it: ``on``, ``0.1``, ``adam``; of anything long (what a client
    typed or sent), a few dozen characters."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if value is None or value == "":
        return "(empty)"  # a field the user emptied
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (int, str)) and len(str(value)) <= SHOWN_CHARS:
        return str(value)
    return shown(value)


def changes(preset: Preset, config: TrainConfig, registry: "Registry") -> list[str]:
    """What ``config`` changes from ``preset``, one phrase each (``"batch size 256 → 128"``);
    empty when it is the preset's run.

    Hyperparameters are compared with defaults filled in, for the components both
    choose; a component chosen differently is one change (its hyperparameters with it).
    """
    found = []
    wanted = preset.params(registry)
    for kind, name in preset.components().items():
        chosen = getattr(config, kind)
        if chosen != name:
            found.append(f"{kind} {name} → {_spoken(chosen)}")
            continue
        component = registry.get(kind, name)
        given = dict(config.params.get(kind) or {})
        for param in component.params:
            value = given.get(param.name, param.default)
            try:
                value = param.validate(value)
            except ValueError:
                pass  # shown as typed; the run itself will refuse it
            if value != wanted[kind][param.name]:
                found.append(f"{kind} {param.name.replace('_', ' ')} {_spoken(wanted[kind][param.name])} → {_spoken(value)}")
    run = {p.name: p for p in RUN_PARAMS}
    for name in PRESET_SETTINGS:
        value, default = getattr(config, name), getattr(preset.config, name)
        try:
            value = run[name].validate(value)
        except ValueError:
            pass
        if value != default:
            found.append(f"{SPOKEN_SETTINGS.get(name, name)} {_spoken(default)} → {_spoken(value)}")
    return found


__all__ = ["PRESETS", "PRESET_SETTINGS", "Preset", "available_presets", "changes", "get_preset"]
