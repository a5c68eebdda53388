"""What the web app's test curves cost: a training run with spot checks against the same run without.

The Train tab asks the run for spot checks (``TrainingRun.events(spot_checks=...)``): the
model tested on a fixed sample of the test split before the first step and a few times
an epoch, so that even a one-epoch run draws a real test curve.  Both sides train the
default recipe for one epoch from the same seed (the same steps: checks never change the
training), end-of-epoch evaluation included, taking turns (the order flips every
round).  Measured: each run's wall time, and the checks' own seconds against the
training's.  Goal: the run with checks takes at most 10% longer (ratio >= 0.909x).

    python bench/spot_checks.py            # real MNIST, one full epoch, 3 rounds
    python bench/spot_checks.py --quick    # seconds, synthetic data
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import _common

#: The run with checks may take at most 10% longer: baseline / candidate >= 1 / 1.1.
GOAL = 1 / 1.1


def main() -> int:
    p = _common.parser(__doc__.splitlines()[0])
    p.add_argument("--samples", type=int, default=None, help="training samples (default: all of them; 2,048 with --quick)")
    args = p.parse_args()

    from trainpad.runtime.threads import apply_runtime_settings

    settings = apply_runtime_settings()
    from trainpad.engine.config import TrainConfig
    from trainpad.engine.engine import Engine
    from trainpad.engine.events import SpotCheck
    from trainpad.web.train_handler import SPOT_CHECKS

    n = _common.rounds(args, full=3, quick=2)
    scratch = Path(tempfile.mkdtemp(prefix="trainpad-bench-"))
    root = _common.data_dir(args, scratch, train=2048, test=1024)
    engine = Engine.load(entrypoints=False)
    config = TrainConfig(epochs=1, train_samples=args.samples or (2048 if args.quick else 0))
    shares: list[float] = []
    counts: list[int] = []

    def train(spot_checks: int) -> tuple[float, float]:
        run = engine.build_run(config, data_dir=root)
        with _common.Stopwatch() as watch:
            checks = [e for e in run.events(spot_checks=spot_checks) if isinstance(e, SpotCheck)]
        if spot_checks:
            spent = sum(c.seconds for c in checks)
            shares.append(spent / max(watch.wall - spent, 1e-9))
            counts.append(len(checks))
        return watch.wall, watch.cpu

    rows = _common.alternate({"with spot checks": lambda: train(SPOT_CHECKS), "without": lambda: train(0)}, n, warmup=False)
    share = _common.median(shares)
    result = _common.report(
        "spot checks: a one-epoch run with the Train tab's test spot checks vs without (seconds)",
        rows,
        unit="s",
        ratio=("with spot checks", "without"),
        higher_is_better=False,
        goal=GOAL,
        args=args,
        cpu_rows=_common.CPU_ROWS,
        cpu_unit="CPU-s",
        extra={"spot_checks_per_epoch": SPOT_CHECKS, "checks_made": counts, "check_share_of_training": share, "settings": settings},
        notes=[f"the checks' own time: {share:.1%} of the training time (median; {counts} checks per run, "
               f"{SPOT_CHECKS} asked for per epoch plus the starting point)",
               f"{n} rounds each way, one epoch of {config.train_samples or 'all the'} training samples, "
               f"default recipe; runtime settings {settings}"],
    )
    return 0 if result["ratio"] > 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
