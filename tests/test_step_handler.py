"""The Train tab's Step and loop view, through their handler: Step builds the run Start
would, trains one batch at a time, and Start carries on from there."""

from __future__ import annotations

import pytest

from trainpad.engine.job import StopFlag
from trainpad.runtime.executors import JobHandle
from trainpad.web.messages import UserError
from trainpad.web.plots import Curves
from trainpad.web.runs import RunRecord
from trainpad.web.sessions import SessionStore
from trainpad.web.shipped_model import shipped_loader
from trainpad.web.step_handler import Stepper
from trainpad.web.train_handler import Trainer

CHOICES = {"dataset": "mnist", "model": "mnist-cnn", "optimizer": "sgd", "loss": "nll"}
SMALL = {"epochs": 1, "batch_size": 32, "train_samples": 128, "schedule": "onecycle", "seed": 1, "device": "cpu"}


def weak_shipped(engine):
    """The shipped model as if it scored 0%: every run does better and is used (the comparison
    itself is tested in test_ui_handlers)."""
    import dataclasses

    model = dataclasses.replace(shipped_loader(engine)(), metrics={"test_accuracy": 0.0})
    return lambda: model


@pytest.fixture
def trainer(engine, mnist_dir):
    store = SessionStore(weak_shipped(engine))
    yield Trainer(engine, store, data_dir=mnist_dir, update_every=0.0)
    store.close()


def config(trainer, **settings):
    return trainer.config(CHOICES, {"optimizer": {"lr": 0.05}}, {**SMALL, **settings})


def test_steps_then_start_make_one_run(trainer):
    stepper = Stepper(trainer)
    first = stepper.step("alice", config(trainer))
    second = stepper.step("alice", config(trainer))
    session = trainer.store.get("alice")
    run = session.run
    assert run.stepped and run.state.steps_done == 2 and not session.training
    assert "step 2 of 4" in second.train.status
    assert 'data-tp="loss-before"' in second.report and "Step 2:" in second.report
    assert "step 1: loss" in first.train.log and "step 2: loss" in second.train.log
    assert "step 2 of 4: x (32, 1, 28, 28) float32, y (32,)" in second.loop and "lr 0.05" in second.loop  # 4 steps: too few for one cycle
    views = list(trainer.train("alice", config(trainer)))  # Start: the same run carries on
    assert run.train_end.steps_done == 4 and run.record.kind == "trained" and len(session.runs) == 2
    assert "carrying on from step 2" in views[-1].log and "training mnist-cnn" in views[-1].log
    assert views[-1].status.startswith("**Done.**") and "trained here" in session.source
    assert run.record.curves.loss()["epoch"].tolist()[:2] == pytest.approx([0.25, 0.5])  # the stepped steps are in the curves


def test_a_changed_form_begins_another_run(trainer):
    stepper = Stepper(trainer)
    stepper.step("alice", config(trainer))
    run = trainer.store.get("alice").run
    first = run.record
    stepper.step("alice", config(trainer, seed=2))
    assert run.record is not first and first.outcome == "stepped" and first.model is not None
    assert run.stepped and run.state.steps_done == 1


def test_stepped_runs_that_ended_leave_one_row_not_a_trail(engine, mnist_dir):
    """Before (issue 22): each change of the form between Steps left a row "stopped 9.99%"."""
    import dataclasses

    shipped = dataclasses.replace(shipped_loader(engine)(), metrics={"test_accuracy": 0.9939})
    store = SessionStore(lambda: shipped)
    trainer = Trainer(engine, store, data_dir=mnist_dir, update_every=0.0)
    stepper = Stepper(trainer)
    try:
        for seed in (1, 2, 3, 4):
            stepper.step("alice", config(trainer, seed=seed))
        runs = list(store.get("alice").runs)
        table = trainer.view(store.get("alice")).runs
    finally:
        store.close()
    # the shipped model (in use), the newest ended stepped run, and the one being stepped
    assert [(r.label, r.outcome) for r in runs] == [("shipped", "shipped"), ("run 3", "stepped"), ("run 4", "stepping")]
    assert list(table["status"])[:2] == ["stepped", "steps only"]


def test_stop_ends_a_stepped_run_and_keeps_its_model(trainer):
    stepper = Stepper(trainer)
    stepper.step("alice", config(trainer))
    view = trainer.stop("alice")
    session = trainer.store.get("alice")
    assert view.status.startswith("**Stopped.**") and "trained here" in session.source
    assert session.model.metrics["test_accuracy"] is not None  # tested as it stopped, to be compared
    assert session.run.train_end.steps_done == 1 and not session.run.stepped
    assert view.checkpoint  # the model trained by one step, to download


def test_step_refuses_what_it_cannot_do(trainer, monkeypatch):
    stepper = Stepper(trainer)
    session = trainer.store.get("alice")
    session.run.prepare(RunRecord(Curves()), JobHandle(StopFlag(), where="thread"))  # a run is training
    with pytest.raises(UserError, match="Stop it first"):
        stepper.step("alice", config(trainer))
    session.run.finish()
    with pytest.raises(UserError, match="epochs must be at most"):
        stepper.step("alice", config(trainer, epochs=10_000))
    monkeypatch.setenv("TRAINPAD_MAX_MODEL_MB", "0.1")  # the server's cap on a model's size, as for Start
    with pytest.raises(UserError, match="more than the .* this server allows per model"):
        stepper.step("alice", trainer.config(CHOICES, {"model": {"width": 64}}, SMALL))
    monkeypatch.delenv("TRAINPAD_MAX_MODEL_MB")
    with pytest.raises(UserError, match="no model named"):
        stepper.step("alice", trainer.config({**CHOICES, "model": "nope"}, {}, SMALL))
    # a run stepped to its end becomes the session's model, as a finished run
    small = config(trainer, train_samples=64)
    stepper.step("alice", small)
    stepper.step("alice", small)
    with pytest.raises(UserError, match="finished"):
        stepper.step("alice", small)
    assert "trained here" in session.source and session.run.train_end.status == "completed"


def test_the_loop_view_follows_the_form_and_then_the_run(trainer):
    stepper = Stepper(trainer)
    page = stepper.loop("bob", trainer.config({**CHOICES, "optimizer": "adamw"}, {"optimizer": {"lr": 0.004}}, SMALL))
    assert "torch.optim.AdamW(model.parameters(), lr=0.004, betas=(0.9, 0.999), weight_decay=0.0001)" in page.replace("<span class=\"num\">", "").replace("</span>", "")
    bad = stepper.loop("bob", trainer.config(CHOICES, {"optimizer": {"lr": 99}}, SMALL))
    assert "lr must be at most 10" in bad and "tp-loop-note" in bad


def test_steps_at_once_in_one_session_take_turns(trainer):
    """The HTTP API lets a client send Steps faster than they end: each is one batch, in turn."""
    from concurrent.futures import ThreadPoolExecutor

    stepper = Stepper(trainer)
    stepper.step("alice", config(trainer))
    with ThreadPoolExecutor(3) as pool:
        views = list(pool.map(lambda _: stepper.step("alice", config(trainer)), range(3)))
    assert sorted(int(v.report.split("Step ")[1].split(":")[0]) for v in views) == [2, 3, 4]
    assert trainer.store.get("alice").run.state.steps_done == 4
