"""The Train tab's choices in the page's address, so that a link shares them.

``?dataset=mnist&model=mnist-cnn&optimizer=adam&loss=nll&optimizer.lr=0.002&epochs=3``:
the four components always, then what differs from its default: the chosen components'
hyperparameters (``<kind>.<param>``) and the run settings.  :func:`form_query` writes it
from the form's values (the tab puts it in the address as they change); :func:`form_from_query`
reads it back when a page opens with one, checking every value as a run would (a
server's limits included) and leaving out, with a note, what it cannot use: a link is
text anyone can edit.  Free of Gradio, so tests call it directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, Sequence
from urllib.parse import urlencode

from trainpad.engine.config import RUN_PARAMS
from trainpad.engine.params import Param, ParamError
from trainpad.web.i18n import tr

if TYPE_CHECKING:
    from trainpad.engine.engine import Engine

KINDS = ("dataset", "model", "optimizer", "loss")
#: The run settings a link holds (not the device: the machine opening the link has its own).
SETTINGS = ("epochs", "batch_size", "train_samples", "schedule", "seed")
#: A query longer than this is not read at all.
MAX_QUERY = 4000
#: At most this many things left out are named in the note.
SHOWN_PROBLEMS = 4


@dataclass
class LinkedForm:
    """What a link puts in the form.

    :param choices: the component of each kind it names (only those it names and exist).
    :param params: ``{kind: {param: value}}`` for the chosen components.
    :param settings: run settings, by :class:`~trainpad.engine.config.TrainConfig` name.
    :param problems: what was left out, one phrase each.
    """

    choices: dict[str, str] = field(default_factory=dict)
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.choices or self.params or self.settings)

    def note(self) -> str:
        """One line about what was left out ("" when nothing was), in the current language."""
        if not self.problems:
            return ""
        shown = "; ".join(self.problems[:SHOWN_PROBLEMS])
        if len(self.problems) > SHOWN_PROBLEMS:
            shown += tr(" (and {count} more)", count=len(self.problems) - SHOWN_PROBLEMS)
        return tr("The link's {what} could not be used; the rest of it is in the form.", what=shown)


def form_query(
    engine: "Engine",
    choices: Mapping[str, Any],
    params: Mapping[str, Mapping[str, Any]],
    settings: Mapping[str, Any],
    *,
    run_params: Sequence[Param] = RUN_PARAMS,
) -> str:
    """The query string for the form's values (without the ``?``).

    Values that would not pass a run's checks are left out, so a link always opens.
    """
    pairs: list[tuple[str, str]] = []
    for kind in KINDS:
        name = choices.get(kind)
        if isinstance(name, str) and name in engine.registry.names(kind):
            pairs.append((kind, name))
    for kind, name in pairs[:]:
        component = engine.registry.get(kind, name)
        given = params.get(kind) or {}
        for param in component.params:
            if param.name not in given:
                continue
            try:
                value = param.validate(given[param.name])
            except ParamError:
                continue
            if value != param.default:
                pairs.append((f"{kind}.{param.name}", _text(value)))
    by_name = {p.name: p for p in run_params}
    for name in SETTINGS:
        if name not in settings or name not in by_name:
            continue
        param = by_name[name]
        try:
            value = param.validate(settings[name])
        except ParamError:
            continue
        if value != param.default:
            pairs.append((name, _text(value)))
    return urlencode(pairs)


def form_from_query(engine: "Engine", query: Mapping[str, Any], *, run_params: Sequence[Param] = RUN_PARAMS) -> LinkedForm:
    """What the query of a link (``request.query_params``: name to text) puts in the form."""
    form = LinkedForm()
    items = [(str(k), v) for k, v in dict(query).items()]
    if sum(len(k) + len(str(v)) for k, v in items) > MAX_QUERY:
        form.problems.append(f"settings (over {MAX_QUERY:,} characters)")
        return form
    values = {k: v if isinstance(v, str) else str(v) for k, v in items}
    for kind in KINDS:
        name = values.pop(kind, None)
        if name is None:
            continue
        if name in engine.registry.names(kind):
            form.choices[kind] = name
        else:
            form.problems.append(f"{kind} {_short(name)} (not installed here)")
    by_name = {p.name: p for p in run_params}
    for name in SETTINGS:
        if name in values:
            text = values.pop(name)
            try:
                form.settings[name] = by_name[name].validate(text)
            except (ParamError, KeyError) as exc:
                form.problems.append(f"{name.replace('_', ' ')} {_short(text)} ({exc})")
    for key, text in values.items():
        kind, _, param_name = key.partition(".")
        if kind not in KINDS or not param_name:
            continue  # not ours (a tracking parameter, say): ignored quietly
        chosen = form.choices.get(kind)
        if chosen is None:
            form.problems.append(f"{_short(key)} (its {kind} is not in the link)")
            continue
        params = {p.name: p for p in engine.registry.get(kind, chosen).params}
        if param_name not in params:
            form.problems.append(f"{_short(key)} ({kind} {chosen} has no such hyperparameter)")
            continue
        try:
            form.params.setdefault(kind, {})[param_name] = params[param_name].validate(text)
        except ParamError as exc:
            form.problems.append(f"{_short(key)} {_short(text)} ({exc})")
    return form


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _short(text: Any, most: int = 40) -> str:
    text = str(text)
    return repr(text if len(text) <= most else text[: most - 1] + "…")


__all__ = ["LinkedForm", "SETTINGS", "form_from_query", "form_query"]
