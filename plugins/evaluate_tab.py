"""The Evaluate tab: the session's current model on the test split of its dataset.

Shows accuracy and loss, the confusion matrix as a heatmap, per-class accuracy, a grid
of random test images with the model's answers (right and wrong), and beside it the most
confident mistakes, captioned with their true and predicted labels.
This module is the layout and the wiring; the work is
:class:`trainpad.web.evaluate_handler.Evaluator`.
"""


from typing import TYPE_CHECKING, Any

from trainpad import hookimpl

if TYPE_CHECKING:
    import gradio as gr

    from trainpad import App

ORDER = 20
#: Evaluations running at once (each takes a few seconds of CPU on MNIST).
CONCURRENCY = 2


def _pictures(label: str, elem_id: str) -> "gr.Gallery":
    """A gallery of captioned test pictures, four a row, each opening full size."""
    import gradio as gr

    return gr.Gallery(label=label, format="png", columns=4, height="auto", object_fit="contain",
                      allow_preview=True, buttons=["fullscreen"], elem_id=elem_id, elem_classes="tp-captioned")


def build(app: "App") -> None:
    """Build the Evaluate tab (called inside its ``gr.Tab``)."""
    import gradio as gr

    from trainpad.web.evaluate_handler import Evaluator
    from trainpad.web.layout import on_tab_select
    from trainpad.web.messages import shown_in_browser
    from trainpad.web.sessions import session_id

    engine = app.engine
    evaluator = Evaluator(engine, app.store, executor=app.executor)
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            current = gr.Markdown("", label="Current model", padding=True)
            summary = gr.Markdown("Press **Evaluate** to test the current model on the test split of its dataset.", label="Summary", padding=True)
        with gr.Column(scale=1, min_width=240):
            samples = gr.Number(0, label="Test images", precision=0, minimum=0, step=1000, info="0: the whole test split")
            run = gr.Button("Evaluate", variant="primary")
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=360):
            confusion = gr.HTML(label="Confusion matrix", show_label=True, container=True, padding=True)
        with gr.Column(scale=2, min_width=280):
            per_class = gr.HTML(label="Accuracy per class", show_label=True, container=True, padding=True)
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=300):
            samples_gallery = _pictures("Random test images: the model's answer (green: right, red: wrong)", "tp-samples")
        with gr.Column(scale=1, min_width=300):
            mistakes = _pictures("Most confident mistakes: true → predicted (confidence)", "tp-mistakes")

    @shown_in_browser
    def on_evaluate(samples: Any, request: gr.Request) -> list[Any]:
        view = evaluator.evaluate(session_id(request), samples=samples)
        return [view.summary, view.confusion, view.per_class, view.mistakes, view.samples]

    run.click(
        on_evaluate,
        inputs=samples,
        outputs=[summary, confusion, per_class, mistakes, samples_gallery],
        api_name="evaluate",
        preprocess=False,  # the handler checks the raw number (Gradio's rounds 2.5 and fails on NaN)
        concurrency_limit=CONCURRENCY,
        concurrency_id="evaluate",
    )

    def on_show(request: gr.Request) -> str:
        return "**Current model:** " + evaluator.store.get(session_id(request)).describe()

    on_tab_select(on_show, current)


@hookimpl
def register_tabs(register):
    register("Evaluate", build, order=ORDER)
