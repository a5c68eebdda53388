"""Benchmark: what watching the loop costs a training run (the web app's loop view).

Two runs of the default recipe, built from the same seed, train side by side in one
process, in blocks of a few steps taking turns (the order flips every block): one with
``TrainingRun.watch_loop()`` (the hooks that keep what each line did in the last step:
the batch's shape, the loss, the gradient's norm, the learning rate), one without.
Measured: training samples per second of each block.  Goal: the watched run at >= 0.97x.

    python bench/loop_watch.py            # 45 blocks of 8 steps each
    python bench/loop_watch.py --quick    # seconds, synthetic data
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
    from trainpad.engine.engine import Engine

    blocks, block, batch, config, root = _common.block_plan(args)
    engine = Engine.load(entrypoints=False)

    watched, plain = engine.build_run(config, data_dir=root), engine.build_run(config, data_dir=root)
    watched.watch_loop()
    streams = {"watched": watched.events(), "plain": plain.events()}

    rows = _common.alternate({name: _common.step_block(stream, block, batch) for name, stream in streams.items()}, blocks)
    for stream in streams.values():
        stream.close()
    paired = _common.median([w / p for w, p in zip(rows["watched"], rows["plain"])])
    trace = watched.loop_trace
    result = _common.report(
        "loop view: a run with watch_loop() vs one without (training samples/s)",
        rows,
        unit="samples/s",
        ratio=("watched", "plain"),
        goal=GOAL,
        args=args,
        cpu_rows=_common.CPU_ROWS,
        extra={"blocks": blocks, "block_steps": block, "batch_size": batch, "settings": settings, "paired_ratio": paired},
        notes=[f"median of the paired blocks' ratios (watched / plain): {paired:.3f}x",
               f"the last trace: step {trace.step}, loss {trace.loss:.4f}, grad norm {trace.grad_norm:.4g}, lr {trace.lr:.4g}"
               if trace else "no trace"],
    )
    return 0 if result["ratio"] > 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
