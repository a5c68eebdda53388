"""Benchmark 5: evaluating the 10,000 MNIST test images, in images per second.

The candidate is ``Engine.evaluate`` (in-memory test split, batches of 1000, loss,
accuracy, confusion matrix and the most confident mistakes).  The baseline is the
pytorch/examples ``test()``: a DataLoader over torchvision's MNIST with ``ToTensor`` +
``Normalize``, batches of 1000, loss and accuracy only.  Same model, same threads.
Goal: at least 5,000 images/s.

    python bench/evaluate.py            # 5 alternating rounds over the 10,000 test images
    python bench/evaluate.py --quick    # synthetic data
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import _common

GOAL_IMAGES_PER_SEC = 5000.0


def main() -> int:
    p = _common.parser(__doc__.splitlines()[0])
    args = p.parse_args()

    from trainpad.runtime.threads import apply_runtime_settings

    apply_runtime_settings()
    import torch
    import torch.nn.functional as F
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms

    from trainpad.engine.engine import Engine
    from trainpad.engine.trained_model import TrainedModel

    scratch = Path(tempfile.mkdtemp(prefix="trainpad-bench-"))
    root = _common.data_dir(args, scratch, train=256, test=1000)
    engine = Engine.load(entrypoints=False)
    meta = engine.dataset_meta(engine.component("dataset", "mnist"))
    model = engine.build_model("mnist-cnn", None, input_shape=meta["input_shape"], num_classes=10)
    spec = {kind: {"name": name, "params": {}} for kind, name in
            (("dataset", "mnist"), ("model", "mnist-cnn"), ("optimizer", "sgd"), ("loss", "nll"))}
    trained = TrainedModel(model, spec, [str(d) for d in range(10)], "log_probs", meta)
    engine.load_dataset("mnist", None, train=False, root=root)  # loaded once, as in the app

    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    test_set = datasets.MNIST(str(root), train=False, transform=transform)
    loader = DataLoader(test_set, batch_size=1000)

    def candidate() -> tuple[float, float]:
        with _common.Stopwatch() as watch:
            result = engine.evaluate(trained, data_dir=root)
        return result.count / watch.wall, result.count / watch.cpu

    def baseline() -> tuple[float, float]:  # pytorch/examples mnist test()
        with _common.Stopwatch() as watch:
            model.eval()
            test_loss = correct = 0
            with torch.no_grad():
                for data, target in loader:
                    output = model(data)
                    test_loss += F.nll_loss(output, target, reduction="sum").item()
                    pred = output.argmax(dim=1, keepdim=True)
                    correct += pred.eq(target.view_as(pred)).sum().item()
        return len(test_set) / watch.wall, len(test_set) / watch.cpu

    rows = _common.alternate({"engine.evaluate": candidate, "DataLoader + PIL": baseline}, _common.rounds(args))
    rate = _common.median(rows["engine.evaluate"])
    met = rate >= GOAL_IMAGES_PER_SEC
    _common.report(
        f"5. evaluation: {len(test_set):,} test images (images/s)",
        rows,
        unit="images/s",
        ratio=("engine.evaluate", "DataLoader + PIL"),
        args=args,
        cpu_rows=_common.CPU_ROWS,
        notes=[f"engine.evaluate {rate:,.0f} images/s (goal >= {GOAL_IMAGES_PER_SEC:,.0f}: {'met' if met else 'NOT met'})"],
        extra={"goal_images_per_sec": GOAL_IMAGES_PER_SEC, "throughput_goal_met": met, "images": len(test_set)},
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
