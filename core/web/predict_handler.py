"""The Predict tab's work: what the session's current model makes of a picture.

Free of Gradio, so tests call it directly.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trainpad.engine.message import msg
from trainpad.web.limits import limits
from trainpad.web.messages import UserError, user_errors

if TYPE_CHECKING:
    import numpy as np

    from trainpad.engine.engine import Engine
    from trainpad.engine.trained_model import TrainedModel
    from trainpad.web.sessions import SessionStore

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


@dataclass
class PictureSource:
    """How the Predict tab offers pictures for the session's current model.

    :param drawable: the model's dataset is drawn glyphs (its ``ink`` is ``"centre"``),
        so the sketch pad makes sense; otherwise the tab offers uploads and test images.
    :param hint: one or two sentences saying what to draw or upload.
    :param blank: what the prediction box says while nothing is drawn.
    """

    drawable: bool
    hint: str
    blank: str


def _listing(names: list[str], most: int = 10) -> str:
    shown = ", ".join(names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def picture_source(trained: "TrainedModel | None") -> PictureSource:
    """What the Predict tab should offer for ``trained`` (the sketch pad by default)."""
    digits = PictureSource(True, "Draw a digit, 0 to 9, as large as the pad allows.", BLANK)
    if trained is None:
        return digits
    names = list(trained.class_names)
    dataset = trained.spec["dataset"]["name"]
    if trained.dataset_meta.get("ink") == "centre":
        if names == [str(digit) for digit in range(10)]:
            return digits
        return PictureSource(True, f"Draw one of the {len(names)} {dataset} classes: {_listing(names)}.", "Draw one of its classes")
    return PictureSource(
        False,
        f"This model was trained on {dataset} pictures ({_listing(names)}): a drawing would mean nothing "
        "to it. Upload a picture of one (light on dark or dark on light), or try a random test image.",
        "Upload a picture",
    )


class Predictor:
    """The Predict tab's handler, bound to an engine and a session store."""

    def __init__(self, engine: "Engine", store: "SessionStore", *, data_dir: Path | str | None = None) -> None:
        self.engine = engine
        self.store = store
        self.data_dir = data_dir

    def source(self, session_id: str) -> PictureSource:
        """What the tab offers for the session's current model."""
        return picture_source(self.store.get(session_id).model)

    def random_test_image(self, session_id: str, *, rng: random.Random | None = None) -> tuple["np.ndarray", PredictView]:
        """A random picture of the current model's test split, and what the model makes of it.

        :return: the picture (uint8, as the dataset stores it) and the view, whose note
            names the picture's true class.
        """
        from trainpad.engine.pictures import dataset_picture

        session = self.store.get(session_id)
        trained = session.model
        if trained is None:
            raise UserError("There is no model yet: train one in the Train tab or load a checkpoint there.")
        spec = trained.spec["dataset"]
        with user_errors("Loading a test image"):
            test_set = self.engine.load_dataset(
                spec["name"], spec.get("params"), train=False, root=Path(self.data_dir) if self.data_dir else None
            )
        if len(test_set) == 0:
            raise UserError(msg("The {dataset} test split is empty: there is no test image to show.", dataset=spec['name']))
        index = (rng or random).randrange(len(test_set))
        meta = trained.dataset_meta
        picture = dataset_picture(test_set, index, mean=meta.get("mean", (0.0,)), std=meta.get("std", (1.0,)))
        label = int(test_set[index][1])
        view = self._predict(session, picture)
        truth = trained.class_names[label] if 0 <= label < len(trained.class_names) else str(label)
        view.note = msg(
            "Test image {index} of {dataset}: it is **{truth}**. {note}",
            index=f"{index:,}", dataset=spec["name"], truth=truth, note=view.note,
        )
        return picture, view

    def predict(self, session_id: str, picture: Any) -> PredictView:
        """Classify a drawing (``{"background", "layers", "composite"}`` of uploaded files, as
        the pad and API clients send it), an uploaded file reference or a picture, and look
        inside the model while it does (:meth:`Engine.look_inside <trainpad.engine.engine.Engine.look_inside>`)."""
        from trainpad.web.sketch import read_sketch
        from trainpad.web.uploads import from_upload

        if isinstance(picture, str) and not picture:  # the pad, emptied (Gradio sends its None as "")
            picture = None
        with user_errors("Predicting"):
            if isinstance(picture, dict) and ("layers" in picture or "composite" in picture):
                picture = read_sketch(picture, max_layers=limits().max_sketch_layers)
            picture = from_upload(picture)
        return self._predict(self.store.get(session_id), picture)

    def _predict(self, session: Any, picture: Any) -> PredictView:
        """What ``session``'s model makes of ``picture``, with its insides when its input is
        small enough to look inside (:func:`~trainpad.engine.inside.inside_too_large`), else
        the plain prediction and a line saying why."""
        from trainpad.engine.inside import inside_too_large
        from trainpad.engine.pictures import BlankImage
        from trainpad.web.pictures import upscale
        from trainpad.web.inside_html import inside_html, inside_notice

        trained = session.model
        if trained is None:
            return PredictView("No model yet", None, session.describe(), EMPTY_INSIDE)
        note = msg("**Model:** {model}", model=msg(session.describe()))
        too_large = inside_too_large(trained.input_shape, limits().max_inside_pixels)
        with user_errors("Predicting"):
            try:
                if too_large:
                    found: Any = self.engine.predict(trained, picture)
                    shown = inside_notice(too_large)
                else:
                    found = self.engine.look_inside(trained, picture)
                    shown = inside_html(found, trained.class_names)
            except BlankImage:
                return PredictView(picture_source(trained).blank, None, note, EMPTY_INSIDE)
        return PredictView(found.probabilities, upscale(found.seen, 224), note, shown)
