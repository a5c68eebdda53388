"""What a user does in the Train tab, over the HTTP API, for the tests of each place a run's job
can run (``TRAINPAD_RUN_IN``: a process of its own, a ZeroGPU worker): each scenario asserts what
the user sees, whatever the place."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from support import Raw, sketch_of


def picture(raw: Raw) -> dict[str, Any]:
    """A drawn 1, as the pad sends it (its composite, uploaded)."""
    import io

    from PIL import Image

    digit = np.zeros((28, 28), np.uint8)
    digit[4:24, 13:16] = 255
    buffer = io.BytesIO()
    Image.fromarray(sketch_of(digit, size=280)["composite"]).save(buffer, format="PNG")
    return {"background": None, "layers": [], "composite": raw.upload("digit.png", buffer.getvalue())}


def trained_in(log: str) -> int:
    """The process a run's log says it trained in."""
    found = re.search(r"training in a process of its own \((\d+)\)", log)
    assert found, f"the log does not say where the run trained:\n{log}"
    return int(found.group(1))


def train_and_predict(raw: Raw, settings: dict[str, Any]) -> tuple[str, int]:
    """A run that ends, used, then a prediction with its model; ``(its log, the process it trained in)``."""
    ok, out = raw.call("train", settings, timeout=600)
    assert ok, out
    assert out[0].startswith("**Done.**"), out[0]
    ok, used = raw.call("use_run", {"number": "1"})
    assert ok and "run 1, trained here" in used[6], used[6]
    ok, predicted = raw.call("predict", {"picture": picture(raw)}, timeout=120)
    assert ok and predicted[0]["label"] in [str(d) for d in range(10)], predicted
    return out[5], trained_in(out[5])


def stop_in_the_middle(raw: Raw, settings: dict[str, Any]) -> str:
    """Stop once the run is stepping: it ends after its step, its model kept; returns its status."""
    event = raw.join("train", settings)
    raw.wait_update(event, lambda data: re.search(r"step [\d,]+ of", str(data[0])), timeout=600)
    ok, out = raw.call("stop", {})
    assert ok, out
    raw.wait(event, timeout=300)  # its request ends (cancelled, or with the run's end)
    ok, out = raw.call("show_run", {"number": "1"})
    assert ok and "stopped" in out[5], out[5]
    assert out[0].startswith("**Stopped.**") and "kept as run 1" in out[0], out[0]
    return out[0]


def step_then_start(raw: Raw, settings: dict[str, Any]) -> None:
    """Two Steps, then Start with the same form: the stepped run carries on to its end."""
    for expected in (1, 2):
        ok, out = raw.call("step", settings, timeout=300)
        assert ok, out
        assert f"step {expected} of" in out[0], out[0]
    ok, out = raw.call("train", settings, timeout=600)
    assert ok, out
    assert "carrying on from step 2" in out[5] and out[0].startswith("**Done.**"), out[0]


def evaluate(raw: Raw) -> None:
    ok, out = raw.call("evaluate", {"samples": 500}, timeout=300)
    assert ok, out
    assert re.search(r"Accuracy \d+\.\d+%", out[0]), out[0]
