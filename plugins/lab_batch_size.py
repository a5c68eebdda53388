"""The Lab's ``batch-size`` experiment: one epoch of the same pictures in batches of 8 to 1024.

A batch is the pictures one optimizer step sees; an iteration is one step; an epoch is
one pass over the training pictures, so it takes ``ceil(pictures / batch size)``
iterations.  Small batches give many small, noisy steps (each batch's loss jumps around);
big ones give few, smooth steps, each costing more, and with the same learning rate the
model learns less in one epoch.
"""

from __future__ import annotations

import statistics
import time

from trainpad import LabArm, LabProgress, LabResult, Message, code_of, hookimpl, msg

#: The batch sizes compared, smallest first.
BATCH_SIZES = (8, 32, 128, 512, 1024)
LR = 0.05


def train(lab, batch_size):
    import torch
    import torch.nn.functional as F
    from trainpad import lab_loader, lab_model

    generator = lab.generator()
    model = lab_model(lab, generator)
    loader = lab_loader(lab.train_x, lab.train_y, batch_size=batch_size, shuffle=True, generator=generator)
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    model.train()
    for x, y in loader:  # one epoch: len(loader) iterations
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        yield model, loader, loss.item()  # the Lab records the loss here


def loss_noise(losses: list[float]) -> float:
    """How much the loss jumps from one step to the next: the standard deviation of the
    step-to-step changes over the second half of the epoch (0 with fewer than 3 steps there)."""
    half = losses[len(losses) // 2 :]
    changes = [b - a for a, b in zip(half, half[1:])]
    return statistics.pstdev(changes) if len(changes) >= 2 else 0.0


def batch_size(lab):
    """One epoch of the same pictures in batches of 8 to 1024: iterations, time, the noise of the loss, accuracy."""
    from trainpad import lab_accuracy

    arms = []
    for size in BATCH_SIZES:
        label = f"batch_size={size}"
        losses, seconds = [], 0.0
        steps = train(lab, size)
        while True:
            start = time.perf_counter()
            step = next(steps, None)
            seconds += time.perf_counter() - start
            if step is None:
                break
            model, loader, loss = step
            losses.append(loss)
            if len(losses) % max(len(loader) // 40, 1) == 0 or len(losses) == len(loader):
                yield LabProgress(label, len(losses), len(loader), {"loss": loss})
        arms.append(LabArm(f"batch-{size}", label, {
            "batch_size": size, "samples": len(lab.train_x), "iterations_per_epoch": len(loader), "seconds": seconds,
            "loss_noise": loss_noise(losses), "final_loss": losses[-1], "test_accuracy": lab_accuracy(model, lab.test_x, lab.test_y),
        }, {"loss": losses}, version=0 if size == BATCH_SIZES[0] else 1))  # fmt: skip
    small, large = arms[0].figures, arms[-1].figures
    finding = Message.joined("\n", [
        msg(
            "The same {samples} pictures took {small_steps} iterations in batches of {small} and {large_steps} in batches of {large}.",
            samples=f"{small['samples']:,}", small_steps=f"{small['iterations_per_epoch']:,}", small=small['batch_size'],
            large_steps=f"{large['iterations_per_epoch']:,}", large=large['batch_size'],
        ),
        msg(
            "The small batches' loss jumped by {small} from step to step, the big ones' by {large}; their epochs took {small_seconds} s and "
            "{large_seconds} s.",
            small=f"{small['loss_noise']:.2f}", large=f"{large['loss_noise']:.2f}", small_seconds=f"{small['seconds']:.2f}",
            large_seconds=f"{large['seconds']:.2f}",
        ),
        msg(
            "After one epoch at the same learning rate the small batches reached {small} on the test pictures, the big ones {large}.",
            small=f"{small['test_accuracy']:.1%}", large=f"{large['test_accuracy']:.1%}",
        ),
    ])
    yield LabResult(tuple(arms), finding, {"batch_sizes": list(BATCH_SIZES)})


@hookimpl
def register_experiments(register):
    register(
        "batch-size",
        batch_size,
        title="DataLoader(batch_size=...)",
        about="A batch is the pictures one optimizer step sees, an iteration is one step, and an epoch is one pass "
        "over the training pictures: ceil(pictures / batch size) iterations.",
        versions=[(f"batch_size={BATCH_SIZES[0]}", code_of(train, batch_size=BATCH_SIZES[0])),
                  (f"batch_size={BATCH_SIZES[-1]}", code_of(train, batch_size=BATCH_SIZES[-1]))],
        samples=(8192, 1000),
    )  # fmt: skip
