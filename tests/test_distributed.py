"""Distributed training: torchrun, DDP and Gloo on the CPU, two processes on this machine.

The two-process runs are real: ``torchrun`` starts ``trainpad train`` twice (as
``-m trainpad.cli``, followed through its ``--events`` file, and as the console script), the processes meet on 127.0.0.1 and train with Gloo.  The fine-grained
behaviour (agreeing to stop, callbacks on rank 0, divergence) is tested in this
process on a one-process Gloo group, which runs the same code paths fast.

Why the losses can be compared step by step: with the same seed, two processes
with batch 8 draw, at each step, the same 16 samples as one process with batch 16
drawing from a one-replica ``DistributedSampler``, and DDP's averaged gradient is
that batch's gradient.  The model has no dropout (masks would differ) and no batch
norm (its statistics are per process under DDP, documented in docs/distributed.md),
so only floating-point summation order differs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from trainpad.runtime import distributed
from trainpad.engine.callbacks import Callback, StopTraining
from trainpad.engine.checkpoint import load_checkpoint
from trainpad.engine.data import make_loader
from trainpad.runtime.distributed import DistContext, DistEnv, detect
from trainpad.engine.errors import ConfigError
from trainpad.engine.events import EpochEnd, StepEnd, TrainEnd
from trainpad.testing import write_idx_dataset
from trainpad.engine.training import TrainConfig
from support import free_port

TRAINPAD = shutil.which("trainpad", path=str(Path(sys.executable).parent)) or "trainpad"
#: A small model without dropout or batch norm: the runs can match step by step.
PLAIN = {"width": 4, "hidden": 32, "dropout": 0.0, "batch_norm": False}
PER_PROCESS_BATCH, TRAIN, TEST, EPOCHS = 8, 1600, 400, 3  # 100 steps of 16 samples per epoch
ENV = {"TRAINPAD_LOAD_PLUGINS": "", "TRAINPAD_DIST_TIMEOUT": "60", "OMP_NUM_THREADS": "1"}


def config(batch_size: int, **overrides) -> TrainConfig:
    settings = dict(
        params={"model": dict(PLAIN), "optimizer": {"lr": 0.05}}, epochs=EPOCHS, batch_size=batch_size,
        device="cpu", seed=3,
    )
    return TrainConfig(**{**settings, **overrides})


def processes_marked(mark: str) -> list[int]:
    """Live processes whose environment holds ``TRAINPAD_TEST_MARK=mark`` (Linux)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if f"TRAINPAD_TEST_MARK={mark}".encode() in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One thread, like each torchrun process (OMP_NUM_THREADS=1): two threads on two
    busy cores make this process ten times slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return write_idx_dataset(tmp_path_factory.mktemp("dist") / "data", train=TRAIN, test=TEST)


def reference_run(engine, cfg: TrainConfig, data: Path) -> list:
    """One process, drawing its batches from a one-replica DistributedSampler."""
    from torch.utils.data import DistributedSampler

    run = engine.build_run(cfg, data_dir=data)
    train_set = run.parts.train_loader.dataset
    sampler = DistributedSampler(train_set, num_replicas=1, rank=0, shuffle=True, seed=cfg.seed)
    run.parts.train_loader = make_loader(train_set, batch_size=cfg.batch_size, shuffle=False, sampler=sampler)
    run.parts.train_sampler = sampler
    return list(run.events())


# -- torchrun's environment -----------------------------------------------------------


def test_detect_reads_torchruns_environment():
    env = {"RANK": "1", "WORLD_SIZE": "4", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "2", "MASTER_ADDR": "10.0.0.1", "MASTER_PORT": "29500"}
    assert detect(env) == DistEnv(1, 4, 1, 2, "10.0.0.1", "29500")
    assert distributed.rank_prefix(env) == "[rank 1] "
    # no torchrun, or a world of one process: the plain single-process path
    assert detect({}) is None and detect({**env, "WORLD_SIZE": "1", "RANK": "0"}) is None
    assert distributed.rank_prefix({}) == ""
    with pytest.raises(ConfigError, match="whole numbers"):
        detect({**env, "RANK": "one"})
    with pytest.raises(ConfigError, match="do not fit"):
        detect({**env, "RANK": "4"})


def test_setup_refuses_a_half_set_environment_and_bad_timeouts(monkeypatch):
    with pytest.raises(ConfigError, match="torchrun"):
        distributed.setup("cpu", environ={"RANK": "0", "WORLD_SIZE": "2", "LOCAL_RANK": "0"})
    monkeypatch.setenv("TRAINPAD_DIST_TIMEOUT", "soon")
    with pytest.raises(ConfigError, match="TRAINPAD_DIST_TIMEOUT"):
        distributed.timeout_seconds()


def test_a_collective_failing_because_of_a_peer_is_told_apart():
    from trainpad.engine.errors import ComponentError

    gloo = RuntimeError("[pair.cc:561] Connection closed by peer [127.0.0.1]:38091. This is typically caused by...")
    try:  # seen inside DDP's backward pass, the peer's death is blamed on the loss
        try:
            raise gloo
        except RuntimeError as exc:
            raise ComponentError("loss nll", f"RuntimeError: {exc}") from exc
    except ComponentError as blamed:
        assert "Connection closed by peer" in distributed.peer_failure(blamed)
    assert distributed.peer_failure(ComponentError("model boom", "RuntimeError: boom")) is None


# -- the distributed code path, in this process (a Gloo group of one) ---------------------


@pytest.fixture(scope="module")
def group():
    import torch.distributed as dist

    port = free_port()
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=0, world_size=1)
    context = DistContext(DistEnv(0, 1, 0, 1, "127.0.0.1", str(port)), torch.device("cpu"), "gloo")
    yield context
    context.close()


def test_the_distributed_path_trains_like_the_single_one(engine, data, group):
    cfg = config(16, epochs=1)
    expected = reference_run(engine, cfg, data)
    run = engine.build_run(cfg, data_dir=data, distributed=group)
    assert isinstance(run.model, torch.nn.parallel.DistributedDataParallel)
    events = list(run.events())
    got = [e.loss for e in events if isinstance(e, StepEnd)]
    want = [e.loss for e in expected if isinstance(e, StepEnd)]
    assert len(got) == len(want) == TRAIN // 16
    assert got == pytest.approx(want, rel=1e-4, abs=1e-5)
    mine, theirs = events[-2], expected[-2]
    assert isinstance(mine, EpochEnd) and mine.train_accuracy == theirs.train_accuracy
    assert mine.test_accuracy == theirs.test_accuracy and mine.test_loss == pytest.approx(theirs.test_loss, rel=1e-4)
    trained = events[-1].trained
    assert not isinstance(trained.model, torch.nn.parallel.DistributedDataParallel)  # unwrapped for the app and CLI
    assert run.parts.train_sampler.epoch == 1  # set_epoch before each epoch


def test_stops_and_divergence_are_agreed_before_the_backward_pass(engine, data, group):
    class StopAtTen(Callback):
        def on_batch_end(self, run, event, **kwargs):
            if event.step == 10:
                raise StopTraining("enough after ten steps")

    run = engine.build_run(config(16, epochs=1), data_dir=data, distributed=group, callbacks=[("stop-at-ten", StopAtTen())])
    events = list(run.events())
    end = events[-1]
    # rank 0's callback stops every process at the next step's agreement
    assert isinstance(end, TrainEnd) and end.status == "stopped" and end.message == "enough after ten steps"
    assert end.steps_done == 10 and end.epochs_done == 10 / run.steps_per_epoch  # a tenth of an epoch, not "1"

    run = engine.build_run(config(16, epochs=1), data_dir=data, distributed=group)
    for event in run.events():
        if isinstance(event, StepEnd) and event.step == 5:
            run.stop()
    assert run.result.status == "stopped" and run.result.steps_done == 5

    run = engine.build_run(config(16, epochs=1, params={"model": dict(PLAIN), "optimizer": {"lr": 10.0}}), data_dir=data, distributed=group)
    end = run.run()
    assert end.status == "diverged"
    assert all(torch.isfinite(p).all() for p in end.trained.model.parameters())


def test_sync_batchnorm_is_refused_on_the_cpu(engine, data, group, monkeypatch):
    monkeypatch.setenv("TRAINPAD_SYNC_BATCHNORM", "1")
    with pytest.raises(ConfigError, match="SyncBatchNorm"):
        engine.build_run(config(16), data_dir=data, distributed=group)


def test_events_and_stop_file_follow_and_stop_a_run(data, tmp_path, monkeypatch, capsys):
    """What a program following a run relies on, in one process: --events lines, --stop-file stopping."""
    import json

    from trainpad.cli import main

    monkeypatch.setenv("TRAINPAD_LOAD_PLUGINS", "")
    (tmp_path / "stop").touch()  # already there: the run stops after its first batch
    status = main([
        "train", "--data-dir", str(data), "--device", "cpu", "--batch-size", "16", "--model-width", "4", "-q",
        "--events", str(tmp_path / "events.jsonl"), "--stop-file", str(tmp_path / "stop"), "-o", str(tmp_path / "m.pt"),
    ])
    assert status == 0 and (tmp_path / "m.pt").exists()
    records = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert [r["event"] for r in records] == ["step", "epoch", "end"]
    assert records[0]["step"] == 1 and records[0]["samples"] == 16
    end = records[-1]
    assert end["status"] == "stopped" and end["checkpoint"] == str(tmp_path / "m.pt") and "test_accuracy" in end["metrics"]
    assert "batch 16," in capsys.readouterr().err  # one process: no global batch to explain


# -- two processes under torchrun -------------------------------------------------------


@dataclass
class TorchrunRun:
    """A finished ``torchrun`` of ``trainpad train``: its exit status, output and ``--events`` lines."""

    returncode: int
    log: str
    checkpoint: Path
    events: list[dict]

    def of(self, kind: str) -> list[dict]:
        return [e for e in self.events if e["event"] == kind]


@pytest.fixture(scope="module")
def two_processes(data, tmp_path_factory):
    """``torchrun --standalone --nproc-per-node 2 -m trainpad.cli train ...``, on 127.0.0.1."""
    import json

    folder = tmp_path_factory.mktemp("two")
    checkpoint, events = folder / "out" / "model.pt", folder / "events.jsonl"
    cfg = config(PER_PROCESS_BATCH)
    command = [
        str(Path(sys.executable).parent / "torchrun"), "--standalone", "--nproc-per-node", "2", "-m", "trainpad.cli",
        "train", "--device", "cpu", "--data-dir", str(data), "--batch-size", str(cfg.batch_size),
        "--epochs", str(cfg.epochs), "--seed", str(cfg.seed), "--optimizer-lr", "0.05", "-q",
        *[f"--model-{name.replace('_', '-')}={value}" for name, value in PLAIN.items()],
        "--events", str(events), "-o", str(checkpoint),
    ]
    out = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **ENV}, timeout=600, cwd=folder)
    lines = [json.loads(line) for line in events.read_text().splitlines()] if events.exists() else []
    return TorchrunRun(out.returncode, out.stdout + out.stderr, checkpoint, lines)


def test_two_processes_match_one_process_with_the_same_global_batch(engine, data, two_processes):
    run = two_processes
    assert run.returncode == 0, run.log
    expected = reference_run(engine, config(2 * PER_PROCESS_BATCH), data)
    got = [e["loss"] for e in run.of("step")]
    want = [e.loss for e in expected if isinstance(e, StepEnd)]
    assert len(got) == len(want) == EPOCHS * TRAIN // (2 * PER_PROCESS_BATCH)  # 300 steps
    # float summation order differs (two processes, one thread each): close, not equal
    assert max(abs(a - b) for a, b in zip(got, want)) < 2e-3
    epochs = run.of("epoch")
    reference = [e for e in expected if isinstance(e, EpochEnd)]
    assert [e["epoch"] for e in epochs] == [1, 2, 3]
    for mine, theirs in zip(epochs, reference):
        assert mine["train_loss"] == pytest.approx(theirs.train_loss, rel=1e-2, abs=1e-4)
        assert mine["train_accuracy"] == pytest.approx(theirs.train_accuracy, abs=2 / TRAIN)
        assert mine["test_accuracy"] == pytest.approx(theirs.test_accuracy, abs=1 / TEST)
        assert mine["test_loss"] == pytest.approx(theirs.test_loss, rel=1e-2, abs=1e-4)
    steps = run.of("step")
    assert steps[-1]["samples"] == EPOCHS * TRAIN and steps[-1]["steps"] == 300  # global counts


def test_rank_0_alone_reports_and_writes_the_checkpoint_once(engine, data, two_processes):
    run = two_processes
    assert run.returncode == 0, run.log
    end = run.events[-1]
    assert end["event"] == "end" and end["status"] == "completed" and end["epochs_done"] == EPOCHS
    log = run.log
    assert log.count("training mnist-cnn on mnist") == 1
    assert "batch 8 per process x 2 processes = global batch 16" in log and "(gloo)" in log
    assert log.count("checkpoint: ") == 1 and log.count("completed: training finished") == 1
    assert sorted(p.name for p in run.checkpoint.parent.iterdir()) == ["model.pt"]  # no second or partial file
    trained = load_checkpoint(engine.registry, run.checkpoint)
    last = run.of("epoch")[-1]
    assert trained.epochs == EPOCHS and trained.metrics["test_accuracy"] == last["test_accuracy"]
    assert engine.evaluate(trained, data_dir=data).accuracy == pytest.approx(last["test_accuracy"])


BOOM_PLUGIN = '''
import os
from trainpad import hookimpl


def boom_cnn(*, input_shape, num_classes):
    """mnist-cnn whose 5th training batch raises on rank 1."""
    from trainpad.plugins.mnist_cnn import mnist_cnn

    model = mnist_cnn(input_shape=input_shape, num_classes=num_classes, width=4, hidden=32, dropout=0.0, batch_norm=False)
    inner, calls = model.forward, [0]

    def forward(x):
        calls[0] += model.training
        if model.training and calls[0] == 5 and os.environ.get("RANK") == "1":
            raise RuntimeError("boom, rank 1 broke on purpose")
        return inner(x)

    model.forward = forward
    return model


@hookimpl
def register_models(register):
    register("boom-cnn", boom_cnn, output="log_probs")
'''


def test_a_failing_rank_ends_the_whole_run_with_its_error(data, tmp_path):
    """The console script under torchrun, on 127.0.0.1 and a free port; rank 1's model raises."""
    site = tmp_path / "site"
    (site / "trainpad_test_boom-0.1.dist-info").mkdir(parents=True)
    (site / "trainpad_test_boom-0.1.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: trainpad-test-boom\nVersion: 0.1\n")
    (site / "trainpad_test_boom-0.1.dist-info" / "entry_points.txt").write_text("[trainpad]\nboom = trainpad_test_boom\n")
    (site / "trainpad_test_boom.py").write_text(BOOM_PLUGIN)
    mark = uuid.uuid4().hex
    command = [
        str(Path(sys.executable).parent / "torchrun"), "--nnodes", "1", "--nproc-per-node", "2",
        "--master-addr", "127.0.0.1", "--master-port", str(free_port()),
        TRAINPAD, "train", "--model", "boom-cnn", "--device", "cpu", "--data-dir", str(data),
        "--batch-size", "8", "--epochs", "1", "-o", str(tmp_path / "never.pt"),
    ]
    env = {
        **os.environ, **ENV, "TRAINPAD_LOAD_PLUGINS": "boom", "TRAINPAD_TEST_MARK": mark,
        "TRAINPAD_DIST_TIMEOUT": "300",  # so an end within 120 s is torchrun's doing, not a timeout's
        "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
    }
    started = time.monotonic()
    out = subprocess.run(command, capture_output=True, text=True, env=env, timeout=150)
    took = time.monotonic() - started
    text = out.stdout + out.stderr
    assert out.returncode != 0, text
    assert "trainpad: error: [rank 1] model boom-cnn failed: RuntimeError: boom, rank 1 broke on purpose" in text
    assert "training boom-cnn on mnist" in text  # rank 0 got going: the console script works under torchrun
    assert not (tmp_path / "never.pt").exists()
    assert took < 120  # rank 0 did not wait out its 300 s collective timeout
    time.sleep(0.5)
    assert processes_marked(mark) == [], "a process of the failed run is still alive"
