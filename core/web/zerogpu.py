"""Jobs on a ZeroGPU Space: each run (and evaluation) in a ``@spaces.GPU`` worker.

On ZeroGPU hardware (``SPACES_ZERO_GPU`` set) a GPU exists only inside calls of functions
decorated with ``spaces.GPU``: the ``spaces`` package schedules each call with the
Space's device API (a visitor has a daily quota of GPU time), forks a worker process
from the server, sends the call's arguments and brings back each ``yield`` pickled.  What
the worker changes in memory never reaches the server.  A job (:mod:`trainpad.engine.job`)
is made for that: plain data in, picklable events out, CPU tensors only.

:class:`ZeroGPUExecutor` runs a job as such a call, with a duration planned from the run
(:func:`planned_seconds`: its steps, its model's size, its tests) and capped by
``TRAINPAD_MAX_RUN_SECONDS``; the job stops itself a little before the duration, keeping
its model, so the package never has to abort it.  Stop reaches the worker as a file
(:class:`~trainpad.engine.job.StopFile`): the worker is forked before any channel of ours
exists.  Inside, the run trains on CUDA when the worker has it, and on the CPU when it
does not.  The package's own errors (over quota, an illegal duration, an aborted task)
come back as trainpad's messages: what happened, and what to do.

Predictions stay in the server process, on the CPU: they need no GPU, and a visitor's
quota is kept for training.  Evaluations, a second of CPU time for the test split of a
small model, do too.
"""

from __future__ import annotations

import contextvars
import logging
import math
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from trainpad import settings
from trainpad.engine.events import JobFailed
from trainpad.engine.job import RunSpec, StopFile
from trainpad.engine.message import msg
from trainpad.engine.model_size import plan_model
from trainpad.runtime.executors import JobHandle, ThreadExecutor
from trainpad.web.limits import limits

if TYPE_CHECKING:
    from trainpad.engine.engine import Engine
    from trainpad.engine.job import EvalSpec, LabSpec

log = logging.getLogger("trainpad.web")

#: Seconds any GPU call takes besides training: scheduling, the worker's start (a fork,
#: CUDA's start-up), the data read from the disk cache and the model built.
OVERHEAD_SECONDS = 20.0
#: The longest duration one ZeroGPU call may ask for (the package's limit on a generator's
#: life is 20 minutes; a Space's visitors get a few minutes a day).
MAX_DURATION = 1200
#: Seconds before its duration at which the job stops itself, keeping its model.
MARGIN_SECONDS = 10.0

#: The app's engine, for the job in the worker: a fork of this process has it already.
_ENGINE: "Engine | None" = None


def planned_seconds(spec: RunSpec, parameters: int, cap: float) -> int:
    """The GPU time to ask for ``spec``'s run: what its samples take at ``parameters``
    parameters at ``TRAINPAD_ZEROGPU_SPEED`` (samples a second per million parameters; the
    default is an H200 slice's least, so that the plan does not fall short), its tests (a
    test pass per epoch, a few spot checks) and :data:`OVERHEAD_SECONDS`; at most ``cap``
    (the server's time limit) and :data:`MAX_DURATION`."""
    config = spec.config
    samples = (config.train_samples or 60_000) * config.epochs
    if spec.steps is not None:  # a Step, or the end of a stepped run: one batch and maybe a test
        samples = config.batch_size * max(spec.steps, 1)
    tests = (config.test_samples or 10_000) * (config.epochs + 1)
    size = max(parameters / 1e6, 0.05)
    seconds = OVERHEAD_SECONDS + (samples + tests / 3) * size / settings.get("TRAINPAD_ZEROGPU_SPEED")
    return int(min(math.ceil(seconds), cap, MAX_DURATION))


def _duration(spec: RunSpec, stop_path: str, seconds: int) -> int:
    return seconds


def _run_on_gpu(spec: RunSpec, stop_path: str, seconds: int) -> Iterator[Any]:
    """The job, in the ZeroGPU worker (decorated with ``spaces.GPU`` by :class:`ZeroGPUExecutor`)."""
    import torch

    from trainpad.engine.job_runner import run_job

    if spec.config.device in ("auto", "cuda") and not torch.cuda.is_available():
        spec = replace(spec, device="cpu")  # a worker without a GPU (a test's emulation) trains on the CPU
    yield from run_job(spec, _ENGINE, StopFile(stop_path))


class ZeroGPUExecutor:
    """Runs each training job in a ``spaces.GPU`` call (see the module); evaluations and Lab experiments in a thread here."""

    where = "zerogpu"

    def __init__(self, engine: "Engine") -> None:
        global _ENGINE
        import spaces  # patches torch in this process, as ZeroGPU wants (before CUDA is touched)

        _ENGINE = engine
        self.engine = engine
        self._gpu_run = spaces.GPU(_run_on_gpu, duration=_duration)
        self._here = ThreadExecutor(engine)
        self._folder = Path(tempfile.mkdtemp(prefix="trainpad-zerogpu-"))

    def run(self, spec: RunSpec) -> JobHandle:
        cap = spec.max_seconds if spec.max_seconds is not None else limits().max_run_seconds
        seconds = planned_seconds(spec, self._parameters(spec), cap)
        spec = replace(spec, max_seconds=max(seconds - MARGIN_SECONDS, 1.0), snapshot_seconds=spec.snapshot_seconds or 5.0)
        stop = StopFile(self._folder / f"stop-{time.monotonic_ns()}")
        handle = JobHandle(stop, where=self.where)
        context = contextvars.copy_context()  # the Gradio request: the visitor's quota is the request's

        def work() -> None:
            try:
                for event in self._gpu_run(spec, stop.path, seconds):
                    handle.put(event)
            except Exception as exc:
                handle.put(failure_of(exc, seconds))
            finally:
                handle.finish()

        threading.Thread(target=context.run, args=(work,), name="trainpad-zerogpu-run", daemon=True).start()
        return handle

    def evaluate(self, spec: "EvalSpec") -> JobHandle:
        return self._here.evaluate(spec)

    def lab(self, spec: "LabSpec") -> JobHandle:
        return self._here.lab(spec)  # a Lab experiment is small: the CPU, as evaluations

    def _parameters(self, spec: RunSpec) -> int:
        """The run's model's parameters, planned without building it (1 million when unknown)."""
        try:
            model = self.engine.component("model", spec.config.model)
            dataset = self.engine.component("dataset", spec.config.dataset)
            meta = self.engine.dataset_meta(dataset)
            planned = plan_model(
                model.factory, input_shape=tuple(meta["input_shape"]), num_classes=len(dataset.meta.get("class_names", ())),
                **model.validate(spec.config.params.get("model")),
            )
        except Exception:  # the job says what is wrong with the choice
            return 1_000_000
        return planned.nbytes // 4 if planned is not None else 1_000_000

    def prepare(self) -> None:
        """Nothing to start: the package forks its worker at the first call."""

    def close(self) -> None:
        """Nothing to end: the package's workers end with the server."""


def failure_of(exc: BaseException, seconds: int) -> JobFailed:
    """The ``spaces`` package's error as trainpad's message: what happened, what to do."""
    title = str(getattr(exc, "title", "") or "")
    said = str(getattr(exc, "message", "") or exc).strip()
    if "quota" in title.lower():
        quota = msg("ZeroGPU's daily quota: {said}", said=said.rstrip(".")[:200]) if said else msg("ZeroGPU's daily quota")
        public = msg(
            "This Space's GPU time for you is used up for now ({quota}). Sign in to Hugging Face for a larger quota, "
            "train a smaller run (fewer epochs or samples), or come back when your quota has renewed.",
            quota=quota,
        )
    elif "duration" in title.lower():
        public = (
            msg(
                "This run would need {seconds} s of GPU time, more than ZeroGPU allows one call here. Choose fewer epochs or training samples.",
                seconds=seconds,
            )
        )
    elif "aborted" in said.lower() or "worker error" in title.lower():
        public = (
            "The GPU worker ended the run before it finished (it ran past its GPU time, or failed). "
            "The model trained up to its last snapshot is kept; try a shorter run."
        )
    elif "queue" in title.lower() or "no gpu" in said.lower():
        public = "No GPU of this Space was free in time: try again in a minute."
    else:
        public = msg("The GPU call failed ({what}): try again, or a smaller run.", what=title or type(exc).__name__)
    return JobFailed(f"ZeroGPU: {title or type(exc).__name__}: {said}", public, "ZeroGPU")


__all__ = ["ZeroGPUExecutor", "failure_of", "planned_seconds"]
