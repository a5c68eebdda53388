"""Benchmark 7: the ceiling: training as a fraction of what the hardware can do.

Counts the default model's floating-point operations per training sample (forward and
backward, with ``torch.utils.flop_counter``), measures the machine's sustained
float32 GFLOP/s with a large matrix multiply, and measures training steps of the
default model on in-memory batches, alternating the matmul and the training rounds.
Prints achieved GFLOP/s and the fraction of the matmul ceiling; every samples/s figure
in ``docs/benchmarks.md`` converts with the FLOPs per sample printed here.

    python bench/ceiling.py            # 5 alternating rounds
    python bench/ceiling.py --quick
"""

from __future__ import annotations

import _common


def flops_per_sample(model, input_shape, batch: int = 64) -> tuple[float, float]:
    """(forward, forward + backward) FLOPs per sample, counted on one batch."""
    import torch
    import torch.nn.functional as F
    from torch.utils.flop_counter import FlopCounterMode

    x = torch.randn(batch, *input_shape)
    y = torch.randint(0, 10, (batch,))
    model.train()
    with FlopCounterMode(display=False) as forward_only:
        out = model(x)
    with FlopCounterMode(display=False) as both:
        out = model(x)
        F.nll_loss(out, y).backward()
    model.zero_grad(set_to_none=True)
    return forward_only.get_total_flops() / batch, both.get_total_flops() / batch


def main() -> int:
    p = _common.parser(__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=None, help="matmul size (default 2048; 512 with --quick)")
    args = p.parse_args()

    from trainpad.runtime.threads import apply_runtime_settings, usable_cpus

    apply_runtime_settings()
    import torch

    from trainpad.engine.data import InMemoryDataset
    from trainpad.engine.engine import Engine

    engine = Engine.load(entrypoints=False)
    meta = engine.dataset_meta(engine.component("dataset", "mnist"))
    shape = tuple(meta["input_shape"])
    model = engine.build_model("mnist-cnn", None, input_shape=shape, num_classes=10)
    params = sum(p.numel() for p in model.parameters())
    forward, train = flops_per_sample(model, shape)
    optimizer = engine.component("optimizer", "sgd").factory(model.parameters(), **engine.component("optimizer", "sgd").defaults())
    loss_fn = engine.component("loss", "nll").factory()
    batch = 128
    steps = 6 if args.quick else 40
    data = InMemoryDataset(torch.randint(0, 256, (batch * 8, *shape), dtype=torch.uint8), torch.randint(0, 10, (batch * 8,)),
                           mean=meta["mean"], std=meta["std"])
    n = args.size or (512 if args.quick else 2048)
    a, b = torch.randn(n, n), torch.randn(n, n)

    def matmul() -> tuple[float, float]:
        torch.mm(a, b)
        reps = 3 if args.quick else 20
        with _common.Stopwatch() as watch:
            for _ in range(reps):
                torch.mm(a, b)
        work = 2 * n**3 * reps / 1e9
        return work / watch.wall, work / watch.cpu

    def training() -> tuple[float, float]:
        model.train()
        order = torch.randperm(len(data))
        with _common.Stopwatch() as watch:
            for i in range(steps):
                x, y = data.batch(order[(i % 8) * batch : (i % 8 + 1) * batch])
                optimizer.zero_grad(set_to_none=True)
                loss = loss_fn(model(x), y)
                loss.backward()
                optimizer.step()
        return steps * batch / watch.wall, steps * batch / watch.cpu

    threads = torch.get_num_threads()

    def training_with(count: int):
        def run() -> tuple[float, float]:
            torch.set_num_threads(count)
            try:
                return training()
            finally:
                torch.set_num_threads(threads)

        return run

    measured = {"matmul GFLOP/s": matmul, "training samples/s": training}
    # The thread count apply_runtime_settings chose, against the others (how it was chosen).
    for count in sorted({1, max(1, threads // 2), threads, usable_cpus()} - {threads}):
        measured[f"training samples/s, {count} thread{'s' if count > 1 else ''}"] = training_with(count)
    rows = _common.alternate(measured, _common.rounds(args))
    peak = _common.median(rows["matmul GFLOP/s"])
    rate = _common.median(rows["training samples/s"])
    achieved = rate * train / 1e9
    rows["training GFLOP/s"] = [r * train / 1e9 for r in rows["training samples/s"]]
    cpu_rows = dict(_common.CPU_ROWS)
    cpu_rows["training GFLOP/s"] = [r * train / 1e9 for r in cpu_rows["training samples/s"]]
    cpu_fraction = _common.median(cpu_rows["training GFLOP/s"]) / _common.median(cpu_rows["matmul GFLOP/s"])
    ceiling_rate = peak * 1e9 / train
    notes = [
        f"default model: {params:,} parameters, {forward / 1e6:.2f} MFLOP forward, {train / 1e6:.2f} MFLOP forward+backward per sample",
        f"matmul {n}x{n} float32: {peak:.1f} GFLOP/s sustained; training achieves {achieved:.1f} GFLOP/s = {achieved / peak:.1%} of it",
        f"per CPU-second (load-independent): training reaches {cpu_fraction:.1%} of the matmul's GFLOP/s",
        f"training uses {threads} threads (apply_runtime_settings); other counts are in the rows above",
        f"at the matmul ceiling an epoch of 60,000 samples would take {60000 / ceiling_rate:.2f} s; measured rate gives {60000 / rate:.1f} s",
    ]
    _common.report(
        "7. ceiling: training vs the machine's sustained float32 matmul (GFLOP/s)",
        rows,
        unit="",
        ratio=("training GFLOP/s", "matmul GFLOP/s"),
        args=args,
        notes=notes,
        cpu_rows=cpu_rows,
        extra={"cpu_fraction_of_ceiling": cpu_fraction, "params": params, "flops_forward": forward, "flops_train": train, "matmul_gflops": peak,
               "training_samples_per_sec": rate, "fraction_of_ceiling": achieved / peak},
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
