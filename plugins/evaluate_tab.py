"""The Evaluate tab: the session's current model on the test split of its dataset.

Shows accuracy and loss, the confusion matrix as a heatmap, per-class accuracy and a
gallery of the most confident mistakes, captioned with their true and predicted labels.
"""


from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trainpad import hookimpl

if TYPE_CHECKING:
    from PIL import Image

    from trainpad.engine.engine import Engine
    from trainpad.web.sessions import SessionStore

ORDER = 20
#: How many mistakes the gallery shows.
MISTAKES = 24
#: Evaluations running at once (each takes a few seconds of CPU on MNIST).
CONCURRENCY = 2


@dataclass
class EvaluateView:
    """What the Evaluate tab shows after an evaluation."""

    summary: str
    confusion: str
    per_class: str
    mistakes: list[tuple["Image.Image", str]]


class Evaluator:
    """The Evaluate tab's handler, bound to an engine and a session store."""

    def __init__(self, engine: "Engine", store: "SessionStore", *, data_dir: Path | str | None = None) -> None:
        self.engine = engine
        self.store = store
        self.data_dir = data_dir

    def evaluate(self, session_id: str, *, samples: Any = 0) -> EvaluateView:
        """Evaluate the session's current model; ``samples`` limits the test images (0: all,
        up to ``TRAINPAD_MAX_EVAL_SAMPLES``); anything but a whole number in range is refused."""
        from trainpad.web.limits import limits
        from trainpad.engine.params import ParamError
        from trainpad.web.ui import error, user_errors

        try:
            samples = limits().eval_samples(samples)
        except ParamError as exc:
            raise error(f"Test images: {exc}.") from None
        session = self.store.get(session_id)
        trained = session.model
        if trained is None:
            raise error("There is no model to evaluate yet: train one in the Train tab or load a checkpoint there.")
        with user_errors("Evaluating"):
            result = self.engine.evaluate(trained, data_dir=self.data_dir, samples=int(samples or 0), mistakes=MISTAKES)
            dataset_spec = trained.spec["dataset"]
            test_set = self.engine.load_dataset(
                dataset_spec["name"], dataset_spec.get("params"), train=False, root=Path(self.data_dir) if self.data_dir else None
            )
            gallery = self._gallery(trained, test_set, result.mistakes)
        with session.lock:
            if session.model is trained:
                session.evaluation = result
        return self.view(trained, result, gallery)

    @staticmethod
    def _gallery(trained: Any, test_set: Any, mistakes: list[Any]) -> list[tuple["Image.Image", str]]:
        from trainpad.web.html import dataset_picture, to_pil, upscale

        meta = trained.dataset_meta
        names = trained.class_names
        items = []
        for mistake in mistakes:
            picture = dataset_picture(test_set, mistake.index, mean=meta.get("mean", (0.0,)), std=meta.get("std", (1.0,)))
            caption = f"{names[mistake.true]} → {names[mistake.predicted]} ({mistake.confidence:.0%})"
            items.append((to_pil(upscale(picture, 112)), caption))
        return items

    @staticmethod
    def view(trained: Any, result: Any, gallery: list[tuple["Image.Image", str]]) -> EvaluateView:
        from trainpad.web.html import confusion_html, per_class_html

        wrong = result.count - int(result.confusion.diagonal().sum())
        summary = f"### Accuracy {result.accuracy:.2%} · loss {result.loss:.4f} · {wrong:,} of {result.count:,} test images wrong"
        return EvaluateView(
            summary=summary,
            confusion=confusion_html(result.confusion, trained.class_names),
            per_class=per_class_html(result.per_class_accuracy, trained.class_names, totals=result.confusion.sum(dim=1).tolist()),
            mistakes=gallery,
        )


def build(engine: "Engine") -> None:
    """Build the Evaluate tab (called inside its ``gr.Tab``)."""
    import gradio as gr

    from trainpad.web.sessions import store_for
    from trainpad.web.ui import on_tab_select, session_id

    evaluator = Evaluator(engine, store_for(engine))
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
    mistakes = gr.Gallery(
        label="Most confident mistakes: true → predicted (confidence)",
        format="png",
        columns=8,
        height="auto",
        object_fit="contain",
        allow_preview=True,
        buttons=["fullscreen"],
    )

    def on_evaluate(samples: Any, request: gr.Request) -> list[Any]:
        view = evaluator.evaluate(session_id(request), samples=samples)
        return [view.summary, view.confusion, view.per_class, view.mistakes]

    run.click(
        on_evaluate,
        inputs=samples,
        outputs=[summary, confusion, per_class, mistakes],
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
