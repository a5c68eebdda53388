"""An experiment run as a job: plain data in (a :class:`LabRequest`), events out.

:func:`lab_input` turns a request into the :class:`~trainpad.engine.lab.kit.LabInput` the
experiment gets (samples of the chosen dataset, or the learner's drawing and the session's
model's first convolution), and :func:`run` runs the experiment on it, passing on its
:class:`~trainpad.engine.lab.kit.LabProgress` events and ending with its
:class:`~trainpad.engine.lab.kit.LabResult`.  Both take and give plain, picklable data and
touch no global random state, so the run can happen in a thread, another process or a
forked worker; the CLI and the web app only read the events.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from trainpad.engine.engine import _prepare
from trainpad.engine.errors import ComponentError, ConfigError, blame
from trainpad.engine.lab.experiment import Experiment, experiment_of
from trainpad.engine.lab.kit import FirstConv, LabInput, LabProgress, LabResult
from trainpad.engine.message import message_of, msg
from trainpad.engine.params import Param, ParamError

if TYPE_CHECKING:
    from trainpad.engine.engine import Engine
    from trainpad.engine.registry import Component
    from trainpad.engine.trained_model import TrainedModel

#: The most memory an experiment's samples may take (float32 pictures of both splits together).
MAX_INPUT_BYTES = 512 * 2**20
#: The seed an experiment starts from (the Train tab's range).
SEED = Param("seed", int, 1, min=0, max=2**31 - 1, help="where the experiment's random numbers start")


@dataclass(frozen=True)
class LabRequest:
    """What to run, as plain data: the CLI's flags or the Lab tab's form.

    :param experiment: the experiment's name (``zero-grad``).
    :param dataset: the dataset its samples come from (experiments that need data).
    :param params: the experiment's hyperparameters; the ones left out take their defaults.
    :param seed: where its random numbers start.
    """

    experiment: str
    dataset: str = "mnist"
    params: dict[str, Any] = field(default_factory=dict)
    seed: int = 1


@dataclass(frozen=True)
class Prepared:
    """A request checked and ready to run: the experiment, its hyperparameters and its input."""

    experiment: Experiment
    component: "Component"
    params: dict[str, Any]
    lab: LabInput


def checked(engine: "Engine", request: LabRequest) -> tuple["Component", dict[str, Any], int]:
    """The request's experiment, its hyperparameters (defaults filled in) and its seed, checked.

    :raises ConfigError: an unknown experiment, a value out of range; nothing is loaded yet.
    """
    component = engine.component("experiment", request.experiment)
    if not isinstance(request.params, dict):
        raise ConfigError(f"the hyperparameters of {component.label} must be given by name")
    try:
        return component, component.validate(request.params), SEED.validate(request.seed)
    except ParamError as exc:
        raise ConfigError(message_of(exc)) from None


def lab_input(
    engine: "Engine",
    request: LabRequest,
    *,
    data_dir: Path | str | None = None,
    picture: Any = None,
    trained: "TrainedModel | None" = None,
    samples: bool = True,
) -> Prepared:
    """Check ``request`` and load what its experiment works on.

    :param picture: the learner's drawing (any picture, or a Gradio sketch value), for an
        experiment that needs one; without it, the first test picture of ``trained``'s dataset.
    :param trained: the session's model, whose first convolution a picture experiment shows.
    :param samples: ``False`` loads no samples (the input's tensors are empty): enough to
        write the experiment out as a script, which loads its own.
    :raises ConfigError: saying what is wrong: an unknown name, a value out of range, a
        model without a convolution, a blank drawing.
    """
    component, params, seed = checked(engine, request)
    experiment = experiment_of(component)
    if experiment.needs == "picture":
        lab = _picture_input(engine, experiment, seed, picture, trained, data_dir)
    else:
        lab = _data_input(engine, experiment, request.dataset, seed, data_dir, samples)
    return Prepared(experiment, component, params, lab)


def _data_input(engine: "Engine", experiment: Experiment, dataset: Any, seed: int, data_dir: Path | str | None, samples: bool) -> LabInput:
    import torch

    from trainpad.engine.lab.recipe import gather, spread_indices

    if not isinstance(dataset, str):
        raise ConfigError(f"choose the dataset from the list (got {type(dataset).__name__})")
    component = engine.component("dataset", dataset)
    meta = engine.dataset_meta(component)
    root = Path(data_dir) if data_dir is not None else None
    input_shape = tuple(int(n) for n in meta["input_shape"])
    nbytes = sum(experiment.samples) * 4 * math.prod(input_shape)
    if nbytes > MAX_INPUT_BYTES:
        raise ConfigError(
            msg(
                "the {name} experiment would hold {size} MB of {dataset} pictures, more than the {most} MB an experiment may: its pictures are "
                "too large for it",
                name=experiment.name, size=f"{nbytes / 2 ** 20:,.0f}", dataset=component.name, most=f"{MAX_INPUT_BYTES / 2 ** 20:,.0f}",
            )
        )
    splits: list[Any] = []
    for train, count in zip((True, False), experiment.samples):
        if not samples:
            splits += [torch.zeros((0, *input_shape)), torch.zeros(0, dtype=torch.long)]
            continue
        split = engine.load_dataset(component.name, None, train=train, root=root)
        with blame(component.label):
            splits += gather(split, spread_indices(len(split), count))
    if tuple(splits[0].shape[1:]) != input_shape:
        raise ComponentError(component.label, f"its pictures have shape {tuple(splits[0].shape[1:])}, not its input_shape {input_shape}")
    return LabInput(component.name, tuple(map(str, component.meta["class_names"])), input_shape, *splits, seed=seed)


def _picture_input(
    engine: "Engine", experiment: Experiment, seed: int, picture: Any, trained: "TrainedModel | None", data_dir: Path | str | None
) -> LabInput:
    import torch

    from trainpad.engine.lab.recipe import gather
    from trainpad.engine.pictures import BlankImage, ImageError

    if trained is None:
        raise ConfigError(msg("the {name} experiment looks at a model's first convolution: load or train a model first", name=experiment.name))
    conv = first_conv(trained.model)
    if conv is None:
        raise ConfigError(
            msg(
                "model {model} has no convolution, and the {name} experiment shows the first one: train a model that has some (mnist-cnn, lenet5)"
                " and come back",
                model=trained.spec['model']['name'], name=experiment.name,
            )
        )
    if picture is None:  # a test picture of the model's dataset
        dataset = trained.spec["dataset"]
        test = engine.load_dataset(dataset["name"], dataset.get("params"), train=False, root=Path(data_dir) if data_dir else None)
        x = gather(test, torch.tensor([0]))[0][0]
    else:
        try:
            x = _prepare(trained, picture).tensor[0]
        except BlankImage:
            raise ConfigError("the drawing is blank: draw something first") from None
        except ImageError as exc:
            raise ConfigError(message_of(exc)) from None
    shape = tuple(int(n) for n in trained.input_shape)
    empty = torch.zeros((0, *shape))
    labels = torch.zeros(0, dtype=torch.long)
    return LabInput(
        trained.spec["dataset"]["name"], tuple(trained.class_names), shape, empty, labels, empty, labels,
        seed=seed, picture=x.detach().float().cpu(), conv=conv,
    )  # fmt: skip


def first_conv(model: Any) -> FirstConv | None:
    """The first ``nn.Conv2d`` of ``model`` (in the order of its modules), as plain tensors."""
    from torch import nn

    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d) and isinstance(module.padding, tuple):
            bias = module.bias.detach().float().cpu().clone() if module.bias is not None else None
            return FirstConv(module.weight.detach().float().cpu().clone(), bias, tuple(module.stride), tuple(module.padding), name)
    return None


def run(prepared: Prepared) -> Iterator[LabProgress | LabResult]:
    """Run the experiment: its progress events, then its result, last.

    :raises ComponentError: the experiment raised, yielded something else, or ended
        without a result; the message names it.
    """
    label = prepared.component.label
    with blame(label):
        for event in prepared.component.factory(prepared.lab, **prepared.params):
            if isinstance(event, LabResult):
                yield event
                return
            if not isinstance(event, LabProgress):
                raise ComponentError(label, f"it yielded a {type(event).__name__}, not a LabProgress or a LabResult")
            yield event
    raise ComponentError(label, "it ended without yielding a LabResult")


def result_of(prepared: Prepared) -> LabResult:
    """Run the experiment to its end (:func:`run`) and return its result."""
    for event in run(prepared):
        if isinstance(event, LabResult):
            return event
    raise AssertionError("run() ends with a result")  # pragma: no cover


__all__ = ["LabRequest", "Prepared", "SEED", "checked", "lab_input", "first_conv", "run", "result_of"]
