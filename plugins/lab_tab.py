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

from typing import TYPE_CHECKING, Any, Iterator

from trainpad import Message, hookimpl, msg

if TYPE_CHECKING:
    from trainpad import App

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
    """Build the Lab tab (called inside its ``gr.Tab``)."""
    import gradio as gr

    from trainpad.web.forms import component_controls, values_for
    from trainpad.web.i18n import tr
    from trainpad.web.lab_handler import CONV, PRESS_RUN, SAME, LabRunner
    from trainpad.web.lab_html import code_html
    from trainpad.web.layout import CONCURRENCY_ID as PAGE, enclosing_tab, script_download
    from trainpad.web.messages import shown_in_browser
    from trainpad.web.sessions import session_id
    from trainpad.web.sketch import make_drawing_pad, pad_js, style_js

    engine = app.engine
    runner = LabRunner(engine, app.store, executor=app.executor, slots=app.slots)
    if not runner.experiments:
        gr.Markdown("No experiment is registered: the built-in ones are switched off (TRAINPAD_DISABLE_PLUGINS).")
        return
    first = next(iter(runner.experiments.values()))
    datasets = engine.registry.names("dataset")
    gr.HTML("", js_on_load=style_js(PHONE_CSS), container=False, padding=False, elem_classes="tp-hidden")
    gr.Markdown(INTRO)
    controls = []
    groups = {}
    with gr.Row(equal_height=False):
        with gr.Column(scale=2, min_width=280):
            experiment = gr.Dropdown(runner.choices(), value=first.name, label="Experiment", info="the line of the loop it is about")
            dataset = gr.Dropdown(datasets, value="mnist" if "mnist" in datasets else datasets[0], label="Dataset",
                                  info="the pictures it trains and tests on")  # fmt: skip
            with gr.Accordion("Hyperparameters", open=False) as params_box:
                for item in runner.experiments.values():
                    if item.needs != "data" or not item.params:
                        continue
                    with gr.Column(visible=item.name == first.name) as group:
                        controls += component_controls(engine.registry.get("experiment", item.name))
                    groups[item.name] = group
            with gr.Row():
                run = gr.Button("Run the experiment", variant="primary", elem_id="tp-lab-run")
                export = gr.Button("Download as a script", variant="secondary", elem_id="tp-lab-export")
            script_file = gr.DownloadButton("Download the script", visible="hidden", elem_id="tp-lab-script-file", size="sm")
        with gr.Column(scale=3, min_width=300):
            about = gr.Markdown("", elem_id="tp-lab-about")  # filled when the tab opens, in the browser's language
    code = gr.HTML("", elem_id="tp-lab-code")
    with gr.Column(visible=first.name != CONV) as run_panel:
        status = gr.Markdown(PRESS_RUN, elem_id="tp-lab-status", elem_classes="tp-status")
        result = gr.HTML("", elem_id="tp-lab-result")
    with gr.Column(visible=first.name == CONV) as conv_panel:
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
        conv_view = gr.HTML("", elem_id="tp-lab-conv")
        conv_finding = gr.Markdown("", elem_id="tp-lab-conv-finding")

    # -- choosing an experiment --------------------------------------------------------------

    def shown_for(name: str) -> list[Any]:
        chosen = runner.experiment(name)
        data, conv = chosen.needs == "data", chosen.name == CONV
        # a plugin's experiment on a drawing has no view of its own here: the command line runs it
        status = PRESS_RUN if data else tr("This experiment runs on a picture: `trainpad lab {name} --image PICTURE` runs it.", name=chosen.name)
        return [
            _about(chosen), code_html(chosen), gr.Column(visible=not conv), gr.Column(visible=conv),
            gr.Button(visible=data), gr.Accordion(visible=data and chosen.name in groups), status, "",
            *[gr.Column(visible=key == chosen.name) for key in groups],
        ]  # fmt: skip

    choose_outputs = [about, code, run_panel, conv_panel, run, params_box, status, result, *groups.values()]

    @shown_in_browser
    def on_choose(name: str, request: gr.Request) -> list[Any]:  # the request: the browser's language
        return shown_for(name)

    choice = experiment.change(on_choose, inputs=experiment, outputs=choose_outputs, api_visibility="private", show_progress="hidden", queue=False)

    # -- running one -------------------------------------------------------------------------

    @shown_in_browser
    def on_run(name: str, dataset_name: str, request: gr.Request, progress: gr.Progress = gr.Progress(), **values: Any) -> Iterator[list[Any]]:
        params = values_for(controls, "experiment", name, values) if isinstance(name, str) else {}
        for view in runner.run(session_id(request), name, dataset_name, params):
            if view.fraction is not None:
                progress(view.fraction, desc=view.desc)
            yield [view.status, view.result]

    run.click(
        on_run,
        inputs=[experiment, dataset],
        inputs_kwargs={c.key: c.control for c in controls},
        outputs=[status, result],
        api_name="lab",
        preprocess=False,  # the values reach the handler's own checks as sent
        concurrency_limit=CONCURRENCY,
        concurrency_id=CONCURRENCY_ID,
        show_progress="minimal",
        show_progress_on=[status],
    )

    def on_export(name: str, dataset_name: str, request: gr.Request, **values: Any) -> Any:
        params = values_for(controls, "experiment", name, values) if isinstance(name, str) else {}
        return runner.export(session_id(request), name, dataset_name, params)

    script_download(
        export, on_export, file_button=script_file, api_name="export_lab_script",
        inputs=[experiment, dataset], inputs_kwargs={c.key: c.control for c in controls},
    )  # fmt: skip

    # -- the convolution, step by step --------------------------------------------------------

    def conv_outputs(view: Any) -> list[Any]:
        return [view.html, view.finding, gr.Slider(maximum=max(view.positions - 1, 0), value=view.position), gr.Slider(maximum=view.filters - 1)]

    @shown_in_browser
    def on_drawing(sketch: Any, filter: Any, stride: Any, padding: Any, position: Any, request: gr.Request) -> list[Any]:
        return conv_outputs(runner.conv(session_id(request), sketch, filter=filter, stride=stride, padding=padding, position=position))

    def sliding(move: int) -> Any:
        @shown_in_browser
        def on_slide(filter: Any, stride: Any, padding: Any, position: Any, request: gr.Request) -> list[Any]:
            view = runner.conv(session_id(request), SAME, filter=filter, stride=stride, padding=padding, position=position, move=move)
            return conv_outputs(view)

        return on_slide

    conv_in = [conv_filter, stride, padding, position]
    conv_out = [conv_view, conv_finding, position, conv_filter]
    common = dict(outputs=conv_out, show_progress="hidden", concurrency_limit=CONV_CONCURRENCY, concurrency_id="lab-conv")
    pad.change(on_drawing, inputs=[pad, *conv_in], api_name="lab_conv", preprocess=False, trigger_mode="always_last", **common)
    clear.click(None, js=pad_js(PAD_ID, "clear"), api_visibility="private", queue=False, show_progress="hidden")
    undo.click(None, js=pad_js(PAD_ID, "undo"), api_visibility="private", queue=False, show_progress="hidden")
    for control in (conv_filter, stride, padding):
        control.input(sliding(0), inputs=conv_in, api_visibility="private", trigger_mode="always_last", **common)
    position.release(sliding(0), inputs=conv_in, api_visibility="private", trigger_mode="always_last", **common)
    back.click(sliding(-1), inputs=conv_in, api_visibility="private", **common)
    step.click(sliding(1), inputs=conv_in, api_visibility="private", **common)

    @shown_in_browser
    def on_open(name: str, request: gr.Request) -> list[Any]:
        """What the tab shows when it opens or the experiment changes: the conv view starts on a test picture."""
        if name != CONV:
            return [gr.skip()] * len(conv_out)
        return conv_outputs(runner.conv(session_id(request), None, position=MIDDLE))

    choice.then(on_open, inputs=experiment, api_visibility="private", **common)

    # -- when the tab opens: the chosen experiment, on the session's dataset --------------------

    @shown_in_browser
    def on_show(name: str, request: gr.Request) -> list[Any]:
        trained = runner.store.get(session_id(request)).model
        dataset_name = trained.spec["dataset"]["name"] if trained is not None else None
        shown = shown_for(name if name in runner.experiments else first.name)
        return [gr.Dropdown(value=dataset_name) if dataset_name in datasets else gr.skip(), *shown]

    tab = enclosing_tab()
    if tab is not None:
        tab.select(on_show, inputs=experiment, outputs=[dataset, *choose_outputs], api_visibility="private", show_progress="hidden",
                   concurrency_id=PAGE).then(on_open, inputs=experiment, api_visibility="private", **common)  # fmt: skip


def _about(experiment: Any) -> str:
    return Message.joined("\n", [f"### `{experiment.title}`", msg(experiment.about or experiment.description)])  # a built-in's about is a catalog key


@hookimpl
def register_tabs(register):
    register("Lab", build, order=ORDER)
