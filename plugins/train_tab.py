"""The Train tab: pick components and settings, train with live curves, download the result.

The dropdowns list whatever the registry holds, so a third-party plugin's datasets,
models, optimizers and losses appear here with no change.  Each component's
hyperparameters get their own controls, shown while it is selected; in the HTTP API
they are keyword parameters named ``<kind>_<component>_<param>`` (``optimizer_sgd_lr``).

Training is a generator handler: the browser sees the curves move, and Stop (or a
closed tab) ends the run at its next step, keeping the model trained so far.  Runs
share one concurrency group, ``training``, limited by ``TRAINPAD_MAX_TRAINING_RUNS``
(default 1); a user who has to wait sees their place in the queue.
"""


import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from core import hookimpl

if TYPE_CHECKING:
    import pandas as pd

    from core.engine import Engine
    from core.events import EpochEnd, StepEnd, TrainEnd
    from core.params import Param
    from core.sessions import Session, SessionStore
    from core.training import TrainConfig, TrainingRun

ORDER = 10
#: Seconds between two updates of the page while training (the run itself never waits).
UPDATE_EVERY = 0.3
#: The concurrency group of every training event.
CONCURRENCY_ID = "training"
#: Lines of log kept.
LOG_LINES = 200
#: Components chosen when the registry has them.
DEFAULTS = {"dataset": "mnist", "model": "mnist-cnn", "optimizer": "sgd", "loss": "nll"}
KINDS = ("dataset", "model", "optimizer", "loss")


def max_training_runs() -> int:
    """How many runs may train at once in this process (``TRAINPAD_MAX_TRAINING_RUNS``, default 1)."""
    return max(1, int(os.environ.get("TRAINPAD_MAX_TRAINING_RUNS", "1")))


def server_run_params() -> tuple["Param", ...]:
    """The run settings a web user may choose: the engine's, with a public server's caps.

    ``TRAINPAD_MAX_EPOCHS`` (default 20) caps epochs; batches are capped at 4096.
    """
    from core.training import RUN_PARAMS

    caps = {"epochs": int(os.environ.get("TRAINPAD_MAX_EPOCHS", "20")), "batch_size": 4096}
    return tuple(replace(p, max=caps[p.name]) if p.name in caps else p for p in RUN_PARAMS)


def default_choice(engine: "Engine", kind: str) -> str | None:
    names = engine.registry.names(kind)
    if DEFAULTS[kind] in names:
        return DEFAULTS[kind]
    return names[0] if names else None


def _clock_text(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


# -- what the page shows ---------------------------------------------------------------


@dataclass
class TrainView:
    """Everything the Train tab's outputs show at one moment.

    :param fraction: progress of the run (0 to 1), or ``None`` when not running.
    """

    status: str
    loss: "pd.DataFrame"
    accuracy: "pd.DataFrame"
    metrics: str = ""
    checkpoint: str | None = None
    log: str = ""
    current: str = ""
    fraction: float | None = None
    desc: str = ""
    #: a message to pop up once (the run diverged)
    warning: str | None = None


@dataclass
class RunRecord:
    """A session's latest run as the page shows it: curves and log (kept for Stop)."""

    curves: Any
    lines: list[str] = field(default_factory=list)
    status: str = ""
    metrics: str = ""

    def say(self, text: str) -> None:
        self.lines.append(f"{time.strftime('%H:%M:%S')}  {text}")
        del self.lines[:-LOG_LINES]

    @property
    def log(self) -> str:
        return "\n".join(self.lines)


#: Test samples used to place the test curves' starting point (a few seconds at most on a CPU).
STARTING_SAMPLES = 1000


def starting_point(run: "TrainingRun") -> Any:
    """The run's model on (the start of) its test split before any step, so test curves start at epoch 0."""
    from core.data import make_loader, take
    from core.evaluation import evaluate

    p = run.parts
    loader = make_loader(take(p.test_loader.dataset, STARTING_SAMPLES), batch_size=STARTING_SAMPLES, shuffle=False)
    return evaluate(p.model, loader, loss_fn=p.loss_fn, to_probs=p.to_probs, num_classes=p.num_classes, device=p.device)


def describe_config(run: "TrainingRun") -> str:
    cfg = run.config
    samples = len(run.parts.train_loader.dataset)
    optimizer = run.parts.optimizer.param_groups[0].get("lr")
    lr = f" (lr {optimizer:g})" if isinstance(optimizer, float) else ""
    return (
        f"training {cfg.model} on {cfg.dataset} ({samples:,} samples) with {cfg.optimizer}{lr} and {cfg.loss}: "
        f"{cfg.epochs} epoch(s), batch {cfg.batch_size}, {cfg.schedule} schedule, seed {cfg.seed}, device {run.parts.device}"
    )


def step_status(event: "StepEnd") -> str:
    return (
        f"**Epoch {event.epoch}/{event.epochs}** · step {event.step:,} of {event.steps:,} · "
        f"loss {event.loss:.4f} · {event.samples_per_sec:,.0f} samples/s · about {_clock_text(event.eta)} left"
    )


def epoch_line(event: "EpochEnd") -> str:
    test = ""
    if event.test_accuracy is not None and event.test_loss is not None:
        test = f"; test loss {event.test_loss:.4f}, accuracy {event.test_accuracy:.2%}"
    return (
        f"epoch {event.epoch}/{event.epochs}: train loss {event.train_loss:.4f}, "
        f"accuracy {event.train_accuracy:.2%}{test} ({event.samples_per_sec:,.0f} samples/s)"
    )


def metrics_markdown(end: "TrainEnd") -> str:
    metrics = end.trained.metrics if end.trained is not None else {}
    parts = []
    if "test_accuracy" in metrics:
        parts.append(f"**Test accuracy {metrics['test_accuracy']:.2%}**")
    if "test_loss" in metrics:
        parts.append(f"test loss {metrics['test_loss']:.4f}")
    if "train_accuracy" in metrics:
        parts.append(f"train accuracy {metrics['train_accuracy']:.2%}")
    parts.append(f"{end.epochs_done} epoch(s), {end.steps_done:,} steps in {_clock_text(end.elapsed)}")
    return " · ".join(parts)


# -- the handlers ----------------------------------------------------------------------


class Trainer:
    """The Train tab's handlers, bound to an engine and a session store.

    Gradio-free apart from raising ``gr.Error``, so tests drive it directly.
    """

    def __init__(
        self,
        engine: "Engine",
        store: "SessionStore",
        *,
        data_dir: Path | str | None = None,
        update_every: float = UPDATE_EVERY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.store = store
        self.data_dir = data_dir
        self.update_every = update_every
        self.clock = clock
        self.run_params = server_run_params()

    # configuration

    def config(
        self,
        choices: dict[str, str],
        params: dict[str, dict[str, Any]],
        settings: dict[str, Any],
    ) -> "TrainConfig":
        """A :class:`~core.training.TrainConfig` from the form's values (checked by ``build_run``)."""
        from core.training import TrainConfig

        values = dict(settings)
        for name in ("epochs", "batch_size", "seed", "train_samples", "test_samples"):
            if isinstance(values.get(name), float) and float(values[name]).is_integer():
                values[name] = int(values[name])
        return TrainConfig(**choices, params={k: v for k, v in params.items() if v}, **values)

    # training

    def train(self, session_id: str, config: "TrainConfig", *, resume: bool = False) -> Iterator[TrainView]:
        """Train and yield what the page shows, a few times a second at most.

        :param resume: carry on training the session's current model.
        """
        from core.curves import Curves
        from core.ui import error, user_errors

        session = self.store.get(session_id)
        with session.lock:
            if session.training:
                raise error("A run is already going in this session: stop it first.")
            if resume and session.model is None:
                raise error("There is no current model to carry on training: untick “Carry on training”.")
            with user_errors("Preparing the run"):
                run = self.engine.build_run(
                    config, data_dir=self.data_dir, resume=session.model if resume else None, run_params=self.run_params
                )
            record = RunRecord(Curves())
            session.run, session.result = run, None
            session.data["train"] = record
            session.idle.clear()
        self.store.changed(session)
        record.say(describe_config(run))
        if resume:
            record.say(f"carrying on from {session.describe()}")
        record.status = "Starting…"
        events = run.events()
        last = -1e9
        try:
            if run.parts.test_loader is not None:
                record.status = "Testing the starting model…"
                yield self.view(session, record, fraction=0.0, desc="testing the starting model")
                with user_errors("Testing the starting model"):
                    start = starting_point(run)
                record.curves.add_test(0.0, start.loss, start.accuracy)
                record.say(f"before training: test loss {start.loss:.4f}, accuracy {start.accuracy:.2%} ({start.count:,} test samples)")
            record.status = "Training…"
            yield self.view(session, record, fraction=0.0, desc="starting")
            with user_errors("Training"):
                for event in events:
                    kind = type(event).__name__
                    record.curves.add(event)
                    if kind == "StepEnd":
                        record.status = step_status(event)
                        now = self.clock()
                        if now - last >= self.update_every or event.step == event.steps:
                            last = now
                            yield self.view(session, record, fraction=event.step / event.steps, desc=self._desc(event))
                    elif kind == "EpochEnd":
                        record.say(epoch_line(event))
                        yield self.view(session, record, fraction=event.step / max(run.parts.config.epochs * len(run.parts.train_loader), 1), desc="evaluated")
                    elif kind == "TrainEnd":
                        self._finish(session, run, record, event)
                        view = self.view(session, record)
                        if event.status == "diverged":
                            view.warning = event.message
                        yield view
        finally:
            events.close()  # a cancelled generator: the run stops and keeps its model
            self._finish(session, run, record, run.result)

    @staticmethod
    def _desc(event: "StepEnd") -> str:
        return f"epoch {event.epoch}/{event.epochs} · {event.samples_per_sec:,.0f} samples/s · {_clock_text(event.eta)} left"

    def _finish(self, session: "Session", run: "TrainingRun", record: RunRecord, end: "TrainEnd | None") -> None:
        """Adopt the run's model and write its checkpoint, once, whichever way the run ended."""
        from core.checkpoint import save_checkpoint
        from core.errors import CheckpointError

        with session.lock:
            if session.run is not run or session.idle.is_set():
                return
            try:
                session.result = end
                if end is None:
                    record.status = "**The run failed**; the previous model is kept."
                    record.say("the run failed; the previous model is kept")
                    return
                record.say(f"{end.status}: {end.message} ({_clock_text(end.elapsed)})")
                if not self._worth_keeping(end):
                    why = "before the first step" if end.steps_done == 0 else "before an epoch was done"
                    message = end.message.rstrip(".")
                    detail = f" {message[:1].upper()}{message[1:]}." if end.status == "diverged" else ""
                    record.status = f"**{end.status.capitalize()}** {why}.{detail} Your current model is unchanged."
                    return
                session.set_model(end.trained, "trained here")
                record.metrics = metrics_markdown(end)
                name = f"{run.config.model}-{run.config.dataset}-{time.strftime('%Y%m%d-%H%M%S')}.pt"
                try:
                    session.checkpoint = save_checkpoint(end.trained, session.folder() / name)
                    record.say(f"checkpoint ready: {name}")
                except CheckpointError as exc:
                    session.checkpoint = None
                    record.say(f"no checkpoint: {exc}")
                record.status = {
                    "completed": "**Done.** Evaluate and Predict now use this model.",
                    "stopped": "**Stopped.** The model trained so far is kept: Evaluate and Predict use it.",
                    "diverged": f"**Diverged.** {end.message}",
                }.get(end.status, end.message)
            finally:
                session.idle.set()
        self.store.changed(session)

    @staticmethod
    def _worth_keeping(end: "TrainEnd") -> bool:
        """A run's model replaces the session's when it trained: a stop after some steps,
        or at least one whole epoch (a diverged run's last epoch did not finish)."""
        if end.trained is None:
            return False
        whole_epochs = end.epochs_done - (1 if end.status == "diverged" else 0)
        return whole_epochs > 0 or (end.status == "stopped" and end.steps_done > 0)

    def stop(self, session_id: str, *, wait: float = 20.0) -> TrainView:
        """Ask this session's run to stop and wait (up to ``wait`` s) for it to wrap up."""
        session = self.store.get(session_id)
        record = session.data.get("train")
        run = session.run
        if run is None or not session.training or record is None:
            return self.view(session, record, idle_status="Nothing is training in this session.")
        run.stop()
        if not session.idle.wait(wait):
            record.status = "Stopping… the run ends after its current step."
        elif run.result is not None and session.result is None:
            self._finish(session, run, record, run.result)
        return self.view(session, record)

    def view(
        self,
        session: "Session",
        record: RunRecord | None,
        *,
        fraction: float | None = None,
        desc: str = "",
        idle_status: str = "",
    ) -> TrainView:
        from core.curves import empty_frame

        if record is None:
            return TrainView(idle_status or "Choose the components and settings, then **Start**.", empty_frame(), empty_frame(), current=session.describe())
        checkpoint = str(session.checkpoint) if session.checkpoint is not None and session.checkpoint.exists() else None
        return TrainView(
            status=idle_status or record.status,
            loss=record.curves.loss(),
            accuracy=record.curves.accuracy(),
            metrics=record.metrics,
            checkpoint=checkpoint if not session.training else None,
            log=record.log,
            current=session.describe(),
            fraction=fraction,
            desc=desc,
        )

    # the current model

    def load(self, session_id: str, path: str | Path | None) -> str:
        """Make an uploaded checkpoint the session's current model; returns its description."""
        from core.checkpoint import load_checkpoint
        from core.ui import error, user_errors

        if not path:
            raise error("Choose a checkpoint file (.pt) to load.")
        session = self.store.get(session_id)
        if session.training:
            raise error("Wait for the run to end (or stop it) before loading another model.")
        with user_errors("Loading the checkpoint"):
            trained = load_checkpoint(self.engine.registry, path)
        session.set_model(trained, f"uploaded: {Path(path).name}")
        self.store.changed(session)
        return session.describe()

    def reset(self, session_id: str) -> str:
        """Go back to the shipped model."""
        from core.ui import error

        session = self.store.get(session_id)
        if session.training:
            raise error("Wait for the run to end (or stop it) first.")
        shipped = self.store._default()
        session.set_model(shipped, "shipped", shared=True)
        self.store.changed(session)
        return session.describe()


# -- the layout --------------------------------------------------------------------------


def build(engine: "Engine") -> None:
    """Build the Train tab (called inside its ``gr.Tab``)."""
    import gradio as gr

    from core.curves import empty_frame
    from core.device import available_devices
    from core.sessions import store_for
    from core.ui import component_controls, enclosing_tab, session_id, values_for

    trainer = Trainer(engine, store_for(engine))
    run_params = {p.name: p for p in trainer.run_params}
    dropdowns: dict[str, Any] = {}
    groups: dict[str, dict[str, Any]] = {kind: {} for kind in KINDS}
    controls = []

    with gr.Row(equal_height=False):
        with gr.Column(scale=2, min_width=360):
            with gr.Group():
                for pair in (KINDS[:2], KINDS[2:]):
                    with gr.Row(equal_height=True):
                        for kind in pair:
                            chosen = default_choice(engine, kind)
                            dropdowns[kind] = gr.Dropdown(
                                choices=[(c.name, c.name) for c in engine.registry.components(kind)],
                                value=chosen,
                                label=kind.capitalize(),
                                info=_component_info(engine, kind, chosen),
                                interactive=True,
                                min_width=160,
                            )
            with gr.Accordion("Hyperparameters", open=False):
                for kind in KINDS:
                    chosen = dropdowns[kind].value
                    for component in engine.registry.components(kind):
                        if not component.params:
                            continue
                        with gr.Column(visible=component.name == chosen) as group:
                            gr.Markdown(f"**{kind.capitalize()} {component.name}**")
                            controls += component_controls(component)
                        groups[kind][component.name] = group
            with gr.Accordion("Run settings", open=True):
                with gr.Row():
                    epochs = gr.Number(1, label="Epochs", precision=0, minimum=1, maximum=run_params["epochs"].max, step=1, min_width=100)
                    batch_size = gr.Number(128, label="Batch size", precision=0, minimum=1, maximum=run_params["batch_size"].max, step=1, min_width=100)
                    train_samples = gr.Number(0, label="Training samples", precision=0, minimum=0, step=1000, info="0: all of them", min_width=100)
                with gr.Row():
                    schedule = gr.Dropdown(list(run_params["schedule"].choices or ()), value="onecycle", label="LR schedule", min_width=100)
                    devices = available_devices()
                    device = gr.Dropdown(devices, value=devices[0], label="Device", min_width=100)
                    seed = gr.Number(1, label="Seed", precision=0, minimum=0, step=1, min_width=100)
                resume = gr.Checkbox(False, label="Carry on training the current model", info="same dataset and model; the model keeps its own settings")
            with gr.Row():
                start = gr.Button("Start training", variant="primary", scale=2)
                stop = gr.Button("Stop", variant="stop", scale=1)
        with gr.Column(scale=3, min_width=420):
            status = gr.Markdown("Choose the components and settings, then **Start training**.", label="Status", elem_classes="tp-status", padding=True)
            with gr.Row(equal_height=True):
                loss_plot = gr.LinePlot(empty_frame(), x="epoch", y="value", color="split", label="Loss", y_title="loss", x_title="epoch", color_map=COLOURS, color_title="", show_label=True, elem_id="tp-loss-plot")
                acc_plot = gr.LinePlot(empty_frame(), x="epoch", y="value", color="split", label="Accuracy (%)", y_title="accuracy (%)", x_title="epoch", color_map=COLOURS, color_title="", show_label=True, elem_id="tp-accuracy-plot")
            with gr.Row(equal_height=True):
                metrics = gr.Markdown("", label="Metrics", padding=True)
                download = gr.DownloadButton("Download checkpoint", visible=False, variant="secondary", scale=0, min_width=220)
            log_box = gr.Textbox("", label="Log", lines=5, max_lines=5, interactive=False, autoscroll=True, buttons=["copy"])
            current = gr.Markdown("", label="Current model", padding=True)
            with gr.Accordion("Load a checkpoint, or go back to the shipped model", open=False):
                with gr.Row(equal_height=True):
                    upload = gr.File(label="Checkpoint (.pt)", file_types=[".pt"], type="filepath", height=130, scale=3)
                    reset = gr.Button("Use the shipped model", variant="secondary", scale=1, min_width=160)

    outputs = [status, loss_plot, acc_plot, metrics, download, log_box, current]

    def show(view: TrainView) -> list[Any]:
        return [
            view.status,
            view.loss,
            view.accuracy,
            view.metrics,
            gr.DownloadButton(value=view.checkpoint, visible=view.checkpoint is not None),
            view.log,
            f"**Current model:** {view.current}",
        ]

    def on_start(
        dataset: str,
        model: str,
        optimizer: str,
        loss: str,
        epochs: float,
        batch_size: float,
        train_samples: float,
        schedule: str,
        seed: float,
        device: str,
        resume: bool,
        request: gr.Request,
        progress: gr.Progress = gr.Progress(),
        **hyperparameters: Any,
    ) -> Iterator[list[Any]]:
        choices = {"dataset": dataset, "model": model, "optimizer": optimizer, "loss": loss}
        params = {kind: values_for(controls, kind, name, hyperparameters) for kind, name in choices.items()}
        settings = {"epochs": epochs, "batch_size": batch_size, "train_samples": train_samples, "schedule": schedule, "seed": seed, "device": device}
        config = trainer.config(choices, params, settings)
        for view in trainer.train(session_id(request), config, resume=bool(resume)):
            if view.fraction is not None:
                progress(view.fraction, desc=view.desc)
            if view.warning:
                gr.Warning(view.warning, title="Training diverged")
            yield show(view)

    start_event = start.click(
        on_start,
        inputs=[*dropdowns.values(), epochs, batch_size, train_samples, schedule, seed, device, resume],
        inputs_kwargs={c.key: c.control for c in controls},
        outputs=outputs,
        api_name="train",
        concurrency_limit=max_training_runs(),
        concurrency_id=CONCURRENCY_ID,
        show_progress="full",
        show_progress_on=[status],
    )

    def on_stop(request: gr.Request) -> list[Any]:
        return show(trainer.stop(session_id(request)))

    stop.click(on_stop, outputs=outputs, cancels=[start_event], api_name="stop", concurrency_limit=None, queue=True)

    for kind, dropdown in dropdowns.items():
        kind_groups = groups[kind]

        def on_choose(name: str, _kind: str = kind, _groups: dict = kind_groups) -> list[Any]:
            updates = [gr.Column(visible=component == name) for component in _groups]
            return [gr.Dropdown(info=_component_info(engine, _kind, name)), *updates]

        dropdown.change(on_choose, inputs=dropdown, outputs=[dropdown, *kind_groups.values()], api_visibility="private", show_progress="hidden", queue=False)

    def on_model(name: str, loss_name: str) -> Any:
        return gr.Dropdown(value=compatible_loss(engine, name, loss_name))

    dropdowns["model"].change(on_model, inputs=[dropdowns["model"], dropdowns["loss"]], outputs=dropdowns["loss"], api_visibility="private", show_progress="hidden", queue=False)

    def on_upload(path: str | None, request: gr.Request) -> str:
        return f"**Current model:** {trainer.load(session_id(request), path)}"

    upload.upload(on_upload, inputs=upload, outputs=current, api_name="load_checkpoint")

    def on_reset(request: gr.Request) -> str:
        return f"**Current model:** {trainer.reset(session_id(request))}"

    reset.click(on_reset, outputs=current, api_name="use_shipped_model")

    def on_show(request: gr.Request) -> list[Any]:
        session = trainer.store.get(session_id(request))
        notice = session.take_notice()
        if notice:
            gr.Info(notice)
        return show(trainer.view(session, session.data.get("train")))

    tab = enclosing_tab()
    if tab is not None:
        tab.select(on_show, outputs=outputs, api_visibility="private", show_progress="hidden")
    _on_load(on_show, outputs)


def _on_load(fn: Callable[..., Any], outputs: list[Any]) -> None:
    """Run ``fn`` when the page loads (the root Blocks' load event)."""
    from gradio.context import get_blocks_context

    context = get_blocks_context()
    root = getattr(context, "root_block", None)
    if root is not None:
        root.load(fn, outputs=outputs, api_visibility="private", show_progress="hidden")


#: Series colours of the live plots.
COLOURS = {"train": "#f97316", "test": "#2563eb"}


def _component_info(engine: "Engine", kind: str, name: str | None) -> str:
    if not name or name not in engine.registry.names(kind):
        return ""
    component = engine.registry.get(kind, name)
    info = engine.plugins.get(component.plugin)
    third_party = component.plugin and (info is None or not info.builtin)
    return f"{component.description} (plugin {component.plugin})" if third_party else component.description


def compatible_loss(engine: "Engine", model: str, loss: str) -> str:
    """``loss`` when it fits ``model``'s output, else the first loss that does."""
    if model not in engine.registry.names("model"):
        return loss
    output = engine.registry.get("model", model).meta.get("output", "logits")

    def fits(name: str) -> bool:
        return engine.registry.get("loss", name).meta.get("expects", "logits") == output

    if loss in engine.registry.names("loss") and fits(loss):
        return loss
    return next((name for name in engine.registry.names("loss") if fits(name)), loss)


@hookimpl
def register_tabs(register):
    register("Train", build, order=ORDER)
