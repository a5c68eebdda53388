"""A plugin that adds a Lab experiment, as a plugin author would write one from docs/plugins.md:
plain SGD against SGD with momentum, on the Lab's small recipe."""

from __future__ import annotations

from trainpad import LabArm, LabProgress, LabResult, Param, code_of, hookimpl


def train(lab, momentum, steps):
    import torch
    import torch.nn.functional as F
    from trainpad import lab_loader, lab_model

    generator = lab.generator()
    model = lab_model(lab, generator)
    loader = lab_loader(lab.train_x, lab.train_y, batch_size=32, shuffle=True, generator=generator)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=momentum)
    model.train()
    for step, (x, y) in zip(range(steps), loader):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        yield model, loss.item()


def momentum(lab, *, steps=8):
    """Plain SGD against SGD with momentum 0.9: the loss at every step."""
    from trainpad import lab_accuracy

    arms = []
    for version, value in enumerate((0.9, 0.0)):
        label = f"momentum={value}"
        losses = []
        for model, loss in train(lab, value, steps):
            losses.append(loss)
            yield LabProgress(label, len(losses), steps, {"loss": loss})
        figures = {"final_loss": losses[-1], "test_accuracy": lab_accuracy(model, lab.test_x, lab.test_y)}
        arms.append(LabArm(f"momentum-{value}", label, figures, {"loss": losses}, version=version))
    yield LabResult(tuple(arms), f"With momentum the loss ended at {arms[0].figures['final_loss']:.3f}, without at {arms[1].figures['final_loss']:.3f}.")


@hookimpl
def register_experiments(register):
    register(
        "momentum",
        momentum,
        title="SGD(momentum=0.9)",
        about="Momentum keeps part of the last step in the next one.",
        versions=[("momentum=0.9", code_of(train, momentum=0.9)), ("momentum=0", code_of(train, momentum=0.0))],
        samples=(256, 64),
        params=[Param("steps", int, 8, min=1, max=16, help="steps of each arm")],
    )
