"""Benchmark: what looking inside the model adds to a prediction on the Predict tab.

The baseline is ``Engine.predict`` (a sketch to probabilities); the candidate is what the
Predict tab now does for every stroke: ``Engine.look_inside`` (the same forward pass with
autograd on and module hooks recording each layer, then the input gradient for the
saliency map) and turning it into the tab's HTML (feature-map grids and the saliency
overlay as inline PNGs).  Both use the shipped model (``mnist-cnn``) on the 800x800
Gradio-like sketches of ``bench/predict.py``, alternating in blocks.  A model without
convolutions (an MLP, whose layers show as bars) is measured the same way.
Goal: the extra p50 under 20 ms on two cores.

    python bench/predict_inside.py            # 400 calls each
    python bench/predict_inside.py --quick
"""

from __future__ import annotations

import time

import _common
from predict import percentile, sketches

GOAL_EXTRA_P50_MS = 20.0


def mlp_model(engine):
    """A two-layer perceptron over MNIST, built from torch alone (no convolutions)."""
    from torch import nn

    from trainpad.engine.trained_model import TrainedModel

    meta = engine.dataset_meta(engine.component("dataset", "mnist"))
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10), nn.LogSoftmax(dim=1))
    spec = {kind: {"name": name, "plugin": "bench", "params": {}} for kind, name in (("dataset", "mnist"), ("model", "mlp"), ("optimizer", "sgd"), ("loss", "nll"))}
    return TrainedModel(model, spec, [str(d) for d in range(10)], "log_probs", meta)


def measure(engine, trained, values, calls: int, block: int) -> dict[str, list[float]]:
    from trainpad.web.inside_html import inside_html

    def predict(value):
        return engine.predict(trained, value)

    def inside(value):
        return inside_html(engine.look_inside(trained, value), trained.class_names)

    paths = {"predict": predict, "predict + inside": inside}
    for fn in paths.values():  # warm-up
        for value in values:
            fn(value)
    times: dict[str, list[float]] = {name: [] for name in paths}
    k = 0
    while len(times["predict"]) < calls:
        for name in paths if (k // block) % 2 == 0 else reversed(list(paths)):
            for j in range(block):
                value = values[(k + j) % len(values)]
                start = time.perf_counter()
                paths[name](value)
                times[name].append((time.perf_counter() - start) * 1000)
        k += block
    return times


def main() -> int:
    p = _common.parser(__doc__.splitlines()[0])
    p.add_argument("--calls", type=int, default=None, help="calls per path (default 400; 30 with --quick)")
    args = p.parse_args()

    from trainpad.runtime.threads import apply_runtime_settings

    apply_runtime_settings(shared=True)  # as the web app
    from trainpad.engine.engine import Engine
    from trainpad.web.shipped_model import shipped_loader

    engine = Engine.load(entrypoints=False)
    cnn = shipped_loader(engine)()
    assert cnn is not None, "the shipped model is missing (plugins/pretrained/mnist-cnn.pt)"
    values = sketches()
    calls = args.calls or (30 if args.quick else 400)
    block = 5 if args.quick else 20
    results = {"mnist-cnn": measure(engine, cnn, values, calls, block), "mlp": measure(engine, mlp_model(engine), values, calls, block)}

    rows: dict[str, list[float]] = {}
    notes = []
    extras = {}
    for model, times in results.items():
        base, cand = percentile(times["predict"], 50), percentile(times["predict + inside"], 50)
        extras[model] = {"predict_p50_ms": base, "inside_p50_ms": cand, "extra_p50_ms": cand - base,
                         "inside_p99_ms": percentile(times["predict + inside"], 99)}  # fmt: skip
        rows[f"{model}: predict"] = times["predict"]
        rows[f"{model}: predict + inside"] = times["predict + inside"]
        notes.append(f"{model}: predict p50 {base:.2f} ms, with the look inside p50 {cand:.2f} ms "
                     f"(p99 {extras[model]['inside_p99_ms']:.2f} ms): {cand - base:.2f} ms extra")  # fmt: skip
    met = all(e["extra_p50_ms"] < GOAL_EXTRA_P50_MS for e in extras.values())
    notes.append(f"goal: under {GOAL_EXTRA_P50_MS:g} ms extra at p50 for both: {'met' if met else 'NOT met'}")
    _common.report(
        f"prediction with the model's insides (saliency, feature maps) against prediction alone, {calls} calls each (ms)",
        rows,
        unit="ms",
        ratio=("mnist-cnn: predict + inside", "mnist-cnn: predict"),
        higher_is_better=False,
        args=args,
        notes=notes,
        extra={"models": extras, "goal_extra_p50_ms": GOAL_EXTRA_P50_MS, "latency_goal_met": met},
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
