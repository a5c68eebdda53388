"""The built-in MNIST dataset and the default recipe on real data."""

import pytest
import torch

from trainpad.engine.data import InMemoryDataset, default_data_dir, make_loader
from trainpad.engine.errors import ConfigError
from trainpad.engine.training import TrainConfig


def test_loads_through_torchvision_from_idx_files(engine, mnist_dir):
    train = engine.load_dataset("mnist", train=True, root=mnist_dir)
    test = engine.load_dataset("mnist", train=False, root=mnist_dir)
    assert isinstance(train, InMemoryDataset) and (len(train), len(test)) == (256, 128)
    x, y = train[0]
    assert x.shape == (1, 28, 28) and x.dtype == torch.float32 and 0 <= int(y) <= 9
    # normalised with MNIST's mean and std: 0 -> -0.4242, 255 -> 2.8215
    assert x.min().item() >= -0.43 and x.max().item() == pytest.approx((1 - 0.1307) / 0.3081, abs=1e-4)


def test_batches_come_whole_and_shuffled_by_the_seed(engine, mnist_dir):
    data = engine.load_dataset("mnist", train=True, root=mnist_dir)
    first = [y for _, y in make_loader(data, batch_size=64, shuffle=True, generator=torch.Generator().manual_seed(1))]
    again = [y for _, y in make_loader(data, batch_size=64, shuffle=True, generator=torch.Generator().manual_seed(1))]
    assert [len(y) for y in first] == [64] * 4
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    x, y = next(iter(make_loader(data, batch_size=64, shuffle=False)))
    assert torch.equal(x[3], data[3][0]) and int(y[3]) == int(data[3][1])


def test_the_data_folder_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("TRAINPAD_DATA_DIR", str(tmp_path))
    assert default_data_dir() == tmp_path
    monkeypatch.delenv("TRAINPAD_DATA_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert default_data_dir() == tmp_path / "cache" / "trainpad" / "data"


def test_offline_without_files_says_where_to_put_them(engine, tmp_path, monkeypatch):
    monkeypatch.setenv("TRAINPAD_OFFLINE", "1")
    with pytest.raises(ConfigError) as info:
        engine.load_dataset("mnist", train=True, root=tmp_path)
    message = str(info.value)
    assert str(tmp_path / "MNIST" / "raw") in message and "TRAINPAD_OFFLINE" in message
    assert message.count("-ubyte") == 4


@pytest.mark.slow
def test_the_defaults_reach_98_5_percent_in_one_epoch(engine, real_mnist):
    end = engine.build_run(TrainConfig(epochs=1), data_dir=real_mnist).run()
    assert end.status == "completed"
    assert end.trained.metrics["test_accuracy"] >= 0.985, end.trained.metrics
