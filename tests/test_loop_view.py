"""The loop view: the training loop as Python with the run's components and settings filled
in, each line beside what it did in the last step; and Step's report."""

from __future__ import annotations

import re
from types import SimpleNamespace
import sys
from pathlib import Path

import pytest

from trainpad import StepEnd, TrainConfig
from trainpad.engine.events import RunStarted, StepDetail
from trainpad.engine.job import RunSpec
from trainpad.engine.job_runner import run_job
from trainpad.engine.loop_source import loop_lines
from trainpad.testing import make_engine
from trainpad.web.loop_view import loop_html, run_facts, step_html

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "trainpad-demo-plugin"


@pytest.fixture(scope="module")
def engine_demo():
    sys.path.insert(0, str(EXAMPLE))
    import trainpad_demo_plugin

    yield make_engine(trainpad_demo_plugin)
    sys.path.remove(str(EXAMPLE))


def code(lines) -> str:
    return "\n".join(line.code for line in lines)


def test_the_loop_shows_the_plugins_own_calls_with_the_runs_values(engine_demo):
    text = code(loop_lines(engine_demo, TrainConfig(params={"optimizer": {"lr": 0.2, "nesterov": False}}, seed=9, batch_size=64)))
    assert "optimizer = torch.optim.SGD(model.parameters(), lr=0.2, momentum=0.9, weight_decay=0.0005, nesterov=False)" in text
    assert "torch.manual_seed(9)" in text and "batch_size=64, shuffle=True" in text
    assert "train_set = torchvision.datasets.MNIST(root, train=True)" in text
    assert "model = mnist_cnn(input_shape=(1, 28, 28), num_classes=10, width=16, hidden=128, dropout=0.1, batch_norm=True).to(device)" in text
    assert "loss_fn = F.nll_loss" in text and "max_lr=0.2" in text
    # a plugin's optimizer, with a tuple built from two hyperparameters
    text = code(loop_lines(engine_demo, TrainConfig("fashion-mnist", "lenet5", "adam", "cross-entropy", schedule="cosine",
                                                    params={"optimizer": {"beta2": 0.99}})))  # fmt: skip
    assert "optimizer = torch.optim.Adam(model.parameters(), lr=0.001, betas=(0.9, 0.99), eps=1e-08, weight_decay=0.0, amsgrad=False)" in text
    assert "CosineAnnealingLR" in text and "torchvision.datasets.FashionMNIST" in text
    assert "loss_fn = cross_entropy(smoothing=0.1)" in text  # it returns a function of its own: shown as the factory's call
    assert "loss = loss_fn(output, y)" in text
    assert "scheduler.step()" in text
    assert "scheduler.step()" not in code(loop_lines(engine_demo, TrainConfig(schedule="constant")))
    # a model returning logits, a loss expecting log-probabilities: the loop shows the log_softmax between them
    paired = code(loop_lines(engine_demo, TrainConfig(model="mlp", loss="nll", params={"dataset": {"shift": 1}})))
    assert "loss = loss_fn(output.log_softmax(dim=1), y)" in paired
    assert "torchvision.datasets.MNIST(root, train=True)  # each image then moved up to 1 px at random" in paired
    compile(text.replace("        test_loss", "        test_loss"), "<loop>", "exec")  # it is Python


def test_each_line_shows_what_it_did_in_the_last_step(engine, mnist_dir):
    config = TrainConfig(batch_size=32, train_samples=128, epochs=2, device="cpu")
    events = list(run_job(RunSpec(config, data_dir=str(mnist_dir), steps=1, watch_loop=True), engine))  # a Step's job
    run = SimpleNamespace(facts=next(e for e in events if isinstance(e, RunStarted)), trace=None, last_step=None, last_epoch=None)
    lines = loop_lines(engine, config)
    page = loop_html(lines, None, run_facts(run))
    assert "128 samples" in page and "4 batches an epoch" in page and "parameters, on cpu" in page
    assert "loss " not in re.sub(r"<[^>]+>", "", page).split("loss_fn")[-1].split("loss.backward")[0].replace("loss = ", "")
    detail = next(e for e in events if isinstance(e, StepDetail))
    run.trace, run.last_step = detail.trace, next(e for e in events if isinstance(e, StepEnd))
    page = loop_html(lines, run.trace, run_facts(run))
    cells = dict(re.findall(r'data-shows="(\w+)"[^>]*><span class="c">.*?</span><span class="d">(.*?)</span>', page))
    assert cells["batch"] == "step 1 of 8: x (32, 1, 28, 28) float32, y (32,)"
    assert cells["device"] == "on cpu" and cells["output"] == "output (32, 10)"
    assert cells["loss"] == f"loss {detail.loss_before:.4f}" and cells["grad"] == f"‖grad‖ {detail.trace.grad_norm:.4g}"
    assert cells["lr"] == f"lr {detail.trace.lr:.4g}" and cells["next_lr"] == f"next lr {run.last_step.lr:.4g}"
    assert cells["epoch"] == "epoch 1 of 2"
    assert page.count('class="ln live"') == 7
    report = step_html(detail, [str(d) for d in range(10)], mean=(0.1307,), std=(0.3081,))
    assert report.count("<figure>") == 16 and report.count('class="row" data-layer=') == 8
    assert f'data-tp="loss-before">{detail.loss_before:.4f}' in report and f'data-tp="loss-after">{detail.loss_after:.4f}' in report
    assert "picture 4, labelled" in report and "picture 5" not in report


def test_plugin_text_is_escaped(engine_with):
    from trainpad import hookimpl

    class Sneaky:
        @hookimpl
        def register_optimizers(self, register):
            register("sneaky", sneaky)

    engine = engine_with(Sneaky())
    page = loop_html(loop_lines(engine, TrainConfig(optimizer="sneaky", params={"optimizer": {"note": "<script>x</script>"}})))
    assert "<script>x" not in page and "&lt;script&gt;" in page


def sneaky(parameters, *, note="hi"):
    """An optimizer with a text hyperparameter (two statements: shown as the factory's call)."""
    import torch

    lr = 0.1
    return torch.optim.SGD(parameters, lr=lr)


def test_the_steps_lines_are_the_exported_scripts_train_step(engine):
    import inspect

    from trainpad.engine import script_template

    step = inspect.getsource(script_template.train_step)
    lines = loop_lines(engine, TrainConfig())
    body = lines[[line.code for line in lines].index("        x, y = x.to(device), y.to(device)") + 1 : -3]
    assert [line.shows for line in body] == ["", "output", "loss", "grad", "lr", "next_lr"]
    for line in body:  # each as train_step writes it, the same indentation aside
        assert f"\n    {line.code.strip()}" in step.replace("\n        scheduler.step()", "\n    scheduler.step()")
    settings = ", ".join(f"{k}={v!r}" for k, v in script_template.ONECYCLE.items())
    assert any(line.code.endswith(f"{settings})") for line in lines)  # OneCycle as trainpad and the script set it
