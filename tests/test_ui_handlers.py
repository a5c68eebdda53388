"""The web app's handlers and helpers, called directly (no server): real engine, real data.

Training runs on the small synthetic MNIST of ``trainpad.testing`` (``mnist_dir``); the
prediction tests use real MNIST digits when ``../shared/data`` has them.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from support import ROOT, sketch_of
from trainpad import hookimpl
from trainpad.web.sessions import SessionStore
from trainpad.web.shipped_model import PRETRAINED, shipped_loader
from trainpad.engine.trained_model import TrainedModel
from trainpad.web.evaluate_handler import Evaluator
from trainpad.web.messages import UserError
from trainpad.web.plugin_listing import listing_html, plugin_listing
from trainpad.web.predict_handler import BLANK, Predictor
from trainpad.engine.job import StopFlag
from trainpad.runtime.executors import JobHandle
from trainpad.web.plots import Curves
from trainpad.web.runs import RunRecord
from trainpad.web.train_handler import AlreadyTraining, Trainer

CHOICES = {"dataset": "mnist", "model": "mnist-cnn", "optimizer": "sgd", "loss": "nll"}
SMALL = {"epochs": 2, "batch_size": 32, "train_samples": 128, "schedule": "onecycle", "seed": 1, "device": "cpu"}


def shipped_at(engine, accuracy: float):
    """The shipped model, as a model whose recorded test accuracy is ``accuracy`` (the
    same weights; what a new run is compared with)."""
    import dataclasses

    shipped = shipped_loader(engine)()
    model = dataclasses.replace(shipped, metrics={**shipped.metrics, "test_accuracy": accuracy})
    return lambda: model


@pytest.fixture
def store(engine):
    """Sessions starting on a "shipped" model at 0% test accuracy: any run does better and is used."""
    return SessionStore(shipped_at(engine, 0.0))


@pytest.fixture
def trainer(engine, store, mnist_dir):
    trainer = Trainer(engine, store, data_dir=mnist_dir, update_every=0.0)
    trainer.spot_allowance = float("inf")  # every spot check, however busy the machine (the budget is tested in test_training)
    return trainer


def small_config(trainer, **settings):
    return trainer.config(CHOICES, {"optimizer": {"lr": 0.05}}, {**SMALL, **settings})


# -- training -----------------------------------------------------------------------------


def test_training_streams_views_and_the_session_adopts_the_model(trainer, store):
    views = list(trainer.train("alice", small_config(trainer)))

    assert views[0].status == "**Preparing the run…**" and views[0].fraction == 0.0
    assert any(v.status.startswith("**Testing the starting model**") for v in views)
    running = [v for v in views if v.fraction and 0 < v.fraction < 1]
    assert running and "samples/s" in running[0].status and "left" in running[0].status and "lr " in running[0].status
    assert all(v.checkpoint is None for v in views[:-1])  # no download while training
    last = views[-1]
    assert last.status.startswith("**Done.** Run 1 reached 2 epochs") and "Evaluate and Predict now use it" in last.status
    assert "Test accuracy" in last.metrics
    assert last.checkpoint and Path(last.checkpoint).is_file() and last.curves_csv and Path(last.curves_csv).is_file()
    assert "checkpoint ready" in last.log and "before training: test loss" in last.log

    loss = last.loss.frame
    assert set(loss["split"]) == {"train", "test"}
    # test points before training, three times during each 4-step epoch and at each epoch's end
    assert list(loss.loc[loss["split"] == "test", "epoch"]) == [0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0]
    assert len(loss[loss["split"] == "train"]) == 2 * 4  # train per step: 128 samples / 32, twice
    assert last.accuracy.frame["value"].between(0, 100).all()
    assert last.loss.x_lim == (0.0, 2.0) and last.accuracy.y_lim[1] == 100.0 and last.loss.y_lim[0] == 0.0

    alice = store.get("alice")
    assert alice.source == "run 1, trained here" and not alice.shared and alice.model.epochs == 2
    assert "trained here" in last.current and alice.runs.current == 1
    # another session is untouched: it still has the shipped model
    bob = store.get("bob")
    assert bob.source == "shipped" and bob.shared and bob.model is not alice.model


def test_a_seeded_run_gives_the_same_curves_while_another_session_steps_and_trains(trainer, store):
    """Same seed, same run, on a shared server: another session's Steps and runs (which seed
    and draw from torch's generator) change nothing in this one's curves."""
    from trainpad.web.step_handler import Stepper

    seeded = trainer.config(CHOICES, {"optimizer": {"lr": 0.05}, "model": {"dropout": 0.3}}, {**SMALL, "epochs": 2})
    list(trainer.train("alice", seeded))
    alone = store.get("alice").run.record.curves.loss()["value"].tolist()

    stepper, done = Stepper(trainer), threading.Event()

    def meddle() -> None:
        while not done.is_set():
            stepper.step("bob", small_config(trainer, seed=7))
            list(trainer.train("carol", small_config(trainer, seed=8)))

    other = threading.Thread(target=meddle)
    other.start()
    try:
        list(trainer.train("alice", seeded))
    finally:
        done.set()
        other.join(120)
    beside = store.get("alice").run.record.curves.loss()["value"].tolist()
    assert beside == alone and len(alone) > 10


def test_a_worse_run_never_replaces_the_model_in_use(engine, mnist_dir):
    store = SessionStore(shipped_at(engine, 1.0))  # nothing does better than 100%
    trainer = Trainer(engine, store, data_dir=mnist_dir, update_every=0.0)
    shipped = store.get("alice").model
    last = list(trainer.train("alice", trainer.config(CHOICES, {"optimizer": {"lr": 1e-5}}, {**SMALL, "epochs": 1})))[-1]
    session = store.get("alice")
    assert session.model is shipped and session.source == "shipped"
    assert "below the 100.00% of the model in use (shipped), which stays in use" in last.status
    assert "**Use this run**" in last.status and last.can_use and last.selected == "1"
    # both are in the table, the one in use marked
    table = last.runs
    assert list(table["run"]) == ["run 1", "shipped"] and list(table["in use"]) == ["", "●"]
    assert table["test accuracy"][0].endswith("%") and table["status"][0] == "done"
    # one click puts it in use, and one more brings the shipped model back
    used = trainer.use("alice", "1")
    assert session.source == "run 1, trained here" and "Run 1 is in use" in used.status and not used.can_use
    assert "(shipped)" in trainer.reset("alice") and session.model is shipped and session.runs.current == 0
    with pytest.raises(UserError, match="no such run"):
        trainer.use("alice", "7")
    with pytest.raises(UserError, match="no such run"):
        trainer.use("alice", {"not": "a number"})


def test_a_checkpoint_added_follows_the_rule_of_runs(engine, mnist_dir, tmp_path):
    from trainpad.engine.checkpoint import save_checkpoint

    store = SessionStore(shipped_at(engine, 0.9939))
    trainer = Trainer(engine, store, data_dir=mnist_dir)
    shipped = store.get("alice").model

    def checkpoint(name: str, dataset: str, accuracy: float) -> Path:
        trained = engine.load_checkpoint(PRETRAINED)
        trained.spec["dataset"]["name"] = dataset
        trained.metrics["test_accuracy"] = accuracy
        return save_checkpoint(trained, tmp_path / name)

    # below the shipped model on MNIST: kept beside it, which stays in use
    assert "(shipped)" in trainer.load("alice", checkpoint("worse.pt", "mnist", 0.9))
    view = trainer.view(store.get("alice"))
    assert store.get("alice").model is shipped
    assert "**worse.pt** is added as run 1." in view.status and "below the 99.39% of the model in use (shipped)" in view.status
    assert "press **Use this run** to use run 1 instead" in view.status
    # for another dataset, however good: kept beside it too
    assert "(shipped)" in trainer.load("alice", checkpoint("clothes.pt", "fashion-mnist", 0.999))
    view = trainer.view(store.get("alice"))
    assert "It is for fashion-mnist, and the model in use (shipped) for mnist: that one stays in use." in view.status
    assert [r.label for r in store.get("alice").runs][-2:] == ["run 1", "run 2"] and store.get("alice").model is shipped
    # at least as good, on the same dataset: in use
    assert "uploaded: better.pt" in trainer.load("alice", checkpoint("better.pt", "mnist", 0.9945))
    assert "is added as run 3 and in use" in trainer.view(store.get("alice")).status


def test_runs_are_kept_compared_and_trimmed(trainer, store, monkeypatch):
    monkeypatch.setenv("TRAINPAD_SESSION_RUNS", "2")
    for lr in (0.05, 0.01, 0.02):
        list(trainer.train("alice", trainer.config(CHOICES, {"optimizer": {"lr": lr}}, {**SMALL, "epochs": 1})))
    session = store.get("alice")
    # two runs and the shipped model: the oldest went, with its files, unless it is the one in use
    kept = [r.label for r in session.runs]
    in_use = session.runs.get(session.runs.current).label
    assert len(kept) == 3 and kept[0] == "shipped" and kept[-1] == "run 3" and in_use in kept
    assert len(list(session.folder().glob("*.pt"))) == 2 and len(list(session.folder().glob("*.csv"))) == 2
    other = session.runs.get(kept[1].removeprefix("run "))
    view = trainer.compare("alice", [str(other.number)])
    names = set(view.loss.frame["split"])
    assert names == {"run 3 train", "run 3", f"{other.label} train", other.label}
    assert view.loss.colours["run 3"] != view.loss.colours[other.label] and view.loss.legend == ["run 3", other.label]
    assert view.compared == [str(other.number)] and [value for _, value in view.curve_choices] == ["3", str(other.number)]
    shown = trainer.select("alice", other.number)
    lr = {1: 0.05, 2: 0.01}[other.number]
    assert shown.selected == str(other.number) and f"lr {lr:g}" in shown.log and shown.checkpoint.endswith(".pt")
    # a session's runs count against the memory budget, each model once
    before = session.nbytes()
    assert before >= sum(sum(t.numel() * t.element_size() for t in m.model.parameters()) for m in session.runs.models())
    with pytest.raises(UserError):
        trainer.compare("alice", "2")


def test_the_curves_download_holds_every_step_and_test_point(trainer, store):
    import csv

    last = list(trainer.train("alice", small_config(trainer, epochs=1)))[-1]
    rows = list(csv.DictReader(open(last.curves_csv)))
    train = [r for r in rows if r["split"] == "train"]
    test = [r for r in rows if r["split"] == "test"]
    assert len(train) == 4 and [r["step"] for r in train] == ["1", "2", "3", "4"] and all(float(r["lr"]) > 0 for r in train)
    assert [float(r["epoch"]) for r in test] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert test[0]["test_samples"] == "128" and test[-1]["test_samples"] == ""  # spot checks, then the whole split


def test_the_downloaded_checkpoint_loads_back(trainer, engine, store):
    from trainpad.engine.checkpoint import load_checkpoint

    last = list(trainer.train("alice", small_config(trainer, epochs=1)))[-1]
    loaded = load_checkpoint(engine.registry, last.checkpoint)
    trained = store.get("alice").model
    for key, value in trained.model.state_dict().items():
        assert torch.equal(value.cpu(), loaded.model.state_dict()[key])


def test_form_values_become_a_config(trainer):
    config = trainer.config(CHOICES, {"optimizer": {"lr": 0.2}, "loss": {}}, {**SMALL, "epochs": 3.0, "seed": 7.0})
    assert config.epochs == 3 and isinstance(config.epochs, int) and config.seed == 7
    assert config.params == {"optimizer": {"lr": 0.2}}  # empty kinds dropped


@pytest.mark.parametrize(
    ("settings", "params", "message"),
    [
        ({"epochs": 21}, {}, "epochs must be at most 20"),
        ({}, {"optimizer": {"lr": -1.0}}, "lr must be at least"),
        ({"device": "tpu"}, {}, "unknown device"),
    ],
)
def test_bad_settings_are_a_clear_error(trainer, settings, params, message):
    config = trainer.config(CHOICES, params, {**SMALL, **settings})
    with pytest.raises(UserError) as caught:
        list(trainer.train("alice", config))
    assert message.lower() in caught.value.message.lower() and "Traceback" not in caught.value.message
    assert not trainer.store.get("alice").training and [r.label for r in trainer.store.get("alice").runs] == ["shipped"]


def test_stop_ends_the_run_and_keeps_the_model_trained_so_far(trainer, store):
    views = trainer.train("alice", small_config(trainer, epochs=3, batch_size=8, train_samples=256))
    stopped = []
    for view in views:
        if view.fraction and view.fraction > 0 and not stopped:
            thread = threading.Thread(target=lambda: stopped.append(trainer.stop("alice")))
            thread.start()
            stopped.append(None)
    thread.join(10)
    final = stopped[-1]
    assert final.status.startswith("**Stopped.**"), final.status
    session = store.get("alice")
    assert not session.training and session.run.train_end.status == "stopped"
    assert session.source == "run 1, trained here" and session.run.train_end.steps_done < 3 * 32
    assert final.checkpoint and Path(final.checkpoint).is_file()
    # its epochs are what it trained: a fraction, in the table and the model
    steps = session.run.train_end.steps_done
    assert session.model.epochs == pytest.approx(steps / 32) and session.run.train_end.epochs_done == pytest.approx(steps / 32)
    assert trainer.stop("alice").status == "Nothing is training in this session."


def test_a_cancelled_generator_stops_the_run_and_frees_the_session(trainer, store):
    views = trainer.train("alice", small_config(trainer, epochs=3, batch_size=8, train_samples=256))
    for view in views:
        if view.fraction and view.fraction > 0:
            break
    views.close()  # what Gradio does when the event is cancelled
    session = store.get("alice")
    assert session.run.wait_for(lambda run: not run.busy, 60)  # its job winds down by itself
    assert session.run.train_end.status == "stopped" and session.source == "run 1, trained here"


def test_a_tab_closed_while_the_data_loads_never_trains(trainer, store):
    views = trainer.train("alice", small_config(trainer))
    next(views)  # preparing
    session = store.get("alice")
    store.drop("alice")
    list(views)
    assert session.run.wait_for(lambda run: not run.busy, 60) and session.run.train_end is None
    assert [r.kind for r in session.runs] == ["shipped"]


def test_stop_while_the_data_loads_never_trains(trainer, store):
    views = trainer.train("alice", small_config(trainer))
    first = next(views)
    assert first.status == "**Preparing the run…**"
    trainer.stop("alice", wait=0)
    rest = list(views)
    session = store.get("alice")
    assert session.run.train_end is None and not session.training and rest[-1].status.startswith("**Stopped** before training began")
    assert [r.kind for r in session.runs] == ["shipped"] and session.source == "shipped"


def test_one_run_at_a_time_per_session(trainer):
    views = trainer.train("alice", small_config(trainer))
    next(views)
    with pytest.raises(AlreadyTraining, match="already going"):
        next(trainer.train("alice", small_config(trainer)))
    with pytest.raises(AlreadyTraining, match="already going"):
        trainer.check_start("alice")  # what Start asks first, unqueued
    views.close()
    list(trainer.train("bob", small_config(trainer, epochs=1)))  # another session may train meanwhile


def test_start_right_after_stop_waits_for_the_stopped_run_then_trains(trainer, store):
    views = trainer.train("alice", small_config(trainer, epochs=3, batch_size=8, train_samples=256))
    for view in views:
        if view.fraction and view.fraction > 0:
            break
    session = store.get("alice")
    trainer.stop("alice", wait=0)  # asked to stop; its generator has not wound it down yet
    assert session.stopping
    assert trainer.check_start("alice").startswith("**Waiting for the stopped run")  # let through, not refused
    second = trainer.train("alice", small_config(trainer, epochs=1))
    waiting = next(second)
    assert waiting.status.startswith("**Waiting for the stopped run to wrap up:**"), waiting.status
    with pytest.raises(AlreadyTraining, match="already going"):  # one run waits at a time
        next(trainer.train("alice", small_config(trainer, epochs=1)))
    list(views)  # the first run ends: its last step, its test, kept as run 1
    last = list(second)[-1]
    assert last.status.startswith("**Done.** Run 2 reached 1 epoch"), last.status
    assert [r.outcome for r in session.runs if r.kind == "trained"] == ["stopped", "completed"]
    assert not session.training and not session.run.successor_waiting


def test_a_diverged_run_warns_and_keeps_the_previous_model(engine_with, mnist_dir):
    class NanLoss:
        @hookimpl
        def register_losses(self, register):
            def nan_nll():
                import torch.nn.functional as F

                calls = []

                def loss(output, target):  # fine for two calls (tests count), then NaN: a run that blows up
                    calls.append(1)
                    return F.nll_loss(output, target) * (float("nan") if len(calls) > 2 else 1.0)

                return loss

            register("nan-nll", nan_nll, expects="log_probs")

    engine = engine_with(NanLoss())
    store = SessionStore(shipped_loader(engine))
    trainer = Trainer(engine, store, data_dir=mnist_dir, update_every=0.0)
    config = trainer.config({**CHOICES, "loss": "nan-nll"}, {}, SMALL)
    last = list(trainer.train("alice", config))[-1]
    assert last.warning and "diverged" in last.warning and "Lower the learning rate" in last.warning
    assert last.status.startswith("**Diverged** with nothing trained to keep. Training diverged at step ")
    assert last.status.endswith("Your current model is unchanged.")
    assert store.get("alice").source == "shipped"  # it went back to its starting weights: nothing to keep
    (run,) = [r for r in store.get("alice").runs if r.kind == "trained"]
    assert run.model is None and run.outcome == "diverged" and len(run.curves) >= 1  # its curves stay, to compare


def test_carrying_on_training_the_current_model(trainer, store):
    list(trainer.train("alice", small_config(trainer, epochs=1)))
    first = store.get("alice").model
    last = list(trainer.train("alice", small_config(trainer, epochs=1), resume=True))[-1]
    assert "carrying on from" in last.log
    carried_on = store.get("alice").runs.get(2).model
    assert carried_on is not first and carried_on.epochs == 2


def test_loading_a_checkpoint_and_going_back_to_the_shipped_model(trainer, store, tmp_path):
    described = trainer.load("alice", PRETRAINED)
    assert "uploaded: mnist-cnn.pt" in described and store.get("alice").source == "uploaded: mnist-cnn.pt, run 1"
    assert not store.get("alice").shared  # its own copy
    assert [r.label for r in store.get("alice").runs] == ["shipped", "run 1"] and store.get("alice").runs.current == 1

    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(UserError, match="(?i)not a trainpad checkpoint"):
        trainer.load("alice", junk)
    with pytest.raises(UserError, match="Choose a checkpoint"):
        trainer.load("alice", None)

    assert "(shipped)" in trainer.reset("alice") and store.get("alice").shared


# -- prediction and evaluation ------------------------------------------------------------


def test_predicting_real_digits_drawn_on_the_pad(engine, store, real_digits):
    predictor = Predictor(engine, store)
    images, labels = real_digits
    right = 0
    for image, label in zip(images[:20], labels[:20]):
        view = predictor.predict("alice", sketch_of(image))
        assert abs(sum(view.label.values()) - 1) < 1e-4 and set(view.label) == set("0123456789")
        right += max(view.label, key=view.label.get) == str(label)
    assert right >= 18, f"only {right} of 20 drawn digits recognised"
    assert view.seen.shape == (224, 224) and view.seen.dtype == np.uint8  # 28x28 upscaled 8x
    assert np.array_equal(view.seen[::8, ::8], view.seen[::8, ::8].repeat(1, 0))
    assert "shipped" in view.note


@pytest.mark.parametrize(
    "value",
    [
        {"background": None, "layers": [], "composite": None},  # never drawn, or cleared
        {"background": None, "layers": [], "composite": np.full((800, 800, 4), 255, np.uint8)},  # every stroke undone
        None,
    ],
)
def test_a_blank_pad_asks_for_a_digit(engine, store, value):
    view = Predictor(engine, store).predict("alice", value)
    assert view.label == BLANK == "Draw a digit" and view.seen is None


def test_without_a_model_prediction_says_so(engine):
    predictor = Predictor(engine, SessionStore(lambda: None))
    view = predictor.predict("alice", {"background": None, "layers": [], "composite": None})
    assert view.label == "No model yet" and "train one" in view.note


def test_evaluation_shows_matrix_classes_and_mistakes(engine, store, mnist_dir):
    view = Evaluator(engine, store, data_dir=mnist_dir).evaluate("alice")
    assert view.summary.startswith("### Accuracy") and "of 128 test images wrong" in view.summary
    assert view.confusion.count("<tr>") == 12 and "predicted" in view.confusion  # 2 header rows + 10 classes
    assert view.per_class.count('class="tp-bar"') == 10
    assert 0 < len(view.mistakes) <= 24
    picture, caption = view.mistakes[0]
    assert picture.size == (112, 112) and "→" in caption and caption.endswith("%)")
    assert store.get("alice").evaluation is not None


def test_evaluating_without_a_model_is_a_clear_error(engine, mnist_dir):
    with pytest.raises(UserError, match="no model to evaluate"):
        Evaluator(engine, SessionStore(lambda: None), data_dir=mnist_dir).evaluate("alice")


# -- plugins listing ----------------------------------------------------------------------


def test_plugin_listing_names_every_plugin_and_failure(engine_with):
    class Broken:
        @hookimpl
        def register_models(self, register):
            raise RuntimeError("boom")

    engine = engine_with(Broken())
    listing = plugin_listing(engine)
    names = {p["name"]: p for p in listing["plugins"]}
    assert {"train_tab", "evaluate_tab", "predict_tab", "plugins_tab", "mnist", "sgd"} <= set(names)
    assert names["train_tab"]["tabs"] == ["Train"] and names["train_tab"]["version"]
    assert {"kind": "optimizer", "name": "sgd"}.items() <= names["sgd"]["components"][0].items()
    assert listing["failed"] == ["test-plugin-0"] and "boom" in names["test-plugin-0"]["error"]
    assert listing["plugins"][0]["name"] == "test-plugin-0"  # failures first
    page = listing_html(engine)
    assert "tp-failed" in page and "boom" in page and "1 with errors" in page


# -- sessions -----------------------------------------------------------------------------


def tiny_model(size: int = 256) -> TrainedModel:
    """A model of ``size * size * 4`` bytes."""
    return TrainedModel(torch.nn.Linear(size, size, bias=False), {"model": {"name": "tiny"}, "dataset": {"name": "x"}}, ["a"])


def test_sessions_over_the_memory_budget_are_dropped_least_recently_used_first():
    store = SessionStore(budget_bytes=3 * 256 * 256 * 4)
    for name in ("a", "b", "c"):
        store.get(name).set_model(tiny_model(), "trained")
        store.changed(store.get(name))
    assert len(store) == 3
    store.get("a")  # a is now more recent than b
    d = store.get("d")
    d.set_model(tiny_model(), "trained")
    assert store.changed(d) == ["b"]
    assert "b" not in store and {"a", "c", "d"} <= set(store._sessions)
    again = store.get("b")
    assert again.model is None and "reset" in again.take_notice() and again.take_notice() is None


def test_training_sessions_are_never_dropped():
    now = [0.0]
    store = SessionStore(budget_bytes=1, idle_seconds=10, clock=lambda: now[0])
    busy = store.get("busy")
    busy.set_model(tiny_model(), "trained")
    job = JobHandle(StopFlag(), where="thread")
    busy.run.prepare(RunRecord(Curves()), job)  # training
    store.changed(store.get("other"))
    assert "busy" in store
    now[0] = 100.0
    assert store.sweep() == ["other"] and "busy" in store
    busy.run.finish()
    assert store.sweep() == ["busy"]


def test_idle_sessions_are_dropped_and_their_files_deleted():
    now = [0.0]
    store = SessionStore(idle_seconds=60, clock=lambda: now[0])
    folder = store.get("old").folder()
    (folder / "model.pt").write_bytes(b"x")
    now[0] = 30.0
    store.get("young")
    now[0] = 70.0
    assert store.sweep() == ["old"] and not folder.exists()
    assert "young" in store


def test_a_closed_tab_drops_its_session_and_stops_its_run(trainer, store):
    views = trainer.train("alice", small_config(trainer, epochs=3, batch_size=8, train_samples=256))
    session = store.get("alice")
    while session.run.facts is None:  # prepared, training
        next(views)
    store.drop("alice")
    assert session.run.stopping and "alice" not in store
    for _ in views:  # the run winds down; nothing is written for a closed session
        pass
    assert session.run.wait_for(lambda run: not run.busy, 60) and session._folder is None
    assert all(r.checkpoint is None for r in session.runs)


def test_the_shipped_model_is_loaded_once_and_shared(engine, monkeypatch):
    load = shipped_loader(engine)
    assert load() is load() and load().epochs == 3
    monkeypatch.setenv("TRAINPAD_PRETRAINED", "")
    assert shipped_loader(engine)() is None
    monkeypatch.setenv("TRAINPAD_PRETRAINED", "/nowhere/model.pt")
    assert shipped_loader(engine)() is None


def test_each_app_has_its_own_services_and_hands_them_to_the_tabs_that_ask(engine):
    """No lookup by engine, no process-wide slots: two apps built on one engine share nothing."""
    from trainpad.web.services import App

    one, two = App.create(engine, store=SessionStore(shipped_at(engine, 0.0))), App.create(engine, store=SessionStore(shipped_at(engine, 0.0)))
    assert one.store is not two.store and one.slots is not two.slots and one.watch is not two.watch and one.executor is not two.executor
    assert one.watch.presence is one.presence
    seen = []
    one.build_tab(lambda app: seen.append(app))
    one.build_tab(lambda engine: seen.append(engine))
    one.build_tab(lambda app, engine: seen.append((app, engine)))
    one.build_tab(lambda anything: seen.append(anything))  # a builder written before: given the engine
    assert seen == [one, engine, (one, engine), engine]
    from types import SimpleNamespace

    alice = one.session(SimpleNamespace(session_hash="alice"))
    assert alice is one.store.get("alice") and alice.model is not None  # the shipped model, as a new visitor has it


# -- shared UI helpers --------------------------------------------------------------------


def test_controls_are_built_from_params():
    from trainpad.engine.params import Param
    import gradio as gr

    from trainpad.web.forms import api_key, param_control

    with gr.Blocks():
        number = param_control(Param("width", int, 12, min=1, max=256, help="channels"))
        real = param_control(Param("lr", float, 0.1, min=1e-6, max=10.0, help="learning rate"))
        flag = param_control(Param("batch_norm", bool, True, help="use it"))
        choice = param_control(Param("pooling", str, "max", choices=("max", "avg")))
    assert isinstance(number, gr.Number) and number.precision == 0 and number.maximum == 256
    assert number.info == "channels (1 to 256)" and number.label == "width"
    assert isinstance(real, gr.Number) and real.precision is None and real.value == 0.1 and "1e-06 to 10" in real.info
    assert isinstance(flag, gr.Checkbox) and flag.value is True and flag.label == "batch norm"
    assert isinstance(choice, gr.Dropdown) and [c[1] for c in choice.choices] == ["max", "avg"]
    assert api_key("model", "mnist-cnn", "batch_norm") == "model_mnist_cnn_batch_norm"


def test_user_errors_become_clear_messages_and_gr_errors_in_the_browser():
    import gradio as gr

    from trainpad.engine.errors import ConfigError
    from trainpad.engine.params import ParamError
    from trainpad.web.messages import shown_in_browser, user_errors
    from trainpad.web.sessions import session_id

    def shown(exc: BaseException, action: str = "That") -> str:
        with pytest.raises(UserError) as caught:
            with user_errors(action):
                raise exc
        return str(caught.value)

    assert shown(ConfigError("no model named x")) == "no model named x"
    assert shown(ParamError("lr must be at least 0")) == "lr must be at least 0"
    hidden = shown(KeyError("secret internals"), "Saving")
    assert hidden == "Saving failed unexpectedly (KeyError); the details are in the server log."
    assert session_id(None) == "local" and session_id(gr.Request(session_hash="abc")) == "abc"

    @shown_in_browser
    def handler(x):
        raise UserError(f"no {x}")

    @shown_in_browser
    def streaming(x):
        yield 1
        raise ConfigError(f"no {x}")

    with pytest.raises(gr.Error, match="no model"):
        handler("model")
    stream = streaming("loss")
    assert next(stream) == 1
    with pytest.raises(gr.Error, match="no loss"):
        next(stream)


def test_display_helpers():
    from trainpad.web.plots import Curves, downsample
    from trainpad.web.evaluate_html import confusion_html
    from trainpad.web.pictures import upscale

    picture = np.arange(28 * 28, dtype=np.uint8).reshape(28, 28)
    big = upscale(picture, 224)
    assert big.shape == (224, 224) and (big[::8, ::8] == picture).all() and (big[7::8, 7::8] == picture).all()
    page = confusion_html(torch.tensor([[5, 1], [0, 7]]), ["<a>", "b"])
    assert "&lt;a&gt;" in page and ">5<" in page and ">7<" in page and "<a>" not in page.replace("<a>", "", 0)
    xs, ys = downsample(np.arange(10_000.0), np.ones(10_000), 300)
    assert len(xs) == 300 and np.allclose(ys, 1) and xs[0] < xs[-1]
    from trainpad.engine.events import StepEnd

    steps = Curves()  # batches of 10: 5, 7 and 9 right in epoch 1, then 10 and 8 in epoch 2
    for step, (epoch, samples, right) in enumerate([(1, 10, 5), (1, 20, 12), (1, 30, 21), (2, 40, 10), (2, 50, 18)], 1):
        seen = samples - (0 if epoch == 1 else 30)
        steps.add(StepEnd(epoch, 2, step, 6, 1.0, right / seen, 0.1, samples, 0.0, 0.0, 0.0))
    assert list(steps.accuracy()["value"][:5]) == pytest.approx([50.0, 70.0, 90.0, 100.0, 80.0])  # each batch's own
    curves = Curves()
    curves.add_test(0.0, 2.3, 0.1)
    loss = curves.loss()
    # the one test point is drawn as a short dash from it (a line of one point would not show),
    # and the train series, with no point yet, has a placeholder
    assert list(loss["split"]) == ["test", "test", "train"] and list(loss["value"][:2]) == [2.3, 2.3] and np.isnan(loss["value"][2])
    assert loss["epoch"][0] == 0.0 and 0 < loss["epoch"][1] <= 0.05 * curves.span
    curves.add_test(0.5, 1.2, 0.6)
    assert list(curves.loss()["split"]) == ["test", "test", "train"] and list(curves.loss()["epoch"][:2]) == [0.0, 0.5]  # two points: no dash
    assert curves.accuracy()["value"][0] == 10.0


def test_the_cli_path_never_imports_gradio():
    code = (
        "import sys; from trainpad.engine.engine import Engine; e = Engine.load(entrypoints=False); "
        "import trainpad.plugins.train_tab, trainpad.plugins.evaluate_tab, trainpad.plugins.predict_tab, trainpad.plugins.plugins_tab, trainpad.web.forms, trainpad.web.layout, trainpad.web.messages; "
        "assert [t.label for t in e.tabs] == ['Predict', 'Train', 'Evaluate', 'Lab', 'Plugins'], e.tabs; "
        "assert 'gradio' not in sys.modules and 'pandas' not in sys.modules, 'imported'"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=120)


def test_a_model_is_compared_by_test_accuracy_on_its_own_dataset():
    from trainpad.web.runs import compare

    def model(dataset: str, accuracy: float | None) -> TrainedModel:
        metrics = {} if accuracy is None else {"test_accuracy": accuracy}
        return TrainedModel(torch.nn.Linear(2, 2), {"model": {"name": "tiny"}, "dataset": {"name": dataset}}, ["a", "b"], metrics=metrics)

    assert compare(model("x", 0.9), None).better
    assert compare(model("x", 0.9), model("x", 0.8)).better and compare(model("x", 0.8), model("x", 0.8)).better
    assert not compare(model("x", 0.7), model("x", 0.8)).better
    # another dataset: nothing to compare, and the model in use stays until the user picks the new one
    other = compare(model("y", 0.995), model("x", 0.99))
    assert not other.better and other.datasets == ("y", "x")
    assert not compare(model("x", None), model("x", 0.5)).better  # never tested: it does not replace a tested one
    assert compare(model("x", None), model("x", None)).better and compare(model("x", 0.3), model("x", None)).better


def test_a_new_session_holds_nothing_of_its_own_with_the_shipped_model_in_its_table(engine, store):
    session = store.get("newcomer")
    assert [r.label for r in session.runs] == ["shipped"] and session.nbytes() == 0 and not session.keeps_something


def test_overlaid_runs_each_get_a_hue_of_their_own_and_none_is_trains_orange():
    """Before (issue 22): overlaid runs differed only by shades, and run 1's orange was also
    the colour of "train" in a single run's plot."""
    import colorsys

    from trainpad.web.plots import COLOURS, chart

    runs = [(number, f"run {number}", Curves(epochs=1)) for number in range(8)]
    colours = chart("loss", runs).colours
    tests = [colours[f"run {number}"] for number in range(8)]

    def hue(colour: str) -> float:
        red, green, blue = (int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
        return colorsys.rgb_to_hls(red, green, blue)[0] * 360

    train = hue(COLOURS["train"])
    assert len(set(tests)) == 8
    assert all(min(abs(hue(c) - train), 360 - abs(hue(c) - train)) > 15 for c in colours.values()), colours
