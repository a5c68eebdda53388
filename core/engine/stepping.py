"""Watching the training loop from inside: what each line did in the last step, and one step
taken alone with everything it changed.

A :class:`LoopProbe` watches one :class:`~trainpad.engine.training.TrainingRun` through hooks,
so the loop itself stays the one PyTorch teaches: a forward pre-hook and a forward hook on
the model (the batch going in, the output coming out), and a step pre-hook and post-hook
on the optimizer (the gradients, the weights before and after the update).  The run hands
it the batch's labels, the one thing no hook sees.

* Every step it keeps a :class:`LoopTrace`: the batch's shape, dtype and device, the loss,
  the gradient's norm and the learning rate the step used.
* A step asked for in detail (:meth:`TrainingRun.step <trainpad.engine.training.TrainingRun.step>`)
  also gives a :class:`StepDetail`: the first pictures of the batch with their labels and
  the model's probabilities for them, each layer's gradient norm and update size, and the
  loss on the same batch after the update, computed as the step's own forward pass was
  (train mode, the same dropout: the random state is set back to what that pass started
  from, then restored, and batch norm's running statistics are put back), so that looking
  changes nothing about the run.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import nn

from trainpad.engine.events import LayerChange, LoopTrace, StepDetail  # what it makes (their home: events)

#: Pictures of the batch a detailed step keeps.
SHOWN = 16


class LoopProbe:
    """Watches one run's model and optimizer through hooks (see the module's docstring)."""

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer, loss_fn: Callable[..., torch.Tensor], to_probs: Callable[[torch.Tensor], torch.Tensor]) -> None:
        self.model = model
        self.optimizer = optimizer
        self.loss_fn = loss_fn
        self.to_probs = to_probs
        #: the last step's trace
        self.trace: LoopTrace | None = None
        #: set by the run before a step that should be kept in detail; the detail lands in ``detail``
        self.want_detail = False
        self.detail: dict[str, Any] | None = None
        self._batch: tuple[torch.Tensor, torch.Tensor] | None = None
        self._output: torch.Tensor | None = None
        self._rng: tuple[torch.Tensor, list[torch.Tensor]] | None = None
        self._before: dict[str, list[torch.Tensor]] | None = None
        self._grad_norms: dict[str, float] = {}
        self._grad_norm = 0.0
        self._lr = 0.0
        self._where = (0, 0)
        self._replaying = False
        self._owners = [
            (name or type(module).__name__, type(module).__name__, [p for p in module.parameters(recurse=False)])
            for name, module in model.named_modules()
        ]
        self._owners = [(name, kind, params) for name, kind, params in self._owners if params]
        self._handles = [
            model.register_forward_pre_hook(self._before_forward),
            model.register_forward_hook(self._after_forward),
            optimizer.register_step_pre_hook(self._before_update),
            optimizer.register_step_post_hook(self._after_update),
        ]

    def close(self) -> None:
        """Remove the hooks (the run no longer needs watching)."""
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def batch(self, x: torch.Tensor, y: torch.Tensor, epoch: int, step: int) -> None:
        """The batch the loop is about to train on, in step ``step`` of epoch ``epoch``
        (called by the run, once per step)."""
        self._batch = (x, y)
        self._where = (epoch, step)

    # -- hooks ------------------------------------------------------------------------

    def _training_pass(self) -> bool:
        return self.model.training and torch.is_grad_enabled() and not self._replaying and self._batch is not None

    def _before_forward(self, module: nn.Module, args: Any) -> None:
        if self._training_pass() and self.want_detail:
            cuda = [self._batch[0].device] if self._batch[0].device.type == "cuda" else []
            self._rng = (torch.get_rng_state(), [torch.cuda.get_rng_state(d) for d in cuda])

    def _after_forward(self, module: nn.Module, args: Any, output: Any) -> None:
        if self._training_pass() and isinstance(output, torch.Tensor):
            self._output = output

    def _before_update(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        if self._output is None or self._batch is None:
            return  # not a step of the loop (someone else's optimizer.step())
        self._lr = float(optimizer.param_groups[0]["lr"])
        grads = [p.grad.detach() for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        self._grad_norm = _norm(grads)
        if self.want_detail:
            self._grad_norms = {name: _norm([p.grad.detach() for p in params if p.grad is not None]) for name, _, params in self._owners}
            self._before = {name: [p.detach().clone() for p in params] for name, _, params in self._owners}

    def _after_update(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        if self._output is None or self._batch is None:
            return
        x, y = self._batch
        output = self._output
        self._output = None
        with torch.no_grad():
            loss_before = float(self.loss_fn(output.detach(), y))
        if self.want_detail:
            self.detail = self._detail(x, y, output.detach(), loss_before)
        self.trace = LoopTrace(
            epoch=self._where[0],
            step=self._where[1],
            batch_shape=tuple(x.shape),
            label_shape=tuple(y.shape),
            dtype=str(x.dtype).replace("torch.", ""),
            device=str(x.device),
            output_shape=tuple(output.shape),
            loss=loss_before,
            grad_norm=self._grad_norm,
            lr=self._lr,
        )

    def _detail(self, x: torch.Tensor, y: torch.Tensor, output: torch.Tensor, loss_before: float) -> dict[str, Any]:
        layers = []
        for name, kind, params in self._owners:
            before = self._before[name] if self._before else [p.detach() for p in params]
            update = _norm([p.detach() - b for p, b in zip(params, before)])
            layers.append(LayerChange(name, kind, self._grad_norms.get(name, 0.0), update, _norm(before)))
        self._before = None
        loss_after = self._replay(x, y)
        shown = min(SHOWN, len(y))
        return {
            "images": x[:shown].detach().float().cpu(),
            "labels": [int(v) for v in y[:shown].tolist()],
            "probabilities": self.to_probs(output[:shown]).float().cpu(),
            "loss_before": loss_before,
            "loss_after": loss_after,
            "layers": layers,
        }

    def _replay(self, x: torch.Tensor, y: torch.Tensor) -> float:
        """The batch's loss with the updated weights, from a forward pass like the step's own."""
        buffers = {name: b.detach().clone() for name, b in self.model.named_buffers()}
        cuda = [x.device] if x.device.type == "cuda" else []
        self._replaying = True
        try:
            with torch.random.fork_rng(devices=cuda), torch.no_grad():
                if self._rng is not None:
                    torch.set_rng_state(self._rng[0])
                    for device, state in zip(cuda, self._rng[1]):
                        torch.cuda.set_rng_state(state, device)
                loss = float(self.loss_fn(self.model(x), y))
        finally:
            self._replaying = False
            self._rng = None
            with torch.no_grad():
                for name, b in self.model.named_buffers():
                    b.copy_(buffers[name])
        return loss


def _norm(tensors: list[torch.Tensor]) -> float:
    """The norm of ``tensors`` taken together, as if they were one vector (one device sync)."""
    if not tensors:
        return 0.0
    return float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(t.float()) for t in tensors])))


__all__ = ["LayerChange", "LoopProbe", "LoopTrace", "StepDetail", "SHOWN"]
