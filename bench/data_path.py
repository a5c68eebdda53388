"""Benchmark 2: the engine's in-memory data path against DataLoader + PIL transforms.

The baseline is written the way the PyTorch examples do it: ``torchvision.datasets.MNIST``
with ``transforms.Compose([ToTensor(), Normalize((0.1307,), (0.3081,))])`` and a
shuffling ``DataLoader``, feeding a plain training loop.  The candidate is the engine
(``build_run`` + ``events()``): the decoded ``uint8`` tensor, normalised per batch and
indexed a whole batch at once.  Both train the same default model with the same
optimizer, schedule and batch size, with the same thread count.

Each measurement runs in a fresh process, so glibc's allocator can be left alone or
tuned (``TRAINPAD_MALLOC_TUNING``) per process; four variants alternate:
engine/tuned (what trainpad does), engine/default, pil/tuned and pil/default (the
examples).  The ratio engine/tuned : pil/default is the goal's (>= 1.3x); the others
split it into the data path's share and the allocator's.

    python bench/data_path.py            # 5 rounds x 4 processes, 12,800 samples each
    python bench/data_path.py --quick    # one round on synthetic data
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import _common

GOAL = 1.3
VARIANTS = ("engine/tuned", "engine/default", "pil/tuned", "pil/default")


def worker(variant: str, root: Path, samples: int, warmup: int) -> dict:
    from trainpad.runtime.threads import apply_runtime_settings

    settings = apply_runtime_settings()
    import torch

    from trainpad.engine.engine import Engine
    from trainpad.engine.events import StepEnd
    from trainpad.engine.training import TrainConfig, make_scheduler

    engine = Engine.load(entrypoints=False)
    config = TrainConfig(epochs=1, train_samples=samples, test_samples=256)
    run = engine.build_run(config, data_dir=root)  # the default model, optimizer, loss
    batch = config.batch_size
    if variant.startswith("engine"):
        events = run.events()
        for event in events:
            if isinstance(event, StepEnd):
                if event.step == warmup:
                    start, cpu, done = time.perf_counter(), time.process_time(), event.samples
                if event.step == event.steps:
                    break
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        count = event.samples - done
        events.close()
    else:
        from torch.utils.data import DataLoader, Subset
        from torchvision import datasets, transforms

        transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
        dataset = Subset(datasets.MNIST(str(root), train=True, download=False, transform=transform), range(samples))
        loader = DataLoader(dataset, batch_size=batch, shuffle=True)
        model, optimizer, loss_fn = run.parts.model, run.parts.optimizer, run.parts.loss_fn
        scheduler = make_scheduler(config.schedule, optimizer, len(loader))
        model.train()
        count = 0
        for step, (x, y) in enumerate(loader, 1):
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            if step == warmup:
                start, cpu = time.perf_counter(), time.process_time()
            elif step > warmup:
                count += len(y)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"variant": variant, "rate": count / elapsed, "cpu_rate": count / cpu, "settings": settings,
            "threads": torch.get_num_threads()}


def main() -> int:
    p = _common.parser(__doc__.splitlines()[0])
    p.add_argument("--samples", type=int, default=None, help="training samples per measurement (default 12800)")
    p.add_argument("--worker", nargs=4, metavar=("VARIANT", "ROOT", "SAMPLES", "WARMUP"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        variant, root, samples, warmup = args.worker
        print(json.dumps(worker(variant, Path(root), int(samples), int(warmup))))
        return 0

    scratch = Path(tempfile.mkdtemp(prefix="trainpad-bench-"))
    root = _common.data_dir(args, scratch, train=1024, test=256)
    samples = args.samples or (512 if args.quick else 12800)
    warmup = 1 if args.quick else 5
    n = _common.rounds(args, full=5, quick=1)
    rows: dict[str, list[float]] = {v: [] for v in VARIANTS}
    cpu_rows: dict[str, list[float]] = {v: [] for v in VARIANTS}
    script = Path(__file__).resolve()
    for i in range(n):
        for variant in VARIANTS if i % 2 == 0 else reversed(VARIANTS):
            env = {"TRAINPAD_MALLOC_TUNING": "1" if variant.endswith("tuned") else "0"}
            out = _common.run_worker(script, variant, str(root), str(samples), str(warmup), env=env)
            rows[variant].append(out["rate"])
            cpu_rows[variant].append(out["cpu_rate"])
            print(f"   round {i + 1}: {variant:<15} {out['rate']:8,.0f} samples/s", file=sys.stderr, flush=True)
    med = {k: _common.median(v) for k, v in rows.items()}
    cpu = {k: _common.median(v) for k, v in cpu_rows.items()}
    notes = [
        f"data path alone (both with glibc's default allocator): {med['engine/default'] / med['pil/default']:.3f}x "
        f"wall, {cpu['engine/default'] / cpu['pil/default']:.3f}x CPU",
        f"allocator alone, engine path: {med['engine/tuned'] / med['engine/default']:.3f}x wall, "
        f"{cpu['engine/tuned'] / cpu['engine/default']:.3f}x CPU; PIL path: {med['pil/tuned'] / med['pil/default']:.3f}x wall, "
        f"{cpu['pil/tuned'] / cpu['pil/default']:.3f}x CPU",
        f"{samples:,} samples per process ({warmup} warm-up steps not timed), batch 128",
    ]
    result = _common.report(
        "2. data path: engine (in-memory uint8, tuned allocator) vs DataLoader + PIL transforms (samples/s)",
        rows,
        unit="samples/s",
        ratio=("engine/tuned", "pil/default"),
        goal=GOAL,
        args=args,
        notes=notes,
        cpu_rows=cpu_rows,
        extra={"samples": samples},
    )
    return 0 if result["ratio"] > 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
