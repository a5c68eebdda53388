"""Form fields for components' hyperparameters, and their names in the HTTP API.

Gradio is imported inside the functions, so that importing this module (as the CLI
does through the tab plugins) stays light.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

from trainpad.engine.errors import shown
from trainpad.engine.message import msg
from trainpad.engine.params import Param
from trainpad.web.messages import UserError

if TYPE_CHECKING:
    import gradio as gr

    from trainpad.engine.registry import Component


@dataclass(frozen=True)
class ParamControl:
    """A control for one hyperparameter of one component.

    :param key: its name in the HTTP API (``optimizer_sgd_lr``).
    """

    kind: str
    component: str
    param: Param
    key: str
    control: Any


def api_key(kind: str, component: str, param: str) -> str:
    """The API parameter name of a component's hyperparameter: ``optimizer_sgd_lr``."""
    return re.sub(r"[^0-9A-Za-z_]", "_", f"{kind}_{component}_{param}")


def control_id(kind: str, component: str, param: str) -> str:
    """The page's element id of a hyperparameter's control: ``tp-param-optimizer-sgd-lr``."""
    return "tp-param-" + re.sub(r"[^0-9A-Za-z]+", "-", f"{kind}-{component}-{param}")


def param_label(name: str) -> str:
    """``weight_decay`` -> ``weight decay``."""
    return name.replace("_", " ")


def param_info(param: Param) -> str:
    """The help text with the allowed range, for a control's ``info``."""
    text = param.help.strip()
    if param.choices is None and (param.min is not None or param.max is not None):
        lo = _fmt(param.min) if param.min is not None else "-inf"
        hi = _fmt(param.max) if param.max is not None else "inf"
        text = f"{text} ({lo} to {hi})" if text else f"{lo} to {hi}"
    return text


def _fmt(value: float) -> str:
    return f"{value:g}"


def param_control(param: Param, **kwargs: Any) -> "gr.Component":
    """A Gradio control for ``param``: int -> Number(precision=0), float -> Number,
    bool -> Checkbox, choices -> Dropdown; its help becomes the control's ``info``."""
    import gradio as gr

    common = dict(label=param_label(param.name), value=param.default, info=param_info(param) or None, **kwargs)
    if param.choices is not None:
        return gr.Dropdown(choices=list(param.choices), **common)
    if param.type is bool:
        return gr.Checkbox(**common)
    if param.type is int:
        return gr.Number(precision=0, minimum=param.min, maximum=param.max, step=1, **common)
    if param.type is float:
        return gr.Number(minimum=param.min, maximum=param.max, step=_step(param), **common)
    return gr.Textbox(**common)


def _step(param: Param) -> float:
    """A step for a float's arrows: a tenth of the default's order of magnitude."""
    value = abs(float(param.default)) or float(param.max or 1.0)
    return 10.0 ** (math.floor(math.log10(value)) - 1) if value > 0 else 0.01


def component_controls(component: "Component", *, per_row: int = 2) -> list[ParamControl]:
    """Controls for every hyperparameter of ``component``, laid out ``per_row`` a row.

    Call it inside a Gradio layout block.
    """
    import gradio as gr

    controls: list[ParamControl] = []
    params = list(component.params)
    for start in range(0, len(params), per_row):
        with gr.Row(equal_height=True):
            for param in params[start : start + per_row]:
                key = api_key(component.kind, component.name, param.name)
                control = param_control(param, min_width=120, elem_id=control_id(component.kind, component.name, param.name))
                controls.append(ParamControl(component.kind, component.name, param, key, control))
    return controls


def values_for(controls: Sequence[ParamControl], kind: str, component: str, given: dict[str, Any]) -> dict[str, Any]:
    """The values of one component's controls out of an event's keyword values.

    A checkbox's value must be a boolean (or ``"true"``/``"false"``), whatever the HTTP
    API sends: :func:`api_flag`.
    """
    return {
        c.param.name: api_flag(given[c.key], f"{kind} {component}: {c.param.name}") if c.param.type is bool else given[c.key]
        for c in controls
        if c.kind == kind and c.component == component and c.key in given
    }


def api_flag(value: Any, name: str) -> bool:
    """A checkbox's value as sent over the API: ``true``/``false``, or those words as strings.

    Anything else is refused rather than guessed at (``bool("false")`` is ``True``).

    :raises UserError: naming the control and what it got.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise UserError(msg("{name} must be true or false, got {value}.", name=name, value=shown(value)))
