"""The Lab's ``zero-grad`` experiment: the same training with and without ``optimizer.zero_grad()``.

``loss.backward()`` adds each parameter's gradient to its ``.grad``; it does not replace
it.  ``optimizer.zero_grad()`` empties them first, so that a step follows this batch's
gradient alone.  Left out, the gradient after k steps is the sum of the k batches'
gradients: its norm grows step after step, and so does every update, until the loss
climbs instead of falling.
"""

from __future__ import annotations

import math

from trainpad import LabArm, LabProgress, LabResult, Message, Param, code_of, hookimpl, msg

BATCH_SIZE = 64


def with_zero_grad(model, loader, optimizer, loss_fn):
    model.train()
    for x, y in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        yield x, y, loss  # the Lab measures the gradient here
        optimizer.step()


def without_zero_grad(model, loader, optimizer, loss_fn):
    model.train()
    for x, y in loader:
        # optimizer.zero_grad()  <- left out
        loss = loss_fn(model(x), y)
        loss.backward()
        yield x, y, loss  # the Lab measures the gradient here
        optimizer.step()


def diverged_at(losses: list[float]) -> int | None:
    """The first step (from 1) whose loss is above the first step's, or not a number; ``None`` if none."""
    for step, loss in enumerate(losses[1:], 2):
        if not math.isfinite(loss) or loss > losses[0]:
            return step
    return None


def zero_grad(lab, *, lr=0.05, steps=60):
    """Training with and without optimizer.zero_grad(): the gradient norm and the loss at every step."""
    import torch
    import torch.nn.functional as F
    from trainpad import grad_norm, lab_accuracy, lab_loader, lab_model

    arms = []
    for name, label, train in (("with", "with optimizer.zero_grad()", with_zero_grad), ("without", "without it", without_zero_grad)):
        generator = lab.generator()  # both arms: the same initial weights, the same batches
        model = lab_model(lab, generator)
        count = min(steps * BATCH_SIZE, len(lab.train_x))
        loader = lab_loader(lab.train_x[:count], lab.train_y[:count], batch_size=BATCH_SIZE, shuffle=True, generator=generator)
        optimizer = torch.optim.SGD(model.parameters(), lr=lr)
        losses, norms = [], []
        for _, _, loss in train(model, loader, optimizer, F.cross_entropy):
            losses.append(loss.item())
            norms.append(grad_norm(model))
            yield LabProgress(label, len(losses), len(loader), {"loss": losses[-1], "grad_norm": norms[-1]})
        arms.append(LabArm(name, label, {
            "steps": len(losses), "first_loss": losses[0], "final_loss": losses[-1], "grad_norm_first": norms[0],
            "grad_norm_last": norms[-1], "diverged_at": diverged_at(losses), "test_accuracy": lab_accuracy(model, lab.test_x, lab.test_y),
        }, {"loss": losses, "grad_norm": norms}, version=len(arms)))  # fmt: skip
    with_, without = arms
    growth = without.figures["grad_norm_last"] / max(without.figures["grad_norm_first"], 1e-12)
    where = without.figures["diverged_at"]
    lines = [
        msg(
            "Without optimizer.zero_grad() each gradient is the sum of every batch's so far: its norm went from {first} to {last} in {steps} "
            "steps ({growth}x).",
            first=f"{without.figures['grad_norm_first']:.2f}", last=f"{without.figures['grad_norm_last']:.3g}", steps=without.figures['steps'],
            growth=f"{growth:.0f}",
        ),
        msg(
            "The loss rose above where it started at step {step}.",
            step=where,
        ) if where else msg(
            "The loss ended at {loss}.",
            loss=f"{without.figures['final_loss']:.3g}",
        ),
        msg(
            "With it, each step followed its own batch: the loss fell from {first} to {last}, and {accuracy} of the test pictures were right "
            "({other} without).",
            first=f"{with_.figures['first_loss']:.2f}", last=f"{with_.figures['final_loss']:.2f}", accuracy=f"{with_.figures['test_accuracy']:.1%}",
            other=f"{without.figures['test_accuracy']:.1%}",
        ),
    ]
    finding = Message.joined("\n", lines)
    yield LabResult(tuple(arms), finding, {"grad_norm_growth": growth, "diverged_at": where})


@hookimpl
def register_experiments(register):
    register(
        "zero-grad",
        zero_grad,
        title="optimizer.zero_grad()",
        about="loss.backward() adds each gradient to what .grad already holds. optimizer.zero_grad() empties "
        "them first, so that a step follows this batch's gradient alone.",
        versions=[("with optimizer.zero_grad()", code_of(with_zero_grad)), ("without it", code_of(without_zero_grad))],
        samples=(4096, 1000),
        params=[
            Param("lr", float, 0.05, min=0.001, max=1.0, help="learning rate of plain SGD"),
            Param("steps", int, 60, min=5, max=64, help="steps of each arm (batches of 64)"),
        ],
    )
