"""The Evaluate tab's work: the session's current model on the test split of its dataset.

Accuracy and loss, the confusion matrix and per-class accuracy as HTML, and the most
confident mistakes as captioned pictures.  The evaluation itself is a job
(:func:`trainpad.engine.job.evaluate_job`), run where the server runs its jobs.  Free of
Gradio, so tests call it directly.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trainpad.engine.errors import TrainpadError
from trainpad.engine.events import EvalEnd, JobFailed
from trainpad.engine.job import EvalSpec
from trainpad.engine.message import Message, msg
from trainpad.engine.params import ParamError
from trainpad.runtime.memory import release_memory
from trainpad.web.jobs import make_job_executor
from trainpad.web.limits import limits
from trainpad.web.messages import UserError, user_errors

if TYPE_CHECKING:
    from PIL import Image

    from trainpad.engine.engine import Engine
    from trainpad.engine.evaluation import Evaluation
    from trainpad.web.sessions import SessionStore

log = logging.getLogger("trainpad.web")

#: How many mistakes the gallery shows.
MISTAKES = 24
#: How many random test images, right or wrong, the other gallery shows.
SAMPLES = 24


@dataclass
class EvaluateView:
    """What the Evaluate tab shows after an evaluation."""

    summary: str
    confusion: str
    per_class: str
    mistakes: list[tuple["Image.Image", str]]
    #: random test images with the model's answers, framed green when right and red when wrong
    samples: list[tuple["Image.Image", str]] = field(default_factory=list)


class Evaluator:
    """The Evaluate tab's handler, bound to an engine and a session store."""

    def __init__(self, engine: "Engine", store: "SessionStore", *, data_dir: Path | str | None = None, executor: Any = None) -> None:
        self.engine = engine
        self.store = store
        self.data_dir = data_dir
        self.executor = executor if executor is not None else make_job_executor(engine)

    def evaluate(self, session_id: str, *, samples: Any = 0, seed: int | None = None) -> EvaluateView:
        """Evaluate the session's current model; ``samples`` limits the test images (0: all,
        up to ``TRAINPAD_MAX_EVAL_SAMPLES``); anything but a whole number in range is refused.

        An evaluation still going after ``TRAINPAD_MAX_EVAL_SECONDS`` stops at its next
        batch and shows what it found on the images it evaluated, saying so.

        :param seed: picks the same random test images to show again (a new draw each time without)."""
        server = limits()
        try:
            samples = server.eval_samples(samples)
        except ParamError as exc:
            raise UserError(msg("Test images: {reason}.", reason=exc)) from None
        session = self.store.get(session_id)
        trained = session.model
        if trained is None:
            raise UserError("There is no model to evaluate yet: train one in the Train tab or load a checkpoint there.")
        try:
            with user_errors("Evaluating"):
                dataset_spec = trained.spec["dataset"]
                result = self._run(trained, samples=int(samples or 0), seed=seed, max_seconds=server.max_eval_seconds)
                test_set = self.engine.load_dataset(
                    dataset_spec["name"], dataset_spec.get("params"), train=False, root=Path(self.data_dir) if self.data_dir else None
                )
                gallery = self._gallery(trained, test_set, result.mistakes)
                answers = self._answers(trained, test_set, result.answers)
        finally:
            release_memory()  # a big model's activations go back to the system
        with session.lock:
            if session.model is trained and not result.stopped:
                session.evaluation = result
        view = self.view(trained, result, gallery)
        if result.stopped:
            limited = msg(
                "**Time limit:** this server stops an evaluation after {seconds} s (TRAINPAD_MAX_EVAL_SECONDS), "
                "so these figures cover the first {count} of {total} test images.",
                seconds=f"{server.max_eval_seconds:g}", count=f"{result.count:,}", total=f"{min(samples, len(test_set)):,}",
            )
            view.summary = Message.joined("\n\n", [view.summary, limited])
        view.samples = answers
        return view

    def _run(self, trained: Any, *, samples: int, seed: int | None, max_seconds: float) -> "Evaluation":
        """The evaluation, as a job where the server runs them (:mod:`trainpad.web.jobs`)."""
        from trainpad.engine.checkpoint import to_payload

        spec = EvalSpec(
            to_payload(trained), data_dir=str(self.data_dir) if self.data_dir else None, samples=samples, mistakes=MISTAKES,
            answers=SAMPLES, seed=seed, max_seconds=max_seconds,
        )
        job = self.executor.evaluate(spec)
        while not job.done:
            event = job.get(timeout=1.0)
            if isinstance(event, EvalEnd):
                return event.evaluation
            if isinstance(event, JobFailed):
                if event.expected:
                    raise TrainpadError(event.message, public=event.public)
                log.error("an evaluation failed: %s\n%s", event.message, event.traceback)
                raise UserError(msg("Evaluating failed unexpectedly ({kind}); the details are in the server log.", kind=event.kind))
        raise UserError("The evaluation ended without a result; try again.")

    @staticmethod
    def _answers(trained: Any, test_set: Any, answers: list[Any]) -> list[tuple["Image.Image", str]]:
        """Each answer's picture in a frame (green: right, red: wrong), captioned with what the model said."""
        import numpy as np

        from trainpad.web.pictures import to_pil

        names = trained.class_names
        items = []
        for answer in answers:
            picture = _picture(trained, test_set, answer.index)
            if picture.ndim == 2:
                picture = np.repeat(picture[:, :, None], 3, axis=2)
            frame = (22, 163, 74) if answer.correct else (220, 38, 38)
            framed = np.empty((picture.shape[0] + 8, picture.shape[1] + 8, 3), dtype=np.uint8)
            framed[:] = frame
            framed[4:-4, 4:-4] = picture
            if answer.correct:
                caption = msg("✓ {answer} ({confidence})", answer=names[answer.predicted], confidence=f"{answer.confidence:.0%}")
            else:
                caption = msg(
                    "✗ {answer} ({confidence}), truly {truth}",
                    answer=names[answer.predicted], confidence=f"{answer.confidence:.0%}", truth=names[answer.true],
                )
            items.append((to_pil(framed), caption))
        return items

    @staticmethod
    def _gallery(trained: Any, test_set: Any, mistakes: list[Any]) -> list[tuple["Image.Image", str]]:
        from trainpad.web.pictures import to_pil

        names = trained.class_names
        items = []
        for mistake in mistakes:
            caption = f"{names[mistake.true]} → {names[mistake.predicted]} ({mistake.confidence:.0%})"
            items.append((to_pil(_picture(trained, test_set, mistake.index)), caption))
        return items

    @staticmethod
    def view(trained: Any, result: Any, gallery: list[tuple["Image.Image", str]]) -> EvaluateView:
        from trainpad.web.evaluate_html import confusion_html, per_class_html

        wrong = result.count - int(result.confusion.diagonal().sum())
        summary = msg(
            "### Accuracy {accuracy} · loss {loss} · {wrong} of {count} test images wrong",
            accuracy=f"{result.accuracy:.2%}", loss=f"{result.loss:.4f}", wrong=f"{wrong:,}", count=f"{result.count:,}",
        )
        return EvaluateView(
            summary=summary,
            confusion=confusion_html(result.confusion, trained.class_names),
            per_class=per_class_html(result.per_class_accuracy, trained.class_names, totals=result.confusion.sum(dim=1).tolist()),
            mistakes=gallery,
        )


def _picture(trained: Any, test_set: Any, index: int) -> Any:
    """Test image ``index`` as the page shows it: un-normalised, 112 pixels a side."""
    from trainpad.engine.pictures import dataset_picture
    from trainpad.web.pictures import upscale

    meta = trained.dataset_meta
    return upscale(dataset_picture(test_set, index, mean=meta.get("mean", (0.0,)), std=meta.get("std", (1.0,))), 112)
