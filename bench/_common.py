"""Shared by the benchmark scripts: arguments, the machine, alternating runs, reporting.

Every script measures a candidate (trainpad's way) against a baseline in the same run,
alternating the two so that load from other processes falls on both alike, and prints
the medians and their ratio.  ``--quick`` shrinks everything to seconds (CI runs it);
``--json FILE`` also writes the numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SHARED_DATA = ROOT.parent / "shared" / "data"


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="tiny sizes, a few seconds (for CI)")
    p.add_argument("--rounds", type=int, default=None, help="alternating rounds (default: 5, 2 with --quick)")
    p.add_argument("--data-dir", type=Path, default=None, help="folder with MNIST/raw (default: TRAINPAD_DATA_DIR or ../shared/data)")
    p.add_argument("--json", type=Path, default=None, metavar="FILE", help="also write the results as JSON")
    return p


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rounds(args: argparse.Namespace, full: int = 5, quick: int = 2) -> int:
    return args.rounds or (quick if args.quick else full)


def real_data_dir(args: argparse.Namespace) -> Path | None:
    """The folder holding real MNIST, or ``None``."""
    from trainpad import settings

    for candidate in (args.data_dir, settings.get("TRAINPAD_DATA_DIR"), SHARED_DATA):
        if candidate and (Path(candidate) / "MNIST" / "raw" / "t10k-images-idx3-ubyte").exists():
            return Path(candidate)
    return None


def data_dir(args: argparse.Namespace, scratch: Path, *, train: int = 2048, test: int = 1024) -> Path:
    """Real MNIST for full runs; for ``--quick`` (or without MNIST) small IDX files in ``scratch``."""
    real = None if args.quick else real_data_dir(args)
    if real is not None:
        return real
    from trainpad.testing import write_idx_dataset

    return write_idx_dataset(scratch / "data", train=train, test=test)


def load_average() -> str:
    """The 1, 5 and 15 minute load averages (other work on the machine skews timings)."""
    try:
        one, five, fifteen = os.getloadavg()
        return f"{one:.2f} {five:.2f} {fifteen:.2f}"
    except OSError:
        return "n/a"


LOAD_AT_START = load_average()


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "cpu": cpu,
        "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "python": platform.python_version(),
        "load_before": LOAD_AT_START,
    }
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        info["torch"] = torch.__version__
        info["threads"] = torch.get_num_threads()
    else:
        from importlib.metadata import PackageNotFoundError, version

        try:
            info["torch"] = version("torch")
        except PackageNotFoundError:
            pass
        info["threads"] = "per process"
    return info


class Stopwatch:
    """Wall time and this process's CPU time (all its threads) over a ``with`` block.

    On a machine shared with other work, wall time measures the machine and the
    load; CPU time (what the work cost) barely moves with the load, so the scripts
    report both.
    """

    def __enter__(self) -> "Stopwatch":
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu


def block_plan(args: argparse.Namespace) -> tuple[int, int, int, Any, Path]:
    """For the paired-block benchmarks (``--block``): how many blocks, the steps in each,
    the batch size, a one-epoch :class:`~trainpad.engine.config.TrainConfig` of exactly
    the steps they take (a warm-up block each included, so no test runs inside a block),
    and the data folder for it."""
    from trainpad.engine.config import TrainConfig

    blocks = rounds(args, full=45, quick=3)
    block = args.block or (2 if args.quick else 8)
    batch = TrainConfig().batch_size
    samples = (blocks + 1) * block * batch
    scratch = Path(tempfile.mkdtemp(prefix="trainpad-bench-"))
    root = data_dir(args, scratch, train=samples, test=256)
    return blocks, block, batch, TrainConfig(epochs=1, train_samples=samples, test_samples=256), root


def step_block(events: Any, steps: int, batch: int) -> Callable[[], tuple[float, float]]:
    """A measurement for :func:`alternate`: the next ``steps`` training steps of a run's
    ``events()`` stream, as (training samples per second, per CPU-second)."""
    from trainpad.engine.events import StepEnd

    def run_block() -> tuple[float, float]:
        count = 0
        with Stopwatch() as watch:
            while count < steps:
                if isinstance(next(events), StepEnd):
                    count += 1
        return steps * batch / watch.wall, steps * batch / watch.cpu

    return run_block


#: CPU-time rates of the latest :func:`alternate`, by name (functions that returned pairs).
CPU_ROWS: dict[str, list[float]] = {}


def alternate(candidates: dict[str, Callable[[], Any]], n: int, *, warmup: bool = True) -> dict[str, list[float]]:
    """Call each function once per round, in turn (the order flips every round).

    Each returns one measurement (a rate or a time), or a pair ``(wall rate, CPU
    rate)``; returns the wall measurements by name and keeps the CPU ones in
    :data:`CPU_ROWS`.
    """
    names = list(candidates)
    results: dict[str, list[float]] = {name: [] for name in names}
    if warmup:
        for name in names:
            candidates[name]()
    for i in range(n):
        for name in names if i % 2 == 0 else reversed(names):
            value = candidates[name]()
            if isinstance(value, tuple):
                value, cpu = value
                CPU_ROWS.setdefault(name, []).append(cpu)
            results[name].append(value)
    return results


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def run_worker(script: Path, *worker_args: str, env: dict[str, str] | None = None, timeout: float = 1800) -> dict[str, Any]:
    """Run ``script --worker ...`` in a fresh process; it prints one JSON line last."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, str(script), "--worker", *worker_args],
        capture_output=True, text=True, env=full_env, timeout=timeout, cwd=str(ROOT),
    )
    if proc.returncode != 0:
        raise RuntimeError(f"worker {' '.join(worker_args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def report(
    title: str,
    rows: dict[str, list[float]],
    *,
    unit: str,
    ratio: tuple[str, str],
    higher_is_better: bool = True,
    goal: float | None = None,
    extra: dict[str, Any] | None = None,
    args: argparse.Namespace | None = None,
    notes: list[str] | None = None,
    cpu_rows: dict[str, list[float]] | None = None,
    cpu_unit: str | None = None,
) -> dict[str, Any]:
    """Print medians (and spread) per row and ``ratio = candidate / baseline`` (or the inverse for times).

    :param ratio: ``(candidate, baseline)`` row names; the ratio is "how many times better".
    """
    info = machine()
    info["load_after"] = load_average()
    print(f"== {title}")
    print(f"   {info['date']}, {info['cpu']}, {info['cpus']} CPUs, torch {info.get('torch', '?')} "
          f"({info.get('threads', '?')} threads), load {info['load_before']} -> {info['load_after']}")
    width = max(len(name) for name in rows)
    for name, values in rows.items():
        spread = f"min {min(values):,.4g}  max {max(values):,.4g}" if values else ""
        print(f"   {name:<{width}}  median {median(values):>12,.4g} {unit}   ({len(values)} runs: {spread})")
    cand, base = ratio
    c, b = median(rows[cand]), median(rows[base])
    value = (c / b) if higher_is_better else (b / c)
    met = None if goal is None else value >= goal
    goal_text = "" if goal is None else f"  (goal >= {goal:g}x: {'met' if met else 'NOT met'})"
    print(f"   ratio {cand} vs {base}: {value:.3f}x{goal_text}")
    cpu_ratio = None
    if cpu_rows:
        cpu_unit = cpu_unit or f"{unit}/CPU-s"
        print(f"   the same in CPU time ({cpu_unit}; insensitive to other load):")
        for name, values in cpu_rows.items():
            print(f"   {name:<{width}}  median {median(values):>12,.4g} {cpu_unit} ({len(values)} runs)")
        if cand in cpu_rows and base in cpu_rows:
            cc, cb = median(cpu_rows[cand]), median(cpu_rows[base])
            cpu_ratio = (cc / cb) if higher_is_better else (cb / cc)
            print(f"   ratio {cand} vs {base} in CPU time: {cpu_ratio:.3f}x")
    for note in notes or []:
        print(f"   {note}")
    result = {
        "title": title,
        "machine": info,
        "unit": unit,
        "medians": {name: median(values) for name, values in rows.items()},
        "runs": rows,
        "ratio": value,
        "ratio_of": [cand, base],
        "cpu_medians": {name: median(values) for name, values in (cpu_rows or {}).items()},
        "cpu_ratio": cpu_ratio,
        "goal": goal,
        "goal_met": met,
        "quick": bool(args and args.quick),
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        **(extra or {}),
    }
    if args is not None and args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2, default=str))
    return result
