"""A checkpoint's metadata, checked by a typed model (``trainpad.engine.checkpoint_meta``).

Each rule is pinned to its whole message, word for word: pydantic validates, but a user
reads the hand-written sentence the check always gave, never pydantic's own wording.
"""

from __future__ import annotations

import copy
import subprocess
import sys
from typing import Any

import pytest
import torch

from trainpad.engine.checkpoint import CheckpointLimits, check_metadata
from trainpad.engine.errors import CheckpointError

#: A server's caps, as the web app passes them.
CAPS = CheckpointLimits(max_classes=10, max_model_bytes=2**20, max_input_side=1024)

GOOD: dict[str, Any] = {
    "format": "trainpad.checkpoint",
    "version": 1,
    "spec": {"dataset": {"name": "mnist", "params": {}}, "model": {"name": "mnist-cnn", "plugin": "builtin"}},
    "class_names": ["zero", "one", "two"],
    "output": "log_probs",
    "epochs": 0.68,
    "metrics": {"accuracy": 0.9},
    "dataset_meta": {"input_shape": [3, 28, 28], "mean": [0.1, 0.2, 0.3], "std": [0.3], "ink": "light"},
    "state_dict": {"w": torch.zeros(4)},
}

#: The value that removes its key.
DELETE = object()


def changed(*changes: tuple[str, Any]) -> dict[str, Any]:
    """:data:`GOOD` with each ``(dotted key, value)`` set, or removed for :data:`DELETE`
    (``"dataset_meta.std"`` is ``payload["dataset_meta"]["std"]``)."""
    payload = copy.deepcopy(GOOD)
    for key, value in changes:
        *parents, last = key.split(".")
        place = payload
        for parent in parents:
            place = place[parent]
        if value is DELETE:
            del place[last]
        else:
            place[last] = value
    return payload


def refusal(payload: dict[str, Any], limits: CheckpointLimits | None = None) -> str:
    with pytest.raises(CheckpointError) as caught:
        check_metadata(payload, limits)
    return str(caught.value)


INPUT_SHAPE = "the checkpoint's input_shape must be three positive whole numbers (channels, height, width), got "


@pytest.mark.parametrize(
    "changes, message",
    [
        ([("spec", DELETE)], "the checkpoint does not say which dataset and model made it"),
        ([("spec.model", "mnist-cnn")], "the checkpoint does not say which dataset and model made it"),
        ([("spec.model.name", "")], "the checkpoint's model name '' is not a component name"),
        ([("spec.model.params", [1])], "the checkpoint's model settings must be a dict, got [1]"),
        ([("spec.dataset.params", "lr=1")], "the checkpoint's dataset settings must be a dict, got 'lr=1'"),
        ([("state_dict", {"w": [0.0]})], "the checkpoint's weights are malformed"),
        ([("class_names", DELETE)], "the checkpoint has no class names"),
        ([("class_names", ("a", "b"))], "the checkpoint has no class names"),
        ([("class_names", ["a", 2])], "the checkpoint has no class names"),
        ([("class_names", ["a"])], "the checkpoint has 1 class name; a classifier needs 2 or more"),
        ([("class_names", ["a", "b", "a"])], "the checkpoint's class names repeat; each class needs its own name"),
        (
            [("class_names", ["a", "x" * 101])],
            f"the checkpoint's class name '{'x' * 40}'… (101 characters) is empty or longer than 100 characters",
        ),
        ([("class_names", ["a", " "])], "the checkpoint's class name ' ' is empty or longer than 100 characters"),
        (
            [("class_names", [str(i) for i in range(12)])],
            "the checkpoint has 12 classes, more than the 10 this server accepts (TRAINPAD_MAX_CLASSES)",
        ),
        ([("output", "probabilities")], "the checkpoint's output must be log_probs or logits, got 'probabilities'"),
        ([("epochs", float("nan"))], "the checkpoint's epochs must be a number from 0 to 1,000,000, got nan"),
        ([("epochs", -1)], "the checkpoint's epochs must be a number from 0 to 1,000,000, got -1"),
        ([("epochs", 10**6 + 1)], "the checkpoint's epochs must be a number from 0 to 1,000,000, got 1000001"),
        ([("output", 3)], "the checkpoint's output must be log_probs or logits, got 3"),
        ([("epochs", "1")], "the checkpoint's epochs must be a number from 0 to 1,000,000, got '1'"),
        ([("epochs", True)], "the checkpoint's epochs must be a number from 0 to 1,000,000, got True"),
        (  # too big for a float: refused, not an OverflowError
            [("epochs", 10**400)],
            "the checkpoint's epochs must be a number from 0 to 1,000,000, got 1000000000000000000000000000000000000000…",
        ),
        ([("metrics", [0.9])], "the checkpoint's metrics must be a dict, got [0.9]"),
        ([("dataset_meta", "x")], "the checkpoint's dataset_meta must be a dict, got 'x'"),
        ([("dataset_meta.input_shape", [1, 28])], INPUT_SHAPE + "[1, 28]"),
        ([("dataset_meta.input_shape", [1, 28.0, 28])], INPUT_SHAPE + "[1, 28.0, 28]"),
        ([("dataset_meta.input_shape", (0, 28, 28))], INPUT_SHAPE + "(0, 28, 28)"),
        ([("dataset_meta.input_shape", [1, True, 28])], INPUT_SHAPE + "[1, True, 28]"),
        ([("dataset_meta.input_shape", list(range(10**6)))], INPUT_SHAPE + "<list of 1,000,000 items>"),
        (
            [("dataset_meta.input_shape", [1, 2000, 28])],
            "the checkpoint's input_shape [1, 2000, 28] is too large: at most 64 channels and 1,024 pixels a side",
        ),
        (
            [("dataset_meta.input_shape", [65, 28, 28])],
            "the checkpoint's input_shape [65, 28, 28] is too large: at most 64 channels and 1,024 pixels a side",
        ),
        ([("dataset_meta.mean", [0.1, 0.2])], "the checkpoint's mean must be 1 or 3 finite numbers, got [0.1, 0.2]"),
        ([("dataset_meta.mean", [0.0] * 10**6)], "the checkpoint's mean must be 1 or 3 finite numbers, got <list of 1,000,000 items>"),
        (
            [("dataset_meta.input_shape", [1, 28, 28]), ("dataset_meta.mean", ["0.1"])],
            "the checkpoint's mean must be one finite number, got ['0.1']",
        ),
        ([("dataset_meta.std", [float("inf")])], "the checkpoint's std must be 1 or 3 finite numbers, got [inf]"),
        ([("dataset_meta.std", [0.0])], "the checkpoint's std must be above 0 (pixels are divided by it), got [0.0]"),
        ([("dataset_meta.ink", 5)], "the checkpoint's ink must be text, got 5"),
        (
            [("state_dict", {"w": torch.zeros(2**19)})],  # 2 MB of float32
            "the model's weights take 2.0 MB, more than the 1.0 MB this server allows (TRAINPAD_MAX_MODEL_MB); "
            "use a smaller model",
        ),
    ],
)
def test_each_rule_gives_its_own_message(changes, message):
    assert refusal(changed(*changes), CAPS) == message


@pytest.mark.parametrize("limits", [None, CAPS])
@pytest.mark.parametrize(
    "changes",
    [
        [],
        [("output", None), ("metrics", None), ("dataset_meta", None)],  # MNIST's shape when unsaid
        [("output", DELETE), ("epochs", DELETE), ("metrics", DELETE), ("dataset_meta", DELETE)],
        [("dataset_meta.input_shape", (3, 28, 28)), ("dataset_meta.mean", (0.5,)), ("epochs", 3)],
        [("spec.model.params", None), ("dataset_meta.ink", None)],
    ],
)
def test_a_good_payload_passes(changes, limits):
    check_metadata(changed(*changes), limits)


def test_the_first_refusal_is_reported_in_the_order_of_the_checks():
    no_weights, no_spec, one_name = ("state_dict", None), ("spec", None), ("class_names", ["a"])
    assert refusal(changed(no_weights, no_spec)) == "the checkpoint does not say which dataset and model made it"
    assert refusal(changed(one_name, no_weights)) == "the checkpoint's weights are malformed"
    assert refusal(changed(("dataset_meta.std", [0.0]), one_name)).startswith("the checkpoint has 1 class name")
    # both names are looked for before either is judged: a missing model before an empty dataset name
    assert refusal(changed(("spec.dataset.name", ""), ("spec.model", DELETE))).startswith("the checkpoint does not say")


def test_server_caps_apply_only_where_given():
    many = changed(("class_names", [str(i) for i in range(2000)]), ("dataset_meta.input_shape", [3, 2000, 2000]))
    check_metadata(many)  # the CLI's: structural checks only
    assert "2,000 classes" in refusal(many, CheckpointLimits(max_classes=1000))
    # a cap also holds for the input shape a checkpoint leaves unsaid (MNIST's 28 × 28)
    assert refusal(changed(("dataset_meta", None)), CheckpointLimits(max_input_side=16)) == (
        "the checkpoint's input_shape [1, 28, 28] is too large: at most 64 channels and 16 pixels a side"
    )


def test_the_model_gives_typed_values():
    from trainpad.engine.checkpoint_meta import CheckpointMeta

    meta = CheckpointMeta.model_validate(changed(("epochs", 2)), context={"limits": CAPS})
    assert (meta.spec.dataset.name, meta.spec.model.name, meta.spec.model.params) == ("mnist", "mnist-cnn", None)
    assert meta.epochs == 2.0 and isinstance(meta.epochs, float)
    assert meta.dataset_meta.input_shape == (3, 28, 28) and meta.dataset_meta.std == [0.3]
    assert CheckpointMeta.model_validate(changed(("dataset_meta", None))).dataset_meta.input_shape == (1, 28, 28)


def test_training_does_not_import_pydantic():
    """Only reading a checkpoint does: ``trainpad train`` saves them without it."""
    code = "import sys, trainpad.engine.training, trainpad.engine.checkpoint; print('pydantic' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
