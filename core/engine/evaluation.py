"""Evaluating a model on a dataset: loss, accuracy, confusion matrix, mistakes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn
from torch.utils.data import DataLoader


@dataclass(frozen=True)
class Mistake:
    """A test sample the model got wrong."""

    index: int
    true: int
    predicted: int
    confidence: float


@dataclass(frozen=True)
class Answer:
    """What the model answered for one test sample, right or wrong.

    :param confidence: the probability it gave its answer.
    """

    index: int
    true: int
    predicted: int
    confidence: float

    @property
    def correct(self) -> bool:
        return self.true == self.predicted


@dataclass
class Evaluation:
    """The result of :func:`evaluate`.

    ``confusion[t, p]`` counts samples of true class ``t`` predicted as ``p``.
    """

    loss: float
    accuracy: float
    count: int
    confusion: torch.Tensor
    mistakes: list[Mistake] = field(default_factory=list)
    #: the evaluation was stopped before the end of the data: ``count`` samples were seen
    stopped: bool = False
    #: the model's answers for the samples asked for (``show=``), in the order asked
    answers: list[Answer] = field(default_factory=list)

    @property
    def per_class_accuracy(self) -> list[float]:
        totals = self.confusion.sum(dim=1).clamp(min=1)
        return (self.confusion.diagonal() / totals).tolist()


def evaluate(
    model: nn.Module,
    loader: DataLoader,
    *,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    to_probs: Callable[[torch.Tensor], torch.Tensor],
    num_classes: int,
    device: torch.device,
    mistakes: int = 0,
    should_stop: Callable[[], bool] | None = None,
    show: "torch.Tensor | None" = None,
) -> Evaluation:
    """Run ``model`` over ``loader`` in eval mode with autograd off.

    :param mistakes: how many of the most confident mistakes to keep.
    :param should_stop: asked before each batch; when it says so, the evaluation ends
        there and the result covers the samples seen (``stopped`` is set).
    :param show: indices of samples (in the loader's order) whose answers to keep, right or wrong.
    The model's training mode is restored afterwards.
    """
    was_training = model.training
    model.eval()
    total_loss = 0.0
    count = 0
    confusion = torch.zeros(num_classes * num_classes, dtype=torch.long)
    worst_conf = torch.empty(0)
    worst_meta = torch.empty(0, 3, dtype=torch.long)  # index, true, predicted
    offset = 0
    stopped = False
    wanted = torch.as_tensor(show if show is not None else [], dtype=torch.long)
    answered: dict[int, Answer] = {}
    with torch.inference_mode():
        for x, y in loader:
            if should_stop is not None and should_stop():
                stopped = True
                break
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            out = model(x)
            total_loss += float(loss_fn(out, y)) * len(y)
            probs = to_probs(out)
            conf, pred = probs.max(dim=1)
            pred, y, conf = pred.cpu(), y.cpu(), conf.float().cpu()
            confusion += torch.bincount(y * num_classes + pred, minlength=num_classes * num_classes)
            if mistakes:
                wrong = (pred != y).nonzero().flatten()
                if len(wrong):
                    meta = torch.stack([wrong + offset, y[wrong], pred[wrong]], dim=1)
                    worst_conf = torch.cat([worst_conf, conf[wrong]])
                    worst_meta = torch.cat([worst_meta, meta])
                    if len(worst_conf) > mistakes:
                        keep = worst_conf.topk(mistakes).indices
                        worst_conf, worst_meta = worst_conf[keep], worst_meta[keep]
            if len(wanted):
                here = wanted[(wanted >= offset) & (wanted < offset + len(y))]
                for index in here.tolist():
                    at = index - offset
                    answered[index] = Answer(index, int(y[at]), int(pred[at]), float(conf[at]))
            count += len(y)
            offset += len(y)
    model.train(was_training)
    confusion = confusion.view(num_classes, num_classes)
    order = worst_conf.argsort(descending=True)
    found = [
        Mistake(int(worst_meta[i, 0]), int(worst_meta[i, 1]), int(worst_meta[i, 2]), float(worst_conf[i]))
        for i in order.tolist()
    ]
    correct = int(confusion.diagonal().sum())
    return Evaluation(
        loss=total_loss / max(count, 1),
        accuracy=correct / max(count, 1),
        count=count,
        confusion=confusion,
        mistakes=found,
        stopped=stopped,
        answers=[answered[i] for i in wanted.tolist() if i in answered],
    )
