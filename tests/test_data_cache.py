"""The decoded-tensor cache of in-memory datasets (trainpad.engine.data.load_decoded) and MNIST's use of it."""

from __future__ import annotations

import os
import pickle
import stat
from pathlib import Path

import pytest
import torch

from trainpad.engine.data import InMemoryDataset, decoded_cache_paths, load_decoded, writable
from trainpad.testing import write_idx_dataset


@pytest.fixture(autouse=True)
def user_cache(tmp_path, monkeypatch) -> Path:
    """A private per-user cache folder, so tests never touch the real one."""
    folder = tmp_path / "user-cache"
    monkeypatch.setenv("TRAINPAD_CACHE_DIR", str(folder))
    monkeypatch.delenv("TRAINPAD_DATA_CACHE", raising=False)
    return folder


def make_source(tmp_path: Path) -> Path:
    source = tmp_path / "data" / "raw.bin"
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_bytes(bytes(range(16)))
    return source


def decoder(calls: list[int]):
    def decode() -> dict[str, torch.Tensor]:
        calls.append(1)
        return {"images": torch.arange(16, dtype=torch.uint8).view(4, 2, 2), "targets": torch.arange(4)}

    return decode


def test_decodes_once_then_reads_the_cache_beside_the_data(tmp_path):
    source = make_source(tmp_path)
    calls: list[int] = []
    first = load_decoded("toy-train", [source], decoder(calls), folder=source.parent)
    second = load_decoded("toy-train", [source], decoder(calls), folder=source.parent)
    assert calls == [1]
    assert (source.parent / "decoded" / "toy-train.pt").exists()
    assert torch.equal(first["images"], second["images"]) and second["images"].dtype == torch.uint8
    assert torch.equal(first["targets"], second["targets"])


def test_a_changed_source_file_invalidates_the_cache(tmp_path):
    source = make_source(tmp_path)
    calls: list[int] = []
    load_decoded("toy-train", [source], decoder(calls), folder=source.parent)
    source.write_bytes(bytes(range(17)))  # another size
    load_decoded("toy-train", [source], decoder(calls), folder=source.parent)
    st = source.stat()
    os.utime(source, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # same size, touched
    load_decoded("toy-train", [source], decoder(calls), folder=source.parent)
    assert calls == [1, 1, 1]


def test_a_read_only_data_folder_caches_per_user(tmp_path, user_cache):
    source = make_source(tmp_path)
    folder = source.parent
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        assert not writable(folder / "decoded")
        calls: list[int] = []
        load_decoded("toy-train", [source], decoder(calls), folder=folder)
        load_decoded("toy-train", [source], decoder(calls), folder=folder)
        assert calls == [1]
        assert not (folder / "decoded").exists()
        assert decoded_cache_paths(folder, "toy-train")[1].exists()
        assert str(decoded_cache_paths(folder, "toy-train")[1]).startswith(str(user_cache))
    finally:
        folder.chmod(stat.S_IRWXU)


def test_a_corrupt_or_foreign_cache_is_decoded_again(tmp_path):
    source = make_source(tmp_path)
    calls: list[int] = []
    cache = decoded_cache_paths(source.parent, "toy-train")[0]
    cache.parent.mkdir(parents=True)
    cache.write_bytes(b"not a torch file")
    load_decoded("toy-train", [source], decoder(calls), folder=source.parent)
    torch.save({"format": "something else", "tensors": {}}, cache)
    load_decoded("toy-train", [source], decoder(calls), folder=source.parent)
    assert calls == [1, 1]
    load_decoded("toy-train", [source], decoder(calls), folder=source.parent)
    assert calls == [1, 1]  # the rewritten cache is good


class Boom:
    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


def test_a_cache_with_pickled_objects_is_refused_not_run(tmp_path):
    source = make_source(tmp_path)
    cache = decoded_cache_paths(source.parent, "toy-train")[0]
    cache.parent.mkdir(parents=True)
    with open(cache, "wb") as f:
        pickle.dump({"format": "trainpad.decoded", "tensors": Boom()}, f, protocol=2)
    calls: list[int] = []
    out = load_decoded("toy-train", [source], decoder(calls), folder=source.parent)
    assert calls == [1] and out["images"].shape == (4, 2, 2)


def test_caching_can_be_turned_off(tmp_path, monkeypatch):
    monkeypatch.setenv("TRAINPAD_DATA_CACHE", "0")
    source = make_source(tmp_path)
    calls: list[int] = []
    load_decoded("toy-train", [source], decoder(calls), folder=source.parent)
    load_decoded("toy-train", [source], decoder(calls), folder=source.parent)
    assert calls == [1, 1] and not (source.parent / "decoded").exists()


def test_mnist_is_cached_beside_its_raw_files(tmp_path, monkeypatch):
    from trainpad.plugins.mnist import mnist

    root = write_idx_dataset(tmp_path / "data", train=64, test=32)
    first = mnist(root=root, train=True)
    assert (root / "MNIST" / "decoded" / "MNIST-train.pt").exists()
    import trainpad.engine.torchvision_data

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded again instead of reading the cache")

    monkeypatch.setattr(trainpad.engine.torchvision_data, "load_torchvision", no_decoding)
    second = mnist(root=root, train=True)
    assert isinstance(second, InMemoryDataset) and len(second) == 64
    assert torch.equal(first.images, second.images) and torch.equal(first.targets, second.targets)
    assert not (root / "MNIST" / "decoded" / "MNIST-test.pt").exists()  # never decoded, so not cached
