"""Benchmark 1: the engine's training loop against a minimal hand-written loop.

Both train the same freshly built default model (same seed, so the same weights) with
the same optimizer, schedule, batch size and data tensors; the engine adds its events,
stop checks, divergence checks, running metrics and callbacks.  Measured: training
samples per second over the steps (the end-of-epoch evaluation is left out of both).
Goal: the engine at >= 0.97x the hand-written loop.

    python bench/engine_overhead.py            # 5 rounds of 150 steps each
    python bench/engine_overhead.py --quick    # seconds, synthetic data
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import _common

GOAL = 0.97


def main() -> int:
    p = _common.parser(__doc__.splitlines()[0])
    p.add_argument("--samples", type=int, default=None, help="training samples per measurement (default 19200)")
    args = p.parse_args()

    from core.tuning import apply_runtime_settings

    settings = apply_runtime_settings()
    import torch

    from core.engine import Engine
    from core.events import StepEnd
    from core.training import TrainConfig, make_scheduler

    scratch = Path(tempfile.mkdtemp(prefix="trainpad-bench-"))
    root = _common.data_dir(args, scratch, train=2048, test=256)
    samples = args.samples or (1024 if args.quick else 19200)
    engine = Engine.load(entrypoints=False)
    config = TrainConfig(epochs=1, train_samples=samples, test_samples=256)

    def build():
        return engine.build_run(config, data_dir=root)

    def engine_loop() -> float:
        run = build()
        events = run.events()
        count = 0
        with _common.Stopwatch() as watch:
            for event in events:
                if isinstance(event, StepEnd):
                    count = event.samples
                    if event.step == event.steps:
                        break
        events.close()
        return count / watch.wall, count / watch.cpu

    def hand_loop() -> float:
        run = build()  # the same model, optimizer, loss and data tensors
        parts = run.parts
        model, optimizer, loss_fn = parts.model, parts.optimizer, parts.loss_fn
        data = parts.train_loader.dataset
        batch = config.batch_size
        generator = torch.Generator().manual_seed(config.seed)
        with _common.Stopwatch() as watch:
            scheduler = make_scheduler(config.schedule, optimizer, -(-len(data) // batch))
            model.train()
            order = torch.randperm(len(data), generator=generator)
            for i in range(0, len(data), batch):
                x, y = data.batch(order[i : i + batch])
                optimizer.zero_grad(set_to_none=True)
                loss = loss_fn(model(x), y)
                loss.backward()
                optimizer.step()
                if scheduler is not None:
                    scheduler.step()
        return len(data) / watch.wall, len(data) / watch.cpu

    rows = _common.alternate({"engine": engine_loop, "hand-written": hand_loop}, _common.rounds(args))
    result = _common.report(
        "1. engine overhead: TrainingRun.events() vs a hand-written loop (training samples/s)",
        rows,
        unit="samples/s",
        ratio=("engine", "hand-written"),
        goal=GOAL,
        args=args,
        cpu_rows=_common.CPU_ROWS,
        extra={"samples": samples, "batch_size": config.batch_size, "settings": settings},
        notes=[f"{samples:,} samples per run, batch {config.batch_size}, runtime settings {settings}"],
    )
    return 0 if result["ratio"] > 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
