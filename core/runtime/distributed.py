"""Training on several processes with ``torch.distributed``, started by ``torchrun``.

``trainpad train`` runs unchanged under torchrun, on one machine or several::

    torchrun --nproc-per-node 2 -m trainpad.cli train --batch-size 64
    torchrun --nproc-per-node 2 "$(which trainpad)" train --batch-size 64

torchrun starts one process per device and tells each its place through the
environment (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``).
:func:`setup` reads it and joins the process group: NCCL on CUDA (each process on
the GPU ``cuda:LOCAL_RANK``), Gloo on the CPU.  Then :meth:`Engine.build_run
<trainpad.engine.engine.Engine.build_run>`, given the :class:`DistContext`, wraps the model in
``DistributedDataParallel``, shards the training data with a seeded
``DistributedSampler`` (``set_epoch`` before each epoch) and the test data without
padding, and the training loop averages the metrics across the processes.  Only rank 0
runs the callbacks (the CSV log), draws the progress bar and writes the checkpoint.

What every process agrees on, once per step, is the batch's loss averaged over all
processes (the loss of the global batch: what the divergence check and the progress
bar use) and whether to stop (Ctrl-C, ``--stop-file``, a callback's
:class:`~trainpad.engine.errors.StopTraining` on rank 0).  That is one all-reduce of two numbers
per step, before the backward pass, so that no process leaves the loop alone and
leaves the others waiting.

``--batch-size`` is per process: the global batch is ``batch_size * WORLD_SIZE``.
Batch-norm statistics are per process (PyTorch's default for DDP; rank 0's running
statistics are the ones kept); ``TRAINPAD_SYNC_BATCHNORM=1`` converts the model to
``SyncBatchNorm`` on CUDA.

A process that fails ends the run: torchrun notices within a tenth of a second
(``--monitor-interval``), stops the other processes and exits non-zero, and the failing
process's error is printed, prefixed with its rank, and named as the root cause in
torchrun's summary.  A process whose collective fails because a peer died says so in one
line (:class:`PeerFailed`) instead of a traceback.  A collective waiting for a peer that
hangs gives up after ``TRAINPAD_DIST_TIMEOUT`` seconds (default 600).

"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Iterator, Mapping

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import Dataset, DistributedSampler, Sampler

from trainpad import settings
from trainpad.engine.errors import ConfigError, TrainpadError
from trainpad.engine.message import message_of
from trainpad.runtime.device import resolve_device

if TYPE_CHECKING:
    from trainpad.engine.evaluation import Evaluation



@dataclass(frozen=True)
class DistEnv:
    """A process's place in a distributed run, as torchrun describes it."""

    rank: int
    world_size: int
    local_rank: int
    local_world_size: int
    master_addr: str | None
    master_port: str | None


def detect(environ: Mapping[str, str] | None = None) -> DistEnv | None:
    """torchrun's environment, or ``None`` for a plain process (or a world of one).

    A world of one process trains exactly as without torchrun, without the overhead.

    :raises ConfigError: the variables are there but malformed.
    """
    environ = os.environ if environ is None else environ
    if "WORLD_SIZE" not in environ or "RANK" not in environ:
        return None
    try:
        world = int(environ["WORLD_SIZE"])
        rank = int(environ["RANK"])
        local_rank = int(environ.get("LOCAL_RANK", rank))
        local_world = int(environ.get("LOCAL_WORLD_SIZE", world))
    except ValueError:
        raise ConfigError(
            "RANK, WORLD_SIZE and LOCAL_RANK must be whole numbers; start distributed runs with torchrun"
        ) from None
    if world <= 1:
        return None
    if not 0 <= rank < world or not 0 <= local_rank < max(local_world, 1):
        raise ConfigError(f"RANK {rank} / LOCAL_RANK {local_rank} do not fit WORLD_SIZE {world}")
    return DistEnv(rank, world, local_rank, local_world, environ.get("MASTER_ADDR"), environ.get("MASTER_PORT"))


def rank_prefix(environ: Mapping[str, str] | None = None) -> str:
    """``"[rank N] "`` inside a distributed run, else ``""``; for error messages."""
    try:
        found = detect(environ)
    except ConfigError:
        return ""
    return f"[rank {found.rank}] " if found is not None else ""


def timeout_seconds() -> float:
    """``TRAINPAD_DIST_TIMEOUT`` (seconds a collective waits), default 600."""
    return settings.get("TRAINPAD_DIST_TIMEOUT")


def device_for(name: str, env: DistEnv) -> torch.device:
    """The device this process trains on: ``cuda:LOCAL_RANK`` on CUDA, else the CPU.

    :raises ConfigError: MPS (no distributed backend), or fewer GPUs than processes.
    """
    try:
        device = resolve_device(name)
    except ValueError as exc:
        raise ConfigError(message_of(exc)) from None
    if device.type == "cuda":
        count = torch.cuda.device_count()
        if env.local_rank >= count:
            raise ConfigError(
                f"this machine has {count} GPU(s) but torchrun started {env.local_world_size} processes on it; "
                f"use --nproc-per-node {count} (or --device cpu)"
            )
        return torch.device("cuda", env.local_rank)
    if device.type != "cpu":
        raise ConfigError(
            f"distributed training runs on CUDA (NCCL) or on the CPU (Gloo), not on {device.type}; use --device cpu"
        )
    return device


class ShardSampler(Sampler[int]):
    """Every ``world``-th index from ``rank``: a shard for evaluation, without padding.

    Unlike ``DistributedSampler`` it repeats no sample, so the summed counts are exact.
    """

    def __init__(self, length: int, rank: int, world_size: int) -> None:
        self.indices = range(rank, length, world_size)

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)


class DistContext:
    """This process's membership of a distributed run; :func:`setup` makes one.

    :param env: the rank and world size.
    :param device: where this process trains.
    :param backend: ``"nccl"`` or ``"gloo"``.
    """

    def __init__(self, env: DistEnv, device: torch.device, backend: str) -> None:
        self.env = env
        self.device = device
        self.backend = backend
        self.rank = env.rank
        self.world_size = env.world_size
        self.is_main = env.rank == 0

    def __repr__(self) -> str:
        return f"DistContext(rank={self.rank}, world_size={self.world_size}, device={self.device}, backend={self.backend})"

    # -- building the run ------------------------------------------------------------

    def wrap(self, model: nn.Module) -> nn.Module:
        """``model`` (already on :attr:`device`) in ``DistributedDataParallel``.

        DDP copies rank 0's weights and buffers to every process here, so all start equal.
        """
        from torch.nn.parallel import DistributedDataParallel

        if settings.get("TRAINPAD_SYNC_BATCHNORM"):
            if self.device.type != "cuda":
                raise ConfigError("TRAINPAD_SYNC_BATCHNORM needs CUDA: PyTorch's SyncBatchNorm does not run on the CPU")
            model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        device_ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=device_ids)

    def train_sampler(self, dataset: Dataset, seed: int) -> DistributedSampler:
        """This rank's share of ``dataset``, reshuffled by ``set_epoch`` with ``seed``.

        Each process gets ``ceil(N / world_size)`` samples (a few repeated to even out),
        so every process takes the same number of steps.
        """
        return DistributedSampler(dataset, num_replicas=self.world_size, rank=self.rank, shuffle=True, seed=seed)

    def test_sampler(self, dataset: Dataset) -> ShardSampler:
        """This rank's share of the test split, for :meth:`reduce_evaluation` to sum."""
        return ShardSampler(len(dataset), self.rank, self.world_size)  # type: ignore[arg-type]

    @contextlib.contextmanager
    def local_main_first(self) -> Iterator[None]:
        """Run the block on each machine's local rank 0 first, then on the others.

        For loading datasets: one process per machine downloads, the others then read.
        """
        if self.env.local_rank != 0:
            self.barrier()
        yield
        if self.env.local_rank == 0:
            self.barrier()

    # -- during training -------------------------------------------------------------

    def agree(self, loss: float, stop: bool) -> tuple[float, bool]:
        """The loss averaged over every process, and whether any process wants to stop."""
        values = torch.tensor([loss, 1.0 if stop else 0.0], dtype=torch.float64, device=self.device)
        dist.all_reduce(values)
        total, stops = values.tolist()
        return total / self.world_size, stops > 0

    def any(self, flag: bool) -> bool:
        """Whether ``flag`` is true on any process."""
        return self.agree(0.0, flag)[1]

    def sum(self, *values: float) -> list[float]:
        """Each value summed over every process (in float64: counts stay exact)."""
        tensor = torch.tensor(values, dtype=torch.float64, device=self.device)
        dist.all_reduce(tensor)
        return tensor.tolist()

    def reduce_evaluation(self, evaluation: "Evaluation") -> "Evaluation":
        """Combine every rank's evaluation of its shard into the whole split's.

        Loss and accuracy are over all samples, the confusion matrix is summed; the
        mistakes (rank-local indices) are dropped.
        """
        from trainpad.engine.evaluation import Evaluation

        confusion = evaluation.confusion
        packed = torch.cat([
            torch.tensor([evaluation.loss * evaluation.count, float(evaluation.count)], dtype=torch.float64),
            confusion.flatten().to(torch.float64),
        ]).to(self.device)
        dist.all_reduce(packed)
        packed = packed.cpu()
        count = int(packed[1])
        summed = packed[2:].round().to(torch.long).view_as(confusion)
        return Evaluation(
            loss=float(packed[0]) / max(count, 1),
            accuracy=int(summed.diagonal().sum()) / max(count, 1),
            count=count,
            confusion=summed,
        )

    @staticmethod
    def local(model: nn.Module) -> nn.Module:
        """The module inside the DDP wrapper (for evaluation, which needs no syncing)."""
        return getattr(model, "module", model)

    def barrier(self) -> None:
        if self.backend == "nccl":
            dist.barrier(device_ids=[self.device.index])
        else:
            dist.barrier()

    def close(self) -> None:
        """Leave the process group (idempotent)."""
        if dist.is_available() and dist.is_initialized():
            # Every process reaches this point before any tears the group down: a process
            # leaving while a peer still talks to it made gloo abort that peer at exit
            # ("terminate called without an active exception").
            self.barrier()
            dist.destroy_process_group()


def setup(device: str = "auto", *, environ: Mapping[str, str] | None = None) -> DistContext | None:
    """Join the process group torchrun describes; ``None`` when not run by torchrun.

    NCCL with ``torch.cuda.set_device(LOCAL_RANK)`` on CUDA, Gloo on the CPU; collectives
    time out after :func:`timeout_seconds`.  Call :meth:`DistContext.close` at the end.

    :raises ConfigError: unusable device, missing ``MASTER_ADDR``/``MASTER_PORT``, or the
        rendezvous failed.
    """
    env = detect(environ)
    if env is None:
        return None
    if not dist.is_available():
        raise ConfigError("this PyTorch build has no torch.distributed; train without torchrun")
    target = device_for(device, env)
    backend = "nccl" if target.type == "cuda" else "gloo"
    if not env.master_addr or not env.master_port:
        raise ConfigError("WORLD_SIZE is set but MASTER_ADDR or MASTER_PORT is not: start distributed runs with torchrun")
    kwargs: dict[str, Any] = {}
    if target.type == "cuda":
        torch.cuda.set_device(target)
        kwargs["device_id"] = target
    if not dist.is_initialized():
        try:
            dist.init_process_group(
                backend, init_method="env://", rank=env.rank, world_size=env.world_size,
                timeout=timedelta(seconds=timeout_seconds()), **kwargs,
            )
        except (RuntimeError, ValueError) as exc:
            raise ConfigError(
                f"could not join the distributed run ({backend} at {env.master_addr}:{env.master_port}): {exc}"
            ) from None
    return DistContext(env, target, backend)


class PeerFailed(TrainpadError):
    """Another process of the run failed or stopped answering, so this one stops too."""


#: What Gloo says when a peer process died or hung (Gloo raises plain RuntimeErrors).
PEER_FAILURE_MARKERS = ("Connection closed by peer", "Connection reset by peer", "Timed out waiting")


def peer_failure(exc: BaseException) -> str | None:
    """The first line of a collective's error caused by another process, else ``None``.

    Walks the chain of causes, so a peer's death seen inside DDP's backward pass (and
    blamed on the loss) is recognised too.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        text = str(current)
        if isinstance(current, PeerFailed) or any(marker in text for marker in PEER_FAILURE_MARKERS):
            return text.strip().splitlines()[0] if text.strip() else type(current).__name__
        current = current.__cause__ or current.__context__
    return None


def record_error(exc: BaseException) -> None:
    """Write ``exc`` to torchrun's error file (``TORCHELASTIC_ERROR_FILE``), if it set one.

    torchrun then names it as the root cause in its failure summary.
    """
    if not os.environ.get("TORCHELASTIC_ERROR_FILE"):
        return
    try:
        from torch.distributed.elastic.multiprocessing.errors import ErrorHandler

        ErrorHandler().record_exception(exc)
    except Exception:  # the summary is a nicety; the error itself is printed anyway
        pass
