"""Where data lives, and the fast path for datasets that fit in memory.

:class:`InMemoryDataset` holds a whole split as one ``uint8`` tensor, normalises per
batch and hands the DataLoader whole batches at once (through a batch sampler), so
training reads memory instead of building one PIL image per sample.  It is still a
``torch.utils.data.Dataset``: ``dataset[i]`` gives one ``(image, label)`` pair.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import torch
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler, SequentialSampler

from core.errors import TrainpadError


class DataUnavailable(TrainpadError, RuntimeError):
    """A dataset's files are missing and cannot be downloaded; the message says what to do."""


def default_data_dir() -> Path:
    """``TRAINPAD_DATA_DIR``, else a per-user cache folder (``$XDG_CACHE_HOME/trainpad/data``)."""
    env = os.environ.get("TRAINPAD_DATA_DIR")
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "trainpad" / "data"


def offline() -> bool:
    """``TRAINPAD_OFFLINE=1`` (or ``HF_HUB_OFFLINE=1``): never try to download."""
    return any(os.environ.get(v, "").lower() in {"1", "true", "yes"} for v in ("TRAINPAD_OFFLINE", "HF_HUB_OFFLINE"))


class InMemoryDataset(Dataset):
    """A split held in memory: ``images`` ``(N, C, H, W)`` or ``(N, H, W)`` ``uint8``, ``targets`` ``(N,)``.

    Pixels are scaled to ``[0, 1]`` and normalised with ``mean`` and ``std`` as each
    batch is read, so the stored tensor stays four times smaller than floats.
    """

    def __init__(
        self,
        images: torch.Tensor,
        targets: torch.Tensor,
        *,
        mean: Sequence[float] = (0.0,),
        std: Sequence[float] = (1.0,),
    ) -> None:
        if images.dim() == 3:
            images = images.unsqueeze(1)
        if images.dtype != torch.uint8 or images.dim() != 4:
            raise ValueError("images must be a uint8 tensor of shape (N, C, H, W) or (N, H, W)")
        if len(images) != len(targets):
            raise ValueError(f"{len(images)} images but {len(targets)} targets")
        self.images = images.contiguous()
        self.targets = targets.long()
        channels = images.shape[1]
        # Fold /255 and the normalisation into one multiply-add per pixel.
        std_t = torch.tensor(std, dtype=torch.float32).expand(channels)
        mean_t = torch.tensor(mean, dtype=torch.float32).expand(channels)
        self._scale = (1.0 / (255.0 * std_t)).view(1, -1, 1, 1)
        self._shift = (-mean_t / std_t).view(1, -1, 1, 1)

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int | Sequence[int] | torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if isinstance(index, int):
            x, y = self.batch(torch.tensor([index]))
            return x[0], y[0]
        return self.batch(torch.as_tensor(index))

    def batch(self, indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Images (normalised ``float32``) and labels for ``indices``, gathered at once."""
        x = self.images.index_select(0, indices).to(torch.float32)
        x.mul_(self._scale).add_(self._shift)
        return x, self.targets.index_select(0, indices)

    def subset(self, count: int) -> "InMemoryDataset":
        """The first ``count`` samples, sharing memory with this dataset."""
        sub = InMemoryDataset.__new__(InMemoryDataset)
        sub.__dict__.update(self.__dict__)
        sub.images, sub.targets = self.images[:count], self.targets[:count]
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
    """
    if sampler is None:
        sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
    if isinstance(dataset, InMemoryDataset):
        # One dataset call per batch: the sampler yields lists of indices and
        # batch_size=None turns off per-sample collation.
        return DataLoader(
            dataset,
            sampler=BatchSampler(sampler, batch_size, drop_last=False),
            batch_size=None,
            pin_memory=pin_memory,
        )
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, pin_memory=pin_memory)


def take(dataset: Dataset, count: int | None) -> Dataset:
    """The first ``count`` samples of ``dataset`` (all when ``count`` is ``None`` or larger)."""
    if count is None or count >= len(dataset):
        return dataset
    if isinstance(dataset, InMemoryDataset):
        return dataset.subset(count)
    return torch.utils.data.Subset(dataset, range(count))
