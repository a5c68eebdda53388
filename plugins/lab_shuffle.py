"""The Lab's ``shuffle`` experiment: a DataLoader with and without shuffling, on pictures sorted by class.

``shuffle=True`` hands out the training pictures in a new random order each epoch, so every
batch mixes the classes.  Without it the loader keeps the dataset's order; when that order
is sorted (all the 0s, then all the 1s...), each stretch of steps teaches the model one
class and undoes the one before: at the end it answers mostly the last class it saw.
"""

from __future__ import annotations

from trainpad import LabArm, LabProgress, LabResult, Message, code_of, hookimpl, msg

BATCH_SIZE = 64
LR = 0.05


def train(lab, shuffle):
    import torch
    import torch.nn.functional as F
    from trainpad import lab_loader, lab_model

    order = lab.train_y.argsort(stable=True)  # the pictures sorted by class: all the 0s, then the 1s...
    pictures, labels = lab.train_x[order], lab.train_y[order]
    generator = lab.generator()
    model = lab_model(lab, generator)
    loader = lab_loader(pictures, labels, batch_size=BATCH_SIZE, shuffle=shuffle, generator=generator)
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    model.train()
    for x, y in loader:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        yield model, loader, loss.item()  # the Lab records the loss here


def shuffle(lab):
    """Training on pictures sorted by class, with and without shuffle=True: the loss curve and the test accuracy."""
    import torch
    from trainpad import lab_accuracy

    arms = []
    for version, (name, value) in enumerate((("shuffled", True), ("in-order", False))):
        label = f"shuffle={value}"
        losses = []
        for model, loader, loss in train(lab, value):
            losses.append(loss)
            yield LabProgress(label, len(losses), len(loader), {"loss": loss})
        with torch.no_grad():
            model.eval()
            answers = model(lab.test_x).argmax(dim=1)
        last = int(lab.train_y.max())
        arms.append(LabArm(name, label, {
            "shuffle": value, "final_loss": losses[-1], "test_accuracy": lab_accuracy(model, lab.test_x, lab.test_y),
            "last_class": lab.class_names[last], "answers_last_class": float((answers == last).float().mean()),
        }, {"loss": losses}, version=version))  # fmt: skip
    shuffled, in_order = (arm.figures for arm in arms)
    finding = Message.joined("\n", [
        "Without shuffling, the loader handed out the pictures sorted by class: each stretch of steps taught the model "
        "one class and undid the one before.",
        msg(
            "After the epoch it answered “{name}”, the last class it saw, for {share} of the test pictures, and got {accuracy} right.",
            name=in_order['last_class'], share=f"{in_order['answers_last_class']:.0%}", accuracy=f"{in_order['test_accuracy']:.1%}",
        ),
        msg("Shuffled, every batch mixed the classes: {accuracy} right.", accuracy=f"{shuffled['test_accuracy']:.1%}"),
    ])
    yield LabResult(tuple(arms), finding, {"accuracy_difference": shuffled["test_accuracy"] - in_order["test_accuracy"]})


@hookimpl
def register_experiments(register):
    register(
        "shuffle",
        shuffle,
        title="DataLoader(shuffle=True)",
        about="shuffle=True hands out the training pictures in a new random order every epoch, so that each batch "
        "mixes the classes. Here the pictures are sorted by class, to show what happens without it.",
        versions=[("shuffle=True", code_of(train, shuffle=True)), ("shuffle=False", code_of(train, shuffle=False))],
        samples=(4096, 1000),
    )
