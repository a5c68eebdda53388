"""The engine: plugins in, components out, and training, evaluation and prediction.

The web app, the CLI and tests all drive this one API::

    engine = Engine.load()
    run = engine.build_run(TrainConfig(epochs=1))
    for event in run.events():
        ...
    trained = run.result.trained
    engine.evaluate(trained)
    engine.predict(trained, picture)
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import random
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Callable, Iterable

import pluggy

from trainpad.engine.config import DEFAULT_INPUT_SHAPE, RUN_PARAMS, TRAINED_KINDS, TrainConfig
from trainpad.engine.errors import ComponentError, ConfigError, TrainpadError, blame
from trainpad.engine.message import message_of
from trainpad.engine.pairing import pair, pairing_note
from trainpad.engine.params import ParamError
from trainpad import settings
from trainpad.engine.progress import say
from trainpad.engine.plugin_loader import PluginError, PluginInfo, load_plugins, make_plugin_manager
from trainpad.engine.registry import KINDS, Component, Registry, RegistrationError, UnknownComponent, make_component
from trainpad.engine.tabs import Tab

# torch (and what needs it) is imported by the methods that train, evaluate or predict:
# loading the plugins and building the app's forms do not need it, and the app answers
# its first request seconds sooner without it (see docs/benchmarks.md, start-up).
if TYPE_CHECKING:
    import numpy as np
    import torch
    from torch.utils.data import Dataset

    from trainpad.runtime.distributed import DistContext
    from trainpad.engine.checkpoint import CheckpointLimits
    from trainpad.engine.evaluation import Evaluation
    from trainpad.engine.export import ExportedScript
    from trainpad.engine.inside import Inside
    from trainpad.engine.lab.experiment import Experiment
    from trainpad.engine.lab.runner import LabRequest, Prepared
    from trainpad.engine.run_state import RunState
    from trainpad.engine.trained_model import TrainedModel
    from trainpad.engine.training import TrainingRun

log = logging.getLogger("trainpad")

#: The hook that registers each kind of component.
HOOK_FOR_KIND = {
    "dataset": "register_datasets",
    "model": "register_models",
    "optimizer": "register_optimizers",
    "loss": "register_losses",
    "callback": "register_callbacks",
    "experiment": "register_experiments",
}


@dataclass(frozen=True)
class Prediction:
    """What a model makes of one picture.

    :param probabilities: class name to probability, in class order.
    :param seen: the picture as the model saw it (uint8, light on dark).
    """

    probabilities: dict[str, float]
    seen: np.ndarray

    def top(self, k: int = 3) -> list[tuple[str, float]]:
        return sorted(self.probabilities.items(), key=lambda item: -item[1])[:k]


class Engine:
    """Holds the plugin manager and the registry built from it.

    Build one with :meth:`load` (or ``Engine(pm, infos).startup()`` in tests).
    """

    def __init__(self, pm: pluggy.PluginManager, plugins: dict[str, PluginInfo] | None = None) -> None:
        self.pm = pm
        self.plugins: dict[str, PluginInfo] = plugins if plugins is not None else {}
        self.registry = Registry()
        self.tabs: list[Tab] = []
        #: (kind, name) -> plugin, for components registered by a plugin that then failed
        self._lost: dict[tuple[str, str], str] = {}
        self._started = False
        self._datasets: dict[tuple, Dataset] = {}
        self._datasets_lock = threading.Lock()

    @classmethod
    def load(cls, *, entrypoints: bool = True) -> "Engine":
        """Load the built-in and installed plugins and collect their components."""
        pm = make_plugin_manager()
        return cls(pm, load_plugins(pm, entrypoints=entrypoints)).startup()

    # -- start-up --------------------------------------------------------------

    def startup(self) -> "Engine":
        """Call every ``register_*`` hook once and build the registry.

        Each plugin's hook call is guarded: a plugin that raises or registers something
        invalid loses all its components and is marked ``failed``; the others are kept.
        Of two components (or tabs) with one name, the built-in's is kept, else the
        first called; the other is reported on its plugin.  Calling it again does nothing.
        """
        if self._started:
            return self
        strict = settings.get("TRAINPAD_STRICT_PLUGINS")
        trace = self.pm.trace.root.get("startup")  # prints only with TRAINPAD_TRACE_PLUGINS=1
        staged: list[Component] = []
        tabs: list[Tab] = []
        failed: dict[str, str] = {}

        for kind, hook_name in HOOK_FOR_KIND.items():
            for impl in self._call_order(hook_name):
                plugin = impl.plugin_name

                def register(name: str, factory: Callable[..., Any], _kind=kind, _plugin=plugin, **kwargs: Any) -> None:
                    staged.append(make_component(_kind, name, factory, plugin=_plugin, **kwargs))
                    trace("  registered", _kind, repr(name))

                self._call_impl(impl, hook_name, register, failed, strict)

        for impl in self._call_order("register_tabs"):
            plugin = impl.plugin_name

            def register_tab(label: str, build: Callable[..., Any], *, order: int = 100, _plugin=plugin) -> None:
                if not isinstance(label, str) or not label.strip() or not callable(build):
                    raise RegistrationError("register(label, build) needs a label and a callable build(engine)")
                tabs.append(Tab(label, build, int(order), _plugin))
                trace("  registered tab", repr(label))

            self._call_impl(impl, "register_tabs", register_tab, failed, strict)

        # Built-ins first (in DEFAULT_PLUGINS order, whatever pluggy's call order), then
        # the others in call order: the first of a name wins.
        builtin = {name: rank for rank, (name, info) in enumerate(self.plugins.items()) if info.builtin}
        staged.sort(key=lambda component: (component.plugin not in builtin, builtin.get(component.plugin, 0)))
        for component in staged:
            if component.plugin in failed:
                self._lost.setdefault((component.kind, component.name), component.plugin)
                continue
            try:
                self.registry.add(component)
            except RegistrationError as exc:
                if strict:
                    raise PluginError(str(exc)) from exc
                self.report_failure(component.plugin, str(exc), keep_status=True)
        tabs.sort(key=lambda tab: tab.plugin not in builtin)
        labels: dict[str, str] = {}
        for tab in tabs:
            if tab.plugin in failed:
                continue
            if tab.label in labels:
                reason = (
                    f"tab {tab.label!r} is registered twice: by plugin {labels[tab.label]!r} and by plugin "
                    f"{tab.plugin!r}; the one from {labels[tab.label]!r} is kept"
                )
                if strict:
                    raise PluginError(reason)
                self.report_failure(tab.plugin, reason, keep_status=True)
                continue
            labels[tab.label] = tab.plugin
            self.tabs.append(tab)
        self.tabs.sort(key=lambda tab: tab.order)
        for plugin, reason in failed.items():
            self.report_failure(plugin, reason)
        self._started = True
        return self

    def _call_order(self, hook_name: str) -> list[Any]:
        """The hook's implementations in the order pluggy would call them, wrappers left out."""
        impls = getattr(self.pm.hook, hook_name).get_hookimpls()
        return [impl for impl in reversed(impls) if not (impl.hookwrapper or getattr(impl, "wrapper", False))]

    def _call_impl(self, impl: Any, hook_name: str, register: Callable[..., Any], failed: dict[str, str], strict: bool) -> None:
        """Call one plugin's implementation of ``hook_name``; record it in ``failed`` if it raises."""
        plugin = impl.plugin_name
        if plugin in failed:
            return
        self.pm.trace.root.get("startup")(hook_name, "plugin", plugin)
        try:
            impl.function(**{name: register for name in impl.argnames})
        except Exception as exc:
            if strict:
                raise PluginError(f'plugin "{plugin}": {exc}') from exc
            if isinstance(exc, RegistrationError):
                failed[plugin] = str(exc)
            else:
                failed[plugin] = f"{hook_name} raised {type(exc).__name__}: {exc}"

    def report_failure(self, plugin: str, reason: str, *, keep_status: bool = False, exc: BaseException | None = None) -> None:
        """Record that something of ``plugin``'s failed (shown by ``trainpad plugins`` and the Plugins tab).

        :param keep_status: the plugin still loaded (one component or tab of it was
            refused); otherwise it is marked ``failed``.
        """
        info = self.plugins.setdefault(plugin, PluginInfo(plugin))
        if not keep_status:
            info.status = "failed"
        info.error = f"{info.error}; {reason}" if info.error else reason
        log.warning('Error in plugin "%s": %s', plugin, reason, exc_info=exc)

    # -- components --------------------------------------------------------------

    def component(self, kind: str, name: str, *, plugin: str | None = None) -> Component:
        """The registered component, or a :class:`ConfigError` saying why there is none
        (see :meth:`why_missing`) and naming the alternatives.

        :param plugin: the plugin expected to provide it (a checkpoint records it).
        """
        try:
            return self.registry.get(kind, name)
        except UnknownComponent as exc:
            reason = self.why_missing(kind, name, plugin=plugin)
            raise ConfigError(f"{exc}. {reason}" if reason else str(exc)) from None

    def why_missing(self, kind: str, name: str, *, plugin: str | None = None) -> str:
        """Why no ``kind`` named ``name`` is registered, as a sentence with what to do,
        or ``""`` when nothing is known (a typo, say).

        The plugin that should provide it is ``plugin`` when given, else the one that
        registered it before it failed.  Failing that, the plugins that are switched
        off (failed or disabled) are named, as the ones that might provide it.
        """
        plugin = plugin or self._lost.get((kind, name))
        if plugin:
            info = self.plugins.get(plugin)
            if info is None:
                return f"It comes from plugin {plugin!r}, which is not installed: install it and try again."
            if info.status != "loaded":
                return f"It comes from a plugin that is switched off: {info.switched_off().rstrip('.')}."
            return f"It came from plugin {plugin!r}, which is loaded but no longer registers a {kind} named {name!r}."
        off = [info.switched_off().rstrip(".") for info in self.plugins.values() if info.status != "loaded"]
        if off:
            return "It may come from a plugin that is switched off: " + "; ".join(off) + "."
        return ""

    def load_checkpoint(
        self, source: str | os.PathLike[str] | IO[bytes], *, device: str | torch.device = "cpu", limits: CheckpointLimits | None = None
    ) -> TrainedModel:
        """Rebuild the model a checkpoint file (or binary stream) describes, weights checked.

        A checkpoint whose model is missing says why: its plugin is not installed, is
        disabled (and by which setting), or failed to load (with its error).

        :param limits: what the checkpoint may ask for (a public server's caps), checked
            before its model is built; none by default.
        :raises trainpad.engine.errors.CheckpointError: for any refusal, saying what was wrong.
        """
        from trainpad.engine.checkpoint import load_checkpoint

        return load_checkpoint(self.registry, source, device=device, why_missing=self.why_missing, limits=limits)

    def model_from_payload(self, payload: dict[str, Any], *, device: str | torch.device = "cpu") -> TrainedModel:
        """Rebuild a model from checkpoint data (:func:`trainpad.engine.checkpoint.to_payload`):
        what a job sends back, as :meth:`load_checkpoint` rebuilds a file's."""
        from trainpad.engine.checkpoint import model_from_payload

        return model_from_payload(self.registry, payload, device=device, why_missing=self.why_missing)

    def failed_plugins(self) -> list[PluginInfo]:
        """Plugins that failed, or that loaded with something of theirs refused."""
        return [info for info in self.plugins.values() if info.status == "failed" or info.error]

    def listing(self) -> dict[str, Any]:
        """Plugins, components and tabs as JSON-ready data (``trainpad plugins --json``)."""
        return {
            "plugins": [info.to_dict() for info in self.plugins.values()],
            "components": [component.to_dict() for component in self.registry],
            "tabs": [{"label": tab.label, "order": tab.order, "plugin": tab.plugin} for tab in self.tabs],
        }

    def load_dataset(self, name: str, params: dict[str, Any] | None = None, *, train: bool, root: Path | None = None) -> Dataset:
        """The dataset's split, loaded once and shared (datasets are read-only)."""
        from trainpad.engine.data import DataUnavailable, default_data_dir

        component = self.component("dataset", name)
        values = self._validate(component, params)
        root = Path(root) if root is not None else default_data_dir()
        key = (name, tuple(sorted(values.items())), train, str(root))
        split = "training" if train else "test"
        loaded = self._datasets.get(key)
        if loaded is not None:  # without the lock, which a download may hold for minutes
            return loaded
        if not self._datasets_lock.acquire(blocking=False):
            say(f"Waiting for {component.label}: another run is loading a dataset…")
            self._datasets_lock.acquire()
        try:
            if key not in self._datasets:
                say(f"Loading the {split} split of {component.label}…")
                try:
                    with blame(component.label):
                        self._datasets[key] = component.factory(root=root, train=train, **values)
                except DataUnavailable as exc:
                    raise ConfigError(str(exc), public=exc.public) from None
            return self._datasets[key]
        finally:
            self._datasets_lock.release()

    def _validate(self, component: Component, params: dict[str, Any] | None) -> dict[str, Any]:
        try:
            return component.validate(params)
        except ParamError as exc:
            raise ConfigError(message_of(exc)) from None

    def dataset_meta(self, component: Component) -> dict[str, Any]:
        meta = component.meta
        return {
            "input_shape": list(meta.get("input_shape", DEFAULT_INPUT_SHAPE)),
            "mean": list(meta.get("mean", (0.0,))),
            "std": list(meta.get("std", (1.0,))),
            "ink": meta.get("ink"),
        }

    def build_model(self, name: str, params: dict[str, Any] | None, *, input_shape: Iterable[int], num_classes: int) -> torch.nn.Module:
        import torch

        component = self.component("model", name)
        values = self._validate(component, params)
        with blame(component.label):
            model = component.factory(input_shape=tuple(input_shape), num_classes=num_classes, **values)
        if not isinstance(model, torch.nn.Module):
            raise ComponentError(component.label, f"its factory returned {type(model).__name__}, not a torch.nn.Module")
        return model

    # -- training ----------------------------------------------------------------

    def check_config(
        self, config: TrainConfig, run_params: tuple = RUN_PARAMS
    ) -> tuple[TrainConfig, dict[str, Component], dict[str, dict[str, Any]]]:
        """Check ``config`` without building anything: its settings against ``run_params``
        (the device's name included, not whether this machine has it), its components and their hyperparameters (any loss fits any model: see
        :mod:`trainpad.engine.pairing`).

        :return: the checked config, the component of each kind, and each kind's
            hyperparameters with the defaults filled in.
        :raises ConfigError: saying what does not fit.
        """
        from trainpad.runtime.device import device_name

        try:
            config = config.validated(run_params)
            config.device = device_name(config.device)  # the name only: the machine that trains has it or not
        except ValueError as exc:  # a ParamError, or the device's name
            raise ConfigError(message_of(exc)) from None
        parts = {kind: self.component(kind, getattr(config, kind)) for kind in TRAINED_KINDS}
        unknown = set(config.params) - set(TRAINED_KINDS)
        if unknown:
            raise ConfigError(f"hyperparameters given for unknown kind(s) {', '.join(sorted(unknown))}")
        values = {kind: self._validate(parts[kind], config.params.get(kind)) for kind in TRAINED_KINDS}
        return config, parts, values

    def export_script(self, config: TrainConfig, *, run_params: tuple = RUN_PARAMS, data_dir: str | None = None) -> "ExportedScript":
        """``config``'s run as a standalone PyTorch script (see :mod:`trainpad.engine.export`).

        :param data_dir: the script's default data folder.
        :raises ConfigError: as :meth:`build_run` would, before anything is written.
        """
        from trainpad.engine.export import export_script

        return export_script(self, config, run_params=run_params, data_dir=data_dir)

    def build_run(
        self,
        config: TrainConfig,
        *,
        data_dir: Path | str | None = None,
        resume: TrainedModel | None = None,
        state: "RunState | None" = None,
        run_params: tuple = RUN_PARAMS,
        callbacks: Iterable[tuple[str, Any]] = (),
        distributed: "DistContext | None" = None,
    ) -> TrainingRun:
        """Check ``config``, build every piece of the run, and return it ready to train.

        :param resume: carry on training this model (its model and dataset must be
            the ones ``config`` names).
        :param state: carry on this run where it was (see :meth:`TrainingRun.state
            <trainpad.engine.training.TrainingRun.state>`); ``config`` is the one it was built from.
        :param run_params: the allowed settings (a server narrows the ranges).
        :param callbacks: extra ``(name, Callback)`` pairs, after the registered ones.
        :param distributed: this process's part in a torchrun run (see
            :func:`trainpad.runtime.distributed.setup`): the model is wrapped in DDP, the data
            sharded, ``config.batch_size`` is per process, and only rank 0 gets callbacks.
        :raises ConfigError: for settings that do not fit, before anything is trained.
        :raises ComponentError: when a component's factory fails.
        """
        import torch

        from trainpad.engine.data import make_loader
        from trainpad.runtime.device import resolve_device
        from trainpad.engine.trained_model import TrainedModel, probabilities
        from trainpad.engine.training import RunParts, TrainingRun

        if resume is not None:
            for kind in ("dataset", "model"):
                if resume.spec[kind]["name"] != getattr(config, kind):
                    raise ConfigError(
                        f"the loaded model was trained with {kind} {resume.spec[kind]['name']!r}, "
                        f"not {getattr(config, kind)!r}; choose the same {kind} to carry on training it"
                    )
        config, parts, values = self.check_config(config, run_params)
        output = parts["model"].meta.get("output", "logits")
        expects = parts["loss"].meta.get("expects", "logits")
        try:
            device = distributed.device if distributed is not None else resolve_device(config.device)
        except ValueError as exc:
            raise ConfigError(message_of(exc)) from None
        if resume is not None:
            values["model"] = dict(resume.spec["model"].get("params") or {})
        if state is not None:
            values["model"] = dict(state.spec["model"].get("params") or {})

        dataset = parts["dataset"]
        class_names = list(dataset.meta["class_names"])
        # In a distributed run one process per machine loads (downloads) first.
        with distributed.local_main_first() if distributed is not None else contextlib.nullcontext():
            train_set, test_set = self._splits(config, values["dataset"], data_dir)

        torch.manual_seed(config.seed)
        generator = torch.Generator().manual_seed(config.seed)
        meta = self.dataset_meta(dataset)
        say(f"Building the {parts['model'].label}…")
        model = self.build_model(config.model, values["model"], input_shape=meta["input_shape"], num_classes=len(class_names))
        if resume is not None:
            model.load_state_dict(resume.model.state_dict())
        model.to(device)
        with blame(parts["optimizer"].label):
            optimizer = parts["optimizer"].factory(model.parameters(), **values["optimizer"])
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise ComponentError(parts["optimizer"].label, f"its factory returned {type(optimizer).__name__}, not an Optimizer")
        with blame(parts["loss"].label):
            loss_fn = parts["loss"].factory(**values["loss"])
        if not callable(loss_fn):
            raise ComponentError(parts["loss"].label, "its factory did not return a callable loss(output, target)")
        loss_fn = pair(loss_fn, output=output, expects=expects)  # logits or log-probabilities, as the loss takes them
        train_sampler = test_sampler = None
        if distributed is not None:
            model = distributed.wrap(model)
            torch.manual_seed(config.seed + distributed.rank)  # dropout differs across processes
            train_sampler = distributed.train_sampler(train_set, config.seed)
            test_sampler = distributed.test_sampler(test_set)

        spec = {
            kind: {"name": parts[kind].name, "plugin": parts[kind].plugin, "params": values[kind]} for kind in TRAINED_KINDS
        }
        spec["run"] = config.settings()
        to_probs = functools.partial(probabilities, kind=output)

        def make_trained(trained_model: torch.nn.Module, metrics: dict[str, float], epochs: int) -> TrainedModel:
            if distributed is not None:
                trained_model = distributed.local(trained_model)  # the model inside DDP
            return TrainedModel(trained_model, spec, class_names, output, meta, metrics, epochs)

        pin = device.type == "cuda"
        run = TrainingRun(
            RunParts(
                config=config,
                model=model,
                optimizer=optimizer,
                loss_fn=loss_fn,
                train_loader=make_loader(
                    train_set, batch_size=config.batch_size, shuffle=True, generator=generator, sampler=train_sampler, pin_memory=pin
                ),
                test_loader=make_loader(test_set, batch_size=1000, shuffle=False, sampler=test_sampler, pin_memory=pin),
                device=device,
                labels={kind: parts[kind].label for kind in TRAINED_KINDS},
                make_trained=make_trained,
                num_classes=len(class_names),
                to_probs=to_probs,
                callbacks=self._callbacks() + list(callbacks) if distributed is None or distributed.is_main else [],
                epochs_before=state.epochs_before if state is not None else resume.epochs if resume is not None else 0,
                distributed=distributed,
                train_sampler=train_sampler,
                data_generator=generator if distributed is None else None,
                spec=spec,
                pairing=pairing_note(model=config.model, output=output, loss=config.loss, expects=expects),
            )
        )
        if state is not None:
            run.restore(state)
        return run

    def load_data(self, config: TrainConfig, *, data_dir: Path | str | None = None, run_params: tuple = RUN_PARAMS) -> None:
        """Load (maybe download) the data ``config`` trains on, so that :meth:`build_run`
        finds it loaded: a job loads it first, then builds its run under its own random
        state (see :mod:`trainpad.engine.randomness`), which it holds only briefly.

        :raises ConfigError: as :meth:`build_run` would.
        """
        config, _, values = self.check_config(config, run_params)
        self._splits(config, values["dataset"], data_dir)

    def _splits(self, config: TrainConfig, params: dict[str, Any], data_dir: Path | str | None) -> tuple[Dataset, Dataset]:
        """The training and test splits ``config`` asks for (``params``: the dataset's, checked)."""
        from trainpad.engine.data import take

        root = Path(data_dir) if data_dir is not None else None
        train_set = take(self.load_dataset(config.dataset, params, train=True, root=root), config.train_samples or None)
        test_set = take(self.load_dataset(config.dataset, params, train=False, root=root), config.test_samples or None)
        return train_set, test_set

    def _callbacks(self) -> list[tuple[str, Any]]:
        found = []
        for component in self.registry.components("callback"):
            # Nothing a user picks leaves a callback out: say how to switch it off.
            hint = (
                f"Every run builds every callback, so no run can start until plugin {component.plugin!r} "
                f"is fixed or switched off (TRAINPAD_DISABLE_PLUGINS={component.plugin})"
            )
            with blame(component.label, hint):
                callback = component.factory(**component.defaults())
            if callback is not None:
                found.append((component.name, callback))
        return found

    # -- the Lab -------------------------------------------------------------------

    def experiments(self) -> list["Experiment"]:
        """Every registered Lab experiment, with its versions of the code (:mod:`trainpad.engine.lab`)."""
        from trainpad.engine.lab.experiment import experiment_of

        return [experiment_of(component) for component in self.registry.components("experiment")]

    def prepare_experiment(
        self,
        request: "LabRequest",
        *,
        data_dir: Path | str | None = None,
        picture: Any = None,
        trained: TrainedModel | None = None,
        samples: bool = True,
    ) -> "Prepared":
        """Check ``request`` and load what its experiment works on; run it with
        :func:`trainpad.engine.lab.runner.run` (see :func:`~trainpad.engine.lab.runner.lab_input`).

        :raises ConfigError: saying what is wrong, before anything runs.
        """
        from trainpad.engine.lab.runner import lab_input

        return lab_input(self, request, data_dir=data_dir, picture=picture, trained=trained, samples=samples)

    def export_experiment(self, prepared: "Prepared", *, data_dir: str | None = None) -> "ExportedScript":
        """A prepared experiment as a standalone PyTorch script (:mod:`trainpad.engine.lab.script`)."""
        from trainpad.engine.lab.script import export_experiment

        return export_experiment(self, prepared, data_dir=data_dir)

    # -- evaluation and prediction -----------------------------------------------

    def evaluate(
        self,
        trained: TrainedModel,
        *,
        data_dir: Path | str | None = None,
        samples: int = 0,
        mistakes: int = 24,
        batch_size: int = 1000,
        should_stop: Callable[[], bool] | None = None,
        answers: int = 0,
        seed: int | None = None,
    ) -> Evaluation:
        """Evaluate ``trained`` on the test split of the dataset it was trained on.

        :param mistakes: how many of the most confident mistakes to keep.
        :param should_stop: asked before each batch; when true the evaluation ends there
            (``Evaluation.stopped``), covering the samples seen so far.
        :param answers: how many test samples, drawn at random, to keep the answers of
            (:attr:`Evaluation.answers <trainpad.engine.evaluation.Evaluation.answers>`), right or wrong.
        :param seed: draws the same samples again; ``None`` draws new ones each time.
        """
        from trainpad.engine.data import make_loader, take
        from trainpad.engine.evaluation import evaluate

        dataset_spec = trained.spec["dataset"]
        self.component("dataset", dataset_spec["name"], plugin=dataset_spec.get("plugin"))  # says why it is missing
        test_set = self.load_dataset(
            dataset_spec["name"], dataset_spec.get("params"), train=False, root=Path(data_dir) if data_dir else None
        )
        test_set = take(test_set, samples or None)
        show = None
        if answers:

            import torch

            generator = torch.Generator().manual_seed(random.SystemRandom().randrange(2**63) if seed is None else seed)
            show = torch.randperm(len(test_set), generator=generator)[:answers]
        loss_spec = trained.spec.get("loss")
        if loss_spec and loss_spec.get("name") in self.registry.names("loss"):
            loss_component = self.component("loss", loss_spec["name"])
            with blame(loss_component.label):
                loss_fn = loss_component.factory(**self._validate(loss_component, loss_spec.get("params")))
            loss_fn = pair(loss_fn, output=trained.output, expects=loss_component.meta.get("expects", "logits"))
        else:
            loss_fn = _nll_of(trained)
        with blame(f"model {trained.spec['model']['name']}"):
            return evaluate(
                trained.model,
                make_loader(test_set, batch_size=batch_size, shuffle=False),
                loss_fn=loss_fn,
                to_probs=trained.probabilities,
                num_classes=len(trained.class_names),
                device=trained.device,
                mistakes=mistakes,
                should_stop=should_stop,
                show=show,
            )

    def predict(self, trained: TrainedModel, image: Any) -> Prediction:
        """Classify one picture (any size or mode, or a Gradio sketch value).

        :raises trainpad.engine.pictures.BlankImage: nothing is drawn.
        :raises trainpad.engine.pictures.ImageError: not a readable picture.
        """
        import torch

        prepared = _prepare(trained, image)
        with torch.inference_mode(), blame(f"model {trained.spec['model']['name']}"):
            probs = trained.probabilities(trained.model(prepared.tensor.to(trained.device)))[0].float().cpu()
        return Prediction(dict(zip(trained.class_names, probs.tolist())), prepared.seen)

    def look_inside(self, trained: TrainedModel, image: Any) -> "Inside":
        """Classify one picture as :meth:`predict` does, and look inside the model while it does:
        each convolution's feature maps, each linear layer's units and a saliency map
        (see :mod:`trainpad.engine.inside`).

        :raises trainpad.engine.pictures.BlankImage: nothing is drawn.
        :raises trainpad.engine.pictures.ImageError: not a readable picture.
        """
        from trainpad.engine.inside import look_inside

        prepared = _prepare(trained, image)
        with blame(f"model {trained.spec['model']['name']}"):
            return look_inside(trained, prepared.tensor, prepared.seen)


def _prepare(trained: TrainedModel, image: Any) -> Any:
    """``image`` as ``trained``'s dataset would give it (a :class:`trainpad.engine.pictures.Prepared`)."""
    from trainpad.engine.pictures import prepare

    meta = trained.dataset_meta
    return prepare(
        image,
        input_shape=trained.input_shape,
        mean=meta.get("mean", (0.0,)),
        std=meta.get("std", (1.0,)),
        ink=meta.get("ink"),
    )


def _nll_of(trained: TrainedModel) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    import torch.nn.functional as F

    if trained.output == "log_probs":
        return F.nll_loss
    return F.cross_entropy


__all__ = ["Engine", "Prediction", "TrainConfig", "TrainpadError", "ConfigError", "KINDS"]
