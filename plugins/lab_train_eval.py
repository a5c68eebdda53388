"""The Lab's ``train-eval`` experiment: testing a model in ``train()`` mode against ``eval()`` mode.

``model.train()`` readies dropout and batch normalisation for training: dropout zeroes a
random half of its inputs at every pass, and batch normalisation normalises each batch
with that batch's own mean and variance.  ``model.eval()`` locks them: dropout passes
everything and batch normalisation uses the statistics it gathered while training.  A
model tested in train mode answers the same picture differently from one pass to the next.
"""

from __future__ import annotations

from trainpad import LabArm, LabProgress, LabResult, Message, Param, code_of, hookimpl, msg

BATCH_SIZE = 64


def answers_in_eval_mode(model, loader):
    import torch

    model.eval()
    with torch.no_grad():
        for x, y in loader:
            yield model(x).argmax(dim=1)


def answers_in_train_mode(model, loader):
    import torch

    model.train()  # <- instead of model.eval()
    with torch.no_grad():
        for x, y in loader:
            yield model(x).argmax(dim=1)


def train_eval(lab, *, dropout=0.5, steps=64):
    """A model with dropout and batch norm, tested twice in eval() mode and twice in train() mode."""
    import torch
    import torch.nn.functional as F
    from trainpad import lab_loader, lab_model

    generator = lab.generator()
    model = lab_model(lab, generator, dropout=dropout, batch_norm=True)
    count = min(steps * BATCH_SIZE, len(lab.train_x))
    loader = lab_loader(lab.train_x[:count], lab.train_y[:count], batch_size=BATCH_SIZE, shuffle=True, generator=generator)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    model.train()
    for done, (x, y) in enumerate(loader, 1):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        yield LabProgress("training the model", done, len(loader), {"loss": loss.item()})
    test = lab_loader(lab.test_x, lab.test_y, batch_size=BATCH_SIZE, shuffle=False)
    arms = []
    for version, (name, label, answers_in) in enumerate((
        ("eval", "model.eval()", answers_in_eval_mode), ("train", "model.train()", answers_in_train_mode),
    )):  # fmt: skip
        passes = []
        for attempt in (1, 2):
            passes.append(torch.cat(list(answers_in(model, test))))
            yield LabProgress(msg("{arm}: pass {count}", arm=msg(label), count=attempt), attempt, 2)
        first, second = passes
        figures = {
            "test_accuracy": float((first == lab.test_y).float().mean()),
            "test_accuracy_again": float((second == lab.test_y).float().mean()),
            "changed_answers": float((first != second).float().mean()),
        }
        arms.append(LabArm(name, label, figures, version=version))
    eval_arm, train_arm = arms
    changed = eval_arm.figures["changed_answers"]
    lines = [
        msg(
            "In eval() mode the two passes gave the same answer for every one of the {count} test pictures, {accuracy} of them right.",
            count=f"{len(lab.test_y):,}", accuracy=f"{eval_arm.figures['test_accuracy']:.1%}",
        )
        if changed == 0 else msg("In eval() mode {share} of the answers changed from one pass to the next.", share=f"{changed:.1%}"),
        msg(
            "In train() mode dropout and each batch's own statistics changed {share} of the answers from one pass to the next, and {accuracy} "
            "were right.",
            share=f"{train_arm.figures['changed_answers']:.1%}", accuracy=f"{train_arm.figures['test_accuracy']:.1%}",
        ),
    ]
    finding = Message.joined("\n", lines)
    yield LabResult(tuple(arms), finding, {
        "accuracy_drop": eval_arm.figures["test_accuracy"] - train_arm.figures["test_accuracy"],
        "changed_in_eval": eval_arm.figures["changed_answers"], "changed_in_train": train_arm.figures["changed_answers"],
    })  # fmt: skip


@hookimpl
def register_experiments(register):
    register(
        "train-eval",
        train_eval,
        title="model.eval()",
        about="model.train() readies dropout and batch normalisation for training: dropout zeroes values at random, "
        "batch norm uses each batch's own statistics. model.eval() locks them, so a test gives the same answer every time.",
        versions=[("model.eval()", code_of(answers_in_eval_mode)), ("model.train()", code_of(answers_in_train_mode))],
        samples=(4096, 1000),
        params=[
            Param("dropout", float, 0.5, min=0.05, max=0.9, help="the share of values dropout zeroes in train mode"),
            Param("steps", int, 64, min=5, max=64, help="training steps before the test (batches of 64)"),
        ],
    )
