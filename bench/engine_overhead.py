"""Benchmark 1: the engine's training loop against a minimal hand-written loop.

Both train the default model, built twice from the same seed (so the same weights), with
the same optimizer, schedule, batch size and data tensors; the engine adds its events,
stop checks, divergence checks, running metrics and callbacks.  The two run side by side
in one process, in blocks of a few steps, taking turns (the order flips every block):
both see the same moments of the machine, and a block is short enough that other load
falls on both alike.  Measured: training samples per second of each block.  Goal: the
engine at >= 0.97x the hand-written loop.

    python bench/engine_overhead.py            # 45 blocks of 8 steps each
    python bench/engine_overhead.py --quick    # seconds, synthetic data
"""

from __future__ import annotations

import _common

GOAL = 0.97


def main() -> int:
    p = _common.parser(__doc__.splitlines()[0])
    p.add_argument("--block", type=int, default=None, help="training steps per block (default 8, 2 with --quick)")
    args = p.parse_args()

    from trainpad.runtime.threads import apply_runtime_settings

    settings = apply_runtime_settings()
    import torch

    from trainpad.engine.engine import Engine
    from trainpad.engine.training import make_scheduler

    blocks, block, batch, config, root = _common.block_plan(args)
    steps = (blocks + 1) * block  # the first block of each is a warm-up
    engine = Engine.load(entrypoints=False)

    run = engine.build_run(config, data_dir=root)
    events = run.events()

    # The hand-written loop: the same model (same seed), optimizer, schedule and data.
    parts = engine.build_run(config, data_dir=root).parts
    model, optimizer, loss_fn = parts.model, parts.optimizer, parts.loss_fn
    data = parts.train_loader.dataset
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(config.seed))
    scheduler = make_scheduler(config.schedule, optimizer, steps)
    model.train()
    done = 0

    def hand_step() -> None:
        nonlocal done
        x, y = data.batch(order[done * batch : (done + 1) * batch])
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        done += 1

    def hand_block() -> tuple[float, float]:
        with _common.Stopwatch() as watch:
            for _ in range(block):
                hand_step()
        return block * batch / watch.wall, block * batch / watch.cpu

    rows = _common.alternate({"engine": _common.step_block(events, block, batch), "hand-written": hand_block}, blocks)
    events.close()
    # Each block of one and the next block of the other ran at nearly the same moment:
    # the median of their ratios cancels slow drifts in the machine's speed.
    paired = _common.median([e / h for e, h in zip(rows["engine"], rows["hand-written"])])
    result = _common.report(
        "1. engine overhead: TrainingRun.events() vs a hand-written loop (training samples/s)",
        rows,
        unit="samples/s",
        ratio=("engine", "hand-written"),
        goal=GOAL,
        args=args,
        cpu_rows=_common.CPU_ROWS,
        extra={"blocks": blocks, "block_steps": block, "batch_size": batch, "settings": settings, "paired_ratio": paired},
        notes=[f"median of the paired blocks' ratios (engine / hand-written, side by side): {paired:.3f}x",
               f"{blocks} blocks of {block} steps each way (after one warm-up block), batch {batch}, "
               f"interleaved in one process; runtime settings {settings}"],
    )
    return 0 if result["ratio"] > 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
