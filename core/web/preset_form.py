"""The Train tab's presets, apart from its layout: what a preset puts in each field, and
whether the form still holds it.

Choosing a preset fills every field: the four components, every hyperparameter of
every component (the preset's values for its own four, the defaults elsewhere) and the
run settings.  After any change the note under the menu says which fields differ from
the preset ("edited: batch size 256 → 128").  Free of Gradio, so tests call it directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from trainpad.engine.config import TRAINED_KINDS, TrainConfig
from trainpad.engine.errors import ConfigError
from trainpad.engine.message import message_of, msg, sentence
from trainpad.engine.presets import PRESET_SETTINGS, Preset, available_presets, changes, get_preset
from trainpad.web.messages import UserError

if TYPE_CHECKING:
    from trainpad.engine.engine import Engine

#: At most this many changes are listed in the note; the others are counted.
SHOWN_CHANGES = 4


@dataclass(frozen=True)
class PresetValues:
    """The value of every field of the Train tab for one preset.

    :param params: ``{kind: {component: {param: value}}}`` for every registered component.
    :param settings: the run settings the preset fixes (:data:`~trainpad.engine.presets.PRESET_SETTINGS`).
    """

    preset: Preset
    choices: dict[str, str]
    params: dict[str, dict[str, dict[str, Any]]]
    settings: dict[str, Any]


def preset_menu(engine: "Engine") -> list[tuple[str, str]]:
    """``(label, name)`` of every preset the registry can run, for a dropdown."""
    return [(preset.label, preset.name) for preset in available_presets(engine.registry)]


def find(engine: "Engine", name: Any) -> Preset:
    """The preset ``name``; :class:`UserError` naming the ones there are otherwise."""
    if not isinstance(name, str):
        raise UserError("Choose a preset from the list.")
    try:
        return get_preset(name, engine.registry)
    except ConfigError as exc:
        raise UserError(sentence(message_of(exc))) from None


def preset_values(engine: "Engine", name: Any) -> PresetValues:
    """What choosing preset ``name`` puts in every field."""
    preset = find(engine, name)
    own = preset.params(engine.registry)
    chosen = preset.components()
    params = {
        kind: {
            component.name: own[kind] if component.name == chosen[kind] else component.defaults()
            for component in engine.registry.components(kind)
        }
        for kind in TRAINED_KINDS
    }
    return PresetValues(preset, chosen, params, preset.settings())


def preset_note(
    engine: "Engine",
    name: Any,
    choices: dict[str, Any],
    params: dict[str, dict[str, Any]],
    settings: dict[str, Any],
) -> tuple[str, bool]:
    """``(note, edited)`` for the form's values against preset ``name``.

    :param choices: ``{kind: component}`` as the form holds them.
    :param params: ``{kind: {param: value}}`` of the chosen components.
    :param settings: the run settings as the form holds them (others are ignored).
    :return: the preset's summary while the form holds it; else which fields differ.
    """
    preset = find(engine, name)
    config = TrainConfig(
        **{kind: str(choices.get(kind)) for kind in TRAINED_KINDS},
        params={kind: dict(values or {}) for kind, values in params.items() if isinstance(values, dict)},
        **{key: settings[key] for key in PRESET_SETTINGS if key in settings},
    )
    found = changes(preset, config, engine.registry)
    if not found:
        return preset.summary, False
    listed = "; ".join(found[:SHOWN_CHANGES])
    more = len(found) - SHOWN_CHANGES
    return (msg("Edited: {changes}; and {more} more.", changes=listed, more=more) if more > 0 else msg("Edited: {changes}.", changes=listed)), True


__all__ = ["PresetValues", "find", "preset_menu", "preset_note", "preset_values"]
