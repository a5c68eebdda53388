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


from typing import TYPE_CHECKING, Any

from trainpad import hookimpl, msg

if TYPE_CHECKING:
    from trainpad import App

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
    """Build the Predict tab (called inside its ``gr.Tab``)."""
    import gradio as gr

    from trainpad.web.clients import address_of
    from trainpad.web.layout import on_tab_select
    from trainpad.web.i18n import tr
    from trainpad.web.messages import shown_in_browser, toast
    from trainpad.web.predict_handler import BLANK, EMPTY_INSIDE, Predictor, picture_source
    from trainpad.web.publish_handler import Publisher
    from trainpad.web.sessions import session_id
    from trainpad.web.sketch import make_drawing_pad, pad_js, style_js

    engine = app.engine
    predictor = Predictor(engine, app.store)
    publisher = Publisher(engine, predictor.store)
    gr.HTML("", js_on_load=style_js(PAD_CSS), container=False, padding=False, elem_classes="tp-hidden")
    with gr.Row(equal_height=False, elem_classes="tp-predict"):
        with gr.Column(scale=3, min_width=300):
            hint = gr.Markdown(picture_source(None).hint, elem_id="tp-predict-hint")
            pad = make_drawing_pad(label="Draw a digit", elem_id=SKETCH_ID)
            with gr.Row():
                undo = gr.Button("Undo", variant="secondary", min_width=80)
                clear = gr.Button("Clear", variant="secondary", min_width=80)
                sample = gr.Button("Random test image", variant="secondary", min_width=140)
            with gr.Accordion("…or upload a picture", open=False) as upload_box:
                upload = gr.Image(label="Picture to classify", sources=["upload", "clipboard"], type="numpy", image_mode="RGBA", height=220)
        with gr.Column(scale=2, min_width=260, elem_classes="tp-predict-results"):
            label = gr.Label(BLANK, label="Prediction: every class", elem_id="tp-label")
            seen = gr.Image(label="What the model sees (28×28)", interactive=False, height=260, buttons=[], format="png", elem_classes="tp-seen")
            note = gr.Markdown("", padding=True, elem_classes="tp-model-note")
            with gr.Column(elem_classes="tp-publish"):
                publish = gr.Button("Publish as a web page", variant="secondary", size="sm", elem_id="tp-publish")
                page_file = gr.DownloadButton("Download the page", visible="hidden", elem_id="tp-page-file", size="sm")
    inside = gr.HTML(EMPTY_INSIDE, label="Inside the model", show_label=True, container=True, padding=True, elem_id="tp-inside")

    @shown_in_browser
    def on_picture(picture: Any, request: gr.Request) -> list[Any]:
        view = predictor.predict(session_id(request), picture)
        return [view.label, view.seen, view.note, view.inside]

    pad.change(
        on_picture,
        inputs=pad,
        outputs=[label, seen, note, inside],
        api_name="predict",
        preprocess=False,  # the drawing is read by trainpad.web.sketch, with trainpad's own checks
        trigger_mode="always_last",
        show_progress="hidden",
        concurrency_limit=CONCURRENCY,
        concurrency_id="predict",
    )
    upload.change(
        on_picture,
        inputs=upload,
        outputs=[label, seen, note, inside],
        api_name="predict_picture",
        preprocess=False,
        show_progress="hidden",
        concurrency_limit=CONCURRENCY,
        concurrency_id="predict",
    )
    clear.click(None, js=pad_js(SKETCH_ID, "clear"), api_visibility="private", queue=False, show_progress="hidden")
    undo.click(None, js=pad_js(SKETCH_ID, "undo"), api_visibility="private", queue=False, show_progress="hidden")

    @shown_in_browser
    def on_sample(request: gr.Request) -> list[Any]:
        _, view = predictor.random_test_image(session_id(request))
        return [view.label, view.seen, view.note, view.inside]

    sample.click(on_sample, outputs=[label, seen, note, inside], api_name="predict_test_image", show_progress="hidden", concurrency_limit=CONCURRENCY, concurrency_id="predict")

    @shown_in_browser
    def on_publish(request: gr.Request) -> Any:
        page = publisher.publish(session_id(request), address_of(request))
        gr.Info(toast(page.message), title=tr("Page ready"))
        return gr.DownloadButton(value=str(page.path))

    publish.click(
        on_publish, outputs=page_file, api_name="publish_page", concurrency_limit=1, concurrency_id="publish", show_progress="full",
        show_progress_on=[publish],
    ).success(None, js=DOWNLOAD_JS, api_visibility="private", queue=False)

    def on_show(request: gr.Request) -> list[Any]:
        # the pad for drawn glyphs, uploads for photos: whatever the session's model was trained on
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

    on_tab_select(on_show, [note, hint, pad, undo, clear, upload_box])


@hookimpl
def register_tabs(register):
    register("Predict", build, order=ORDER)
