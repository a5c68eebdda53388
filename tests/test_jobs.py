"""A run as a job: plain data in, picklable events out, its random numbers its own.

The job (:mod:`trainpad.engine.job`) is what the web app runs in a thread, a process or a
ZeroGPU worker; these tests drive it directly, as an executor would, and check what every
place depends on: every event pickles, a run carried on from its state (a Step, then
Start) trains exactly as a run never interrupted, and another run drawing random numbers
at the same time changes nothing.
"""

from __future__ import annotations

import pickle
import threading

import pytest

from trainpad import EpochEnd, StepEnd, TrainConfig
from trainpad.engine.events import SpotCheck
from trainpad.engine.events import EvalEnd, JobEnd, JobFailed, LoopTrace, Preparing, RunStarted, Snapshot, StepDetail
from trainpad.engine.job import EvalSpec, RunSpec, StopFlag
from trainpad.engine.job_runner import evaluate_job, run_job


def config(**settings) -> TrainConfig:
    values = {"batch_size": 32, "train_samples": 320, "test_samples": 64, "epochs": 2, "seed": 4, "device": "cpu"}
    values.update(settings)
    params = values.pop("params", {"optimizer": {"lr": 0.05}, "model": {"width": 8}})
    return TrainConfig(params=params, **values)


def drain(events) -> list:
    """A job's events, each sent through pickle as a process would send it."""
    return [pickle.loads(pickle.dumps(event)) for event in events]


def losses(events) -> list[float]:
    return [e.loss for e in events if isinstance(e, StepEnd)]


def test_a_job_reports_its_run_and_ends_with_its_model(engine, mnist_dir):
    events = drain(run_job(RunSpec(config(), data_dir=str(mnist_dir), spot_checks=2, watch_loop=True, snapshot_seconds=0.0), engine))
    kinds = [type(e) for e in events]
    assert kinds[-1] is JobEnd and RunStarted in kinds and kinds.index(RunStarted) < kinds.index(StepEnd)
    started = events[kinds.index(RunStarted)]
    per_epoch = -(-started.train_samples // 32)
    assert (started.steps_per_epoch, started.total_steps, started.device) == (per_epoch, 2 * per_epoch, "cpu")
    assert len(losses(events)) == 2 * per_epoch and sum(isinstance(e, EpochEnd) for e in events) == 2
    assert sum(isinstance(e, LoopTrace) for e in events) == 2 * per_epoch and any(isinstance(e, SpotCheck) for e in events)
    assert any(isinstance(e, Snapshot) for e in events)
    end = events[-1]
    assert end.end.status == "completed" and end.end.trained is None and end.state is None
    model = engine.model_from_payload(end.model)
    assert model.epochs == 2 and model.metrics["test_accuracy"] == end.end.history[-1].test_accuracy


def test_steps_then_start_in_separate_jobs_train_exactly_as_one_run(engine, mnist_dir):
    plain = drain(run_job(RunSpec(config(), data_dir=str(mnist_dir)), engine))
    expected = losses(plain)
    stepped = len(expected) // 2 + 2

    state, got, details = None, [], []
    for _ in range(stepped):  # one Step a job, past the first epoch's end, each carried on from the last one's state
        events = drain(run_job(RunSpec(config(), data_dir=str(mnist_dir), state=state, steps=1), engine))
        assert isinstance(events[-1], JobEnd) and events[-1].end is None, events[-1]
        state = events[-1].state
        got += losses(events)
        details += [e for e in events if isinstance(e, StepDetail)]
    assert state.steps_done == stepped and len(details) == stepped and details[-1].trace.step == stepped
    rest = drain(run_job(RunSpec(config(), data_dir=str(mnist_dir), state=state, spot_checks=4), engine))  # Start
    got += losses(rest)
    assert got == expected  # the same batches, dropout and updates
    assert rest[-1].end.steps_done == len(expected)
    assert [e.test_loss for e in rest[-1].end.history] == pytest.approx([e.test_loss for e in plain[-1].end.history], abs=1e-6)


def test_a_stepped_run_ended_where_it_is_keeps_its_model_tested(engine, mnist_dir):
    first = drain(run_job(RunSpec(config(), data_dir=str(mnist_dir), steps=1), engine))
    assert any(isinstance(e, SpotCheck) and e.step == 0 for e in first)  # the starting model is tested
    stopped = drain(run_job(RunSpec(config(), data_dir=str(mnist_dir), state=first[-1].state, steps=0), engine))
    end = stopped[-1]
    assert end.end.status == "stopped" and end.end.steps_done == 1 and end.model is not None
    per_epoch = next(e for e in first if isinstance(e, RunStarted)).steps_per_epoch
    assert end.end.history[-1].test_accuracy is not None and end.end.epochs_done == pytest.approx(1 / per_epoch)


def test_a_seeded_run_repeats_to_the_bit_while_another_run_draws_random_numbers(engine, mnist_dir):
    # dropout and augmentation draw from torch's global generator: the run's must be its own
    seeded = config(dataset="mnist", model="mnist-cnn", params={"model": {"width": 8, "dropout": 0.3}, "dataset": {"shift": 1}})
    alone = losses(drain(run_job(RunSpec(seeded, data_dir=str(mnist_dir)), engine)))

    done = threading.Event()

    def meddle() -> None:  # what other sessions do meanwhile: Step (a new run each time), and train
        while not done.is_set():
            for _ in run_job(RunSpec(config(seed=9, epochs=1), data_dir=str(mnist_dir), steps=1), engine):
                pass
            for _ in run_job(RunSpec(config(seed=11, epochs=1, params={"model": {"width": 8, "dropout": 0.5}}), data_dir=str(mnist_dir), steps=3), engine):
                pass

    other = threading.Thread(target=meddle)
    other.start()
    try:
        beside = losses(drain(run_job(RunSpec(seeded, data_dir=str(mnist_dir)), engine)))
    finally:
        done.set()
        other.join()
    assert beside == alone


def test_stop_ends_the_job_with_the_model_trained_so_far(engine, mnist_dir):
    stop = StopFlag()
    events = []
    for event in run_job(RunSpec(config(epochs=3), data_dir=str(mnist_dir)), engine, stop):
        events.append(event)
        if isinstance(event, StepEnd) and event.step == 5:
            stop.set()
    end = events[-1]
    assert isinstance(end, JobEnd) and end.end.status == "stopped" and end.end.steps_done == 5
    per_epoch = next(e for e in events if isinstance(e, RunStarted)).steps_per_epoch
    assert engine.model_from_payload(end.model).epochs == pytest.approx(5 / per_epoch)


def test_a_job_past_its_time_stops_and_says_so(engine, mnist_dir):
    events = drain(run_job(RunSpec(config(epochs=50), data_dir=str(mnist_dir), max_seconds=0.5), engine))
    end = events[-1]
    assert end.timed_out and end.end.status == "stopped" and end.model is not None


@pytest.mark.parametrize(
    "change, says",
    [
        ({"model": "no-such-model"}, "no-such-model"),
        ({"epochs": 0}, "epochs"),
    ],
)
def test_a_job_that_cannot_run_says_why_as_its_last_event(engine, mnist_dir, change, says):
    events = drain(run_job(RunSpec(config(**change), data_dir=str(mnist_dir)), engine))
    assert isinstance(events[-1], JobFailed) and says in events[-1].public and events[-1].expected


def test_preparing_says_what_the_data_is_doing(engine, tmp_path, mnist_dir):
    # a data folder seen for the first time is read (and decoded) while the job reports it
    import shutil

    shutil.copytree(mnist_dir, tmp_path / "fresh")
    events = drain(run_job(RunSpec(config(), data_dir=str(tmp_path / "fresh"), steps=1), engine))
    assert isinstance(events[-1], JobEnd)
    assert all(isinstance(e.text, str) and e.text for e in events if isinstance(e, Preparing))


def test_evaluation_is_a_job(engine, mnist_dir):
    from trainpad.engine.checkpoint import to_payload

    end = drain(run_job(RunSpec(config(epochs=1), data_dir=str(mnist_dir)), engine))[-1]
    trained = engine.model_from_payload(end.model)
    events = drain(evaluate_job(EvalSpec(to_payload(trained), data_dir=str(mnist_dir), samples=64, answers=5, seed=1), engine))
    result = events[-1]
    assert isinstance(result, EvalEnd) and result.evaluation.count == 64 and len(result.evaluation.answers) == 5
    direct = engine.evaluate(trained, data_dir=mnist_dir, samples=64)
    assert result.evaluation.accuracy == direct.accuracy
