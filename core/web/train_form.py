"""The Train tab's form, declared once: its fields by name, and how their values become a run.

Start, Step and "Download as a script" send the same fields, and the form's change
handler reads them too.  A :class:`FormSpec` holds those fields (the tab builds them:
:mod:`trainpad.plugins.train_tab`) under their names in the HTTP API, ``dataset``,
``epochs``, ``resume``, ``optimizer_sgd_lr``, and every event passes them as keyword
inputs (Gradio's ``inputs_kwargs=spec.inputs()``): the event's function takes
``**values`` and :meth:`FormSpec.config` makes them a
:class:`~trainpad.engine.config.TrainConfig`, in one place.  Free of Gradio (a field is
whatever the tab hands over), so tests call it with values alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from trainpad.engine.config import TrainConfig
from trainpad.engine.message import msg
from trainpad.web.forms import ParamControl, api_flag, values_for
from trainpad.web.messages import UserError

#: The form's field for "Carry on training the current model", by its API name.
RESUME = "resume"
#: The run settings that belong to the machine the form is on: presets and links leave them.
MACHINE_SETTINGS = ("device",)
#: Run settings that are whole numbers, which a form's number field sends as floats (``3.0``).
WHOLE_NUMBERS = ("epochs", "batch_size", "seed", "train_samples", "test_samples")


@dataclass(frozen=True)
class FormValues:
    """One event's form values, sorted out.

    :param choices: the component of each kind (``{"optimizer": "sgd"}``), as sent.
    :param params: the chosen components' hyperparameters, ``{kind: {param: value}}``.
    :param settings: the run settings, by :class:`~trainpad.engine.config.TrainConfig` name.
    """

    choices: dict[str, Any]
    params: dict[str, dict[str, Any]]
    settings: dict[str, Any]

    def config(self) -> TrainConfig:
        """These values as a run's configuration (see :func:`train_config`)."""
        return train_config(self.choices, self.params, self.settings)


@dataclass(frozen=True)
class FormSpec:
    """The Train form's fields, and the one reading of what they send.

    :param dropdowns: each kind's component menu, ``{"dataset": ..., "model": ...}``.
    :param settings: the run settings' fields by TrainConfig name, in the form's order.
    :param controls: every component's hyperparameter controls (shown or not).
    :param resume: the "Carry on training" checkbox.
    """

    dropdowns: Mapping[str, Any]
    settings: Mapping[str, Any]
    controls: Sequence[ParamControl]
    resume: Any = None

    def inputs(self, *, resume: bool = False) -> dict[str, Any]:
        """The fields by their names in the HTTP API, in its order: the components, the run
        settings (with ``resume`` if asked), then every hyperparameter."""
        named = {**self.dropdowns, **self.settings}
        if resume:
            named[RESUME] = self.resume
        named.update({c.key: c.control for c in self.controls})
        return named

    @property
    def portable(self) -> dict[str, Any]:
        """The run settings' fields that a preset or a link fills (not the machine's own)."""
        return {name: field for name, field in self.settings.items() if name not in MACHINE_SETTINGS}

    @property
    def fields(self) -> list[Any]:
        """What a preset or a link fills: the menus, the hyperparameters, :attr:`portable`."""
        return [*self.dropdowns.values(), *(c.control for c in self.controls), *self.portable.values()]

    def read(self, values: Mapping[str, Any]) -> FormValues:
        """An event's ``values`` (by API name, as sent) sorted out; the chosen components'
        hyperparameters only.

        :raises UserError: a checkbox's value is neither true nor false.
        """
        choices = {kind: values[kind] for kind in self.dropdowns}
        params = {kind: values_for(self.controls, kind, name, values) for kind, name in choices.items()}
        return FormValues(choices, params, {name: values[name] for name in self.settings})

    def config(self, values: Mapping[str, Any]) -> TrainConfig:
        """An event's ``values`` as a run's configuration, checked as far as the form can be
        (the run's job checks the rest: ranges, names of components).

        :raises UserError: a menu's value is not a name, or a checkbox's not a flag.
        """
        return self.read(values).config()

    def resumed(self, values: Mapping[str, Any]) -> bool:
        """Whether the event asks to carry on training the current model."""
        return api_flag(values[RESUME], "Carry on training")


def train_config(choices: dict[str, Any], params: dict[str, dict[str, Any]], settings: dict[str, Any]) -> TrainConfig:
    """A :class:`~trainpad.engine.config.TrainConfig` from the form's values (checked by the run's job).

    Whole numbers sent as floats become ints; a kind without hyperparameters is left out.

    :raises UserError: a component's name is not text (the API can send anything in place of a menu's value).
    """
    for kind, name in choices.items():
        if not isinstance(name, str) or not name.strip():
            raise UserError(msg("Choose the {kind} from the list (got {value}).", kind=msg(kind), value=f"{name!r:.40}"))
    values = dict(settings)
    for name in WHOLE_NUMBERS:
        if isinstance(values.get(name), float) and float(values[name]).is_integer():
            values[name] = int(values[name])
    return TrainConfig(**choices, params={k: v for k, v in params.items() if v}, **values)


__all__ = ["FormSpec", "FormValues", "train_config"]
