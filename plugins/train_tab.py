"""The Train tab: pick components and settings, train with live curves, download the result.

The dropdowns list whatever the registry holds, so a third-party plugin's datasets,
models, optimizers and losses appear here with no change.  Each component's
hyperparameters get their own controls, shown while it is selected; in the HTTP API
they are keyword parameters named ``<kind>_<component>_<param>`` (``optimizer_sgd_lr``).

Training is a generator handler: the browser sees the curves move, and Stop (or a
closed tab) ends the run at its next step, keeping the model trained so far.  Runs
share one concurrency group, ``training``, limited by ``TRAINPAD_MAX_TRAINING_RUNS``
(default 1); a user who has to wait is told why, and sees their place in the queue.
Start first asks, unqueued, whether this session is already training (then it says so
and queues nothing).  Below, the runs table keeps every run of the session: pick one to
see its curves, overlay others, download it, or use it for Evaluate and Predict.  The
work behind the buttons is :class:`trainpad.web.train_handler.Trainer`.
"""


from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterator

from trainpad import hookimpl, msg
from trainpad.engine.config import TRAINED_KINDS, default_components

if TYPE_CHECKING:
    from trainpad import App, Engine, Param
    from trainpad.web.forms import ParamControl
    from trainpad.web.plots import Chart
    from trainpad.web.step_handler import Stepper
    from trainpad.web.train_form import FormSpec
    from trainpad.web.train_handler import Trainer, TrainView

ORDER = 10
#: The concurrency group of every training event.
CONCURRENCY_ID = "training"
#: The concurrency group of Stop.
STOP_ID = "stop"
#: Components chosen when the registry has them: the default recipe's.
DEFAULTS = default_components()
KINDS = TRAINED_KINDS
#: Steps running at once (each one batch, or building a run the first time).
STEP_CONCURRENCY = 2
#: What the step report says before the first Step.
STEP_HINT = (
    "<p><b>Step</b> trains exactly one batch of the run the form describes and shows it here: its "
    "pictures with their labels, what the model made of a few, the loss before and after the update, "
    "and how much each layer changed. <b>Start training</b> then carries on from that step.</p>"
)
#: The run settings' fields, by TrainConfig name, in the HTTP API's order.
RUN_SETTINGS = ("epochs", "batch_size", "train_samples", "schedule", "seed", "device")
#: Marks the settings that fold away on a phone, so that Start is in sight (see trainpad.web.page_scripts).
FOLD_ON_PHONE = "tp-fold-on-phone"


@dataclass(frozen=True)
class RunField:
    """How a run setting shows in the form: its words, and its arrows' step.  Its type, default
    and range are the setting's own (``RUN_PARAMS``, capped by the server: :meth:`Trainer.run_params`)."""

    label: str
    info: str | None = None
    step: int = 1


#: The run settings the form shows as numbers, two to a row (three left "Training samples"
#: too narrow for its label).
RUN_FIELDS: dict[str, RunField] = {
    "epochs": RunField("Epochs"),
    "batch_size": RunField("Batch size"),
    "train_samples": RunField("Training samples", "0: all of them", step=1000),
    "seed": RunField("Seed", "same seed, same run"),
}


def run_number(param: "Param", field: RunField) -> Any:
    """The form's number field for the whole-number run setting ``param``."""
    import gradio as gr

    return gr.Number(
        param.default, label=field.label, info=field.info, precision=0, minimum=param.min, maximum=param.max,
        step=field.step, min_width=130,
    )


def default_choice(engine: "Engine", kind: str) -> str | None:
    names = engine.registry.names(kind)
    if DEFAULTS[kind] in names:
        return DEFAULTS[kind]
    return names[0] if names else None


# -- the tab ------------------------------------------------------------------------------


def build(app: "App") -> None:
    """Build the Train tab (called inside its ``gr.Tab``): the form beside the training's
    view, then the runs, then the loop line by line; then their events."""
    import gradio as gr

    from trainpad.web.step_handler import Stepper
    from trainpad.web.train_handler import Trainer

    trainer = Trainer(app.engine, app.store, watch=app.watch, executor=app.executor, slots=app.slots)
    with gr.Row(equal_height=False, elem_classes="tp-train"):
        with gr.Column(scale=2, min_width=300):
            form = build_form(app.engine, {p.name: p for p in trainer.run_params})
            files = build_form_files()
        with gr.Column(scale=3, min_width=300):
            buttons = build_start_row()
            board = build_board()
    runs = build_runs_section()
    loop = build_loop_section()
    page = TrainPage(board, runs, loop.view, Stepper(trainer))
    wire_log(board.log)
    wire_start(trainer, form.spec, buttons.start, page)
    wire_export(app.engine, trainer, form.spec, files)
    wire_step(form.spec, page, [buttons.step, loop.step_again], loop.step_view)
    wire_stop(trainer, buttons.stop, page)
    wire_component_menus(app.engine, form)
    wire_presets(app.engine, form.preset, form.spec)
    wire_share_link(app.engine, trainer.run_params, form.spec, files.share, files.query)
    wire_runs_section(trainer, runs, page.outputs, page.show)
    wire_refresh(trainer, page)
    wire_form_changes(app.engine, trainer, form, files.query, page)


# -- the form ------------------------------------------------------------------------------------


@dataclass
class TrainForm:
    """The form (built by :func:`build_form`): the Preset menu, the fields, and each kind's
    hyperparameter groups by component (the chosen one's shown)."""

    preset: Any
    spec: "FormSpec"
    groups: dict[str, dict[str, Any]]


def build_form(engine: "Engine", run_params: dict[str, "Param"]) -> TrainForm:
    """The form: a preset, the four components, their hyperparameters and the run settings."""
    import gradio as gr

    from trainpad.web.train_form import FormSpec

    preset = preset_menu(engine)
    with gr.Group():
        dropdowns = component_menus(engine)
    with gr.Accordion("Hyperparameters", open=False):
        groups, controls = hyperparameter_groups(engine, dropdowns)
    with gr.Accordion("Run settings", open=True, elem_classes=FOLD_ON_PHONE):
        settings = run_settings(run_params)
        resume = gr.Checkbox(False, label="Carry on training the current model", info="same dataset and model; the model keeps its own settings")
    return TrainForm(preset, FormSpec(dropdowns, settings, controls, resume), groups)


def component_menus(engine: "Engine") -> dict[str, Any]:
    """A menu of each kind's components, two to a row, on the default recipe's where the registry has it."""
    import gradio as gr

    dropdowns: dict[str, Any] = {}
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
                    min_width=140,
                )
    return dropdowns


def hyperparameter_groups(engine: "Engine", dropdowns: dict[str, Any]) -> tuple[dict[str, dict[str, Any]], list["ParamControl"]]:
    """Every component's hyperparameter controls, in a group per component that shows while
    it is chosen; returns the groups (by kind, then component) and the controls."""
    import gradio as gr

    from trainpad.web.forms import component_controls

    groups: dict[str, dict[str, Any]] = {kind: {} for kind in KINDS}
    controls: list["ParamControl"] = []
    # One group per component, with hyperparameters or not, so that every
    # dropdown's change event has the same outputs whatever the plugins register.
    for kind in KINDS:
        chosen = dropdowns[kind].value
        for component in engine.registry.components(kind):
            with gr.Column(visible=component.name == chosen and bool(component.params)) as group:
                gr.Markdown(f"**{kind.capitalize()} {component.name}**")
                controls += component_controls(component)
            groups[kind][component.name] = group
    return groups, controls


def run_settings(run_params: dict[str, "Param"]) -> dict[str, Any]:
    """The run settings' fields (:data:`RUN_FIELDS`, two to a row, then the schedule and the
    device), by :class:`~trainpad.engine.config.TrainConfig` name in :data:`RUN_SETTINGS`' order."""
    import gradio as gr

    from trainpad.web.jobs import device_choices

    fields: dict[str, Any] = {}
    names = list(RUN_FIELDS)
    for pair in (names[:2], names[2:]):
        with gr.Row():
            for name in pair:
                fields[name] = run_number(run_params[name], RUN_FIELDS[name])
    with gr.Row():
        schedule = run_params["schedule"]
        fields["schedule"] = gr.Dropdown(list(schedule.choices or ()), value=schedule.default, label="LR schedule", min_width=130)
        devices = device_choices()
        fields["device"] = gr.Dropdown(devices, value=devices[0][1], label="Device", min_width=130)
    return {name: fields[name] for name in RUN_SETTINGS}


@dataclass
class FormFiles:
    """The buttons under the form: the script download and the shareable link (:func:`build_form_files`)."""

    export: Any
    share: Any
    #: the form's query (hidden), which the page puts in its address
    query: Any
    #: the script's hidden download, which Download as a script clicks
    script_file: Any


def build_form_files() -> FormFiles:
    """The row under the form: "Download as a script" and "Copy a link to these settings"."""
    import gradio as gr

    with gr.Row(equal_height=True):
        export = gr.Button("Download as a script", variant="secondary", size="sm", elem_id="tp-export")
        share = gr.Button("Copy a link to these settings", variant="secondary", size="sm", elem_id="tp-share")
        query = gr.Textbox("", visible="hidden", elem_id="tp-share-query", interactive=False)
        script_file = gr.DownloadButton("Download the script", visible="hidden", elem_id="tp-script-file", size="sm")
    return FormFiles(export, share, query, script_file)


# -- the training's view -------------------------------------------------------------------------


@dataclass
class StartRow:
    """Start, Step and Stop (:func:`build_start_row`)."""

    start: Any
    step: Any
    stop: Any


def build_start_row() -> StartRow:
    """The buttons that start, step and stop a run."""
    import gradio as gr

    with gr.Row(elem_classes="tp-start-row"):
        start = gr.Button("Start training", variant="primary", scale=3, min_width=130)
        step = gr.Button("Step", variant="secondary", scale=1, min_width=80, elem_id="tp-step")
        stop = gr.Button("Stop", variant="stop", scale=1, min_width=80)
    return StartRow(start, step, stop)


@dataclass
class Board:
    """The run's status, curves, metrics and log, and the model in use (:func:`build_board`)."""

    progress: Any
    status: Any
    loss_plot: Any
    accuracy_plot: Any
    metrics: Any
    log: Any
    current: Any


def build_board() -> Board:
    """What a run shows as it goes: its status, its curves, its metrics and its log."""
    import gradio as gr

    from trainpad.web.train_handler import START_HERE

    # Gradio's own progress display (queue place, progress bar) goes here, not over the status
    progress = gr.HTML("", elem_classes="tp-progress", padding=False)
    status = gr.Markdown(START_HERE, label="Status", elem_classes="tp-status", padding=True)
    with gr.Row(equal_height=True):
        loss_plot = _plot(empty_chart("loss"), label="Loss", y_title="loss", elem_id="tp-loss-plot", min_width=280)
        accuracy_plot = _plot(empty_chart("accuracy"), label="Accuracy (%)", y_title="accuracy (%)", elem_id="tp-accuracy-plot", min_width=280)
    metrics = gr.Markdown("", label="Metrics", padding=True, elem_id="tp-metrics")
    log = gr.Textbox("", label="Log", lines=5, max_lines=5, interactive=False, autoscroll=True, buttons=["copy"], elem_id="tp-log")
    current = gr.Markdown("", label="Current model", padding=True)
    return Board(progress, status, loss_plot, accuracy_plot, metrics, log, current)


@dataclass
class LoopSection:
    """The training loop line by line, and one step taken alone (:func:`build_loop_section`)."""

    view: Any
    step_view: Any
    step_again: Any


def build_loop_section() -> LoopSection:
    """The loop view beside the step report, with a second Step button by it."""
    import gradio as gr

    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=300):
            view = gr.HTML("", label="The training loop, line by line", show_label=True, container=True, padding=True, elem_id="tp-loop")
        with gr.Column(scale=2, min_width=300):
            step_view = gr.HTML(STEP_HINT, label="One step, taken alone", show_label=True, container=True, padding=True, elem_id="tp-step-view")
            # Step's own button is far above, by Start: another here, beside what a step shows
            step_again = gr.Button("Step again", variant="secondary", size="sm", elem_id="tp-step-again")
    return LoopSection(view, step_view, step_again)


@dataclass
class TrainPage:
    """What every Train-tab update sets (:attr:`outputs`) and how a
    :class:`~trainpad.web.train_handler.TrainView` shows in it (:meth:`show`)."""

    board: Board
    runs: "RunsSection"
    loop_view: Any
    stepper: "Stepper"

    @property
    def outputs(self) -> list[Any]:
        board = self.board
        return [
            board.status, board.loss_plot, board.accuracy_plot, board.metrics, self.runs.download, board.log, board.current,
            self.loop_view, *self.runs.outputs,
        ]  # fmt: skip

    def show(self, view: "TrainView", sent: dict[str, Any], session: str, *, loop: str | None = None) -> Iterator[list[Any]]:
        """The outputs' values for ``view`` in ``session``, as one update or two (the loop
        view ``loop``, or the session's run's).

        ``sent`` is what this event sent before.  The runs widgets go only when the table
        changed since (so that an open dropdown is not redrawn under the user).  When the
        plots' series change (runs overlaid, or not), the data go first and the legend
        after: the legend redraws a plot, and a plot redrawn before its new data arrive
        would leave the new lines without their colours.
        """
        fresh = sent.get("version") != view.runs_version
        sent["version"] = view.runs_version
        series = (tuple(view.loss.colours), tuple(view.accuracy.colours))
        redraw = sent.get("series") != series
        sent["series"] = series
        loop = self.stepper.loop(session) if loop is None else loop
        yield self.values(view, fresh, loop, legend=False)
        if redraw:
            yield self.values(view, False, loop, legend=True)

    def values(self, view: "TrainView", fresh: bool, loop: str, *, legend: bool) -> list[Any]:
        """One update of :attr:`outputs` (the runs widgets skipped unless ``fresh``)."""
        import gradio as gr

        return [
            view.status,
            _plot_update(view.loss, legend=legend),
            _plot_update(view.accuracy, legend=legend),
            view.metrics,
            gr.DownloadButton(value=view.checkpoint, visible=view.checkpoint is not None),
            view.log,
            msg("**Current model:** {model}", model=msg(view.current)),
            loop,
            *self.runs.values(view, fresh),
        ]


# -- the form's events ---------------------------------------------------------------------------


def wire_log(log: Any) -> None:
    """The Log shows its newest line (Gradio's autoscroll does not follow a read-only box the
    server fills): a browser-only event on each change scrolls it to the end."""
    log.change(None, js="() => { const box = document.querySelector('#tp-log textarea'); if (box) box.scrollTop = box.scrollHeight; }",
               api_visibility="private", queue=False, show_progress="hidden")  # fmt: skip


def wire_start(trainer: "Trainer", form: "FormSpec", start: Any, page: TrainPage) -> None:
    """Start: first asked, unqueued, whether this session is already training; then the run,
    in the training queue (API ``train``: the form's fields by :meth:`FormSpec.inputs` name)."""
    import gradio as gr

    from trainpad.web.i18n import tr
    from trainpad.web.messages import shown_in_browser, toast
    from trainpad.web.sessions import session_id
    from trainpad.web.train_handler import AlreadyTraining, max_training_runs

    @shown_in_browser
    def on_press_start(request: gr.Request) -> Any:
        # Before the run joins the training queue, in a group of its own that never waits
        # for a run: a second Start during this session's run is refused here (queued with
        # the runs, it would wait for the first to end and then start another).
        try:
            waiting = trainer.check_start(session_id(request))
        except AlreadyTraining as exc:  # an error stops the chain: no second run is queued
            raise gr.Error(toast(str(exc)), title=tr("A run is already going"), print_exception=False) from None
        return waiting if waiting is not None else gr.skip()

    @shown_in_browser
    def on_start(request: gr.Request, progress: gr.Progress = gr.Progress(), **values: Any) -> Iterator[list[Any]]:
        config = form.config(values)
        sent: dict[str, Any] = {}
        for view in trainer.train(session_id(request), config, resume=form.resumed(values)):
            if view.fraction is not None:
                progress(view.fraction, desc=view.desc)
            if view.warning:
                gr.Warning(toast(view.warning), title=tr("Training diverged"))
            yield from page.show(view, sent, session_id(request))

    start.click(
        on_press_start, outputs=page.board.status, show_progress="hidden", api_visibility="private", concurrency_id="train-view"
    ).success(
        on_start,
        inputs_kwargs=form.inputs(resume=True),
        outputs=page.outputs,
        api_name="train",
        preprocess=False,  # the values reach the server's own checks as sent (Gradio's round 2.5 and fail on NaN)
        concurrency_limit=max_training_runs(),
        concurrency_id=CONCURRENCY_ID,
        show_progress="full",
        show_progress_on=[page.board.progress],
        # A Start pressed while the stopped run's request is still wrapping up is sent when that
        # one ends (Gradio's default, "once", would drop it); a second press while this session's
        # run is going never gets here: on_press_start refuses it.
        trigger_mode="always_last",
    )


def wire_export(engine: "Engine", trainer: "Trainer", form: "FormSpec", files: FormFiles) -> None:
    """Download as a script: the run the form describes, as plain PyTorch (API ``export_script``)."""
    import gradio as gr

    from trainpad.web.export_handler import Exporter
    from trainpad.web.layout import script_download
    from trainpad.web.sessions import session_id

    exporter = Exporter(engine, trainer.store)

    def on_export(request: gr.Request, **values: Any) -> Any:
        return exporter.export(session_id(request), form.config(values))

    script_download(files.export, on_export, file_button=files.script_file, api_name="export_script", inputs_kwargs=form.inputs())


def wire_step(form: "FormSpec", page: TrainPage, buttons: list[Any], step_view: Any) -> None:
    """Step (either button): one batch of the run the form describes, shown in ``step_view`` (API ``step``)."""
    import gradio as gr

    from trainpad.web.messages import shown_in_browser
    from trainpad.web.sessions import session_id

    @shown_in_browser
    def on_step(request: gr.Request, **values: Any) -> Iterator[list[Any]]:
        stepped = page.stepper.step(session_id(request), form.config(values))
        for update in page.show(stepped.train, {}, session_id(request), loop=stepped.loop):
            yield [*update, stepped.report]

    gr.on(
        [button.click for button in buttons],
        on_step,
        inputs_kwargs=form.inputs(),
        outputs=[*page.outputs, step_view],
        api_name="step",
        preprocess=False,
        concurrency_limit=STEP_CONCURRENCY,
        concurrency_id="step",
        show_progress="minimal",
        show_progress_on=[step_view],
    )


def wire_stop(trainer: "Trainer", stop: Any, page: TrainPage) -> None:
    """Stop: ends the session's run at its next step, keeping its model (API ``stop``)."""
    import gradio as gr

    from trainpad.web.messages import shown_in_browser
    from trainpad.web.sessions import session_id

    @shown_in_browser
    def on_stop(request: gr.Request) -> Iterator[list[Any]]:
        yield from page.show(trainer.stop(session_id(request)), {}, session_id(request))

    # Stop has its own few workers and line (it is never refused: trainpad.web.fair_queue), and
    # answers within seconds, so that no flood of Stops can hold the workers others need.  It
    # stops the session's run itself (the Start request then ends with it) and withdraws a Start
    # still waiting: no `cancels=`, which Gradio applies when it gets to it, by then perhaps to
    # the next Start, pressed right after Stop.
    stop.click(on_stop, outputs=page.outputs, api_name="stop", concurrency_id=STOP_ID, queue=True)


def wire_component_menus(engine: "Engine", form: TrainForm) -> None:
    """Choosing a component shows its description and its hyperparameters' group."""
    import gradio as gr

    dropdowns = form.spec.dropdowns
    for kind, dropdown in dropdowns.items():
        kind_groups = form.groups[kind]
        if not kind_groups:  # nothing registered of this kind: nothing to choose
            continue

        def on_choose(name: str, _kind: str = kind, _groups: dict = kind_groups) -> dict[Any, Any]:
            # The outputs are the dropdown and a group per component (two at least), so
            # Gradio always reads this as one update per output, however many have params.
            updates = {
                group: gr.Column(visible=component == name and bool(engine.registry.get(_kind, component).params))
                for component, group in _groups.items()
            }
            return {dropdowns[_kind]: gr.Dropdown(info=_component_info(engine, _kind, name)), **updates}

        dropdown.change(on_choose, inputs=dropdown, outputs=[dropdown, *kind_groups.values()], api_visibility="private", show_progress="hidden", queue=False)


def wire_refresh(trainer: "Trainer", page: TrainPage) -> None:
    """The tab shows the session's runs (and a notice left for it) when it opens and when the page loads."""
    import gradio as gr

    from trainpad.web.layout import on_page_load, on_tab_select
    from trainpad.web.messages import toast
    from trainpad.web.sessions import session_id

    def on_show(request: gr.Request) -> Iterator[list[Any]]:
        session = trainer.store.get(session_id(request))
        notice = session.take_notice()
        if notice:
            gr.Info(toast(notice))
        yield from page.show(trainer.view(session), {}, session_id(request))

    on_tab_select(on_show, page.outputs)
    on_page_load(on_show, page.outputs)


def wire_form_changes(engine: "Engine", trainer: "Trainer", form: TrainForm, query: Any, page: TrainPage) -> None:
    """Every change of a field updates the loop view, the preset's note and the page's
    address in one request (three handlers on the same changes raced each other in
    Gradio's page: on a busy browser a typed value could be redrawn over, and the
    fields' change events then fired without end)."""
    import gradio as gr

    from trainpad.web.messages import shown_in_browser
    from trainpad.web.sessions import session_id
    from trainpad.web.share_link import form_query

    spec = form.spec

    @shown_in_browser
    def on_form(request: gr.Request, preset_name: str, **values: Any) -> dict[Any, Any]:
        read = spec.read(values)
        try:
            config = read.config()
        except Exception:  # the API can send anything: the loop view then shows the form's defaults
            config = None
        return {
            page.loop_view: page.stepper.loop(session_id(request), config),
            form.preset: preset_update(engine, preset_name, read.choices, read.params, read.settings),
            query: form_query(engine, read.choices, read.params, read.settings, run_params=trainer.run_params),
        }

    fields = [*spec.fields, spec.settings["device"]]  # the device too: the loop view shows it
    gr.on([field.change for field in fields], on_form, inputs=form.preset, inputs_kwargs=spec.inputs(), outputs=[page.loop_view, form.preset, query],
          api_visibility="private", show_progress="hidden", queue=False, trigger_mode="always_last",
          ).then(None, inputs=query, js=address_js(), api_visibility="private", queue=False, show_progress="hidden")  # fmt: skip


# -- the plots ----------------------------------------------------------------------------------


def empty_chart(kind: str) -> "Chart":
    """A plot before any run: no lines, but axes with their real ranges."""
    from trainpad.web.plots import chart

    return chart(kind, [])


def _plot(chart: "Chart", **options: Any) -> Any:
    import gradio as gr

    return gr.LinePlot(
        chart.frame, x="epoch", y="value", color="split", x_title="epoch", color_title="",
        color_map=chart.colours, x_lim=list(chart.x_lim), y_lim=list(chart.y_lim), show_label=True, **options,
    )


def _plot_update(chart: "Chart", *, legend: bool = False) -> Any:
    """New data for a plot, with its axes: a change of their ranges (rare: the data left
    them) redraws the plot to fit its labels.  With ``legend``, also its series' colours
    and legend, which redraws it (see ``show`` in :func:`build`)."""
    import gradio as gr

    extra = {"colors_in_legend": chart.legend, "caption": chart.caption} if legend else {}
    return gr.LinePlot(value=chart.frame, color_map=chart.colours, x_lim=list(chart.x_lim), y_lim=list(chart.y_lim), **extra)


# -- the runs table ------------------------------------------------------------------------------


@dataclass
class RunsSection:
    """The runs table and what acts on it (built by :func:`build_runs_section`)."""

    table: Any
    picker: Any
    use: Any
    download: Any
    curves: Any
    compare: Any
    upload: Any
    reset: Any

    @property
    def outputs(self) -> list[Any]:
        """What every Train-tab update also sets (after the checkpoint download)."""
        return [self.table, self.picker, self.use, self.curves, self.compare]

    def values(self, view: "TrainView", fresh: bool) -> list[Any]:
        import gradio as gr

        skip = gr.skip()
        others = [c for c in view.curve_choices if c[1] != view.selected]
        return [
            view.runs if fresh else skip,
            gr.Dropdown(choices=view.choices, value=view.selected) if fresh else skip,
            gr.Button(interactive=view.can_use),
            gr.DownloadButton(value=view.curves_csv, visible=view.curves_csv is not None),
            gr.CheckboxGroup(choices=others, value=[n for n in view.compared if n != view.selected], visible=bool(others)) if fresh else skip,
        ]


def build_runs_section() -> RunsSection:
    """The Runs block: every run of the session, which one is shown, compared, in use."""
    import gradio as gr

    from trainpad.web.runs import TABLE_COLUMNS

    with gr.Column(elem_classes="tp-runs"):
        gr.Markdown(
            "### Runs\nEvery run of this session, with its settings and results (● the model Evaluate and "
            "Predict use). Pick one to see its curves. A new model (a run, or a checkpoint you add) is used if it does at "
            "least as well on the same dataset; one for another dataset, when you press **Use this run**.",
            elem_classes="tp-runs-intro",
        )
        table = gr.Dataframe(
            headers=list(TABLE_COLUMNS), interactive=False, wrap=False, max_height=300, show_label=False,
            elem_id="tp-runs-table", elem_classes="tp-scroll-x",
        )
        with gr.Row(equal_height=False):
            picker = gr.Dropdown([], label="Run shown", info="its curves, log and files", scale=1, min_width=240, elem_id="tp-run-picker")
            compare = gr.CheckboxGroup([], label="Overlay on the plots", info="other runs' curves, to compare with it", scale=1, min_width=240, elem_id="tp-compare", visible=False)
        with gr.Row(equal_height=False, elem_classes="tp-run-actions"):
            use = gr.Button("Use this run", variant="primary", interactive=False, min_width=150)
            download = gr.DownloadButton("Download checkpoint", visible=False, variant="secondary", min_width=170)
            curves = gr.DownloadButton("Download curves (CSV)", visible=False, variant="secondary", min_width=170)
            reset = gr.Button("Use the shipped model", variant="secondary", min_width=170)
        with gr.Accordion("Add a checkpoint (.pt) to the runs", open=False):
            upload = gr.File(label="Checkpoint (.pt)", file_types=[".pt"], type="filepath", height=110)
    return RunsSection(table, picker, use, download, curves, compare, upload, reset)


def wire_runs_section(trainer: "Trainer", runs: RunsSection, outputs: list[Any], show: Callable[..., Iterator[list[Any]]]) -> None:
    """Events of the runs block; each answers with the whole Train tab (``outputs``)."""
    import gradio as gr

    from trainpad.web.messages import shown_in_browser
    from trainpad.web.runs import run_in_row
    from trainpad.web.sessions import session_id

    quiet = dict(outputs=outputs, show_progress="hidden", concurrency_id="train-view")

    @shown_in_browser
    def on_pick(number: Any, request: gr.Request) -> Iterator[list[Any]]:
        yield from show(trainer.select(session_id(request), number), {}, session_id(request))

    # The runs' choices are this session's: the values reach the handler as sent, and it checks them.
    runs.picker.input(on_pick, inputs=runs.picker, api_name="show_run", preprocess=False, **quiet)

    @shown_in_browser
    def on_row(event: gr.SelectData, request: gr.Request) -> Iterator[list[Any]]:
        yield from show(trainer.select(session_id(request), run_in_row(event.row_value)), {}, session_id(request))

    runs.table.select(on_row, api_visibility="private", **quiet)

    @shown_in_browser
    def on_compare(numbers: Any, request: gr.Request) -> Iterator[list[Any]]:
        yield from show(trainer.compare(session_id(request), numbers), {}, session_id(request))

    runs.compare.input(on_compare, inputs=runs.compare, api_name="compare_runs", preprocess=False, **quiet)

    @shown_in_browser
    def on_use(number: Any, request: gr.Request) -> Iterator[list[Any]]:
        yield from show(trainer.use(session_id(request), number), {}, session_id(request))

    runs.use.click(on_use, inputs=runs.picker, api_name="use_run", preprocess=False, **quiet)

    def refresh(request: gr.Request) -> Iterator[list[Any]]:
        yield from show(trainer.view(trainer.store.get(session_id(request))), {}, session_id(request))

    @shown_in_browser
    def on_upload(path: str | None, request: gr.Request) -> str:
        return msg("**Current model:** {model}", model=msg(trainer.load(session_id(request), path)))

    runs.upload.upload(on_upload, inputs=runs.upload, outputs=outputs[6], api_name="load_checkpoint").success(
        refresh, api_visibility="private", **quiet
    )

    @shown_in_browser
    def on_reset(request: gr.Request) -> str:
        return msg("**Current model:** {model}", model=msg(trainer.reset(session_id(request))))

    runs.reset.click(on_reset, outputs=outputs[6], api_name="use_shipped_model").success(refresh, api_visibility="private", **quiet)


def _component_info(engine: "Engine", kind: str, name: str | None) -> str:
    if not name or name not in engine.registry.names(kind):
        return ""
    component = engine.registry.get(kind, name)
    info = engine.plugins.get(component.plugin)
    third_party = component.plugin and (info is None or not info.builtin)
    return f"{component.description} (plugin {component.plugin})" if third_party else component.description


# -- presets ---------------------------------------------------------------------------


def preset_menu(engine: "Engine") -> Any:
    """The Preset dropdown (at the top of the form); :func:`wire_presets` gives it its events."""
    import gradio as gr

    from trainpad.web.preset_form import preset_menu as menu

    choices = menu(engine)
    first = choices[0][1] if choices else None
    return gr.Dropdown(choices=choices, value=first, label="Preset", info=_preset_info(engine, first), interactive=True, elem_id="tp-preset")


def _preset_info(engine: "Engine", name: str | None) -> str:
    from trainpad.web.preset_form import find

    return find(engine, name).summary if name else "No preset fits the components installed."


def wire_presets(engine: "Engine", preset: Any, form: "FormSpec") -> None:
    """Choosing a preset fills every field of ``form`` it holds, :attr:`~trainpad.web.train_form.FormSpec.fields`,
    and clears "Carry on training" (changing a field afterwards marks the preset edited:
    :func:`preset_update`, called on every change of the form)."""
    import gradio as gr

    from trainpad.web.messages import shown_in_browser
    from trainpad.web.preset_form import preset_values

    @shown_in_browser
    def on_preset(name: str) -> dict[Any, Any]:
        values = preset_values(engine, name)
        updates: dict[Any, Any] = {preset: gr.Dropdown(label="Preset", info=values.preset.summary), form.resume: False}
        updates.update({menu: values.choices[kind] for kind, menu in form.dropdowns.items()})
        updates.update({c.control: values.params[c.kind][c.component][c.param.name] for c in form.controls})
        updates.update({field: values.settings[key] for key, field in form.portable.items()})
        return updates

    # .select, not .input: Gradio's dropdown also sends "input" when it is opened and closed
    # without a choice, and the edited form was reset to the preset's every time (issue 22).
    preset.select(on_preset, inputs=preset, outputs=[preset, form.resume, *form.fields], api_visibility="private", show_progress="hidden", queue=False)


def preset_update(engine: "Engine", name: str | None, chosen: dict[str, Any], params: dict[str, dict[str, Any]], run: dict[str, Any]) -> Any:
    """The Preset menu's label and note for the form's values: the preset's summary while the
    form holds it, else "Preset (edited)" and what differs."""
    import gradio as gr

    from trainpad.web.preset_form import preset_note

    if not name:
        return gr.Dropdown()
    note, edited = preset_note(engine, name, chosen, params, run)
    return gr.Dropdown(label="Preset (edited)" if edited else "Preset", info=note)


# -- the shareable link ----------------------------------------------------------------

#: Puts the form's query (computed on the server) into the page's address, keeping other parameters.
ADDRESS_JS = """(query) => {
  const url = new URL(location.href);
  const ours = (key) => %(kinds)s.includes(key) || %(settings)s.includes(key) || %(kinds)s.some((k) => key.startsWith(k + '.'));
  [...url.searchParams.keys()].filter(ours).forEach((key) => url.searchParams.delete(key));
  new URLSearchParams(query || '').forEach((value, key) => url.searchParams.append(key, value));
  history.replaceState(history.state, '', url);
  return [query];
}"""
#: Copies the page's address (with the form in it); without the Clipboard API (plain http), by a selection.
COPY_JS = """(query) => {
  const link = location.href;
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(link);
  } else {
    const area = document.createElement('textarea');
    area.value = link; document.body.appendChild(area); area.select(); document.execCommand('copy'); area.remove();
  }
  return [link];
}"""


def address_js() -> str:
    """:data:`ADDRESS_JS` for this app's kinds and settings."""
    import json

    from trainpad.web.share_link import KINDS as LINK_KINDS, SETTINGS

    return ADDRESS_JS % {"kinds": json.dumps(list(LINK_KINDS)), "settings": json.dumps(list(SETTINGS))}


def wire_share_link(engine: "Engine", run_params: Any, form: "FormSpec", share: Any, query: Any) -> None:
    """The form's choices live in the page's address: each change writes them there (the
    form's change handler puts :func:`~trainpad.web.share_link.form_query` in ``query``, then
    :func:`address_js` in the address), a page opened with them fills the form from them, and
    ``share`` copies the address (:mod:`trainpad.web.share_link`)."""
    import gradio as gr

    from trainpad.web.i18n import tr
    from trainpad.web.layout import on_page_load
    from trainpad.web.messages import shown_in_browser, toast
    from trainpad.web.share_link import form_from_query

    settings = form.portable

    @shown_in_browser
    def on_open(request: gr.Request) -> dict[Any, Any]:
        linked = form_from_query(engine, dict(getattr(request, "query_params", None) or {}), run_params=run_params)
        if linked.problems:
            gr.Warning(toast(linked.note()), title=tr("Part of the link was left out"))
        updates: dict[Any, Any] = {form.dropdowns[kind]: name for kind, name in linked.choices.items()}
        for c in form.controls:
            if linked.choices.get(c.kind) == c.component and c.param.name in linked.params.get(c.kind, {}):
                updates[c.control] = linked.params[c.kind][c.param.name]
        updates.update({settings[name]: value for name, value in linked.settings.items() if name in settings})
        return updates or [gr.skip()] * len(form.fields)  # no link: nothing changes (an empty dict is not read as updates)

    on_page_load(on_open, form.fields)

    @shown_in_browser
    def on_copied(link: str, request: gr.Request) -> None:
        gr.Info(tr("The link to these settings is copied: whoever opens it gets this form."), title=tr("Link copied"))

    share.click(on_copied, inputs=query, js=COPY_JS, api_visibility="private", show_progress="hidden")  # queued: gr.Info needs it


@hookimpl
def register_tabs(register):
    register("Train", build, order=ORDER)
