"""How trainpad.runtime.threads's start-up settings were chosen: each one against its alternatives.

Training steps of the default model on in-memory batches, each measurement in a fresh
process (the OpenMP wait policy and the allocator settings only take effect at
start-up), alternating six variants:

- ``chosen``: what :func:`trainpad.runtime.threads.apply_runtime_settings` applies here;
- ``OpenMP default wait``: OMP_WAIT_POLICY unset (GNU OpenMP spins briefly, then sleeps);
- ``passive wait``, ``active wait``: waiting threads sleep at once, or spin;
- ``1 thread``: one thread instead of the usable CPUs;
- ``glibc default``: without the ``mallopt`` settings.

Prints wall-time and CPU-time rates; the ratio is chosen : OpenMP default wait.  Run it on
the machine you deploy on, quiet and busy (``--busy N`` runs N processes spinning on the
CPU alongside, as other users' work would): the wait policy matters most when other
processes compete for the cores.

    python bench/runtime_settings.py            # 5 rounds x 6 processes
    python bench/runtime_settings.py --busy 1   # the same beside one CPU-bound process
    python bench/runtime_settings.py --quick
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import _common

VARIANTS = {
    "chosen": {},
    "OpenMP default wait": {"TRAINPAD_OMP_WAIT_POLICY": "default"},
    "passive wait": {"TRAINPAD_OMP_WAIT_POLICY": "passive"},
    "active wait": {"TRAINPAD_OMP_WAIT_POLICY": "active"},
    "1 thread": {"TRAINPAD_THREADS": "1"},
    "glibc default": {"TRAINPAD_MALLOC_TUNING": "0"},
}

#: Settings that must not leak into the variants from the caller's environment.
INHERITED = ("TRAINPAD_THREADS", "TRAINPAD_OMP_WAIT_POLICY", "TRAINPAD_MALLOC_TUNING",
             "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OMP_WAIT_POLICY")


def worker(steps: int) -> dict:
    from trainpad.runtime.threads import apply_runtime_settings

    settings = apply_runtime_settings()
    import torch

    from trainpad.engine.data import InMemoryDataset
    from trainpad.engine.engine import Engine

    engine = Engine.load(entrypoints=False)
    meta = engine.dataset_meta(engine.component("dataset", "mnist"))
    shape = tuple(meta["input_shape"])
    torch.manual_seed(0)
    model = engine.build_model("mnist-cnn", None, input_shape=shape, num_classes=10)
    sgd = engine.component("optimizer", "sgd")
    optimizer = sgd.factory(model.parameters(), **sgd.defaults())
    loss_fn = engine.component("loss", "nll").factory()
    batch = 128
    data = InMemoryDataset(torch.randint(0, 256, (batch * 16, *shape), dtype=torch.uint8),
                           torch.randint(0, 10, (batch * 16,)), mean=meta["mean"], std=meta["std"])
    order = torch.randperm(len(data))

    def step(i: int) -> None:
        x, y = data.batch(order[(i % 16) * batch : (i % 16 + 1) * batch])
        optimizer.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        optimizer.step()

    model.train()
    for i in range(3):
        step(i)
    with _common.Stopwatch() as watch:
        for i in range(steps):
            step(i)
    samples = steps * batch
    return {"rate": samples / watch.wall, "cpu_rate": samples / watch.cpu, "settings": settings,
            "threads": torch.get_num_threads(), "wait": os.environ.get("OMP_WAIT_POLICY")}


def measure(n: int, steps: int) -> tuple[dict[str, list[float]], dict[str, list[float]], dict[str, dict]]:
    """``n`` rounds of every variant, each a fresh process, in alternating order:
    wall and CPU rates by variant, and the settings each variant got."""
    script = Path(__file__).resolve()
    names = list(VARIANTS)
    rows: dict[str, list[float]] = {name: [] for name in names}
    cpu_rows: dict[str, list[float]] = {name: [] for name in names}
    seen: dict[str, dict] = {}
    for i in range(n):
        for name in names if i % 2 == 0 else reversed(names):
            env = dict(os.environ)
            for key in INHERITED:
                env.pop(key, None)
            env.update(VARIANTS[name])
            out = _common.run_worker(script, str(steps), env=env)
            rows[name].append(out["rate"])
            cpu_rows[name].append(out["cpu_rate"])
            seen[name] = {"threads": out["threads"], "omp_wait_policy": out["wait"], "malloc": out["settings"]["malloc_tuned"]}
            print(f"   round {i + 1}: {name:<20} {out['rate']:8,.0f} samples/s", file=sys.stderr, flush=True)
    return rows, cpu_rows, seen


def main() -> int:
    p = _common.parser(__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=None, help="timed steps per process (default 60; 4 with --quick)")
    p.add_argument("--busy", type=int, default=0, help="CPU-bound processes to run alongside (default 0)")
    p.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker is not None:
        print(json.dumps(worker(args.worker)))
        return 0
    steps = args.steps or (4 if args.quick else 60)
    n = _common.rounds(args, full=5, quick=1)
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.busy)]
    try:
        rows, cpu_rows, seen = measure(n, steps)
    finally:
        for proc in busy:
            proc.kill()
            proc.wait()
    _common.report(
        "runtime settings: training samples/s of the default model under each start-up setting",
        rows,
        unit="samples/s",
        ratio=("chosen", "OpenMP default wait"),
        args=args,
        cpu_rows=cpu_rows,
        notes=[f"{name}: {info}" for name, info in seen.items()]
        + [f"{steps} timed steps of batch 128 per process, beside {args.busy} CPU-bound process(es)"],
        extra={"variants": seen, "steps": steps, "busy": args.busy},
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
