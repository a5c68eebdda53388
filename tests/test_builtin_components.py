"""The built-in datasets, models, optimizers and losses, and the rule that pairs a model's
output with a loss.

Every component trains on small IDX files the tests write (``write_idx_dataset``: a
bright square per class on noise, which any of the models learns in a few steps), read
by torchvision's real loaders; nothing is downloaded.
"""

from __future__ import annotations

import itertools
import math

import pytest
import torch
import torch.nn.functional as F

from trainpad import ComponentError, ConfigError, TrainConfig, hookimpl
from trainpad.engine.pairing import pair, pairing_note
from trainpad.engine.registry import RegistrationError, make_component
from trainpad.testing import gzip_files, write_idx_dataset

#: Each built-in dataset and the folder torchvision reads it from.
DATASETS = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST", "kmnist": "KMNIST"}
MODELS = ("softmax-regression", "mlp", "lenet5", "mnist-cnn")
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
LOSSES = ("nll", "cross-entropy")
#: A run of a few hundred samples: 256 training and 128 test images, 3 epochs of 8 steps.
SMALL = dict(batch_size=32, epochs=3, device="cpu", schedule="constant")

pytestmark = pytest.mark.usefixtures(
    "clean_knobs",  # the environment running the tests sets none
    "no_debian_files",  # Fashion-MNIST reads the small files below
)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A data folder with a small dataset in the place of each built-in one."""
    root = tmp_path_factory.mktemp("data")
    for seed, folder in enumerate(DATASETS.values()):
        write_idx_dataset(root, folder, seed=seed)
    return root




def test_the_dropdowns_offer_every_built_in_in_order(engine):
    assert engine.registry.names("dataset") == list(DATASETS)
    assert engine.registry.names("model") == list(MODELS)
    assert engine.registry.names("optimizer") == list(OPTIMIZERS)
    assert engine.registry.names("loss") == list(LOSSES)
    assert not engine.failed_plugins()


# -- datasets ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", DATASETS)
def test_each_dataset_loads_both_splits_through_torchvision(engine, data, name):
    train = engine.load_dataset(name, train=True, root=data)
    test = engine.load_dataset(name, train=False, root=data)
    assert (len(train), len(test)) == (256, 128)
    image, label = test[0]
    assert image.shape == (1, 28, 28) and image.dtype == torch.float32 and 0 <= int(label) < 10
    meta = engine.registry.get("dataset", name).meta
    assert len(meta["class_names"]) == 10 and len(set(meta["class_names"])) == 10
    # normalised with the dataset's own statistics
    raw = train.images.float() / 255
    assert torch.allclose(train.batch(torch.arange(4))[0], (raw[:4] - meta["mean"][0]) / meta["std"][0], atol=1e-5)


def test_only_drawn_glyphs_get_the_sketch_pad(engine):
    ink = {name: engine.registry.get("dataset", name).meta.get("ink") for name in DATASETS}
    assert ink == {"mnist": "centre", "fashion-mnist": None, "kmnist": "centre"}


def test_class_names_say_what_each_label_is(engine):
    names = {name: engine.registry.get("dataset", name).meta["class_names"] for name in DATASETS}
    assert names["mnist"] == [str(digit) for digit in range(10)]
    assert names["fashion-mnist"][:3] == ["T-shirt/top", "Trouser", "Pullover"] and names["fashion-mnist"][9] == "Ankle boot"
    assert names["kmnist"][0] == "お (o)" and names["kmnist"][9] == "を (wo)"


@pytest.mark.parametrize("name", DATASETS)
def test_missing_files_say_which_to_put_where(engine, name, tmp_path, monkeypatch):
    monkeypatch.setenv("TRAINPAD_OFFLINE", "1")
    with pytest.raises(ConfigError) as missing:
        engine.load_dataset(name, train=False, root=tmp_path / "empty")
    message = str(missing.value)
    raw = tmp_path / "empty" / DATASETS[name] / "raw"
    assert f"is not in {raw}" in message and str(raw / "t10k-images-idx3-ubyte") in message
    assert ("apt install dataset-fashion-mnist" in message) == (name == "fashion-mnist")


def test_fashion_mnist_unpacks_debians_files_once(tmp_path):
    from trainpad.plugins import fashion_mnist

    packed = write_idx_dataset(tmp_path / "debian", "x") / "x" / "raw"
    gzip_files(packed)
    raw = tmp_path / "data" / "FashionMNIST" / "raw"
    written = fashion_mnist.unpack_debian_files(raw, packed)
    assert sorted(p.name for p in written) == sorted(fashion_mnist.FILES)
    assert all((raw / name).read_bytes() == (packed / name).read_bytes() for name in fashion_mnist.FILES)
    assert fashion_mnist.unpack_debian_files(raw, packed) == []  # already there




# -- models ------------------------------------------------------------------------------


@pytest.mark.parametrize("dataset, model", list(itertools.product(DATASETS, MODELS)))
def test_every_dataset_and_model_pairing_builds_and_takes_a_step(engine, data, dataset, model):
    loss = {"log_probs": "nll", "logits": "cross-entropy"}[engine.registry.get("model", model).meta["output"]]
    run = engine.build_run(TrainConfig(dataset=dataset, model=model, loss=loss, **SMALL), data_dir=data)
    before = [p.detach().clone() for p in run.model.parameters()]
    for event in run.events():
        run.stop()  # after the first step
    end = run.result
    assert (end.status, end.steps_done) == ("stopped", 1)
    assert any(not torch.equal(a, b) for a, b in zip(before, run.model.parameters()))
    assert end.trained.class_names == engine.registry.get("dataset", dataset).meta["class_names"]


@pytest.mark.parametrize("model", MODELS)
def test_each_model_learns(engine, data, model):
    end = engine.build_run(TrainConfig(model=model, optimizer="adam", loss="cross-entropy", **SMALL), data_dir=data).run()
    assert end.status == "completed" and end.trained.metrics["test_accuracy"] > 0.5, end.trained.metrics


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32), (1, 12, 12)])
@pytest.mark.parametrize("model", MODELS)
def test_each_model_fits_any_image_size_and_class_count(engine, model, shape):
    module = engine.build_model(model, None, input_shape=shape, num_classes=7)
    module.eval()
    assert module(torch.zeros(2, *shape)).shape == (2, 7)


def test_softmax_regression_is_one_linear_layer(engine):
    module = engine.build_model("softmax-regression", None, input_shape=(1, 28, 28), num_classes=10)
    assert sum(p.numel() for p in module.parameters()) == 28 * 28 * 10 + 10


def test_the_mlps_hidden_sizes_and_activation_are_hyperparameters(engine):
    module = engine.build_model("mlp", {"hidden": "256,128,64", "activation": "tanh", "dropout": 0.2}, input_shape=(1, 28, 28), num_classes=10)
    linears = [m for m in module if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(784, 256), (256, 128), (128, 64), (64, 10)]
    assert sum(isinstance(m, torch.nn.Tanh) for m in module) == 3 and sum(isinstance(m, torch.nn.Dropout) for m in module) == 3
    one = engine.build_model("mlp", {"hidden": "32"}, input_shape=(1, 28, 28), num_classes=10)
    assert [m.out_features for m in one if isinstance(m, torch.nn.Linear)] == [32, 10]


@pytest.mark.parametrize("hidden", ["64,abc", "0", "99999", " 256, 128", ""])
def test_hidden_sizes_not_on_offer_are_a_message_before_training(engine, data, hidden):
    config = TrainConfig(model="mlp", loss="cross-entropy", params={"model": {"hidden": hidden}}, **SMALL)
    with pytest.raises(ConfigError, match=r"hidden must be one of 32, 128, 512, 64,32, 256,128"):
        engine.build_run(config, data_dir=data)


def test_lenet5_refuses_images_too_small(engine):
    with pytest.raises(ComponentError, match=r"model lenet5 failed: ValueError: LeNet-5 needs images of at least 12x12 pixels, not \(8, 8\)"):
        engine.build_model("lenet5", None, input_shape=(1, 8, 8), num_classes=10)


def test_lenet5_as_in_the_paper(engine):
    module = engine.build_model("lenet5", {"activation": "tanh", "pooling": "avg"}, input_shape=(1, 28, 28), num_classes=10)
    kinds = [type(m).__name__ for m in module]
    assert kinds.count("Tanh") == 4 and kinds.count("AvgPool2d") == 2 and "ReLU" not in kinds
    assert sum(p.numel() for p in module.parameters()) == 61_706  # the paper's LeNet-5, with a 10-way output


# -- optimizers and losses ---------------------------------------------------------------


@pytest.mark.parametrize("optimizer, lr", [("sgd", 0.1), ("adam", 0.003), ("adamw", 0.003), ("rmsprop", 0.003)])
def test_each_optimizer_learns(engine, data, optimizer, lr):
    config = TrainConfig(model="mlp", optimizer=optimizer, loss="cross-entropy", params={"optimizer": {"lr": lr}}, **SMALL)
    end = engine.build_run(config, data_dir=data).run()
    assert end.status == "completed" and end.trained.metrics["test_accuracy"] > 0.5, end.trained.metrics
    assert end.trained.spec["optimizer"]["params"]["lr"] == lr


def test_the_optimizers_hyperparameters_reach_torch(engine):
    model = torch.nn.Linear(3, 2)
    cases = {
        "sgd": ({"momentum": 0.0, "nesterov": True, "weight_decay": 0.01}, {"momentum": 0.0, "nesterov": False, "weight_decay": 0.01}),
        "adam": ({"beta1": 0.8, "amsgrad": True}, {"betas": (0.8, 0.999), "amsgrad": True}),
        "adamw": ({"weight_decay": 0.05}, {"weight_decay": 0.05}),
        "rmsprop": ({"alpha": 0.9, "momentum": 0.5, "centered": True}, {"alpha": 0.9, "momentum": 0.5, "centered": True}),
    }
    for name, (given, expected) in cases.items():
        component = engine.registry.get("optimizer", name)
        optimizer = component.factory(model.parameters(), **component.validate(given))
        assert {k: optimizer.defaults[k] for k in expected} == expected, name


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("model", ["mlp", "mnist-cnn"])
def test_each_loss_trains_each_kind_of_model(engine, data, loss, model):
    end = engine.build_run(TrainConfig(model=model, loss=loss, optimizer="adam", **SMALL), data_dir=data).run()
    assert end.status == "completed" and end.trained.metrics["test_accuracy"] > 0.5, end.trained.metrics


def test_label_smoothing_is_a_hyperparameter_of_cross_entropy(engine):
    component = engine.registry.get("loss", "cross-entropy")
    logits, target = torch.randn(6, 10), torch.arange(6)
    for smoothing in (0.0, 0.2):
        loss = component.factory(**component.validate({"smoothing": smoothing}))
        assert torch.allclose(loss(logits, target), F.cross_entropy(logits, target, label_smoothing=smoothing))


# -- pairing a model's output with a loss ------------------------------------------------


def test_a_loss_expecting_log_probabilities_gets_them_from_a_model_returning_logits():
    logits, target = torch.randn(5, 10), torch.tensor([0, 3, 9, 2, 2])
    paired = pair(F.nll_loss, output="logits", expects="log_probs")
    assert torch.allclose(paired(logits, target), F.cross_entropy(logits, target))
    assert pair(F.nll_loss, output="log_probs", expects="log_probs") is F.nll_loss


def test_log_probabilities_are_logits_to_a_loss_that_expects_logits():
    logits, target = torch.randn(5, 10) * 3, torch.tensor([0, 3, 9, 2, 2])
    loss = lambda x, y: F.cross_entropy(x, y, label_smoothing=0.1)  # noqa: E731
    assert pair(loss, output="log_probs", expects="logits") is loss
    assert torch.allclose(loss(logits.log_softmax(dim=1), target), loss(logits, target), atol=1e-6)


def test_the_run_says_how_it_paired_them(engine, data):
    note = engine.build_run(TrainConfig(model="mlp", loss="nll", **SMALL), data_dir=data).pairing
    assert note == pairing_note(model="mlp", output="logits", loss="nll", expects="log_probs")
    assert "log_softmax is applied to the model's output before the loss" in note
    assert "takes as logits" in engine.build_run(TrainConfig(loss="cross-entropy", **SMALL), data_dir=data).pairing
    assert engine.build_run(TrainConfig(**SMALL), data_dir=data).pairing == ""  # mnist-cnn and nll match


def test_evaluation_pairs_the_loss_as_training_did(engine, data):
    end = engine.build_run(TrainConfig(model="mlp", loss="nll", **SMALL), data_dir=data).run()
    evaluation = engine.evaluate(end.trained, data_dir=data)
    assert math.isclose(evaluation.loss, end.trained.metrics["test_loss"], rel_tol=1e-5)
    assert evaluation.loss > 0  # NLL of log-probabilities, not of raw logits (which can be negative)


@pytest.mark.parametrize("kind, key", [("model", "output"), ("loss", "expects")])
def test_an_unknown_kind_of_output_is_refused_at_registration(kind, key):
    with pytest.raises(RegistrationError, match=rf"{key}='probs' is not one of 'logits', 'log_probs'"):
        make_component(kind, "odd", lambda **kw: None, plugin="mine", **{key: "probs"})


def test_a_plugin_registering_an_unknown_output_kind_is_reported(engine_with):
    class Plugin:
        @hookimpl
        def register_models(self, register):
            register("softmaxed", lambda *, input_shape, num_classes: None, output="probabilities")

    engine = engine_with(Plugin())
    assert "softmaxed" not in engine.registry.names("model")
    (failed,) = engine.failed_plugins()
    assert "output='probabilities' is not one of 'logits', 'log_probs'" in failed.error


def test_fashion_mnist_from_debians_files_leaves_the_data_folder_alone(engine, engine_with, tmp_path, monkeypatch):
    from trainpad.plugins import fashion_mnist

    packed = write_idx_dataset(tmp_path / "debian", "x", test=24) / "x" / "raw"
    gzip_files(packed)
    for path in packed.iterdir():
        if path.suffix != ".gz":
            path.unlink()  # as Debian ships them: gzipped only
    monkeypatch.setattr(fashion_mnist, "DEBIAN_DIR", packed)
    monkeypatch.setenv("TRAINPAD_OFFLINE", "1")
    monkeypatch.setenv("TRAINPAD_CACHE_DIR", str(tmp_path / "cache"))
    shared = tmp_path / "shared"  # a team's data folder, maybe read-only
    shared.mkdir()
    assert len(engine.load_dataset("fashion-mnist", train=False, root=shared)) == 24
    assert list(shared.iterdir()) == []
    assert (tmp_path / "cache" / "data" / "FashionMNIST" / "raw" / "t10k-images-idx3-ubyte").exists()
    # files in the data folder itself are read from there
    write_idx_dataset(shared, "FashionMNIST", test=16)
    assert len(engine_with().load_dataset("fashion-mnist", train=False, root=shared)) == 16  # a new engine: nothing loaded yet
