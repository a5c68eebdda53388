"""The Lab tab: take one line of the training loop away, or change it, and see what it does, measured.

Pick an experiment: its versions of the code are shown side by side, the line that differs
marked; **Run the experiment** runs each version of the same small recipe on the dataset
chosen (the session's model's, to begin with) and shows the curves, the figures and one or
two sentences on what they show.  A run holds one of the server's training slots, as a
training run does, and says so while it waits.  The ``conv`` experiment has a view of its
own: draw, pick a filter of the session's model's first convolution, and slide it step by
step.  **Download as a script** writes the experiment as plain PyTorch.

This module is the layout and the wiring; the work is :class:`trainpad.web.lab_handler.LabRunner`.
Every experiment registered through the ``register_experiments`` hook is in the menu, a
plugin's included.
"""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterator

from trainpad import Message, hookimpl, msg

if TYPE_CHECKING:
    from trainpad import App
    from trainpad.web.forms import ParamControl
    from trainpad.engine.lab.experiment import Experiment
    from trainpad.web.lab_handler import LabRunner

ORDER = 30  #: after Evaluate, before Plugins
#: The concurrency group of the Lab's runs: each waits for a training slot in its handler.
CONCURRENCY_ID = "lab"
#: Lab runs in their handlers at once (waiting for a training slot, or running).
CONCURRENCY = 2
#: The conv view's steps running at once (each one convolution of one picture).
CONV_CONCURRENCY = 4
INTRO = (
    "Each experiment runs the same small recipe (a network with one hidden layer, on a few thousand pictures) "
    "two or more times side by side, **changing one line of the training loop**, and measures what that line does."
)
#: Where the conv view starts: the middle of a 28x28 feature map, where a digit's strokes are.
MIDDLE = 14 * 28 + 12
#: The conv view's drawing pad.
PAD_ID = "tp-lab-pad"
#: The conv view on a phone: the pad above the controls, each full width.
PHONE_CSS = """
@media (max-width: 640px) {
  #tp-lab-pad .tp-pad-box {width: min(100%, 300px);}
}
"""


def build(app: "App") -> None:
    """Build the Lab tab (called inside its ``gr.Tab``): the experiment's form beside its
    description, its code, then its results or the convolution's view; then their events."""
    import gradio as gr

    from trainpad.web.lab_handler import LabRunner
    from trainpad.web.sketch import style_js

    runner = LabRunner(app.engine, app.store, executor=app.executor, slots=app.slots)
    if not runner.experiments:
        gr.Markdown("No experiment is registered: the built-in ones are switched off (TRAINPAD_DISABLE_PLUGINS).")
        return
    gr.HTML("", js_on_load=style_js(PHONE_CSS), container=False, padding=False, elem_classes="tp-hidden")
    gr.Markdown(INTRO)
    with gr.Row(equal_height=False):
        with gr.Column(scale=2, min_width=280):
            form = build_form(runner)
        with gr.Column(scale=3, min_width=300):
            about = gr.Markdown("", elem_id="tp-lab-about")  # filled when the tab opens, in the browser's language
    code = gr.HTML("", elem_id="tp-lab-code")
    results = build_results(first_experiment(runner).name)
    conv = build_conv_panel(first_experiment(runner).name)
    page = LabPage(runner, form, about, code, results, conv.panel)
    choice = wire_choice(page)
    wire_run(runner, form, results)
    wire_export(runner, form)
    wire_conv(runner, conv)
    choice.then(conv_opener(runner, conv), inputs=form.experiment, api_visibility="private", **conv.event)
    wire_tab_select(page, conv)


# -- the layout ------------------------------------------------------------------------------


def first_experiment(runner: "LabRunner") -> "Experiment":
    """The experiment the menu starts on."""
    return next(iter(runner.experiments.values()))


@dataclass
class LabForm:
    """The experiment's form (:func:`build_form`): which experiment, on which dataset, with
    which hyperparameters (a group per experiment that has some), and its buttons."""

    experiment: Any
    dataset: Any
    params_box: Any
    groups: dict[str, Any]
    controls: list["ParamControl"]
    run: Any
    export: Any
    script_file: Any


def build_form(runner: "LabRunner") -> LabForm:
    """The menus, the hyperparameters, Run and Download as a script."""
    import gradio as gr

    from trainpad.web.forms import component_controls

    first = first_experiment(runner)
    datasets = runner.engine.registry.names("dataset")
    experiment = gr.Dropdown(runner.choices(), value=first.name, label="Experiment", info="the line of the loop it is about")
    dataset = gr.Dropdown(datasets, value="mnist" if "mnist" in datasets else datasets[0], label="Dataset",
                          info="the pictures it trains and tests on")  # fmt: skip
    controls: list["ParamControl"] = []
    groups = {}
    with gr.Accordion("Hyperparameters", open=False) as params_box:
        for item in runner.experiments.values():
            if item.needs != "data" or not item.params:
                continue
            with gr.Column(visible=item.name == first.name) as group:
                controls += component_controls(runner.engine.registry.get("experiment", item.name))
            groups[item.name] = group
    with gr.Row():
        run = gr.Button("Run the experiment", variant="primary", elem_id="tp-lab-run")
        export = gr.Button("Download as a script", variant="secondary", elem_id="tp-lab-export")
    script_file = gr.DownloadButton("Download the script", visible="hidden", elem_id="tp-lab-script-file", size="sm")
    return LabForm(experiment, dataset, params_box, groups, controls, run, export, script_file)


@dataclass
class Results:
    """A run's status and results (:func:`build_results`), shown for experiments on data."""

    panel: Any
    status: Any
    result: Any


def build_results(first: str) -> Results:
    """The run's panel, shown unless the ``first`` experiment is the convolution's."""
    import gradio as gr

    from trainpad.web.lab_handler import CONV, PRESS_RUN

    with gr.Column(visible=first != CONV) as panel:
        status = gr.Markdown(PRESS_RUN, elem_id="tp-lab-status", elem_classes="tp-status")
        result = gr.HTML("", elem_id="tp-lab-result")
    return Results(panel, status, result)


@dataclass
class ConvPanel:
    """The convolution's view (:func:`build_conv_panel`): a drawing, a filter sliding over it."""

    panel: Any
    pad: Any
    undo: Any
    clear: Any
    filter: Any
    stride: Any
    padding: Any
    position: Any
    back: Any
    step: Any
    view: Any
    finding: Any

    @property
    def inputs(self) -> list[Any]:
        """What a step of the view reads (besides the drawing)."""
        return [self.filter, self.stride, self.padding, self.position]

    @property
    def outputs(self) -> list[Any]:
        """What a step of the view sets."""
        return [self.view, self.finding, self.position, self.filter]

    @property
    def event(self) -> dict[str, Any]:
        """What every event of the view shares: its outputs, quietly, a few at once."""
        return dict(outputs=self.outputs, show_progress="hidden", concurrency_limit=CONV_CONCURRENCY, concurrency_id="lab-conv")


def build_conv_panel(first: str) -> ConvPanel:
    """The pad beside the filter's controls, then the view; shown for the ``conv`` experiment."""
    import gradio as gr

    from trainpad.web.lab_handler import CONV
    from trainpad.web.sketch import make_drawing_pad

    with gr.Column(visible=first == CONV) as panel:
        with gr.Row(equal_height=False):
            with gr.Column(scale=2, min_width=260):
                pad = make_drawing_pad(label="Draw a digit (or leave it empty for a test picture)", elem_id=PAD_ID)
                with gr.Row():
                    undo = gr.Button("Undo", variant="secondary", min_width=80)
                    clear = gr.Button("Clear", variant="secondary", min_width=80)
            with gr.Column(scale=3, min_width=260):
                conv_filter = gr.Slider(0, 15, value=0, step=1, label="Filter", info="which filter of the first convolution")
                with gr.Row():
                    stride = gr.Radio([1, 2, 3], value=1, label="Stride", info="how far the filter moves each step", min_width=120)
                    padding = gr.Radio([0, 1, 2], value=1, label="Padding", info="zeros around the picture", min_width=120)
                position = gr.Slider(0, 783, value=0, step=1, label="Position", info="where the filter is, row by row")
                with gr.Row():
                    back = gr.Button("◀ Step back", variant="secondary", min_width=100)
                    step = gr.Button("Step ▶", variant="primary", min_width=100, elem_id="tp-lab-step")
        view = gr.HTML("", elem_id="tp-lab-conv")
        finding = gr.Markdown("", elem_id="tp-lab-conv-finding")
    return ConvPanel(panel, pad, undo, clear, conv_filter, stride, padding, position, back, step, view, finding)


@dataclass
class LabPage:
    """What choosing an experiment sets (:attr:`outputs`), and to what (:meth:`shown_for`)."""

    runner: "LabRunner"
    form: LabForm
    about: Any
    code: Any
    results: Results
    conv_panel: Any

    @property
    def outputs(self) -> list[Any]:
        form, results = self.form, self.results
        return [
            self.about, self.code, results.panel, self.conv_panel, form.run, form.params_box, results.status, results.result,
            *form.groups.values(),
        ]  # fmt: skip

    def shown_for(self, name: str) -> list[Any]:
        """:attr:`outputs` for the experiment ``name``: its description and code, its panel,
        its hyperparameters."""
        import gradio as gr

        from trainpad.web.i18n import tr
        from trainpad.web.lab_html import code_html
        from trainpad.web.lab_handler import CONV, PRESS_RUN

        chosen = self.runner.experiment(name)
        data, conv = chosen.needs == "data", chosen.name == CONV
        # a plugin's experiment on a drawing has no view of its own here: the command line runs it
        status = PRESS_RUN if data else tr("This experiment runs on a picture: `trainpad lab {name} --image PICTURE` runs it.", name=chosen.name)
        return [
            _about(chosen), code_html(chosen), gr.Column(visible=not conv), gr.Column(visible=conv),
            gr.Button(visible=data), gr.Accordion(visible=data and chosen.name in self.form.groups), status, "",
            *[gr.Column(visible=key == chosen.name) for key in self.form.groups],
        ]  # fmt: skip


# -- the events ------------------------------------------------------------------------------


def wire_choice(page: LabPage) -> Any:
    """Choosing an experiment shows its description, code and panel; returns the event, for
    the conv view to follow it."""
    import gradio as gr

    from trainpad.web.messages import shown_in_browser

    @shown_in_browser
    def on_choose(name: str, request: gr.Request) -> list[Any]:  # the request: the browser's language
        return page.shown_for(name)

    experiment = page.form.experiment
    return experiment.change(on_choose, inputs=experiment, outputs=page.outputs, api_visibility="private", show_progress="hidden", queue=False)


def experiment_params(form: LabForm, name: Any, values: dict[str, Any]) -> dict[str, Any]:
    """The experiment ``name``'s hyperparameters out of an event's keyword ``values``."""
    from trainpad.web.forms import values_for

    return values_for(form.controls, "experiment", name, values) if isinstance(name, str) else {}


def wire_run(runner: "LabRunner", form: LabForm, results: Results) -> None:
    """Run the experiment: each version of the recipe, measured (API ``lab``)."""
    import gradio as gr

    from trainpad.web.messages import shown_in_browser
    from trainpad.web.sessions import session_id

    @shown_in_browser
    def on_run(name: str, dataset_name: str, request: gr.Request, progress: gr.Progress = gr.Progress(), **values: Any) -> Iterator[list[Any]]:
        for view in runner.run(session_id(request), name, dataset_name, experiment_params(form, name, values)):
            if view.fraction is not None:
                progress(view.fraction, desc=view.desc)
            yield [view.status, view.result]

    form.run.click(
        on_run,
        inputs=[form.experiment, form.dataset],
        inputs_kwargs={c.key: c.control for c in form.controls},
        outputs=[results.status, results.result],
        api_name="lab",
        preprocess=False,  # the values reach the handler's own checks as sent
        concurrency_limit=CONCURRENCY,
        concurrency_id=CONCURRENCY_ID,
        show_progress="minimal",
        show_progress_on=[results.status],
    )


def wire_export(runner: "LabRunner", form: LabForm) -> None:
    """Download as a script: the experiment as plain PyTorch (API ``export_lab_script``)."""
    import gradio as gr

    from trainpad.web.layout import script_download
    from trainpad.web.sessions import session_id

    def on_export(name: str, dataset_name: str, request: gr.Request, **values: Any) -> Any:
        return runner.export(session_id(request), name, dataset_name, experiment_params(form, name, values))

    script_download(
        form.export, on_export, file_button=form.script_file, api_name="export_lab_script",
        inputs=[form.experiment, form.dataset], inputs_kwargs={c.key: c.control for c in form.controls},
    )  # fmt: skip


def wire_conv(runner: "LabRunner", conv: ConvPanel) -> None:
    """The convolution, step by step: a drawing (API ``lab_conv``), the filter's settings, the steps."""
    import gradio as gr

    from trainpad.web.messages import shown_in_browser
    from trainpad.web.sessions import session_id
    from trainpad.web.sketch import pad_js

    @shown_in_browser
    def on_drawing(sketch: Any, filter: Any, stride: Any, padding: Any, position: Any, request: gr.Request) -> list[Any]:
        return conv_outputs(runner.conv(session_id(request), sketch, filter=filter, stride=stride, padding=padding, position=position))

    common = conv.event
    conv.pad.change(on_drawing, inputs=[conv.pad, *conv.inputs], api_name="lab_conv", preprocess=False, trigger_mode="always_last", **common)
    conv.clear.click(None, js=pad_js(PAD_ID, "clear"), api_visibility="private", queue=False, show_progress="hidden")
    conv.undo.click(None, js=pad_js(PAD_ID, "undo"), api_visibility="private", queue=False, show_progress="hidden")
    for control in (conv.filter, conv.stride, conv.padding):
        control.input(sliding(runner, 0), inputs=conv.inputs, api_visibility="private", trigger_mode="always_last", **common)
    conv.position.release(sliding(runner, 0), inputs=conv.inputs, api_visibility="private", trigger_mode="always_last", **common)
    conv.back.click(sliding(runner, -1), inputs=conv.inputs, api_visibility="private", **common)
    conv.step.click(sliding(runner, 1), inputs=conv.inputs, api_visibility="private", **common)


def conv_outputs(view: Any) -> list[Any]:
    """A step of the conv view as :attr:`ConvPanel.outputs` (the sliders' ranges follow the picture and the model)."""
    import gradio as gr

    return [view.html, view.finding, gr.Slider(maximum=max(view.positions - 1, 0), value=view.position), gr.Slider(maximum=view.filters - 1)]


def sliding(runner: "LabRunner", move: int) -> Callable[..., list[Any]]:
    """An event function that moves the filter ``move`` steps over the drawing the view holds."""
    import gradio as gr

    from trainpad.web.lab_handler import SAME
    from trainpad.web.messages import shown_in_browser
    from trainpad.web.sessions import session_id

    @shown_in_browser
    def on_slide(filter: Any, stride: Any, padding: Any, position: Any, request: gr.Request) -> list[Any]:
        view = runner.conv(session_id(request), SAME, filter=filter, stride=stride, padding=padding, position=position, move=move)
        return conv_outputs(view)

    return on_slide


def conv_opener(runner: "LabRunner", conv: ConvPanel) -> Callable[..., list[Any]]:
    """An event function for when the tab opens or the experiment changes: the conv view starts on a test picture."""
    import gradio as gr

    from trainpad.web.lab_handler import CONV
    from trainpad.web.messages import shown_in_browser
    from trainpad.web.sessions import session_id

    @shown_in_browser
    def on_open(name: str, request: gr.Request) -> list[Any]:
        """What the tab shows when it opens or the experiment changes: the conv view starts on a test picture."""
        if name != CONV:
            return [gr.skip()] * len(conv.outputs)
        return conv_outputs(runner.conv(session_id(request), None, position=MIDDLE))

    return on_open


def wire_tab_select(page: LabPage, conv: ConvPanel) -> None:
    """When the tab opens: the chosen experiment, on the session's model's dataset."""
    import gradio as gr

    from trainpad.web.layout import CONCURRENCY_ID as PAGE, enclosing_tab
    from trainpad.web.messages import shown_in_browser
    from trainpad.web.sessions import session_id

    runner, form = page.runner, page.form
    datasets = runner.engine.registry.names("dataset")

    @shown_in_browser
    def on_show(name: str, request: gr.Request) -> list[Any]:
        trained = runner.store.get(session_id(request)).model
        dataset_name = trained.spec["dataset"]["name"] if trained is not None else None
        shown = page.shown_for(name if name in runner.experiments else first_experiment(runner).name)
        return [gr.Dropdown(value=dataset_name) if dataset_name in datasets else gr.skip(), *shown]

    tab = enclosing_tab()
    if tab is not None:
        tab.select(on_show, inputs=form.experiment, outputs=[form.dataset, *page.outputs], api_visibility="private", show_progress="hidden",
                   concurrency_id=PAGE).then(conv_opener(runner, conv), inputs=form.experiment, api_visibility="private", **conv.event)  # fmt: skip


def _about(experiment: Any) -> str:
    return Message.joined("\n", [f"### `{experiment.title}`", msg(experiment.about or experiment.description)])  # a built-in's about is a catalog key


@hookimpl
def register_tabs(register):
    register("Lab", build, order=ORDER)
