"""The Predict tab: draw a digit (or upload a picture) and see what the current model makes of it.

The sketch pad has its brush picked up as soon as it appears, so the first stroke
draws; the prediction (every class's probability) follows every stroke.  Beside it is
the 28x28 picture the model actually saw, after the same cropping and centring MNIST's
makers used; below, the look inside the model: a saliency map over that picture and
each convolution's feature maps (or, for a model without convolutions, its layers'
activations as bars).

What the tab offers follows the session's model: the pad for a dataset of drawn
glyphs (``ink="centre"``: MNIST, KMNIST), uploads instead for photos (Fashion-MNIST),
and for every model a random test image, whose true class is named.
"""


from typing import TYPE_CHECKING, Any

from trainpad import hookimpl

if TYPE_CHECKING:
    from trainpad import Engine

ORDER = 5  #: first: drawing a digit is what most visitors come for
#: Predictions running at once (each takes milliseconds).
CONCURRENCY = 4
SKETCH_ID = "tp-sketch"

#: On a phone the prediction sits above the pad, beside the picture the model saw, so it is
#: in sight while drawing.
PHONE_CSS = """
@media (max-width: 640px) {
  #{id} {height: 330px !important;}
  .tp-predict {flex-direction: column-reverse !important; gap: 8px !important;}
  .tp-predict-results {flex-direction: row !important; flex-wrap: wrap !important; gap: 8px !important;}
  .tp-predict-results > .block:first-child {flex: 1 1 55% !important; min-width: 0 !important;}
  /* the classes are sorted, most likely first: the top few are in sight, the rest scroll */
  .tp-predict-results #tp-label {max-height: 230px !important; overflow-y: auto !important;}
  .tp-predict-results > .tp-seen {flex: 1 1 35% !important; min-width: 0 !important;}
  .tp-predict-results > .tp-seen {height: 170px !important;}
  .tp-predict-results [data-testid="block-label"] {display: none !important;}  /* long labels would cover the answer */
  .tp-predict-results > .tp-model-note {display: none !important;}  /* the Train tab says which model is in use */
}
""".replace("{id}", SKETCH_ID)
#: The Clear button: presses the editor's "Clear canvas", which empties the pad and sends
#: the change (so the prediction goes back to BLANK) every time.
CLEAR_JS = """
() => { document.querySelector('#%(id)s button[aria-label="Clear canvas"]')?.click(); }
""" % {"id": SKETCH_ID}


def build(engine: "Engine") -> None:
    """Build the Predict tab (called inside its ``gr.Tab``)."""
    import gradio as gr

    from trainpad.web.layout import on_tab_select
    from trainpad.web.messages import shown_in_browser
    from trainpad.web.limits import limits
    from trainpad.web.predict_handler import BLANK, EMPTY_INSIDE, Predictor, picture_source
    from trainpad.web.sessions import session_id, store_for
    from trainpad.web.sketch import PAD_CLASS, PAD_JS, SketchBlobs, make_sketchpad, style_js

    sketches = SketchBlobs(max_layers=limits().max_sketch_layers)
    predictor = Predictor(engine, store_for(engine), sketches=sketches)
    gr.HTML("", js_on_load=PAD_JS + style_js(PHONE_CSS), container=False, padding=False, elem_classes="tp-hidden")
    with gr.Row(equal_height=False, elem_classes="tp-predict"):
        with gr.Column(scale=3, min_width=300):
            hint = gr.Markdown(picture_source(None).hint, elem_id="tp-predict-hint")
            sketch = make_sketchpad(
                sketches,
                label="Draw a digit",
                type="numpy",
                image_mode="RGBA",
                canvas_size=(800, 800),
                fixed_canvas=True,
                brush=gr.Brush(default_size=34, colors=["#000000"], default_color="#000000", color_mode="fixed"),
                eraser=gr.Eraser(default_size=40),
                layers=False,
                transforms=(),
                sources=(),
                height=460,
                elem_id=SKETCH_ID,
                elem_classes=PAD_CLASS,
                buttons=[],
            )
            with gr.Row():
                clear = gr.Button("Clear", variant="secondary")
                sample = gr.Button("Random test image", variant="secondary")
            with gr.Accordion("…or upload a picture", open=False) as upload_box:
                upload = gr.Image(label="Picture to classify", sources=["upload", "clipboard"], type="numpy", image_mode="RGBA", height=220)
        with gr.Column(scale=2, min_width=260, elem_classes="tp-predict-results"):
            label = gr.Label(BLANK, label="Prediction: every class", elem_id="tp-label")
            seen = gr.Image(label="What the model sees (28×28)", interactive=False, height=260, buttons=[], format="png", elem_classes="tp-seen")
            note = gr.Markdown("", padding=True, elem_classes="tp-model-note")
    inside = gr.HTML(EMPTY_INSIDE, label="Inside the model", show_label=True, container=True, padding=True, elem_id="tp-inside")

    @shown_in_browser
    def on_picture(picture: Any, request: gr.Request) -> list[Any]:
        view = predictor.predict(session_id(request), picture)
        return [view.label, view.seen, view.note, view.inside]

    sketch.change(
        on_picture,
        inputs=sketch,
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
    # The editor's own "Clear canvas" does the clearing: setting the pad to None from the
    # server works only once per page (Gradio skips an update equal to the last one it sent).
    clear.click(None, js=CLEAR_JS, api_visibility="private", queue=False, show_progress="hidden")

    @shown_in_browser
    def on_sample(request: gr.Request) -> list[Any]:
        _, view = predictor.random_test_image(session_id(request))
        return [view.label, view.seen, view.note, view.inside]

    sample.click(on_sample, outputs=[label, seen, note, inside], api_name="predict_test_image", show_progress="hidden", concurrency_limit=CONCURRENCY, concurrency_id="predict")

    def on_show(request: gr.Request) -> list[Any]:
        # the pad for drawn glyphs, uploads for photos: whatever the session's model was trained on
        session = predictor.store.get(session_id(request))
        source = picture_source(session.model)
        return [
            f"**Model:** {session.describe()}",
            source.hint,
            gr.Sketchpad(visible=source.drawable),
            gr.Button(visible=source.drawable),
            gr.Accordion(label="…or upload a picture" if source.drawable else "Upload a picture", open=not source.drawable),
        ]

    on_tab_select(on_show, [note, hint, sketch, clear, upload_box])


@hookimpl
def register_tabs(register):
    register("Predict", build, order=ORDER)
