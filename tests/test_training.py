import math

import pytest
import torch

from trainpad.engine.callbacks import Callback, StopTraining
from trainpad.engine.errors import ConfigError
from trainpad.engine.events import EpochEnd, StepEnd, TrainEnd
from trainpad.engine.training import TrainConfig

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
    assert end.message == "enough" and end.epochs_done == 1


def test_resume_carries_on_from_a_trained_model(engine, mnist_dir):
    _, events = run_to_end(engine, mnist_dir, epochs=1)
    first = events[-1].trained
    run = engine.build_run(TrainConfig(**SMALL, params={"model": {"width": 4}}), data_dir=mnist_dir, resume=first)
    # the model's settings come from the checkpoint, not the form
    assert run.parts.model.convs[0].out_channels == first.model.convs[0].out_channels
    end = run.run()
    assert end.trained.epochs == first.epochs + 2
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
