"""The Lab's ``seed`` experiment: the same seed twice, then other seeds.

A seed fixes every random number a run draws: its initial weights and the order in which
the loader hands out the samples.  The same seed twice gives the same run, loss for loss,
to the last bit on the CPU; another seed gives another run, and a somewhat different
accuracy at the end: the spread that one run alone cannot show.

The tutorial writes ``torch.manual_seed(1)``, which seeds torch's one global generator.
The Lab seeds a generator of its own instead (and hands it to the model and the loader):
the web app trains other people's runs in the same process at the same time, and a global
seed would be theirs too.
"""

from __future__ import annotations

from trainpad import LabArm, LabProgress, LabResult, Message, Param, code_of, hookimpl, msg

BATCH_SIZE = 64
LR = 0.05


def train(lab, seed):
    import torch
    import torch.nn.functional as F
    from trainpad import lab_loader, lab_model

    generator = torch.Generator().manual_seed(seed)  # the initial weights, then the order of the samples
    model = lab_model(lab, generator)
    loader = lab_loader(lab.train_x, lab.train_y, batch_size=BATCH_SIZE, shuffle=True, generator=generator)
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    model.train()
    for x, y in loader:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        yield model, loss.item()  # the Lab records the loss here


def same_and_other_seeds(lab, *, others=3):
    """The same seed twice, then other seeds: identical curves, then the spread of the final accuracy."""
    from trainpad import lab_accuracy

    seeds = [lab.seed, lab.seed] + [lab.seed + k for k in range(1, others + 1)]
    arms = []
    for index, value in enumerate(seeds):
        label = msg("seed {seed} again", seed=value) if index == 1 else msg("seed {seed}", seed=value)
        losses = []
        for model, loss in train(lab, value):
            losses.append(loss)
            yield LabProgress(label, len(losses), -(-len(lab.train_x) // BATCH_SIZE), {"loss": loss})
        name = "seed-again" if index == 1 else f"seed-{value}"
        figures = {"seed": value, "final_loss": losses[-1], "test_accuracy": lab_accuracy(model, lab.test_x, lab.test_y)}
        arms.append(LabArm(name, label, figures, {"loss": losses}, version=0 if index < 2 else 1))
    first, again, *rest = arms
    same = max(abs(a - b) for a, b in zip(first.curves["loss"], again.curves["loss"]))
    other = max((max(abs(a - b) for a, b in zip(first.curves["loss"], arm.curves["loss"])) for arm in rest), default=0.0)
    accuracies = [arm.figures["test_accuracy"] for arm in (first, *rest)]
    identical = first.curves["loss"] == again.curves["loss"]
    steps = len(first.curves["loss"])
    lines = [
        msg("The two runs with seed {seed} gave the same loss at every one of their {steps} steps, to the last bit.", seed=lab.seed, steps=steps)
        if identical else msg(
            "The two runs with seed {seed} differed by up to {difference} in their losses.",
            seed=lab.seed, difference=f"{same:.3g}",
        ),
    ]
    if rest:
        lines.append(
            msg(
                "Seeds {first} to {last} start from other weights and another order of the samples: their losses differ from seed {seed}'s by up "
                "to {difference}, and the {count} seeds end between {low} and {high} on the test pictures.",
                first=rest[0].figures['seed'], last=rest[-1].figures['seed'], seed=lab.seed, difference=f"{other:.2f}", count=len(accuracies),
                low=f"{min(accuracies):.1%}", high=f"{max(accuracies):.1%}",
            )
        )
    finding = Message.joined("\n", lines)
    yield LabResult(tuple(arms), finding, {
        "identical_curves": identical, "max_difference_same_seed": same, "max_difference_other_seeds": other,
        "accuracy_spread": max(accuracies) - min(accuracies),
    })  # fmt: skip


@hookimpl
def register_experiments(register):
    register(
        "seed",
        same_and_other_seeds,
        title="torch.manual_seed(1)",
        about="A seed fixes every random number a run draws: its initial weights and the order of its samples. "
        "The same seed gives the same run, to the last bit on the CPU; another seed, another run.",
        versions=[("seed 1, run twice", code_of(train, seed=1)), ("seed 2 (then 3, 4...)", code_of(train, seed=2))],
        samples=(4096, 1000),
        params=[Param("others", int, 3, min=1, max=5, help="how many other seeds to run")],
    )
