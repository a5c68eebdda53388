"""Step: one batch of a run, taken alone, that the run then carries on from; and the trace of
what each line of the loop did, kept at every step."""

from __future__ import annotations

import pytest
import torch

from trainpad import ConfigError, StepEnd, TrainConfig
from trainpad.engine.stepping import LoopTrace


def config(**settings) -> TrainConfig:
    values = {"batch_size": 32, "train_samples": 320, "test_samples": 64, "epochs": 2, "seed": 4, "device": "cpu"}
    values.update(settings)
    params = values.pop("params", {"optimizer": {"lr": 0.05}})
    return TrainConfig(params=params, **values)


def losses(events) -> list[float]:
    return [e.loss for e in events if isinstance(e, StepEnd)]


def test_a_stepped_run_carries_on_as_if_it_had_never_been_stopped(engine, mnist_dir):
    plain = engine.build_run(config(), data_dir=mnist_dir)
    expected = losses(plain.events())
    per_epoch = plain.steps_per_epoch
    assert len(expected) == 2 * per_epoch == 16

    stepped = engine.build_run(config(), data_dir=mnist_dir)
    details = [stepped.step() for _ in range(per_epoch + 2)]  # past the end of the first epoch
    assert [type(e).__name__ for e in details[per_epoch].events] == ["EpochEnd", "StepEnd"]  # its evaluation came due first
    assert all(len(d.events) == 1 for i, d in enumerate(details) if i != per_epoch)
    assert [d.events[-1].step for d in details] == list(range(1, per_epoch + 3))
    got = [loss for d in details for loss in losses(d.events)] + losses(stepped.events())  # Start carries on
    assert got == expected  # the same batches, dropout and updates: the steps are the run's own
    assert len(stepped.history) == 2 and stepped.result.steps_done == 16
    assert [e.test_loss for e in stepped.history] == pytest.approx([e.test_loss for e in plain.history], abs=1e-6)


def test_a_step_shows_the_batch_and_what_it_changed(engine, mnist_dir):
    run = engine.build_run(config(batch_size=16, params={"model": {"dropout": 0.0}, "optimizer": {"lr": 0.05}}), data_dir=mnist_dir)
    model = run.model
    owners = {name: [p.detach().clone() for p in m.parameters(recurse=False)] for name, m in model.named_modules() if list(m.parameters(recurse=False))}
    detail = run.step()
    # the update shown is the change in the weights
    shown = {layer.name: layer for layer in detail.layers}
    assert set(shown) == set(owners) == {"convs.0", "convs.1", "convs.2", "norms.0", "norms.1", "norms.2", "fc1", "fc2"}
    for name, module in model.named_modules():
        if name in owners:
            change = torch.sqrt(sum(((p.detach() - b) ** 2).sum() for p, b in zip(module.parameters(recurse=False), owners[name])))
            assert shown[name].update == pytest.approx(float(change), rel=1e-5, abs=1e-9)
            assert shown[name].weight_norm == pytest.approx(float(torch.sqrt(sum((b**2).sum() for b in owners[name]))), rel=1e-5)
            assert shown[name].grad_norm > 0
    assert shown["convs.0"].kind == "Conv2d" and shown["norms.0"].kind == "BatchNorm2d"
    # the batch, with the model's probabilities for it
    assert detail.images.shape == (16, 1, 28, 28) and len(detail.labels) == 16
    assert detail.probabilities.shape == (16, 10) and torch.allclose(detail.probabilities.sum(dim=1), torch.ones(16), atol=1e-5)
    # the loss after the step, on the same batch computed the same way (train mode, batch statistics)
    means = [m.running_mean.clone() for m in model.norms]
    model.train()
    with torch.no_grad():
        after = float(torch.nn.functional.nll_loss(model(detail.images), torch.tensor(detail.labels)))
    assert detail.loss_after == pytest.approx(after, abs=1e-5)
    assert detail.loss_before == pytest.approx(detail.events[-1].loss, abs=1e-6)
    assert detail.loss_after < detail.loss_before
    assert not all(torch.equal(a, m.running_mean) for a, m in zip(means, model.norms))  # (our own check moved them)
    # what each line did
    trace = detail.trace
    assert isinstance(trace, LoopTrace) and trace == run.loop_trace
    assert (trace.epoch, trace.step, trace.batch_shape, trace.label_shape, trace.device, trace.dtype, trace.output_shape) == (
        1, 1, (16, 1, 28, 28), (16,), "cpu", "float32", (16, 10)
    )
    grads = shown.values()
    assert trace.grad_norm == pytest.approx(sum(layer.grad_norm**2 for layer in grads) ** 0.5, rel=1e-5)
    assert trace.lr == pytest.approx(0.05 / 25)  # one cycle starts at max_lr / 25
    run.close()
    assert run.result.status == "stopped" and run.result.steps_done == 1 and run.result.trained is not None


def test_watching_the_loop_keeps_a_trace_of_every_step(engine, mnist_dir):
    run = engine.build_run(config(epochs=1, schedule="constant"), data_dir=mnist_dir)
    run.watch_loop()
    seen = []
    for event in run.events():
        if isinstance(event, StepEnd):
            seen.append((run.loop_trace.step, run.loop_trace.loss, event.loss, run.loop_trace.lr))
    assert [s[0] for s in seen] == list(range(1, 9))
    assert all(abs(a - b) < 1e-6 and lr == 0.05 for _, a, b, lr in seen)
    assert run.steps_done == 8


def test_a_finished_run_cannot_be_stepped(engine, mnist_dir):
    run = engine.build_run(config(epochs=1, train_samples=64), data_dir=mnist_dir)  # two batches
    run.step()
    run.step()  # the last batch
    with pytest.raises(ConfigError, match="finished|ended"):
        run.step()
    assert run.finished and run.result.status == "completed"
    with pytest.raises(ConfigError, match="start a new one"):
        run.step()
