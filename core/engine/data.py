"""Where data lives, and the fast path for datasets that fit in memory.

:class:`InMemoryDataset` holds a whole split as one ``uint8`` tensor, normalises per
batch and hands the DataLoader whole batches at once (through a batch sampler), so
training reads memory instead of building one PIL image per sample.  It is still a
``torch.utils.data.Dataset``: ``dataset[i]`` gives one ``(image, label)`` pair.

:func:`load_decoded` keeps a decoded split on disk (``torch.save`` of plain tensors,
read back with ``weights_only=True``) beside the raw files, or in a per-user cache
folder when the data folder is read-only, so the next start skips decoding.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import torch
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler, SequentialSampler

from trainpad import settings
from trainpad.engine.errors import TrainpadError
from trainpad.engine.script_template import random_shift  # the exported script's own: one augmentation for both


class DataUnavailable(TrainpadError, RuntimeError):
    """A dataset's files are missing and cannot be downloaded; the message says what to do."""


def default_data_dir() -> Path:
    """``TRAINPAD_DATA_DIR``, else a per-user cache folder (``$XDG_CACHE_HOME/trainpad/data``)."""
    return settings.data_dir()


def default_cache_dir() -> Path:
    """``TRAINPAD_CACHE_DIR``, else ``$XDG_CACHE_HOME/trainpad`` (``~/.cache/trainpad``)."""
    return settings.cache_dir()


#: Written into every decoded-cache file; a file without it is not ours.
DECODED_FORMAT = "trainpad.decoded"
DECODED_VERSION = 1

log = logging.getLogger("trainpad")


def fingerprint(sources: Sequence[Path]) -> list[list]:
    """``[name, size, mtime_ns]`` per file: what a cache entry is valid for."""
    found = []
    for path in sources:
        st = Path(path).stat()
        found.append([Path(path).name, int(st.st_size), int(st.st_mtime_ns)])
    return found


def decoded_cache_paths(folder: Path, key: str) -> list[Path]:
    """Where the decoded ``key`` may live: beside the data, then the per-user cache."""
    folder = Path(folder)
    digest = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:16]
    return [folder / "decoded" / f"{key}.pt", default_cache_dir() / "decoded" / digest / f"{key}.pt"]


def _read_decoded(path: Path, expected: list[list]) -> dict[str, torch.Tensor] | None:
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        return None
    except Exception as exc:  # truncated, not a torch file, pickled objects refused...
        log.warning("ignoring the decoded cache %s (%s: %s); decoding again", path, type(exc).__name__, exc)
        return None
    if (
        not isinstance(payload, dict)
        or payload.get("format") != DECODED_FORMAT
        or payload.get("version") != DECODED_VERSION
        or payload.get("fingerprint") != expected
        or not isinstance(payload.get("tensors"), dict)
        or not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in payload["tensors"].items())
    ):
        return None
    return payload["tensors"]


def writable(folder: Path) -> bool:
    """Whether files may be created in ``folder`` (or its nearest existing parent).

    A folder whose permission bits deny writing counts as read-only even for root,
    who could write there anyway: the shared ``data/`` of a team stays untouched.
    """
    folder = Path(folder)
    while not folder.exists():
        if folder.parent == folder:
            return False
        folder = folder.parent
    if not os.access(folder, os.W_OK):
        return False
    return bool(folder.stat().st_mode & 0o200)


def _write_decoded(path: Path, expected: list[list], tensors: dict[str, torch.Tensor]) -> bool:
    if not writable(path.parent):
        return False
    payload = {
        "format": DECODED_FORMAT,
        "version": DECODED_VERSION,
        "fingerprint": expected,
        "tensors": {k: v.contiguous() for k, v in tensors.items()},
    }
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False) as f:
            tmp = Path(f.name)
            torch.save(payload, f)
        os.replace(tmp, path)  # atomic: a reader sees the old file or the new one
        return True
    except OSError:  # read-only folder, no permission, disk full
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        return False


def load_decoded(
    key: str,
    sources: Sequence[Path],
    decode: Callable[[], dict[str, torch.Tensor]],
    *,
    folder: Path,
) -> dict[str, torch.Tensor]:
    """``decode()`` once and keep its tensors on disk; later calls read them back.

    The cache file is ``folder/decoded/<key>.pt`` when ``folder`` is writable, else
    under :func:`default_cache_dir`.  It is used only while every file in ``sources``
    has the size and modification time it had when the cache was written; it is
    read with ``weights_only=True``, so a tampered file cannot run code.  A cache that
    cannot be read or written is ignored.  ``TRAINPAD_DATA_CACHE=0`` turns caching off.

    :param decode: returns named tensors; it may download ``sources`` first.
    """
    enabled = settings.get("TRAINPAD_DATA_CACHE")
    paths = decoded_cache_paths(folder, key)
    if enabled:
        try:
            expected = fingerprint(sources)
        except OSError:  # not downloaded yet
            expected = None
        if expected is not None:
            for path in paths:
                tensors = _read_decoded(path, expected)
                if tensors is not None:
                    return tensors
    tensors = decode()
    if enabled:
        try:
            expected = fingerprint(sources)
        except OSError:
            return tensors  # the sources are not where we thought: nothing to key the cache on
        for path in paths:
            if _write_decoded(path, expected, tensors):
                break
    return tensors


class InMemoryDataset(Dataset):
    """A split held in memory: ``images`` ``(N, C, H, W)`` or ``(N, H, W)`` ``uint8``, ``targets`` ``(N,)``.

    Pixels are scaled to ``[0, 1]`` and normalised with ``mean`` and ``std`` as each
    batch is read, so the stored tensor stays four times smaller than floats.

    :param shift: augmentation, for a training split: each time an image is read it is
        moved by a random offset of up to ``shift`` pixels each way (0: never), so that
        the model sees the same digit in slightly different places and learns
        the shape rather than the position.
    """

    def __init__(
        self,
        images: torch.Tensor,
        targets: torch.Tensor,
        *,
        mean: Sequence[float] = (0.0,),
        std: Sequence[float] = (1.0,),
        shift: int = 0,
    ) -> None:
        if images.dim() == 3:
            images = images.unsqueeze(1)
        if images.dtype != torch.uint8 or images.dim() != 4:
            raise ValueError("images must be a uint8 tensor of shape (N, C, H, W) or (N, H, W)")
        if len(images) != len(targets):
            raise ValueError(f"{len(images)} images but {len(targets)} targets")
        if not 0 <= int(shift) < min(images.shape[2:]):
            raise ValueError(f"shift must be from 0 to less than the image size, not {shift}")
        self.images = images.contiguous()
        self.targets = targets.long()
        self.shift = int(shift)
        channels = images.shape[1]
        # Fold /255 and the normalisation into one multiply-add per pixel.
        std_t = torch.tensor(std, dtype=torch.float32).expand(channels)
        mean_t = torch.tensor(mean, dtype=torch.float32).expand(channels)
        self._scale = (1.0 / (255.0 * std_t)).view(1, -1, 1, 1)
        self._offset = (-mean_t / std_t).view(1, -1, 1, 1)

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int | Sequence[int] | torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if isinstance(index, int):
            x, y = self.batch(torch.tensor([index]))
            return x[0], y[0]
        return self.batch(torch.as_tensor(index))

    def batch(self, indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Images (normalised ``float32``) and labels for ``indices``, gathered at once."""
        x = self.images.index_select(0, indices)
        if self.shift:
            x = random_shift(x, self.shift)
        x = x.to(torch.float32)
        x.mul_(self._scale).add_(self._offset)
        return x, self.targets.index_select(0, indices)

    def subset(self, count: int) -> "InMemoryDataset":
        """The first ``count`` samples, sharing memory with this dataset."""
        return self._with(self.images[:count], self.targets[:count])

    def pick(self, indices: torch.Tensor) -> "InMemoryDataset":
        """The samples at ``indices`` (a copy of just those)."""
        return self._with(self.images.index_select(0, indices), self.targets.index_select(0, indices))

    def _with(self, images: torch.Tensor, targets: torch.Tensor) -> "InMemoryDataset":
        sub = InMemoryDataset.__new__(InMemoryDataset)
        sub.__dict__.update(self.__dict__)
        sub.images, sub.targets = images, targets
        return sub


def make_loader(
    dataset: Dataset,
    *,
    batch_size: int,
    shuffle: bool,
    generator: torch.Generator | None = None,
    sampler: torch.utils.data.Sampler | None = None,
    pin_memory: bool = False,
) -> DataLoader:
    """A DataLoader of ``(images, labels)`` batches, batched whole for an :class:`InMemoryDataset`.

    :param sampler: a per-sample sampler to use instead of shuffling (a
        ``DistributedSampler``, say); ``shuffle`` is then ignored.

    Each pass over a DataLoader draws one number from its ``generator``, or from torch's
    global generator without one.  A loader that does not shuffle gets a generator of its
    own, so that evaluating (before training, between epochs, in the loop view) leaves the
    global generator, and so the run's dropout, as it was; a shuffling loader draws from
    the global one, as a plain ``DataLoader(shuffle=True)`` would.
    """
    if sampler is None:
        sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
    own = None if shuffle else torch.Generator()
    if isinstance(dataset, InMemoryDataset):
        # One dataset call per batch: the sampler yields lists of indices and
        # batch_size=None turns off per-sample collation.
        return DataLoader(
            dataset,
            sampler=BatchSampler(sampler, batch_size, drop_last=False),
            batch_size=None,
            pin_memory=pin_memory,
            generator=own,
        )
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, pin_memory=pin_memory, generator=own)


def spread(dataset: Dataset, count: int) -> Dataset:
    """``count`` samples spread evenly over ``dataset`` (all of it when it has no more):
    a fixed sample that covers the whole split, not just its first images."""
    total = len(dataset)
    if count >= total:
        return dataset
    indices = torch.linspace(0, total - 1, count).long()
    if isinstance(dataset, InMemoryDataset):
        return dataset.pick(indices)
    return torch.utils.data.Subset(dataset, indices.tolist())


def take(dataset: Dataset, count: int | None) -> Dataset:
    """The first ``count`` samples of ``dataset`` (all when ``count`` is ``None`` or larger)."""
    if count is None or count >= len(dataset):
        return dataset
    if isinstance(dataset, InMemoryDataset):
        return dataset.subset(count)
    return torch.utils.data.Subset(dataset, range(count))


def skip_batches(batches: Iterator[Any], count: int) -> Iterator[Any]:
    """``batches`` (a DataLoader's iterator, new) past its first ``count`` batches, without
    reading them: the sampler is moved on, the dataset is not asked for the skipped ones
    (which could draw random numbers: augmentation) and nothing is fetched."""
    sampler = getattr(batches, "_sampler_iter", None)
    if sampler is None or not hasattr(batches, "_num_yielded"):  # not a DataLoader's iterator: read and drop them
        for _ in range(count):
            next(batches, None)
        return batches
    for _ in range(count):
        if next(sampler, None) is None:
            break
        batches._num_yielded += 1
    return batches
