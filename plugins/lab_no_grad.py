"""The Lab's ``no-grad`` experiment: evaluating with and without ``torch.no_grad()``.

With autograd on, every operation on a tensor that needs a gradient is recorded, and the
tensors the backward pass would need are kept until the output is freed.  Evaluation never
calls ``backward()``: ``torch.no_grad()`` turns the recording off, so those tensors are
freed as soon as the next layer has used them.  The answers are the same.

How it is measured: the peak memory counts the bytes of every tensor the evaluation makes,
from when it is made until it is freed (:class:`trainpad.TensorMemory`, which sees each
operation); the time per batch is the median over the batches, timed in a pass of its own.
"""

from __future__ import annotations

import statistics
import time

from trainpad import LabArm, LabProgress, LabResult, Message, Param, code_of, hookimpl, msg


def evaluate_with_no_grad(model, loader):
    import torch

    model.eval()
    with torch.no_grad():
        for x, y in loader:
            yield model(x).argmax(dim=1)


def evaluate_without_no_grad(model, loader):
    model.eval()
    # with torch.no_grad():  <- left out
    for x, y in loader:
        yield model(x).argmax(dim=1)


def no_grad(lab, *, batch_size=500, hidden=512):
    """Evaluation with and without torch.no_grad(): peak memory, time per batch, and the same answers."""
    import torch
    from trainpad import TensorMemory, lab_loader, lab_model

    model = lab_model(lab, lab.generator(), hidden=hidden, batch_norm=True)
    # the batches are made before anything is measured: the memory counted is the model's
    loader = list(lab_loader(lab.test_x, lab.test_y, batch_size=batch_size, shuffle=False))
    arms = []
    answers = []
    for version, (name, label, evaluate) in enumerate((
        ("no-grad", "with torch.no_grad()", evaluate_with_no_grad), ("grad", "without it", evaluate_without_no_grad),
    )):  # fmt: skip
        with TensorMemory() as memory:
            found = torch.cat([answer.detach() for answer in evaluate(model, loader)])
        yield LabProgress(msg("{arm}: memory", arm=msg(label)), 1, 2)
        seconds, batches = [], evaluate(model, loader)
        while True:
            start = time.perf_counter()
            if next(batches, None) is None:
                break
            seconds.append(time.perf_counter() - start)
        yield LabProgress(msg("{arm}: time", arm=msg(label)), 2, 2)
        answers.append(found)
        arms.append(LabArm(name, label, {
            "peak_bytes": memory.peak, "seconds_per_batch": statistics.median(seconds), "batches": len(seconds),
            "batch_size": batch_size,
        }, version=version))  # fmt: skip
    with_, without = arms
    equal = bool(torch.equal(*answers))
    ratio = without.figures["peak_bytes"] / max(with_.figures["peak_bytes"], 1)
    lines = [
        msg(
            "Without torch.no_grad() the evaluation held up to {peak} MB of tensors at once, {ratio}x the {other} MB with it: autograd kept what "
            "a backward pass would need, for a backward pass that never came.",
            peak=f"{without.figures['peak_bytes'] / 2 ** 20:.2f}", ratio=f"{ratio:.1f}", other=f"{with_.figures['peak_bytes'] / 2 ** 20:.2f}",
        ),
        "The answers were the same, picture for picture." if equal else "The answers were not the same.",
        msg(
            "A batch of {size} took {without} ms without it and {with_it} ms with it (the median of {count} batches).",
            size=batch_size, without=f"{without.figures['seconds_per_batch'] * 1000:.1f}",
            with_it=f"{with_.figures['seconds_per_batch'] * 1000:.1f}", count=with_.figures['batches'],
        ),
    ]
    finding = Message.joined("\n", lines)
    yield LabResult(tuple(arms), finding, {"answers_equal": equal, "memory_ratio": ratio})


@hookimpl
def register_experiments(register):
    register(
        "no-grad",
        no_grad,
        title="torch.no_grad()",
        about="With autograd on, PyTorch records every operation and keeps what a backward pass would need. "
        "Evaluation never calls backward(): torch.no_grad() turns the recording off, to use less memory.",
        versions=[("with torch.no_grad()", code_of(evaluate_with_no_grad)), ("without it", code_of(evaluate_without_no_grad))],
        samples=(1, 5000),
        params=[
            Param("batch_size", int, 500, min=10, max=5000, help="test pictures per batch"),
            Param("hidden", int, 512, min=8, max=2048, help="units of the model's hidden layer"),
        ],
    )
