"""The files of a published page: what each holds, as bytes, before anything is written.

:func:`site_files` returns them by name (a path inside the folder):

- ``index.html``, ``page.js``, ``pad.js``, ``picture.js``, ``insides.js``, ``style.css``: the
  page, copied from ``trainpad/publish/page/`` (the title filled in);
- ``model.onnx``: the model, with its layers as extra outputs (:mod:`.onnx_model`);
- ``model.json``: the model card's facts and what the page needs to run the model: its
  classes, input shape and normalisation, the ONNX graph's outputs, its texts in English
  and Korean;
- ``test-images.png``: test pictures of the model's dataset side by side, for the page's
  "Random test image" (their labels and indices are in ``model.json``);
- ``onnxruntime-web/``: ONNX Runtime Web and its licence (:mod:`.runtime_files`);
- ``README.md``: the front matter that makes the folder a static Hugging Face Space, and
  the model card for people.
"""

from __future__ import annotations

import html
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from trainpad.publish.runtime_files import RuntimeFiles
from trainpad.publish.texts import TEXTS

if TYPE_CHECKING:
    from trainpad.engine.trained_model import TrainedModel
    from trainpad.publish.onnx_model import OnnxModel

PAGE = Path(__file__).resolve().parent / "page"
#: The page's own files, copied as they are.
PAGE_FILES = ("index.html", "page.js", "pad.js", "picture.js", "insides.js", "style.css")
#: The saliency the page computes: occlusion with square patches this fraction of the
#: picture's side, moved by half a patch.
PATCH_FRACTION = 1 / 7
FORMAT = "trainpad.published-model"
VERSION = 1


@dataclass(frozen=True)
class TestPictures:
    """Pictures of the dataset's test split for the page: ``(N, H, W)`` or ``(N, H, W, 3)`` uint8."""

    pictures: np.ndarray
    labels: list[int]
    indices: list[int]

    def sprite(self) -> bytes:
        """The pictures side by side in one PNG (lossless, so the page sees the dataset's pixels)."""
        from PIL import Image

        strip = np.concatenate(list(self.pictures), axis=1)
        buffer = io.BytesIO()
        Image.fromarray(np.ascontiguousarray(strip)).save(buffer, "PNG", optimize=True)
        return buffer.getvalue()


def title_of(trained: "TrainedModel") -> str:
    return f"{trained.spec['model']['name']} on {trained.spec['dataset']['name']}"


def model_card(
    trained: "TrainedModel", exported: "OnnxModel", runtime: RuntimeFiles, *, pictures: TestPictures | None,
    dataset_label: str = "", trainpad_version: str = "",
) -> dict[str, Any]:
    """``model.json``: the model's facts and what the page needs to run it."""
    channels, height, width = trained.input_shape
    meta = trained.dataset_meta
    spec = trained.spec
    patch = max(2, round(height * PATCH_FRACTION))
    card: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "title": title_of(trained),
        "trainpad": trainpad_version,
        "dataset": {"name": spec["dataset"]["name"], "label": dataset_label or spec["dataset"]["name"], "params": spec["dataset"].get("params") or {}},
        "model": {"name": spec["model"]["name"], "params": spec["model"].get("params") or {}, "output": trained.output},
        "training": {kind: spec[kind] for kind in ("optimizer", "loss") if kind in spec},
        "run": spec.get("run") or {},
        "metrics": {key: float(value) for key, value in trained.metrics.items() if math.isfinite(value)},
        "epochs": float(trained.epochs),
        "classes": list(trained.class_names),
        "input_shape": [channels, height, width],
        "mean": list(meta.get("mean", [0.0])),
        "std": list(meta.get("std", [1.0])),
        "ink": meta.get("ink"),
        "onnx": {
            "file": "model.onnx",
            "opset": exported.opset,
            "input": "input",
            "outputs": [{"name": "probabilities", "kind": "probabilities"}, *(layer.to_dict() for layer in exported.layers)],
        },
        "saliency": {"method": "occlusion", "patch": patch, "stride": max(1, patch // 2)},
        "runtime": {"package": "onnxruntime-web", "version": runtime.version, "folder": "onnxruntime-web"},
        "texts": {language: {key: pair[i] for key, pair in TEXTS.items()} for i, language in enumerate(("en", "ko"))},
    }
    for kind in ("training", "run"):
        card[kind] = json.loads(json.dumps(card[kind], default=str))  # plain JSON, whatever a plugin stored
    if pictures is not None and len(pictures.labels):
        card["test_images"] = {"file": "test-images.png", "count": len(pictures.labels), "labels": pictures.labels, "indices": pictures.indices}
    return card


def readme(card: dict[str, Any]) -> str:
    """``README.md``: a static Space's front matter, then the model card for people."""
    dataset = card["dataset"]["name"]
    accuracy = card["metrics"].get("test_accuracy")
    measured = f"{accuracy * 100:.2f}% on the {dataset} test images" if accuracy is not None else "not measured"
    classes = ", ".join(card["classes"][:20]) + (f" and {len(card['classes']) - 20} more" if len(card["classes"]) > 20 else "")
    settings = "\n".join(
        f"- {kind}: `{entry['name']}` {json.dumps(entry.get('params') or {})}" for kind, entry in card["training"].items()
    )
    run = ", ".join(f"{key.replace('_', ' ')} {value}" for key, value in card["run"].items())
    tags = "\n".join(f"  - {tag}" for tag in dict.fromkeys(["trainpad", "onnx", "pytorch", dataset]))
    return f"""---
title: {card['title']}
emoji: ✏️
colorFrom: indigo
colorTo: blue
sdk: static
app_file: index.html
pinned: false
short_description: {_short(card)}
tags:
{tags}
---

# {card['title']}

A drawing pad and the model `{card['model']['name']}`, trained on `{dataset}` with
trainpad {card['trainpad']}: draw (or upload a picture) and see every
class's probability, the picture the model saw, each convolution's feature maps and a
saliency map. The model runs in the visitor's browser with ONNX Runtime Web
{card['runtime']['version']}; the page needs nothing but a static file server, and nothing
drawn leaves it. It speaks English and Korean, as the browser does.

## The model

- dataset: `{dataset}` ({card['dataset']['label']}); classes: {classes}
- test accuracy: {measured}; trained for {card['epochs']:g} epoch(s)
- model: `{card['model']['name']}` {json.dumps(card['model']['params'])}
{settings}
- run: {run or "(not recorded)"}

## Open it

Serve the folder with any static file server and open the address it prints, for example
`python -m http.server -d . 8000` then <http://localhost:8000> (opened as a file, the browser
would refuse to load its modules). Pushed as it is to a Hugging Face Space, this README's front
matter (`sdk: static`) makes it a static Space, free to host.

## Files

| file | what |
| --- | --- |
| `index.html`, `*.js`, `style.css` | the page |
| `model.onnx` | the model as ONNX (opset {card['onnx']['opset']}): input `input` (N, {', '.join(map(str, card['input_shape']))}), outputs the probabilities and each layer shown |
| `model.json` | the facts above, the classes, the input's normalisation, the page's texts |
| `test-images.png` | test pictures for "Random test image" (their labels are in `model.json`) |
| `onnxruntime-web/` | ONNX Runtime Web {card['runtime']['version']} (MIT licence, `onnxruntime-web/LICENSE`) |
"""


def _short(card: dict[str, Any]) -> str:
    text = f"Draw and see what {card['model']['name']} reads, in your browser"
    return text[:60]


def page_files(title: str) -> dict[str, bytes]:
    """The page's own files, the title filled in."""
    files = {name: (PAGE / name).read_bytes() for name in PAGE_FILES}
    files["index.html"] = files["index.html"].replace(b"__TITLE__", html.escape(title).encode())
    return files


def runtime_files(runtime: RuntimeFiles) -> dict[str, bytes]:
    return {f"onnxruntime-web/{name}": (runtime.folder / name).read_bytes() for name in runtime.files}


def site_files(
    trained: "TrainedModel", exported: "OnnxModel", runtime: RuntimeFiles, *, pictures: TestPictures | None = None,
    dataset_label: str = "", trainpad_version: str = "",
) -> dict[str, bytes]:
    """Every file of the published page, by its path in the folder."""
    card = model_card(trained, exported, runtime, pictures=pictures, dataset_label=dataset_label, trainpad_version=trainpad_version)
    files = page_files(card["title"])
    files["model.onnx"] = exported.data
    files["model.json"] = (json.dumps(card, indent=1, ensure_ascii=False) + "\n").encode()
    if "test_images" in card:
        files["test-images.png"] = pictures.sprite()
    files.update(runtime_files(runtime))
    files["README.md"] = readme(card).encode()
    return files


def pick_test_pictures(dataset: Any, count: int, *, mean: Sequence[float], std: Sequence[float], seed: int = 0) -> TestPictures:
    """``count`` pictures of ``dataset`` (a test split) chosen at random with ``seed``, as uint8."""
    from trainpad.engine.pictures import dataset_picture

    total = len(dataset)
    rng = np.random.default_rng(seed)
    indices = sorted(int(i) for i in rng.choice(total, size=min(count, total), replace=False)) if total else []
    pictures = [dataset_picture(dataset, i, mean=mean, std=std) for i in indices]
    labels = [int(dataset[i][1]) for i in indices]
    stacked = np.stack(pictures) if pictures else np.zeros((0, 1, 1), dtype=np.uint8)
    return TestPictures(stacked, labels, indices)


__all__ = ["site_files", "model_card", "readme", "pick_test_pictures", "TestPictures", "PAGE_FILES", "title_of"]
