"""The Lab's experiments measure real effects: each test runs the built-in experiment (or the
very functions it runs) and checks what PyTorch does, not what the experiment says.

The data is the small IDX dataset of ``trainpad.testing`` (256 training and 128 test
pictures), so each experiment takes a fraction of a second.
"""

from __future__ import annotations

import math
import pickle

import pytest
import torch
import torch.nn.functional as F

from trainpad import LabProgress, LabResult, TensorMemory, code_of, lab_loader, lab_model
from trainpad.engine.lab.experiment import changed_lines
from trainpad.engine.lab.runner import LabRequest, result_of, run
from trainpad.engine.errors import ConfigError


@pytest.fixture(scope="module")
def lab_engine():
    from trainpad.testing import make_engine

    return make_engine()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    from trainpad.testing import write_idx_dataset

    return write_idx_dataset(tmp_path_factory.mktemp("lab") / "data")


def prepared(engine, data_dir, name, **params):
    return engine.prepare_experiment(LabRequest(name, "mnist", params), data_dir=data_dir)


def lab_input(engine, data_dir):
    return prepared(engine, data_dir, "zero-grad").lab


# -- seed ----------------------------------------------------------------------------------------


def test_the_same_seed_gives_bit_identical_curves_and_other_seeds_do_not(lab_engine, data_dir):
    result = result_of(prepared(lab_engine, data_dir, "seed", others=2))
    first, again, *others = result.arms
    assert (first.figures["seed"], again.figures["seed"]) == (1, 1) and [a.figures["seed"] for a in others] == [2, 3]
    assert first.curves["loss"] == again.curves["loss"] and len(first.curves["loss"]) == 4  # 256 pictures, batches of 64
    assert all(arm.curves["loss"] != first.curves["loss"] for arm in others)
    assert result.figures["identical_curves"] is True and result.figures["max_difference_same_seed"] == 0.0
    assert result.figures["max_difference_other_seeds"] > 0


def test_an_experiments_randomness_is_its_own(lab_engine, data_dir):
    """Another run drawing from (and reseeding) torch's global generator meanwhile changes
    nothing, and the experiment leaves that generator as it found it."""
    alone = result_of(prepared(lab_engine, data_dir, "train-eval", steps=5))
    state = torch.get_rng_state()
    events = []
    for event in run(prepared(lab_engine, data_dir, "train-eval", steps=5)):
        events.append(event)
        torch.manual_seed(len(events))  # what another session's run might do between two steps
        torch.rand(1000)
    disturbed = events[-1]
    assert disturbed.arms == alone.arms
    torch.set_rng_state(state)
    result_of(prepared(lab_engine, data_dir, "seed", others=1))
    assert torch.equal(torch.get_rng_state(), state)


# -- zero-grad -----------------------------------------------------------------------------------


def test_without_zero_grad_the_gradient_is_the_sum_of_the_batch_gradients_and_its_norm_grows(lab_engine, data_dir):
    from trainpad.plugins.lab_zero_grad import with_zero_grad, without_zero_grad

    lab = lab_input(lab_engine, data_dir)
    for train, accumulates in ((without_zero_grad, True), (with_zero_grad, False)):
        generator = lab.generator()
        model = lab_model(lab, generator)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
        loader = lab_loader(lab.train_x, lab.train_y, batch_size=16, shuffle=True, generator=generator)
        params = list(model.parameters())
        total = [torch.zeros_like(p) for p in params]
        norms = []
        for step, (x, y, loss) in enumerate(train(model, loader, optimizer, F.cross_entropy), 1):
            own = torch.autograd.grad(F.cross_entropy(model(x), y), params)  # this batch's gradient alone, at these weights
            total = [t + g for t, g in zip(total, own)] if accumulates else list(own)
            for p, expected in zip(params, total):
                torch.testing.assert_close(p.grad, expected, rtol=1e-4, atol=1e-5)
            norms.append(float(torch.cat([p.grad.flatten() for p in params]).norm()))
        assert step == 16
        if accumulates:
            assert norms[-1] > 3 * norms[0], norms  # the sum of 16 batches' gradients

    result = result_of(prepared(lab_engine, data_dir, "zero-grad", steps=5))
    with_, without = result.arms
    assert with_.curves["grad_norm"][0] == without.curves["grad_norm"][0]  # the first step is the same
    assert without.figures["grad_norm_last"] > without.figures["grad_norm_first"]
    assert result.figures["grad_norm_growth"] == pytest.approx(without.figures["grad_norm_last"] / without.figures["grad_norm_first"])


# -- train-eval ----------------------------------------------------------------------------------


def test_train_mode_answers_change_between_passes_and_eval_mode_answers_do_not(lab_engine, data_dir, real_mnist):
    from trainpad.plugins.lab_train_eval import answers_in_eval_mode, answers_in_train_mode

    lab = lab_input(lab_engine, data_dir)
    model = lab_model(lab, lab.generator(), dropout=0.5, batch_norm=True)
    loader = lab_loader(lab.test_x, lab.test_y, batch_size=64, shuffle=False)
    outputs = {}
    for name, answers in (("eval", answers_in_eval_mode), ("train", answers_in_train_mode)):
        outputs[name] = [torch.cat(list(answers(model, loader))) for _ in range(2)]
    assert torch.equal(*outputs["eval"])
    assert not torch.equal(*outputs["train"])

    result = result_of(prepared(lab_engine, real_mnist, "train-eval", steps=5))  # real digits: not all easy
    eval_arm, train_arm = result.arms
    assert eval_arm.figures["changed_answers"] == 0.0 and eval_arm.figures["test_accuracy"] == eval_arm.figures["test_accuracy_again"]
    assert train_arm.figures["changed_answers"] > 0.0


# -- no-grad -------------------------------------------------------------------------------------


def test_without_no_grad_the_evaluation_holds_more_memory_and_gives_the_same_answers(lab_engine, data_dir):
    result = result_of(prepared(lab_engine, data_dir, "no-grad", batch_size=64, hidden=64))
    with_, without = result.arms
    assert without.figures["peak_bytes"] > with_.figures["peak_bytes"] > 0
    assert result.figures["answers_equal"] is True and with_.figures["batches"] == 2  # 128 test pictures

    # the meter itself: what autograd keeps for backward() is counted until it is freed
    model = torch.nn.Sequential(torch.nn.Linear(100, 100), torch.nn.Tanh(), torch.nn.Linear(100, 100), torch.nn.Tanh())
    x = torch.randn(50, 100)
    peaks = {}
    for grad in (False, True):
        with torch.set_grad_enabled(grad), TensorMemory() as memory:
            out = model(x)
            del out
        peaks[grad] = memory.peak
        assert memory.live == 0  # everything made inside was freed
    activation = 50 * 100 * 4
    assert peaks[False] == 2 * activation  # a layer's output beside its input, no more
    assert peaks[True] == 3 * activation  # and the first tanh's output, kept for the backward pass


# -- batch-size ----------------------------------------------------------------------------------


def test_the_batch_size_sets_the_iterations_per_epoch(lab_engine, data_dir):
    result = result_of(prepared(lab_engine, data_dir, "batch-size"))
    assert [arm.figures["batch_size"] for arm in result.arms] == [8, 32, 128, 512, 1024]
    for arm in result.arms:
        n, batch = arm.figures["samples"], arm.figures["batch_size"]
        assert n == 256 and arm.figures["iterations_per_epoch"] == math.ceil(n / batch) == len(arm.curves["loss"])
    assert result.arms[0].figures["loss_noise"] > result.arms[-1].figures["loss_noise"] == 0.0  # one step: nothing to jump


# -- shuffle -------------------------------------------------------------------------------------


def test_without_shuffling_sorted_data_teaches_the_last_class(lab_engine, real_mnist):
    # real digits: 4,096 of them, so that each class is a stretch of several batches
    result = result_of(prepared(lab_engine, real_mnist, "shuffle"))
    shuffled, in_order = result.arms
    assert (shuffled.figures["shuffle"], in_order.figures["shuffle"]) == (True, False)
    assert in_order.figures["answers_last_class"] > 0.5 > shuffled.figures["answers_last_class"]
    assert shuffled.figures["test_accuracy"] > in_order.figures["test_accuracy"]


# -- conv ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("stride, padding, position", [(1, 1, 0), (1, 1, 405), (2, 0, 77), (3, 2, 40), (1, 0, 10_000)])
def test_the_conv_views_number_at_a_position_is_f_conv2d_there(lab_engine, data_dir, stride, padding, position):
    from trainpad.web.shipped_model import shipped_loader

    trained = shipped_loader(lab_engine)()
    request = LabRequest("conv", params={"filter": 5, "stride": stride, "padding": padding, "position": position})
    ready = lab_engine.prepare_experiment(request, data_dir=data_dir, trained=trained)
    conv = dict(trained.model.named_modules())[ready.lab.conv.name]
    expected = F.conv2d(ready.lab.picture[None], conv.weight.detach(), conv.bias, stride=stride, padding=padding)[0, 5]
    figures = result_of(ready).figures
    rows, cols = expected.shape
    assert (figures["output_height"], figures["output_width"], figures["positions"]) == (rows, cols, rows * cols)
    assert figures["position"] == min(position, rows * cols - 1)  # past the last position: the last one
    row, col = divmod(figures["position"], cols)
    assert (figures["row"], figures["col"], figures["top"], figures["left"]) == (row, col, row * stride, col * stride)
    assert figures["value"] == pytest.approx(float(expected[row, col]), abs=1e-6)
    assert figures["sum_of_products"] + figures["bias"] == pytest.approx(float(expected[row, col]), abs=1e-5)
    assert torch.allclose(torch.tensor(figures["feature_map"]), expected, atol=1e-4)  # rounded to 4 places
    assert figures["max_difference"] < 1e-5  # the loop by hand gives F.conv2d's map


def test_the_conv_experiment_says_what_it_cannot_do(lab_engine, data_dir):
    from trainpad.web.shipped_model import shipped_loader

    trained = shipped_loader(lab_engine)()
    with pytest.raises(ConfigError, match="first convolution has 16 filters: choose one from 0 to 15"):
        result_of(lab_engine.prepare_experiment(LabRequest("conv", params={"filter": 16}), data_dir=data_dir, trained=trained))
    with pytest.raises(ConfigError, match="load or train a model first"):
        lab_engine.prepare_experiment(LabRequest("conv"), data_dir=data_dir)
    mlp = lab_engine.build_model("mlp", None, input_shape=(1, 28, 28), num_classes=10)
    without_conv = type(trained)(mlp, trained.spec | {"model": {"name": "mlp", "params": {}}}, trained.class_names, "logits", trained.dataset_meta)
    with pytest.raises(ConfigError, match="model mlp has no convolution"):
        lab_engine.prepare_experiment(LabRequest("conv"), data_dir=data_dir, trained=without_conv)
    with pytest.raises(ConfigError, match="blank"):
        lab_engine.prepare_experiment(LabRequest("conv"), data_dir=data_dir, trained=trained, picture=torch.zeros(50, 50).numpy())


# -- every experiment ----------------------------------------------------------------------------


def test_every_experiment_is_plain_data_in_and_picklable_events_out(lab_engine, data_dir):
    from trainpad.web.shipped_model import shipped_loader

    trained = shipped_loader(lab_engine)()
    for experiment in lab_engine.experiments():
        ready = lab_engine.prepare_experiment(LabRequest(experiment.name, "mnist", {}), data_dir=data_dir, trained=trained)
        assert pickle.loads(pickle.dumps(ready.lab)).seed == ready.lab.seed
        events = list(run(ready))
        assert all(isinstance(e, LabProgress) for e in events[:-1]) and isinstance(events[-1], LabResult), experiment.name
        assert pickle.loads(pickle.dumps(events)) == events
        result = events[-1].to_dict()
        assert result["finding"] and set(result["arms"]) == {arm.name for arm in events[-1].arms}
        assert all(isinstance(v, (int, float, bool, str, list, type(None))) for arm in result["arms"].values() for v in arm["figures"].values())


def test_checks_come_before_anything_is_loaded(lab_engine, tmp_path):
    empty = tmp_path / "no-data"
    for request, message in [
        (LabRequest("nope"), "no experiment named 'nope'"),
        (LabRequest("zero-grad", params={"steps": 1000}), "steps must be at most 64"),
        (LabRequest("zero-grad", params={"lr": float("nan")}), "lr"),
        (LabRequest("zero-grad", params={"bogus": 1}), "has no parameter bogus"),
        (LabRequest("zero-grad", seed=-1), "seed"),
        (LabRequest("zero-grad", "nodata"), "no dataset named 'nodata'"),
    ]:
        with pytest.raises(ConfigError, match=message):
            lab_engine.prepare_experiment(request, data_dir=empty)


def test_code_of_shows_a_functions_body_with_values_written_in():
    def train(lab, shuffle):
        """Not shown."""
        import torch  # noqa: F401  (not shown either)

        # shown: the comment above the first line
        loader = make(lab, shuffle=shuffle, generator=None)
        return loader if shuffle == shuffle else None

    assert code_of(train) == (
        "# shown: the comment above the first line\n"
        "loader = make(lab, shuffle=shuffle, generator=None)\n"
        "return loader if shuffle == shuffle else None\n"
    )
    shown = code_of(train, shuffle=False)
    assert "make(lab, shuffle=False, generator=None)" in shown and "if False == False" in shown
    versions = [code_of(train, shuffle=True), shown]
    assert changed_lines(versions, 0) == changed_lines(versions, 1) == (1, 2)
    assert changed_lines(["a = 1\nb = 2\n", "c = 3\n"], 0) == ()  # nothing in common: two ways, not one line changed


@pytest.mark.parametrize(
    "meta, message",
    [
        ({"versions": [("a", "x = 1"), ("b", "x = 2")]}, "needs title="),
        ({"title": "x", "versions": [("a", "x = 1")]}, "at least two versions"),
        ({"title": "x", "versions": [("a", 1), ("b", "x")]}, "pair of strings"),
        ({"title": "x", "versions": [("a", "x = 1"), ("b", "x = 2")], "needs": "video"}, "needs='video'"),
        ({"title": "x", "versions": [("a", "x = 1"), ("b", "x = 2")], "samples": (10**6, 10)}, "at most 20,000"),
    ],
)
def test_a_plugin_registering_a_bad_experiment_fails_saying_why(engine_with, clean_knobs, monkeypatch, meta, message):
    from trainpad import hookimpl

    def experiment(lab):
        """Nothing."""
        yield LabResult((), "")

    class Bad:
        @hookimpl
        def register_experiments(self, register):
            register("bad", experiment, **meta)

    monkeypatch.setenv("TRAINPAD_STRICT_PLUGINS", "0")
    engine = engine_with(Bad())
    assert engine.plugins["test-plugin-0"].status == "failed" and message in engine.plugins["test-plugin-0"].error
    assert "bad" not in engine.registry.names("experiment")


def test_samples_too_large_for_memory_are_refused_before_anything_is_loaded(engine_with, clean_knobs):
    from trainpad import hookimpl

    def huge(*, root, train):
        """Photos of 512x512 pixels (never loaded here)."""
        raise AssertionError("the dataset was loaded")

    class Photos:
        @hookimpl
        def register_datasets(self, register):
            register("huge", huge, class_names=["a", "b"], input_shape=(3, 512, 512))

    engine = engine_with(Photos())
    with pytest.raises(ConfigError, match=r"would hold 15,288 MB of huge pictures, more than the 512 MB an experiment may"):
        engine.prepare_experiment(LabRequest("zero-grad", "huge"))


def test_the_conv_view_stays_small_whatever_the_model(lab_engine, data_dir):
    """A model of large pictures (a checkpoint may say 1024x1024) gets a clear refusal, not a loop over a million positions."""
    import dataclasses

    from trainpad.web.shipped_model import shipped_loader

    trained = shipped_loader(lab_engine)()
    big = dataclasses.replace(trained, dataset_meta={**trained.dataset_meta, "input_shape": [1, 100, 100], "ink": None})
    with pytest.raises(ConfigError, match=r"would take 10,000 positions on this 100x100 picture.*at most 4,096: choose a larger stride"):
        result_of(lab_engine.prepare_experiment(LabRequest("conv"), data_dir=data_dir, trained=big, picture=torch.rand(100, 100).mul(255).byte().numpy()))
    figures = result_of(lab_engine.prepare_experiment(
        LabRequest("conv", params={"stride": 2}), data_dir=data_dir, trained=big, picture=torch.rand(100, 100).mul(255).byte().numpy()
    )).figures  # fmt: skip
    assert figures["positions"] == 50 * 50
