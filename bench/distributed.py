"""Benchmark: two processes under torchrun (DDP) against one process, same global batch.

Each measurement is a real ``trainpad train`` in a fresh process (or a fresh ``torchrun``
of ``--nproc`` processes), following its ``--events`` file.  Measured: training samples
per second over the epoch, from the run's own ``EpochEnd`` (the sum over the
processes; start-up, data loading and evaluation left out), and the wall-clock time of
the whole command (start-up included).  Rows, alternated so that load from other work
falls on all alike:

``1 process``          one process, the global batch, all its threads (torch's default)
``1 process/1 thread`` one process, the global batch, one thread (what each torchrun
                       process gets: torchrun sets ``OMP_NUM_THREADS=1``)
``N processes``        torchrun, ``--nproc`` processes of ``batch / nproc`` each (Gloo on
                       the CPU, NCCL on CUDA)

On a CPU, the processes share the same cores a single process would use with threads,
and pay for a gradient all-reduce every step, so expect little or nothing from two
processes on two cores; the benchmark says what it measured.  On a machine with
several GPUs, run it with ``--device cuda --nproc <GPUs>``.

    python bench/distributed.py              # 3 rounds, 12,800 MNIST samples, batch 128
    python bench/distributed.py --quick      # one round on synthetic data, without the one-thread row (CI)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common

TRAINPAD = shutil.which("trainpad", path=str(Path(sys.executable).parent)) or "trainpad"
TORCHRUN = shutil.which("torchrun", path=str(Path(sys.executable).parent)) or "torchrun"


def train(command_prefix: list[str], args: list[str], scratch: Path, env: dict[str, str]) -> tuple[float, float]:
    """Run one training command; return (training samples/s, wall seconds)."""
    events = scratch / f"events-{time.monotonic_ns()}.jsonl"
    command = [*command_prefix, "train", *args, "--events", str(events), "--quiet", "-o", str(scratch / "model.pt")]
    started = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **env}, timeout=3600)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    epochs = [json.loads(line) for line in events.read_text().splitlines() if '"event": "epoch"' in line]
    events.unlink()
    return sum(e["samples_per_sec"] for e in epochs) / len(epochs), wall


def main() -> int:
    p = _common.parser(__doc__.splitlines()[0])
    p.add_argument("--nproc", type=int, default=2, help="processes of the distributed run (default 2)")
    p.add_argument("--device", default="cpu", help="cpu (Gloo) or cuda (NCCL, one GPU per process)")
    p.add_argument("--batch-size", type=int, default=128, help="global batch (default 128; each process gets batch/nproc)")
    p.add_argument("--samples", type=int, default=None, help="training samples per run (default 12800, 2048 with --quick)")
    args = p.parse_args()
    if args.batch_size % args.nproc:
        p.error("--batch-size must be a multiple of --nproc")

    scratch = Path(tempfile.mkdtemp(prefix="trainpad-bench-dist-"))
    root = _common.data_dir(args, scratch, train=2048, test=256)
    samples = args.samples or (2048 if args.quick else 12800)
    common = [
        "--data-dir", str(root), "--device", args.device, "--epochs", "1",
        "--train-samples", str(samples), "--test-samples", "256",
    ]
    env = {"TRAINPAD_LOAD_PLUGINS": ""}
    per_process = args.batch_size // args.nproc
    walls: dict[str, list[float]] = {}

    def measure(name: str, prefix: list[str], batch: int, extra_env: dict[str, str]):
        def once() -> float:
            rate, wall = train(prefix, [*common, "--batch-size", str(batch)], scratch, {**env, **extra_env})
            walls.setdefault(name, []).append(wall)
            return rate

        return once

    many = f"{args.nproc} processes"
    candidates = {
        "1 process": measure("1 process", [TRAINPAD], args.batch_size, {}),
        "1 process/1 thread": measure("1 process/1 thread", [TRAINPAD], args.batch_size, {"OMP_NUM_THREADS": "1"}),
        many: measure(many, [TORCHRUN, "--standalone", f"--nproc-per-node={args.nproc}", TRAINPAD], per_process, {}),
    }
    if args.quick:  # start-up dominates a quick run: two commands, not three
        del candidates["1 process/1 thread"]
    results = _common.alternate(candidates, _common.rounds(args, full=3, quick=1), warmup=not args.quick)
    for name in candidates:  # the warm-up runs are not reported
        walls[name] = walls[name][-len(results[name]):]
    notes = [
        f"global batch {args.batch_size}: {args.nproc} x {per_process} under torchrun, {args.batch_size} in one process; "
        f"{samples:,} samples, device {args.device}",
        "wall seconds per command, start-up included: "
        + ", ".join(f"{name} {_common.median(values):.1f}" for name, values in walls.items()),
    ]
    one_thread = _common.median(results.get("1 process/1 thread", []))
    if one_thread == one_thread:  # not NaN: measured
        notes.append(f"ratio {many} vs 1 process/1 thread: {_common.median(results[many]) / one_thread:.3f}x")
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if hasattr(os, "getloadavg") and os.getloadavg()[0] > cpus:
        notes.append(
            f"busy machine (load {os.getloadavg()[0]:.1f} on {cpus} CPUs): a process running several threads suffers "
            "most, so these ratios overstate what an idle machine gives"
        )
    if args.device == "cpu":
        notes.append(
            "CPU only: the processes share the cores one process would use with threads, and all-reduce the "
            "gradients every step; no GPU was measured"
        )
    _common.report(
        f"distributed: {many} vs 1 process (training samples/s)",
        results, unit="samples/s", ratio=(many, "1 process"), args=args, notes=notes,
        extra={"walls": walls, "ratio_vs_one_thread": _common.median(results[many]) / one_thread, "nproc": args.nproc, "device": args.device, "global_batch": args.batch_size, "samples": samples},
    )
    shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
