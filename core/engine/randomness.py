"""A run's own random numbers, in a process that other runs share.

PyTorch draws a model's initial weights, dropout's masks, the DataLoader's seed and
augmentation's offsets from one *global* generator per process.  When one server process
trains for several sessions, a run that reseeds it (a Step, another run starting) changes
the numbers another run draws next, and "same seed, same run" no longer holds.

:class:`RunRandomness` gives a run a generator state of its own and lends it to the global
generator only while the run works: ``with randomness.active():`` takes a process-wide
lock, installs the run's state, and on leaving reads it back and puts the process's state
where it was.  A job wraps everything of its run that draws numbers (building the model,
each step, each test) in it, so a seeded run repeats to the bit whatever other sessions do
meanwhile.  Two runs' steps then take turns (each holds the lock for one step), which
costs nothing with one run training at a time and little beside: a step already uses
every core.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field
from typing import Iterator

import torch

#: Held while a run's state is lent to the global generator (one run at a time).
_LOCK = threading.RLock()


@dataclass
class RunRandomness:
    """A run's generator states: the CPU's and, once the run uses one, each CUDA device's.

    Plain tensors, so a run's randomness travels in its :class:`~trainpad.engine.job.RunState`.
    """

    cpu: torch.Tensor
    cuda: dict[int, torch.Tensor] = field(default_factory=dict)

    @classmethod
    def seeded(cls, seed: int) -> "RunRandomness":
        """The state ``torch.manual_seed(seed)`` gives the CPU's generator."""
        return cls(torch.Generator().manual_seed(int(seed)).get_state())

    @contextlib.contextmanager
    def active(self, device: torch.device | None = None) -> Iterator[None]:
        """Lend this state to torch's global generator(s) for the block (see the module)."""
        cuda = device.index or 0 if device is not None and device.type == "cuda" else None
        with _LOCK:
            saved = torch.get_rng_state()
            saved_cuda = torch.cuda.get_rng_state(cuda) if cuda is not None else None
            torch.set_rng_state(self.cpu)
            if cuda is not None and cuda in self.cuda:  # (a run seeds a device it has not used with manual_seed)
                torch.cuda.set_rng_state(self.cuda[cuda], cuda)
            try:
                yield
            finally:
                self.cpu = torch.get_rng_state()
                torch.set_rng_state(saved)
                if cuda is not None:
                    self.cuda[cuda] = torch.cuda.get_rng_state(cuda)
                    torch.cuda.set_rng_state(saved_cuda, cuda)

    def copy(self) -> "RunRandomness":
        return RunRandomness(self.cpu.clone(), {k: v.clone() for k, v in self.cuda.items()})


__all__ = ["RunRandomness"]
