"""Benchmark 4: prediction latency, from an 800x800 RGBA sketch to probabilities.

The input is what Gradio 6's Sketchpad sends: ``{"background", "layers", "composite"}``
with an opaque white 800x800 RGBA composite and black strokes about 50 px wide.  The
candidate is ``Engine.predict`` with a model loaded once (what the app does); the
baseline rebuilds the model from its checkpoint on every request, then predicts.
Preprocessing (crop, scale, centre by mass) is included in both.  Several different
digits are cycled so no call sees the same picture twice in a row.
Goal: p50 under 5 ms, p99 under 20 ms, on two cores.

    python bench/predict.py            # 500 calls each, alternating in blocks of 25
    python bench/predict.py --quick
"""

from __future__ import annotations

import io
import time

import numpy as np

import _common

GOAL_P50_MS = 5.0
GOAL_P99_MS = 20.0


def sketches(count: int = 8, size: int = 800) -> list[dict]:
    """Gradio-like sketch values: thick black strokes (lines and loops) on white."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(0)
    values = []
    for i in range(count):
        image = Image.new("RGBA", (size, size), (255, 255, 255, 255))
        draw = ImageDraw.Draw(image)
        cx, cy = rng.integers(250, 550, size=2)
        if i % 2:
            draw.ellipse([cx - 120, cy - 180, cx + 120, cy + 180], outline=(0, 0, 0, 255), width=50)
        else:
            draw.line([(cx - 100, cy - 200), (cx + 80, cy - 200), (cx - 20, cy + 220)], fill=(0, 0, 0, 255), width=50)
        composite = np.asarray(image).copy()
        layer = np.zeros_like(composite)
        layer[composite[:, :, 0] < 128] = (0, 0, 0, 255)
        background = np.full_like(composite, 255)
        values.append({"background": background, "layers": [layer], "composite": composite})
    return values


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def main() -> int:
    p = _common.parser(__doc__.splitlines()[0])
    p.add_argument("--calls", type=int, default=None, help="calls per path (default 500; 40 with --quick)")
    args = p.parse_args()

    from trainpad.runtime.threads import apply_runtime_settings

    apply_runtime_settings(shared=True)  # as the web app, where the sketch pad is
    import torch

    from trainpad.engine.checkpoint import load_checkpoint, save_checkpoint
    from trainpad.engine.engine import Engine
    from trainpad.engine.trained_model import TrainedModel

    engine = Engine.load(entrypoints=False)
    dataset = engine.component("dataset", "mnist")
    meta = engine.dataset_meta(dataset)
    model = engine.build_model("mnist-cnn", None, input_shape=meta["input_shape"], num_classes=10)
    spec = {
        kind: {"name": name, "plugin": "bench", "params": engine.component(kind, name).defaults()}
        for kind, name in (("dataset", "mnist"), ("model", "mnist-cnn"), ("optimizer", "sgd"), ("loss", "nll"))
    }
    trained = TrainedModel(model, spec, [str(d) for d in range(10)], "log_probs", meta)
    tmp = _common.ROOT / ".bench-predict.pt"
    try:
        save_checkpoint(trained, tmp)
        checkpoint = tmp.read_bytes()
    finally:
        tmp.unlink(missing_ok=True)

    values = sketches()
    calls = args.calls or (40 if args.quick else 500)
    block = 5 if args.quick else 25
    times: dict[str, list[float]] = {"engine.predict": [], "rebuild per request": []}

    def fast(value):
        return engine.predict(trained, value)

    def rebuild(value):
        return engine.predict(load_checkpoint(engine.registry, io.BytesIO(checkpoint)), value)

    paths = {"engine.predict": fast, "rebuild per request": rebuild}
    for fn in paths.values():  # warm-up
        for value in values:
            fn(value)
    k = 0
    while len(times["engine.predict"]) < calls:
        for name in paths if (k // block) % 2 == 0 else reversed(list(paths)):
            for j in range(block):
                value = values[(k + j) % len(values)]
                start = time.perf_counter()
                paths[name](value)
                times[name].append((time.perf_counter() - start) * 1000)
        k += block
    stats = {name: {"p50": percentile(t, 50), "p99": percentile(t, 99), "mean": float(np.mean(t))} for name, t in times.items()}
    fast_stats = stats["engine.predict"]
    met = fast_stats["p50"] < GOAL_P50_MS and fast_stats["p99"] < GOAL_P99_MS
    # Preprocessing alone, for the record.
    from trainpad.engine.pictures import prepare

    pre = []
    for i in range(min(calls, 200)):
        start = time.perf_counter()
        prepare(values[i % len(values)], input_shape=meta["input_shape"], mean=meta["mean"], std=meta["std"], ink="centre")
        pre.append((time.perf_counter() - start) * 1000)
    # What happens before: the browser sends the sketch as a PNG, decoded by Gradio
    # (or by trainpad.web.uploads.from_upload) before any of the above.
    from PIL import Image

    encoded = io.BytesIO()
    Image.fromarray(values[0]["composite"]).save(encoded, "PNG")
    decode = []
    for _ in range(min(calls, 100)):
        start = time.perf_counter()
        Image.open(io.BytesIO(encoded.getvalue())).load()
        decode.append((time.perf_counter() - start) * 1000)
    with torch.inference_mode():
        x = torch.zeros(1, *meta["input_shape"])
        forward = []
        for _ in range(min(calls, 200)):
            start = time.perf_counter()
            model(x)
            forward.append((time.perf_counter() - start) * 1000)
    notes = [
        f"engine.predict p50 {fast_stats['p50']:.2f} ms, p99 {fast_stats['p99']:.2f} ms "
        f"(goal p50 < {GOAL_P50_MS:g} ms, p99 < {GOAL_P99_MS:g} ms: {'met' if met else 'NOT met'})",
        f"rebuild per request p50 {stats['rebuild per request']['p50']:.2f} ms, p99 {stats['rebuild per request']['p99']:.2f} ms",
        f"of which preprocessing p50 {percentile(pre, 50):.2f} ms, the forward pass p50 {percentile(forward, 50):.2f} ms",
        f"not included: decoding the sketch's PNG upload ({len(encoded.getvalue()):,} bytes), p50 {percentile(decode, 50):.2f} ms, "
        "done by Gradio before the handler runs",
    ]
    rows = {f"{name} p50": [s["p50"]] for name, s in stats.items()}
    rows.update({f"{name} p99": [s["p99"]] for name, s in stats.items()})
    _common.report(
        f"4. prediction: 800x800 RGBA sketch to probabilities, {calls} calls each (ms)",
        rows,
        unit="ms",
        ratio=("engine.predict p50", "rebuild per request p50"),
        higher_is_better=False,
        args=args,
        notes=notes,
        extra={"stats": stats, "goal_p50_ms": GOAL_P50_MS, "goal_p99_ms": GOAL_P99_MS, "latency_goal_met": met,
               "preprocess_p50_ms": percentile(pre, 50), "forward_p50_ms": percentile(forward, 50),
               "png_decode_p50_ms": percentile(decode, 50)},
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
