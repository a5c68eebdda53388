"""The Lab's experiments: seconds each, against one plain epoch of the recipe they share.

Each built-in experiment runs as the web app runs it: its input prepared from a request
(samples of real MNIST, loaded once beforehand as on a server that has trained before),
then every arm run to its result.  The baseline is one plain epoch of the Lab's small recipe,
hand-written (the network with one hidden layer, SGD, batches of 64 over the 4,096 training
samples most experiments take): each experiment's seconds are also a count of such epochs.
The experiments take turns with the baseline (the order flips every round).  Last, the issue's
check: ``trainpad lab zero-grad --json`` timed from launch to its answer, in a fresh process.
Goal: every experiment under 20 s on two CPU cores, and the command too.

    python bench/lab.py            # real MNIST, 3 rounds
    python bench/lab.py --quick    # seconds, synthetic data
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common

#: Seconds an experiment (and ``trainpad lab zero-grad --json``) may take on two cores.
GOAL_SECONDS = 20.0
BASELINE = "one epoch of the recipe"


def main() -> int:
    p = _common.parser(__doc__.splitlines()[0])
    args = p.parse_args()

    from trainpad.runtime.threads import apply_runtime_settings

    settings = apply_runtime_settings()
    import torch
    import torch.nn.functional as F

    from trainpad import lab_loader, lab_model
    from trainpad.engine.engine import Engine
    from trainpad.engine.lab.runner import LabRequest, result_of
    from trainpad.web.shipped_model import shipped_loader

    n = _common.rounds(args, full=3, quick=1)
    scratch = Path(tempfile.mkdtemp(prefix="trainpad-bench-"))
    root = _common.data_dir(args, scratch, train=4096, test=1000)
    engine = Engine.load(entrypoints=False)
    trained = shipped_loader(engine)()
    names = [e.name for e in engine.experiments()]
    ready = engine.prepare_experiment(LabRequest("seed"), data_dir=root)  # the data loaded once, as on a server

    def experiment(name: str):
        def timed() -> tuple[float, float]:
            with _common.Stopwatch() as watch:
                result_of(engine.prepare_experiment(LabRequest(name), data_dir=root, trained=trained))
            return watch.wall, watch.cpu

        return timed

    def plain_epoch() -> tuple[float, float]:
        lab = ready.lab
        with _common.Stopwatch() as watch:
            generator = torch.Generator().manual_seed(1)
            model = lab_model(lab, generator)
            optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
            model.train()
            for x, y in lab_loader(lab.train_x, lab.train_y, batch_size=64, shuffle=True, generator=generator):
                optimizer.zero_grad()
                F.cross_entropy(model(x), y).backward()
                optimizer.step()
        return watch.wall, watch.cpu

    rows = _common.alternate({**{name: experiment(name) for name in names}, BASELINE: plain_epoch}, n)
    medians = {name: _common.median(rows[name]) for name in names}
    slowest = max(names, key=medians.get)
    command = zero_grad_command(root)
    under = all(value < GOAL_SECONDS for value in medians.values()) and command < GOAL_SECONDS
    result = _common.report(
        "the Lab: each experiment's seconds (prepared from a request, every arm to its result) vs one plain epoch of its recipe",
        rows,
        unit="s",
        ratio=(slowest, BASELINE),
        higher_is_better=True,  # how many plain epochs the slowest experiment costs
        args=args,
        cpu_rows=_common.CPU_ROWS,
        cpu_unit="CPU-s",
        extra={"seconds": medians, "slowest": slowest, "zero_grad_command_seconds": command, "goal_seconds": GOAL_SECONDS,
               "all_under_goal": under, "settings": settings},  # fmt: skip
        notes=[
            f"the ratio is the slowest experiment ({slowest}) in plain epochs of the recipe",
            f"`trainpad lab zero-grad --json` from launch to its answer: {command:.1f} s (a fresh process: Python, torch, the data)",
            f"goal: every experiment and the command under {GOAL_SECONDS:g} s: {'met' if under else 'NOT met'}",
            f"{n} round(s); data {'synthetic (--quick)' if args.quick else root}; runtime settings {settings}",
        ],
    )
    return 0 if result["ratio"] > 0 else 1


def zero_grad_command(root: Path) -> float:
    """Seconds from launching ``trainpad lab zero-grad --json`` to its answer."""
    env = dict(os.environ, TRAINPAD_DATA_DIR=str(root))
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "trainpad.cli", "lab", "zero-grad", "--json"], check=True, capture_output=True, env=env, timeout=600)
    return time.perf_counter() - started


if __name__ == "__main__":
    raise SystemExit(main())
