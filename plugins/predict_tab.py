"""The Predict tab: draw a digit (or upload a picture) and see what the current model makes of it.

The drawing pad is a plain canvas (``trainpad.web.sketch``): drawing costs the browser next to
nothing, and the prediction (every class's probability) follows each stroke.  Beside it is
the 28x28 picture the model actually saw, after the same cropping and centring MNIST's
makers used; below, the look inside the model: a saliency map over that picture and
each convolution's feature maps (or, for a model without convolutions, its layers'
activations as bars).

What the tab offers follows the session's model: the pad for a dataset of drawn
glyphs (``ink="centre"``: MNIST, KMNIST), uploads instead for photos (Fashion-MNIST),
and for every model a random test image, whose true class is named.  "Publish as a web
page" downloads the model as a static page that does all this in the visitor's browser
(``trainpad.publish``; ``trainpad publish`` on the command line).
"""


from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from trainpad import hookimpl, msg

if TYPE_CHECKING:
    from trainpad import App
    from trainpad.web.predict_handler import Predictor
    from trainpad.web.publish_handler import Publisher

ORDER = 5  #: first: drawing a digit is what most visitors come for
#: Predictions running at once (each takes milliseconds).
CONCURRENCY = 4
SKETCH_ID = "tp-sketch"
#: On a phone the prediction sits above the pad, beside the picture the model saw, so it is
#: in sight while drawing.
PAD_CSS = """
@media (max-width: 640px) {
  .tp-predict {flex-direction: column-reverse !important; gap: 8px !important;}
  .tp-predict-results {flex-direction: row !important; flex-wrap: wrap !important; gap: 8px !important;}
  .tp-predict-results > .block:first-child {flex: 1 1 55% !important; min-width: 0 !important;}
  /* the classes are sorted, most likely first; more than ten scroll */
  .tp-predict-results #tp-label {height: 230px !important; max-height: 230px !important; overflow-y: auto !important;}
  /* every class in sight: the answer and ten short rows, the bar beside the number */
  .tp-predict-results #tp-label .output-class {padding: 2px 0 6px 0 !important; font-size: var(--text-xl) !important;}
  .tp-predict-results #tp-label .confidence-set {margin-bottom: 1px !important; font-size: 12px !important;}
  .tp-predict-results #tp-label .bar {margin-bottom: 0 !important; height: 2px !important;}
  .tp-predict-results #tp-label .text {line-height: 1.25 !important;}
  /* its height fixed, blank or answering: the pad below never moves under the finger */
  .tp-predict-results {min-height: 230px !important;}
  .tp-predict-results > .tp-seen {flex: 1 1 35% !important; min-width: 0 !important;}
  .tp-predict-results > .tp-seen {height: 170px !important;}
  .tp-predict-results [data-testid="block-label"] {display: none !important;}  /* long labels would cover the answer */
  .tp-predict-results > .tp-model-note, .tp-predict-results > .tp-publish {display: none !important;}  /* the Train tab says which model is in use */
}
"""
#: Saves the page's zip once the server has made it (the hidden download button's click).
DOWNLOAD_JS = "() => { document.querySelector('#tp-page-file')?.click(); }"


def build(app: "App") -> None:
    """Build the Predict tab (called inside its ``gr.Tab``): the picture's sources beside the
    prediction, the look inside the model below; then their events."""
    import gradio as gr

    from trainpad.web.predict_handler import EMPTY_INSIDE, Predictor
    from trainpad.web.publish_handler import Publisher
    from trainpad.web.sketch import style_js

    predictor = Predictor(app.engine, app.store)
    gr.HTML("", js_on_load=style_js(PAD_CSS), container=False, padding=False, elem_classes="tp-hidden")
    with gr.Row(equal_height=False, elem_classes="tp-predict"):
        with gr.Column(scale=3, min_width=300):
            sources = build_sources()
        with gr.Column(scale=2, min_width=260, elem_classes="tp-predict-results"):
            results = build_results()
    inside = gr.HTML(EMPTY_INSIDE, label="Inside the model", show_label=True, container=True, padding=True, elem_id="tp-inside")
    wire_predictions(predictor, sources, [results.label, results.seen, results.note, inside])
    wire_publish(Publisher(app.engine, predictor.store), results)
    wire_tab_select(predictor, sources, results)


# -- the layout ------------------------------------------------------------------------------


@dataclass
class Sources:
    """Where the picture comes from (:func:`build_sources`): the pad, a test image, an upload."""

    hint: Any
    pad: Any
    undo: Any
    clear: Any
    sample: Any
    upload_box: Any
    upload: Any


def build_sources() -> Sources:
    """The drawing pad with its buttons, and the upload below it."""
    import gradio as gr

    from trainpad.web.predict_handler import picture_source
    from trainpad.web.sketch import make_drawing_pad

    hint = gr.Markdown(picture_source(None).hint, elem_id="tp-predict-hint")
    pad = make_drawing_pad(label="Draw a digit", elem_id=SKETCH_ID)
    with gr.Row():
        undo = gr.Button("Undo", variant="secondary", min_width=80)
        clear = gr.Button("Clear", variant="secondary", min_width=80)
        sample = gr.Button("Random test image", variant="secondary", min_width=140)
    with gr.Accordion("…or upload a picture", open=False) as upload_box:
        upload = gr.Image(label="Picture to classify", sources=["upload", "clipboard"], type="numpy", image_mode="RGBA", height=220)
    return Sources(hint, pad, undo, clear, sample, upload_box, upload)


@dataclass
class Results:
    """What the model made of the picture, and Publish (:func:`build_results`)."""

    label: Any
    seen: Any
    note: Any
    publish: Any
    page_file: Any


def build_results() -> Results:
    """The prediction, the picture the model saw, which model it is, and Publish."""
    import gradio as gr

    from trainpad.web.predict_handler import BLANK

    label = gr.Label(BLANK, label="Prediction: every class", elem_id="tp-label")
    seen = gr.Image(label="What the model sees (28×28)", interactive=False, height=260, buttons=[], format="png", elem_classes="tp-seen")
    note = gr.Markdown("", padding=True, elem_classes="tp-model-note")
    with gr.Column(elem_classes="tp-publish"):
        publish = gr.Button("Publish as a web page", variant="secondary", size="sm", elem_id="tp-publish")
        page_file = gr.DownloadButton("Download the page", visible="hidden", elem_id="tp-page-file", size="sm")
    return Results(label, seen, note, publish, page_file)


# -- the events ------------------------------------------------------------------------------


def wire_predictions(predictor: "Predictor", sources: Sources, outputs: list[Any]) -> None:
    """Each stroke, upload or random test image is predicted into ``outputs``, the prediction,
    the picture seen, the model's note and the look inside (APIs ``predict``,
    ``predict_picture``, ``predict_test_image``); Undo and Clear act in the browser."""
    import gradio as gr

    from trainpad.web.messages import shown_in_browser
    from trainpad.web.sessions import session_id
    from trainpad.web.sketch import pad_js

    @shown_in_browser
    def on_picture(picture: Any, request: gr.Request) -> list[Any]:
        view = predictor.predict(session_id(request), picture)
        return [view.label, view.seen, view.note, view.inside]

    common = dict(outputs=outputs, show_progress="hidden", concurrency_limit=CONCURRENCY, concurrency_id="predict")
    # the drawing is read by trainpad.web.sketch, with trainpad's own checks
    sources.pad.change(on_picture, inputs=sources.pad, api_name="predict", preprocess=False, trigger_mode="always_last", **common)
    sources.upload.change(on_picture, inputs=sources.upload, api_name="predict_picture", preprocess=False, **common)
    sources.clear.click(None, js=pad_js(SKETCH_ID, "clear"), api_visibility="private", queue=False, show_progress="hidden")
    sources.undo.click(None, js=pad_js(SKETCH_ID, "undo"), api_visibility="private", queue=False, show_progress="hidden")

    @shown_in_browser
    def on_sample(request: gr.Request) -> list[Any]:
        _, view = predictor.random_test_image(session_id(request))
        return [view.label, view.seen, view.note, view.inside]

    sources.sample.click(on_sample, api_name="predict_test_image", **common)


def wire_publish(publisher: "Publisher", results: Results) -> None:
    """Publish as a web page: the session's model as a static page, downloaded (API ``publish_page``)."""
    import gradio as gr

    from trainpad.web.clients import address_of
    from trainpad.web.i18n import tr
    from trainpad.web.messages import shown_in_browser, toast
    from trainpad.web.sessions import session_id

    @shown_in_browser
    def on_publish(request: gr.Request) -> Any:
        page = publisher.publish(session_id(request), address_of(request))
        gr.Info(toast(page.message), title=tr("Page ready"))
        return gr.DownloadButton(value=str(page.path))

    results.publish.click(
        on_publish, outputs=results.page_file, api_name="publish_page", concurrency_limit=1, concurrency_id="publish", show_progress="full",
        show_progress_on=[results.publish],
    ).success(None, js=DOWNLOAD_JS, api_visibility="private", queue=False)


def wire_tab_select(predictor: "Predictor", sources: Sources, results: Results) -> None:
    """When the tab opens: the model's name, and the pad for drawn glyphs or uploads for
    photos, whatever the session's model was trained on."""
    import gradio as gr

    from trainpad.web.layout import on_tab_select
    from trainpad.web.predict_handler import picture_source
    from trainpad.web.sessions import session_id

    def on_show(request: gr.Request) -> list[Any]:
        session = predictor.store.get(session_id(request))
        source = picture_source(session.model)
        return [
            msg("**Model:** {model}", model=msg(session.describe())),
            source.hint,
            gr.HTML(visible=source.drawable),
            gr.Button(visible=source.drawable),
            gr.Button(visible=source.drawable),
            gr.Accordion(label="…or upload a picture" if source.drawable else "Upload a picture", open=not source.drawable),
        ]

    on_tab_select(on_show, [results.note, sources.hint, sources.pad, sources.undo, sources.clear, sources.upload_box])


@hookimpl
def register_tabs(register):
    register("Predict", build, order=ORDER)
