"""The Predict tab's drawing pad, and the drawings it sends, read by trainpad rather than by Gradio.

The pad is a plain 2D ``<canvas>`` (``trainpad/publish/page/pad.js``, the published page's own
pad) in a ``gr.HTML``: each pointer move strokes one short segment on the canvas, and nothing
else happens until the stroke ends.  Gradio's sketch pad (an ``ImageEditor``), which this
replaces, renders its layers with WebGL on every move and copies them back for the page:
in a browser without a GPU (headless Chromium, many school laptops) that took 0.2-0.5 s a
move, and the drawing lagged far behind the hand (``bench/predict_pad.py``).

When a stroke ends the pad uploads its picture, an 800x800 PNG, as any Gradio upload is
uploaded (the server's caps on uploads apply), and sends the event with the value an API
client sends for a sketch: ``{"background": None, "layers": [], "composite": <the file>}``.
Clear and Undo send the emptied or shorter drawing the same way (``None`` when empty).

- :func:`read_sketch` turns the event's raw value (``preprocess=False``) into a picture,
  opening the composite itself with trainpad's allow-list of formats and pixel cap, so
  every refusal (too many layers, not a picture, too many pixels) is trainpad's message
  instead of Gradio's empty error;
- :func:`make_drawing_pad` builds the pad, :func:`pad_js` its Clear and Undo buttons.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from trainpad.engine.pictures import ImageError
from trainpad.web.uploads import from_upload

#: The pad's picture, in pixels (what Gradio's sketch pad sent, so the preprocessing is unchanged).
CANVAS = 800
#: The pen's width on that picture.
BRUSH = 34

#: Runs once the pad is on the page (``js_on_load``: ``element``, ``props`` and ``upload`` are
#: Gradio's).  A stroke's picture is uploaded, then set as the component's value, which sends
#: the ``change`` event (Gradio sends it when the value differs from the last); a stroke that
#: ends while the one before is still uploading makes that one's event moot.
SEND_JS = """
const canvas = element.querySelector('canvas');
let latest = 0;
const send = async () => {
  const mine = ++latest;
  let value = null;
  if (!pad.isEmpty()) {
    const png = await pad.png();
    if (mine !== latest) return;
    const stored = await upload(new File([png], 'drawing.png', {type: 'image/png'}));
    if (mine !== latest) return;
    value = {background: null, layers: [], composite: {path: stored.path, url: stored.url, orig_name: 'drawing.png',
             mime_type: 'image/png', meta: {_type: 'gradio.FileData'}}};
  }
  props.value = value;
};
const pad = new window.TrainpadPad(canvas, {brush: %(brush)d, onstroke: send});
canvas.tpPad = pad;
"""

#: The pad's look: a square, as large as its column allows up to 460 px (330 on a phone).
PAD_CSS = """
.tp-pad-box {width: min(100%, 460px); aspect-ratio: 1; margin: 0 auto; border: 1px solid var(--border-color-primary, #d1d5db);
  border-radius: var(--radius-lg, 8px); overflow: hidden; background: #fff;}
.tp-pad-box canvas {display: block; width: 100%; height: 100%; cursor: crosshair; touch-action: none;}
@media (max-width: 640px) {.tp-pad-box {width: min(100%, 330px);}}
"""


def read_sketch(value: Any, *, max_layers: int) -> Any:
    """A picture from the pad event's raw value, or the value itself when it is none.

    - ``{"background", "layers", "composite"}`` of uploaded files (the pad, and the HTTP API):
      at most ``max_layers`` layers, and only the composite is opened (:func:`from_upload`);
    - ``None`` (a cleared pad), arrays and PIL images (tests) pass through.

    :raises ImageError: too many layers, no composite, or a composite that is not a picture
        trainpad reads.
    """
    if not isinstance(value, dict):
        return value
    layers = value.get("layers")
    if layers is not None and (not isinstance(layers, list) or len(layers) > max_layers):
        count = len(layers) if isinstance(layers, list) else "not a list of"
        raise ImageError(f"a drawing may have at most {max_layers} layer(s) (TRAINPAD_MAX_SKETCH_LAYERS); this one has {count}")
    if "composite" not in value:
        raise ImageError("expected a sketch with a 'composite' picture")
    return from_upload(value["composite"])


def style_js(css: str) -> str:
    """JavaScript for a ``js_on_load`` that adds ``css`` to the page, once however often it runs."""
    key = "tp-css-" + hashlib.sha1(css.encode()).hexdigest()[:10]
    return (
        f"\n{{const id = {json.dumps(key)};\n if (!document.getElementById(id)) {{\n"
        f"   const style = document.createElement('style'); style.id = id; style.textContent = {json.dumps(css)};"
        " document.head.appendChild(style);\n }}\n"
    )


def pad_js(elem_id: str, action: str) -> str:
    """A button's ``js`` that calls the pad's own ``clear`` or ``undo``, which send the emptied
    or shorter drawing (``None`` when empty), as a stroke does."""
    if action not in ("clear", "undo"):
        raise ValueError(f"a pad can clear or undo, not {action!r}")
    return f"() => {{ document.querySelector({json.dumps('#' + elem_id + ' canvas')})?.tpPad?.{action}(); }}"


def make_drawing_pad(*, label: str, elem_id: str, **kwargs: Any) -> Any:
    """The drawing pad: a ``gr.HTML`` whose ``change`` event carries the drawing (use it with
    ``preprocess=False`` and :func:`read_sketch` in the handler).  In the page, the pad's
    canvas holds it as ``tpPad`` (``clear()``, ``undo()``)."""
    import gradio as gr

    from trainpad.publish.site import PAGE

    script = (PAGE / "pad.js").read_text(encoding="utf-8")  # the published page's pad: a classic script defining TrainpadPad
    return gr.HTML(
        None,
        html_template=f'<div class="tp-pad-box"><canvas width="{CANVAS}" height="{CANVAS}" aria-label={json.dumps(label)}></canvas></div>',
        css_template=PAD_CSS,
        js_on_load=script + SEND_JS % {"brush": BRUSH},
        label=label,
        show_label=True,
        container=True,
        padding=True,
        elem_id=elem_id,
        **kwargs,
    )


__all__ = ["read_sketch", "make_drawing_pad", "pad_js", "style_js", "CANVAS", "BRUSH"]
