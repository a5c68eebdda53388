"""The Predict tab's work: what the session's current model makes of a picture.

Free of Gradio, so tests call it directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from trainpad.web.messages import user_errors

if TYPE_CHECKING:
    import numpy as np

    from trainpad.engine.engine import Engine
    from trainpad.web.sessions import SessionStore
    from trainpad.web.sketch import SketchBlobs

#: What the prediction box says while nothing is drawn.
BLANK = "Draw a digit"
#: What the look inside the model says while nothing is drawn.
EMPTY_INSIDE = "<p class='tp-inside-empty'>Draw something: its saliency map and each layer's activations appear here.</p>"


@dataclass
class PredictView:
    """What the Predict tab shows for one picture.

    :param label: ``{class: probability}`` for every class, or a message such as ``"Draw a digit"``.
    :param seen: the picture the model saw, enlarged (``None`` when there is none).
    :param inside: the look inside the model (saliency, feature maps or units) as HTML.
    """

    label: dict[str, float] | str
    seen: "np.ndarray | None"
    note: str
    inside: str = ""


class Predictor:
    """The Predict tab's handler, bound to an engine and a session store.

    :param sketches: where the sketch pad's drawings arrive from the browser (see
        :mod:`trainpad.web.sketch`).
    """

    def __init__(self, engine: "Engine", store: "SessionStore", sketches: "SketchBlobs | None" = None) -> None:
        self.engine = engine
        self.store = store
        self.sketches = sketches

    def predict(self, session_id: str, picture: Any) -> PredictView:
        """Classify a sketch value (the browser's ``{"id"}`` or ``{"background", "layers",
        "composite"}``), an uploaded file reference or a picture, and look inside the model
        while it does (:meth:`Engine.look_inside <trainpad.engine.engine.Engine.look_inside>`)."""
        from trainpad.engine.pictures import BlankImage
        from trainpad.web.html import upscale
        from trainpad.web.inside_html import inside_html
        from trainpad.web.limits import limits
        from trainpad.web.sketch import read_sketch
        from trainpad.web.uploads import from_upload

        session = self.store.get(session_id)
        trained = session.model
        if trained is None:
            return PredictView("No model yet", None, session.describe(), EMPTY_INSIDE)
        note = f"**Model:** {session.describe()}"
        with user_errors("Predicting"):
            try:
                if isinstance(picture, dict) and ("id" in picture or "composite" in picture):
                    picture = read_sketch(picture, session_id, self.sketches, max_layers=limits().max_sketch_layers)
                inside = self.engine.look_inside(trained, from_upload(picture))
            except BlankImage:
                return PredictView(BLANK, None, note, EMPTY_INSIDE)
            shown = inside_html(inside, trained.class_names)
        return PredictView(inside.probabilities, upscale(inside.seen, 224), note, shown)
