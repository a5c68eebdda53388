import math

import pytest
import torch

from trainpad.engine.callbacks import Callback, StopTraining
from trainpad.engine.errors import ConfigError
from trainpad.engine.events import EpochEnd, SpotCheck, StepEnd, TrainEnd, epochs_text
from trainpad.engine.training import SpotSchedule, TrainConfig

SMALL = dict(batch_size=32, epochs=2)


def run_to_end(engine, data, **overrides):
    config = TrainConfig(**{**SMALL, **overrides})
    run = engine.build_run(config, data_dir=data)
    events = list(run.events())
    return run, events


def test_a_run_reports_steps_epochs_and_an_end(engine, mnist_dir):
    run, events = run_to_end(engine, mnist_dir)
    steps = [e for e in events if isinstance(e, StepEnd)]
    epochs = [e for e in events if isinstance(e, EpochEnd)]
    assert isinstance(events[-1], TrainEnd) and events[-1].status == "completed"
    assert len(steps) == 2 * math.ceil(256 / 32) and steps[-1].step == steps[-1].steps
    assert [e.epoch for e in epochs] == [1, 2]
    assert all(math.isfinite(e.loss) for e in steps)
    assert steps[-1].samples == 512 and steps[-1].samples_per_sec > 0 and steps[-1].eta == 0
    # the blob dataset is easy: the model learns it
    assert epochs[-1].test_accuracy > 0.5
    trained = events[-1].trained
    assert trained.metrics["test_accuracy"] == epochs[-1].test_accuracy
    assert trained.spec["optimizer"]["params"]["lr"] == 0.1 and trained.epochs == 2
    assert not trained.model.training


def test_the_same_seed_repeats_exactly(engine, mnist_dir):
    losses = []
    for _ in range(2):
        _, events = run_to_end(engine, mnist_dir, seed=7)
        losses.append([e.loss for e in events if isinstance(e, StepEnd)])
    _, other = run_to_end(engine, mnist_dir, seed=8)
    assert losses[0] == losses[1]
    assert losses[0] != [e.loss for e in other if isinstance(e, StepEnd)]


def test_stop_ends_the_run_at_the_next_batch_and_keeps_the_model(engine, mnist_dir):
    run = engine.build_run(TrainConfig(**SMALL), data_dir=mnist_dir)
    before = {k: v.clone() for k, v in run.model.state_dict().items()}
    seen = []
    for event in run.events():
        seen.append(event)
        if isinstance(event, StepEnd) and event.step == 3:
            run.stop()
    end = seen[-1]
    assert end.status == "stopped" and end.steps_done == 3
    assert sum(isinstance(e, StepEnd) for e in seen) == 3
    # it trained 3 of the epoch's 8 steps: 0.375 of an epoch, not "epoch 1"
    (partial,) = [e for e in seen if isinstance(e, EpochEnd)]
    assert partial.epoch == 1 and partial.epochs_done == 3 / 8 and not partial.complete
    assert end.epochs_done == 3 / 8 and end.trained.epochs == 3 / 8
    assert "0.37 of an epoch" in end.trained.describe()
    after = end.trained.model.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)


def test_closing_the_generator_stops_the_run(engine, mnist_dir):
    run = engine.build_run(TrainConfig(**SMALL), data_dir=mnist_dir)
    events = run.events()
    next(events), next(events)
    events.close()  # what Gradio does when a user presses Stop or closes the tab
    assert run.result.status == "stopped" and run.result.steps_done == 2


def test_a_huge_learning_rate_stops_the_run_and_keeps_finite_weights(engine, mnist_dir):
    _, events = run_to_end(engine, mnist_dir, params={"optimizer": {"lr": 10.0, "weight_decay": 0.0}}, schedule="constant")
    end = events[-1]
    assert end.status == "diverged"
    assert "Lower the learning rate" in end.message and "lr" in end.message
    # it went back to its starting weights: nothing of this run is in the model
    assert end.steps_done > 0 and end.epochs_done == 0 and end.trained.epochs == 0
    assert all(torch.isfinite(v).all() for v in end.trained.model.state_dict().values() if v.is_floating_point())


@pytest.mark.parametrize(
    "overrides, words",
    [
        (dict(params={"optimizer": {"lr": 1e20}}), "lr must be at most 10"),
        (dict(params={"optimizer": {"lr": float("nan")}}), "finite"),
        (dict(epochs=0), "epochs must be at least 1"),
        (dict(batch_size=2.5), "batch_size must be a whole number"),
        (dict(model="resnet-9000"), "no model named 'resnet-9000'"),
        (dict(device="tpu"), "unknown device"),
        (dict(params={"widget": {}}), "unknown kind"),
        (dict(params={"model": {"depth": 3}}), "model mnist-cnn has no parameter depth"),
    ],
)
def test_bad_settings_are_refused_before_training(engine, mnist_dir, overrides, words):
    with pytest.raises(ConfigError, match=words):
        engine.build_run(TrainConfig(**{**SMALL, **overrides}), data_dir=mnist_dir)


def test_callbacks_see_events_in_order_and_can_stop(engine, mnist_dir):
    calls = []

    class Recorder(Callback):
        def on_train_begin(self, run, **kwargs):
            calls.append("begin")

        def on_batch_end(self, run, event, **kwargs):
            calls.append("batch")
            if event.step == 10:
                raise StopTraining("enough")

        def on_epoch_end(self, run, event, **kwargs):
            calls.append("epoch")

        def on_train_end(self, run, event, **kwargs):
            calls.append(f"end:{event.status}")

    run = engine.build_run(TrainConfig(**SMALL), data_dir=mnist_dir, callbacks=[("recorder", Recorder())])
    end = run.run()
    assert calls == ["begin"] + ["batch"] * 8 + ["epoch"] + ["batch"] * 2 + ["end:stopped"]
    assert end.message == "enough" and end.epochs_done == 10 / 8 and end.trained.epochs == 10 / 8


def test_resume_carries_on_from_a_trained_model(engine, mnist_dir):
    _, events = run_to_end(engine, mnist_dir, epochs=1)
    first = events[-1].trained
    run = engine.build_run(TrainConfig(**SMALL, params={"model": {"width": 4}}), data_dir=mnist_dir, resume=first)
    # the model's settings come from the checkpoint, not the form
    assert run.parts.model.convs[0].out_channels == first.model.convs[0].out_channels
    end = run.run()
    assert end.trained.epochs == first.epochs + 2
    stopped = engine.build_run(TrainConfig(**SMALL), data_dir=mnist_dir, resume=end.trained)
    for event in stopped.events():
        if isinstance(event, StepEnd) and event.step == 2:
            stopped.stop()
    assert stopped.result.trained.epochs == 3 + 2 / 8
    with pytest.raises(ConfigError, match="trained with model 'mnist-cnn'"):
        engine.build_run(TrainConfig(model="other"), data_dir=mnist_dir, resume=first)


def test_evaluation_gives_confusion_per_class_and_confident_mistakes(engine, mnist_dir):
    _, events = run_to_end(engine, mnist_dir, epochs=1, train_samples=64)
    result = engine.evaluate(events[-1].trained, data_dir=mnist_dir, mistakes=5)
    assert result.count == 128 and int(result.confusion.sum()) == 128
    assert result.accuracy == pytest.approx(result.confusion.diagonal().sum().item() / 128)
    assert len(result.per_class_accuracy) == 10
    confidences = [m.confidence for m in result.mistakes]
    assert confidences == sorted(confidences, reverse=True) and len(confidences) <= 5
    assert all(m.true != m.predicted for m in result.mistakes)


def test_epochs_read_as_trained():
    assert [epochs_text(x) for x in (0, 1, 3, 32 / 47, 468 / 469, 1.25, 2 + 1e-9)] == [
        "0 epochs", "1 epoch", "3 epochs", "0.68 of an epoch", "0.99 of an epoch", "1.25 epochs", "2 epochs"]


def test_spot_checks_test_a_fixed_sample_a_few_times_an_epoch(engine, mnist_dir):
    run = engine.build_run(TrainConfig(**SMALL), data_dir=mnist_dir)  # 8 steps an epoch, 128 test images
    events = list(run.events(spot_checks=4, spot_samples=100, spot_budget=float("inf")))
    checks = [e for e in events if isinstance(e, SpotCheck)]
    # before the first step, then at a quarter, a half and three quarters of each epoch
    assert [c.step for c in checks] == [0, 2, 4, 6, 10, 12, 14]
    assert [c.epochs_done for c in checks] == [0, 0.25, 0.5, 0.75, 1.25, 1.5, 1.75]
    assert all(c.samples == 100 and c.seconds > 0 and 0 <= c.test_accuracy <= 1 for c in checks)
    assert checks[0].test_accuracy < checks[-1].test_accuracy  # the blobs are learnt
    # each follows its step, and the epoch's end keeps its full evaluation
    kinds = [type(e).__name__ for e in events]
    assert kinds[:4] == ["SpotCheck", "StepEnd", "StepEnd", "SpotCheck"]
    assert [e.epochs_done for e in events if isinstance(e, EpochEnd)] == [1.0, 2.0]
    # the same images each time: the trained model checked again gives the same numbers
    again, once_more = run.spot_check(samples=100), run.spot_check(samples=100)
    assert (again.test_loss, again.test_accuracy) == (once_more.test_loss, once_more.test_accuracy)
    # checks never change the training itself
    plain = engine.build_run(TrainConfig(**SMALL), data_dir=mnist_dir)
    assert [e.loss for e in plain.events() if isinstance(e, StepEnd)] == [e.loss for e in events if isinstance(e, StepEnd)]


def test_the_spot_check_schedule_spaces_checks_evenly_within_a_budget():
    four = SpotSchedule(per_epoch=4, budget=0.1, allowance=0.5)
    assert [step for step in range(1, 9) if four.due(step, 8)] == [2, 4, 6]  # the 8th is the epoch's end: a full test
    assert [step for step in range(1, 4) if four.due(step, 3)] == [1, 2]
    assert not any(SpotSchedule(per_epoch=1).due(step, 8) for step in range(1, 9))
    assert four.affordable(spent=1.5, trained=10.0) and not four.affordable(spent=1.6, trained=10.0)


def test_spot_checks_stay_within_their_budget(engine, mnist_dir):
    run = engine.build_run(TrainConfig(**SMALL), data_dir=mnist_dir)
    checks = [e for e in run.events(spot_checks=4, spot_budget=0.0, spot_allowance=0.0) if isinstance(e, SpotCheck)]
    assert [c.step for c in checks] == [0]  # only the starting point: none fits a budget of nothing
    assert not [e for e in engine.build_run(TrainConfig(**SMALL), data_dir=mnist_dir).events() if isinstance(e, SpotCheck)]
