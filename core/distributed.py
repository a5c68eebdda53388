"""Training on several processes with ``torch.distributed``, started by ``torchrun``.

``trainpad train`` runs unchanged under torchrun, on one machine or several::

    torchrun --nproc-per-node 2 -m core.cli train --batch-size 64
    torchrun --nproc-per-node 2 "$(which trainpad)" train --batch-size 64

torchrun starts one process per device and tells each its place through the
environment (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``).
:func:`setup` reads it and joins the process group: NCCL on CUDA (each process on
the GPU ``cuda:LOCAL_RANK``), Gloo on the CPU.  Then :meth:`Engine.build_run
<core.engine.Engine.build_run>`, given the :class:`DistContext`, wraps the model in
``DistributedDataParallel``, shards the training data with a seeded
``DistributedSampler`` (``set_epoch`` before each epoch) and the test data without
padding, and the training loop averages the metrics across the processes.  Only rank 0
runs the callbacks (the CSV log), draws the progress bar and writes the checkpoint.

What every process agrees on, once per step, is the batch's loss averaged over all
processes (the loss of the global batch: what the divergence check and the progress
bar use) and whether to stop (Ctrl-C, ``--stop-file``, a callback's
:class:`~core.errors.StopTraining` on rank 0).  That is one all-reduce of two numbers
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

For the web app, :func:`local_devices`, :func:`can_launch_local` and :func:`launch_local`
start such a run on this machine's GPUs as a child process and follow its events.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Iterator, Mapping, Sequence

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import Dataset, DistributedSampler, Sampler

from core.errors import ConfigError, TrainpadError

if TYPE_CHECKING:
    from core.evaluation import Evaluation
    from core.events import EpochEnd, StepEnd, TrainEnd
    from core.config import TrainConfig

#: Seconds a collective waits for the other processes before failing.
DEFAULT_TIMEOUT = 600.0


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
    value = os.environ.get("TRAINPAD_DIST_TIMEOUT", "")
    try:
        seconds = float(value) if value.strip() else DEFAULT_TIMEOUT
    except ValueError:
        raise ConfigError(f"TRAINPAD_DIST_TIMEOUT must be a number of seconds, got {value!r}") from None
    if not seconds > 0:
        raise ConfigError(f"TRAINPAD_DIST_TIMEOUT must be positive, got {value!r}")
    return seconds


def device_for(name: str, env: DistEnv) -> torch.device:
    """The device this process trains on: ``cuda:LOCAL_RANK`` on CUDA, else the CPU.

    :raises ConfigError: MPS (no distributed backend), or fewer GPUs than processes.
    """
    from core.device import resolve_device

    try:
        device = resolve_device(name)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
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

        if os.environ.get("TRAINPAD_SYNC_BATCHNORM", "").strip().lower() in {"1", "true", "yes", "on"}:
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
        from core.evaluation import Evaluation

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


# -- starting a run on this machine's devices (the web app's option) --------------------


def local_devices() -> list[torch.device]:
    """The GPUs of this machine, one per process of a local distributed run.

    Empty on a machine without CUDA (a CPU Space, a Mac): no distributed option there.
    Does not initialise CUDA in this process (safe before forking).
    """
    if not torch.cuda.is_available():
        return []
    return [torch.device("cuda", i) for i in range(torch.cuda.device_count())]


def can_launch_local() -> bool:
    """Whether to offer a distributed run: this machine has two GPUs or more."""
    return len(local_devices()) >= 2


def train_args(
    config: "TrainConfig",
    *,
    output: str | os.PathLike[str],
    data_dir: str | os.PathLike[str] | None = None,
    resume: str | os.PathLike[str] | None = None,
) -> list[str]:
    """The ``trainpad train`` flags that run ``config`` and save to ``output``."""
    args = [
        "--dataset", config.dataset, "--model", config.model, "--optimizer", config.optimizer, "--loss", config.loss,
    ]
    for name, value in config.settings().items():
        args += [f"--{name.replace('_', '-')}", str(value)]
    for kind, values in sorted(config.params.items()):
        for name, value in sorted(values.items()):
            args += [f"--{kind}-{name.replace('_', '-')}", str(value)]
    args += ["--output", str(output)]
    if data_dir is not None:
        args += ["--data-dir", str(data_dir)]
    if resume is not None:
        args += ["--resume", str(resume)]
    return args


class LaunchFailed(TrainpadError):
    """A local distributed run ended without finishing; the message holds its log's end."""


class LocalRun:
    """A distributed training run in a child ``torchrun``, followed through its events file.

    Made by :func:`launch_local`.  Iterate :meth:`events` for the run's
    :class:`~core.events.StepEnd` and :class:`~core.events.EpochEnd` (rank 0's, with
    the metrics averaged over the processes) and a final :class:`~core.events.TrainEnd`
    (``trained`` is ``None``: load :attr:`checkpoint` with
    :func:`core.checkpoint.load_checkpoint`).  :meth:`stop` ends it after the current
    batch, keeping the model; :meth:`kill` ends it at once.
    """

    def __init__(self, process: subprocess.Popen, *, workdir: Path, checkpoint: Path, nproc: int) -> None:
        self.process = process
        self.workdir = workdir
        self.checkpoint = checkpoint
        self.nproc = nproc
        self.events_path = workdir / "events.jsonl"
        self.stop_path = workdir / "stop"
        self.log_path = workdir / "log.txt"
        self.result: "TrainEnd | None" = None

    def stop(self) -> None:
        """Ask every process to stop after the current batch; rank 0 still saves the model."""
        self.stop_path.touch()

    def kill(self) -> None:
        """End torchrun and its processes now (nothing is saved)."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def log(self) -> str:
        """Everything torchrun and the processes printed (progress, errors)."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def events(self, *, poll: float = 0.1) -> Iterator["StepEnd | EpochEnd | TrainEnd"]:
        """The run's events as they come, ending with its :class:`~core.events.TrainEnd`.

        :raises LaunchFailed: the run ended without a ``TrainEnd`` (a process failed).
        """
        from core.events import EpochEnd, StepEnd, TrainEnd

        history: list[EpochEnd] = []
        buffer = ""
        with contextlib.ExitStack() as stack:
            handle: IO[str] | None = None
            while True:
                exited = self.process.poll() is not None
                if handle is None and self.events_path.exists():
                    handle = stack.enter_context(self.events_path.open())
                chunk = handle.read() if handle is not None else ""
                buffer += chunk
                *lines, buffer = buffer.split("\n")
                for line in lines:
                    if not line.strip():
                        continue
                    record = json.loads(line)
                    kind = record.pop("event")
                    if kind == "step":
                        yield StepEnd(**record)
                    elif kind == "epoch":
                        history.append(EpochEnd(**record))
                        yield history[-1]
                    elif kind == "end":
                        record.pop("checkpoint", None)
                        record.pop("metrics", None)
                        self.result = TrainEnd(**record, history=list(history))
                        self.process.wait()
                        yield self.result
                        return
                if exited and not chunk:
                    tail = "\n".join(self.log().strip().splitlines()[-15:])
                    raise LaunchFailed(
                        f"the distributed run ended (exit status {self.process.returncode}) before finishing:\n{tail}"
                    )
                if not chunk:
                    time.sleep(poll)


def launch_local(
    args: Sequence[str],
    nproc: int | None = None,
    *,
    workdir: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> LocalRun:
    """Start ``trainpad train ARGS`` under ``torchrun --standalone`` with ``nproc`` processes.

    :param args: ``trainpad train`` flags, e.g. from :func:`train_args`; they must name
        ``--output``.  ``--events`` and ``--stop-file`` are added.
    :param nproc: processes (default: one per GPU of :func:`local_devices`).
    :param workdir: where the events file, stop file and log go (default: a new temporary folder).
    :param env: extra environment variables for the processes.
    :raises ConfigError: fewer than two processes, or no ``--output``.
    """
    nproc = nproc if nproc is not None else len(local_devices())
    if nproc < 2:
        raise ConfigError(f"a distributed run needs at least 2 processes, got {nproc}")
    args = [str(a) for a in args]
    flags = [a.split("=", 1)[0] for a in args]
    if "--output" not in flags and "-o" not in flags:
        raise ConfigError("launch_local needs --output: the checkpoint's path")
    index = max(i for i, f in enumerate(flags) if f in ("--output", "-o"))
    checkpoint = Path(args[index].split("=", 1)[1] if "=" in args[index] else args[index + 1])
    folder = Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix="trainpad-dist-"))
    folder.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}",
        "-m", "core.cli", "train", *args,
        "--events", str(folder / "events.jsonl"), "--stop-file", str(folder / "stop"), "--quiet",
    ]
    for stale in ("events.jsonl", "stop"):
        (folder / stale).unlink(missing_ok=True)
    # The processes import trainpad from where this module came, installed or not.
    project = str(Path(__file__).resolve().parent.parent)
    python_path = os.pathsep.join(p for p in (project, os.environ.get("PYTHONPATH", "")) if p)
    with (folder / "log.txt").open("w") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": python_path, **(env or {})}, start_new_session=True,
        )
    return LocalRun(process, workdir=folder, checkpoint=checkpoint, nproc=nproc)


__all__ = [
    "DistContext", "DistEnv", "LaunchFailed", "LocalRun", "PeerFailed", "ShardSampler", "can_launch_local", "detect",
    "launch_local", "local_devices", "peer_failure", "rank_prefix", "record_error", "setup", "timeout_seconds", "train_args",
]
